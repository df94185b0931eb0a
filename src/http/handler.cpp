// Routing and the webhook handlers: decide every answer without touching a socket.
#include <dlrd/http/handler.hpp>

#include <dlrd/decode/decode.hpp>
#include <dlrd/decode/form.hpp>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <chrono>

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

using decode::path_of;

/// At most one line per second per thread: a flood of bad callers must not flood the log
/// (nor cost a redacted copy of each target: `target` runs only for a line that is written).
void auth_failure_log(std::string_view profile, std::string_view reason, std::string_view peer,
                      const std::function<std::string()>& target) {
  thread_local auto last = std::chrono::steady_clock::time_point{};
  thread_local std::uint64_t suppressed = 0;
  auto now = std::chrono::steady_clock::now();
  if (now - last < std::chrono::seconds(1)) {
    ++suppressed;
    return;
  }
  last = now;
  spdlog::warn("webhook {}: refused a caller from {} ({}) for {}{}", profile, peer, reason, target(),
               suppressed ? fmt::format(" ({} more refused since the last line)", suppressed) : std::string());
  suppressed = 0;
}


/// The answer a gateway expects once its callback is taken (the profile's success answer).
response success_of(const decode::profile& profile, unsigned version) {
  response res{static_cast<bhttp::status>(profile.success_status), version};
  res.set(bhttp::field::content_type, profile.success_content_type);
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = profile.success_body;
  return res;
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
  for (std::string_view known : {"/healthz", "/readyz", "/metrics", "/dashboard"}) {
    if (path == known) return known;
  }
  if (path.starts_with("/webhooks/")) return "/webhooks";
  if (path.starts_with("/v1/")) return "/v1";
  return "other";
}

outcome handler::handle(const request& req, const request_context& ctx) const {
  auto path = path_of(req.target());
  outcome out;
  // One load of the (atomically swapped) table per request, for the webhooks and the API's auth.
  const auto table = config_.webhooks ? config_.webhooks->get() : nullptr;
  if (table) {
    if (auto m = table->find(path)) return webhook(req, ctx, *m->ep, m->token);
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
      if (table) {
        if (!table->api_verifier().empty()) {
          // The API reads no report data from its query string (it selects what to show);
          // a body it reads is raw bytes.
          auto verdict = table->api_verifier().check(auth::check_input{
              req, {}, ctx.peer_address, ctx.received_at, decode::reading{decode::reading::body_as::json, false, false}});
          if (!verdict.ok) {
            out.immediate = unauthorized(req, ctx, "api", verdict,
                                         [&] { return auth::redact_target(req.target(), table->api_auth()); },
                                         !table->api_auth().basic.empty());
            return out;
          }
        }
      }
      if (route.serve_async) {
        out.async = [serve = route.serve_async, req](std::function<void(response)> done) {
          serve(req, std::move(done));
        };
      } else {
        out.deferred = [serve = route.serve, req]() { return serve(req); };
      }
      return out;
    }
  }
  out.immediate = error(req.version(), bhttp::status::not_found, "no route for " + std::string(path));
  return out;
}

response handler::unauthorized(const request& req, const request_context& ctx, std::string_view label,
                               const auth::verdict& verdict, const std::function<std::string()>& redacted_target,
                               bool basic) const {
  if (config_.on_auth_failure) config_.on_auth_failure(label, auth::verifier::label_of(verdict));
  auth_failure_log(label, verdict.reason, ctx.peer_address, redacted_target);
  // One answer whatever failed: the caller learns nothing about which check it was.
  auto res = error(req.version(), bhttp::status::unauthorized, "unauthorized");
  if (basic) res.set(bhttp::field::www_authenticate, R"(Basic realm="dlrd")");
  return res;
}

outcome handler::webhook(const request& req, const request_context& ctx, const webhook_table::endpoint& ep,
                         std::string_view token) const {
  outcome out;
  const auto& profile = ep.profile;
  const bool takes_get = (profile.encodings & decode::query_string) != 0;
  const bool is_get = req.method() == bhttp::verb::get;
  if (!(req.method() == bhttp::verb::post || (is_get && takes_get))) {
    out.immediate = method_not_allowed(req, takes_get ? "GET, POST" : "POST");
    return out;
  }
  auto content_type = req[bhttp::field::content_type];
  std::string lowered;
  decode::callback_input in;
  in.get = is_get;
  in.media_type = decode::media_type_of(content_type, lowered);
  in.query = decode::query_of(req.target());
  in.body = req.body();
  if (!ep.verifier.empty()) {
    // The checks are told what the decoder will read, so that a signature covers all of it.
    auto verdict = ep.verifier.check(
        auth::check_input{req, token, ctx.peer_address, ctx.received_at, decode::reading_of(profile, in)});
    if (!verdict.ok) {
      out.immediate = unauthorized(
          req, ctx, profile.name, verdict,
          [&] { return auth::redact_target(req.target(), ep.config.auth, ep.token_segment); },
          !ep.config.auth.basic.empty());
      return out;
    }
  }
  auto decoded = decode::decode(profile, in, ctx.received_at);
  spool_action action;
  if (auto* ok = std::get_if<decode::decoded>(&decoded)) {
    if (config_.on_unknown_status) {
      for (const auto& w : ok->unknown_words) config_.on_unknown_status(profile.name, w);
    }
    if (config_.on_ignored_event) {
      for (const auto& why : ok->ignored) config_.on_ignored_event(profile.name, why);
    }
    if (ok->reports.empty()) {
      // Only events the profile ignores (an inbound SMS, a summary): nothing to make durable.
      out.immediate = success_of(profile, req.version());
      return out;
    }
    action.records.reserve(ok->reports.size());
    for (auto& r : ok->reports) action.records.emplace_back(std::move(r));
    action.on_durable = success_of(profile, req.version());
  } else {
    const auto& err = std::get<decode::profile_error>(decoded);
    if (err.unsupported) {
      out.immediate = error(req.version(), bhttp::status::unsupported_media_type, err.error.reason);
      return out;
    }
    if (config_.decode.reject_invalid) {
      out.immediate = error(req.version(), bhttp::status::bad_request, err.error.reason, err.error.field);
      return out;
    }
    report::quarantined_payload q;
    q.provider = profile.name;
    q.reason = err.error.reason;
    q.field = err.error.field;
    // A GET's report is its target (path and query string), kept with no content type: that
    // is what `dlrd quarantine replay` decodes again after a profile fix. Its secrets (the
    // {token} segment, ?token= and the like) are blanked as in the log lines.
    q.content_type = is_get ? std::string() : std::string(content_type);
    q.body = is_get ? auth::redact_target(req.target(), ep.config.auth, ep.token_segment) : req.body();
    q.received_at = ctx.received_at;
    action.records.emplace_back(std::move(q));
    // The gateway's own success answer even so: many treat 4xx as permanent and would drop the
    // report, and some (Jasmin) retry anything but their exact answer. The default JSON answer
    // says that the callback was quarantined.
    action.on_durable = profile.success_content_type == "application/json" && profile.success_body == R"({"ok":true})"
                            ? make_json(req.version(), static_cast<bhttp::status>(profile.success_status),
                                        R"({"ok":true,"quarantined":true})")
                            : success_of(profile, req.version());
  }
  out.spool = std::move(action);
  return out;
}

}  // namespace dlrd::http
