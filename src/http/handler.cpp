// Routing and the webhook handlers: decide every answer without touching a socket.
#include <dlrd/http/handler.hpp>

#include <dlrd/decode/decode.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace dlrd::http {

namespace bhttp = boost::beast::http;

namespace {

response make_json(unsigned version, bhttp::status code, std::string body) {
  response res{code, version};
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

const std::string ok_body = R"({"ok":true})";

std::string_view path_of(std::string_view target) {
  auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

/// "application/json; charset=utf-8" → "application/json"
std::string media_type(std::string_view content_type) {
  auto semi = content_type.find(';');
  auto t = content_type.substr(0, semi);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  std::string out(t);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool is_json_media_type(std::string_view m) {
  return m == "application/json" || m == "text/json" || (m.size() > 5 && m.substr(m.size() - 5) == "+json");
}

response method_not_allowed(const request& req, std::string_view allow) {
  auto res = handler::error(req.version(), bhttp::status::method_not_allowed,
                            "method " + std::string(req.method_string()) + " is not allowed here");
  res.set(bhttp::field::allow, allow);
  return res;
}

}  // namespace

handler::handler(handler_config config) : config_(std::move(config)) {}

response handler::error(unsigned version, bhttp::status code, std::string_view reason, std::string_view field) {
  nlohmann::json j;
  j["error"] = reason;
  if (!field.empty()) j["field"] = field;
  return make_json(version, code, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

response handler::unavailable(unsigned version, std::string_view reason, int retry_after_seconds) {
  auto res = error(version, bhttp::status::service_unavailable, reason);
  res.set(bhttp::field::retry_after, std::to_string(retry_after_seconds));
  return res;
}

std::string_view handler::route_of(std::string_view target) {
  auto path = path_of(target);
  for (std::string_view known : {"/webhooks/smspm", "/healthz", "/readyz", "/metrics"}) {
    if (path == known) return known;
  }
  return "other";
}

outcome handler::handle(const request& req, const request_context& ctx) const {
  const auto received_at = ctx.received_at;
  auto path = path_of(req.target());
  outcome out;
  if (path == "/webhooks/smspm") {
    if (req.method() != bhttp::verb::post) {
      out.immediate = method_not_allowed(req, "POST");
      return out;
    }
    return webhook_smspm(req, received_at);
  }
  if (path == "/healthz" || path == "/readyz") {
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
      out.immediate = method_not_allowed(req, "GET, HEAD");
      return out;
    }
    if (path == "/healthz") {
      out.immediate = make_json(req.version(), bhttp::status::ok, R"({"status":"ok"})");
      return out;
    }
    auto r = config_.ready ? config_.ready() : readiness{};
    nlohmann::json j;
    j["status"] = r.ready ? "ready" : "not ready";
    if (!r.reason.empty()) j["reason"] = r.reason;
    out.immediate = make_json(req.version(), r.ready ? bhttp::status::ok : bhttp::status::service_unavailable,
                              j.dump());
    return out;
  }
  if (path == "/metrics" && config_.metrics) {
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
      out.immediate = method_not_allowed(req, "GET, HEAD");
      return out;
    }
    response res{bhttp::status::ok, req.version()};
    res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.set(bhttp::field::cache_control, "no-store");
    res.body() = config_.metrics();
    out.immediate = std::move(res);
    return out;
  }
  for (const auto& route : config_.api_routes) {
    if (path.starts_with(route.prefix)) {
      out.deferred = [serve = route.serve, req]() { return serve(req); };
      return out;
    }
  }
  out.immediate = error(req.version(), bhttp::status::not_found, "no route for " + std::string(path));
  return out;
}

outcome handler::webhook_smspm(const request& req, report::time_point received_at) const {
  outcome out;
  auto content_type = req[bhttp::field::content_type];
  // A missing Content-Type is read as JSON: some gateways omit it on their callbacks.
  if (!content_type.empty() && !is_json_media_type(media_type(content_type))) {
    out.immediate = error(req.version(), bhttp::status::unsupported_media_type,
                          "content type " + std::string(content_type) + " is not supported here; send application/json");
    return out;
  }
  auto decoded = decode::decode_smspm_json(req.body(), received_at);
  spool_action action;
  if (auto* reports = std::get_if<std::vector<report::delivery_report>>(&decoded)) {
    action.records.reserve(reports->size());
    for (auto& r : *reports) action.records.emplace_back(std::move(r));
    action.on_durable = make_json(req.version(), bhttp::status::ok, ok_body);
  } else {
    const auto& err = std::get<decode::decode_error>(decoded);
    if (config_.decode.reject_invalid) {
      out.immediate = error(req.version(), bhttp::status::bad_request, err.reason, err.field);
      return out;
    }
    report::quarantined_payload q;
    q.provider = "smspm";
    q.reason = err.reason;
    q.field = err.field;
    q.content_type = std::string(content_type);
    q.body = req.body();
    q.received_at = received_at;
    action.records.emplace_back(std::move(q));
    // 200 even so: many gateways treat 4xx as permanent and would drop the report.
    action.on_durable = make_json(req.version(), bhttp::status::ok, R"({"ok":true,"quarantined":true})");
  }
  out.spool = std::move(action);
  return out;
}

}  // namespace dlrd::http
