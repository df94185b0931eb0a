// The single translation unit that compiles Asio's and Beast's implementation (TLS: asio_ssl.cpp).
#include <utility>
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
