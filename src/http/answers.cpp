// The listener's shared answers: one JSON error shape, one 405, one 503.
#include <dlrd/http/answers.hpp>

#include <nlohmann/json.hpp>

namespace dlrd::http {

namespace bhttp = boost::beast::http;

response json_answer(unsigned version, bhttp::status code, std::string body) {
  response res{code, version};
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

response error_answer(unsigned version, bhttp::status code, std::string_view reason, std::string_view field) {
  nlohmann::json j;
  j["error"] = reason;
  if (!field.empty()) j["field"] = field;
  return json_answer(version, code, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

response error_answer(const request& req, bhttp::status code, std::string_view reason, std::string_view field) {
  return error_answer(req.version(), code, reason, field);
}

response method_not_allowed(const request& req, std::string_view allow) {
  auto res = error_answer(req, bhttp::status::method_not_allowed,
                          "method " + std::string(req.method_string()) + " is not allowed here");
  res.set(bhttp::field::allow, allow);
  return res;
}

response unavailable(unsigned version, std::string_view reason, int retry_after_seconds) {
  auto res = error_answer(version, bhttp::status::service_unavailable, reason);
  res.set(bhttp::field::retry_after, std::to_string(retry_after_seconds));
  return res;
}

}  // namespace dlrd::http
