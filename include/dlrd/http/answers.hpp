// The answers every part of the listener shares: the JSON error shape, 405 with Allow, 503 with
// Retry-After. Each takes the HTTP version to answer with (the request's, when there is one).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>
#include <string_view>

namespace dlrd::http {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;

/// The version of answers sent without a request to take it from (an edge refusal, a refused
/// connection); the session sets the request's own version on every answer to a request.
inline constexpr unsigned http_1_1 = 11;

/// A JSON answer that no cache keeps.
response json_answer(unsigned version, boost::beast::http::status code, std::string body);

/// JSON error answer: {"error": reason[, "field": field]}.
response error_answer(unsigned version, boost::beast::http::status code, std::string_view reason,
                      std::string_view field = {});
/// The same, in the request's HTTP version.
response error_answer(const request& req, boost::beast::http::status code, std::string_view reason,
                      std::string_view field = {});

/// 405 naming the refused method, with `allow` (e.g. "GET, HEAD") in the Allow header.
response method_not_allowed(const request& req, std::string_view allow);

/// 503 with Retry-After, for a full or failing spool, for shutdown and for too many connections.
response unavailable(unsigned version, std::string_view reason, int retry_after_seconds);

}  // namespace dlrd::http
