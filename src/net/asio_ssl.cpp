// The single translation unit that compiles Asio's TLS implementation (the outbound client's
// https and the listener's TLS); kept apart from asio_impl.cpp so that programs without TLS
// do not pull OpenSSL in.
#include <utility>
#include <boost/asio/ssl/impl/src.hpp>
