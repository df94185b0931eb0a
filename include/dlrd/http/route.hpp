// The route adapter: how the application serves an API path without building HTTP messages.
// It fills an api_route with plain callbacks; the handler turns their answers into responses.
#pragma once

#include <dlrd/http/answers.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlrd::http {

/// What a route sees of a request; the views live as long as the call of serve/serve_async.
struct route_request {
  std::string_view method;  ///< "GET", "POST", ...
  std::string_view target;  ///< path and query string
  std::string_view path;    ///< the target without its query string
  std::string_view query;   ///< after '?', empty when there is none
  std::string_view body;
};

/// A route's answer. With `error`, it is sent in the handler's JSON error shape (and `body`,
/// `content_type` and `cache_control` are unused).
struct route_answer {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::string cache_control = "no-store";
  std::string error;        ///< non-empty: an error answer
  std::string field;        ///< the offending parameter, if any
  std::string allow;        ///< for a 405: the allowed methods
  int retry_after = 0;      ///< seconds, for a 503 (0: no Retry-After)
  std::vector<std::pair<std::string, std::string>> headers;  ///< any other header fields
};

/// A read-only API route: every request whose path starts with `prefix` (e.g. "/v1/stats/")
/// goes to it, once the API's authentication has passed.
struct api_route {
  std::string prefix;
  /// The methods served, as an Allow header lists them ("GET"); any other is answered 405
  /// here. Empty: every method reaches the route.
  std::string allow;
  /// May block (a database query): run off the I/O threads.
  std::function<route_answer(const route_request&)> serve;
  /// Instead of `serve`: answers through the completion, from any thread, exactly once.
  std::function<void(const route_request&, std::function<void(route_answer)>)> serve_async;
};

/// The response for a route's answer, in HTTP `version`.
response to_response(route_answer answer, unsigned version);

/// The route's view of `req` (pointing into it).
route_request route_request_of(const request& req);

/// `method` is one of `allow` ("GET, HEAD").
bool allows(std::string_view allow, std::string_view method);

}  // namespace dlrd::http
