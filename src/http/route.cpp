// The route adapter: plain answers of the application's routes turned into responses.
#include <dlrd/http/route.hpp>

#include <dlrd/text/ascii.hpp>
#include <dlrd/text/url.hpp>

namespace dlrd::http {

namespace bhttp = boost::beast::http;

response to_response(route_answer a, unsigned version) {
  const auto code = static_cast<bhttp::status>(a.status);
  response res;
  if (!a.error.empty()) {
    res = error_answer(version, code, a.error, a.field);
    if (!a.allow.empty()) res.set(bhttp::field::allow, a.allow);
  } else {
    res = response(code, version);
    res.set(bhttp::field::content_type, a.content_type);
    res.set(bhttp::field::cache_control, a.cache_control);
    res.body() = std::move(a.body);
  }
  if (a.retry_after > 0) res.set(bhttp::field::retry_after, std::to_string(a.retry_after));
  for (const auto& [name, value] : a.headers) res.set(name, value);
  return res;
}

route_request route_request_of(const request& req) {
  std::string_view target(req.target().data(), req.target().size());
  return route_request{std::string_view(req.method_string().data(), req.method_string().size()), target,
                       text::path_of(target), text::query_of(target), req.body()};
}

bool allows(std::string_view allow, std::string_view method) {
  while (!allow.empty()) {
    auto comma = allow.find(',');
    auto one = text::trim(allow.substr(0, comma), " ");
    if (one == method) return true;
    if (comma == std::string_view::npos) break;
    allow.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace dlrd::http
