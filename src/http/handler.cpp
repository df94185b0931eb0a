// Routing and the webhook handlers: decide every answer without touching a socket.
#include <dlrd/http/handler.hpp>

#include <dlrd/decode/decode.hpp>
#include <dlrd/text/media_type.hpp>
#include <dlrd/text/url.hpp>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <chrono>

namespace dlrd::http {

namespace bhttp = boost::beast::http;

namespace {

using text::path_of;

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

}  // namespace

handler::handler(handler_config config) : config_(std::move(config)) {}

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
  // One load of the (atomically swapped) table per request, for the webhooks and the API's auth.
  const auto table = config_.webhooks ? config_.webhooks->get() : nullptr;
  if (table) {
    if (auto m = table->find(path)) return webhook(req, ctx, *m->ep, m->token);
  }
  if (path == "/healthz" || path == "/readyz" || (path == "/metrics" && config_.metrics)) return probe(req, path);
  for (const auto& route : config_.api_routes) {
    if (path.starts_with(route.prefix)) return api(req, ctx, table.get(), route);
  }
  return error_answer(req, bhttp::status::not_found, "no route for " + std::string(path));
}

/// /healthz, /readyz and /metrics: quick answers on the I/O thread.
outcome handler::probe(const request& req, std::string_view path) const {
  if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
    return method_not_allowed(req, "GET, HEAD");
  }
  if (path == "/healthz") return json_answer(req.version(), bhttp::status::ok, R"({"status":"ok"})");
  if (path == "/readyz") {
    auto r = config_.ready ? config_.ready() : readiness{};
    nlohmann::json j;
    j["status"] = r.ready ? "ready" : "not ready";
    if (!r.reason.empty()) j["reason"] = r.reason;
    return json_answer(req.version(), r.ready ? bhttp::status::ok : bhttp::status::service_unavailable, j.dump());
  }
  response res{bhttp::status::ok, req.version()};
  res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = config_.metrics();
  return res;
}

/// An API route: the API's authentication, the route's methods, then the route's own work,
/// off the I/O thread.
outcome handler::api(const request& req, const request_context& ctx, const webhook_table* table,
                     const api_route& route) const {
  if (table && !table->api_verifier().empty()) {
    // The API reads no report data from its query string (it selects what to show); a body it
    // reads is raw bytes.
    auto verdict = table->api_verifier().check(auth::check_input{
        req, {}, ctx.peer_address, ctx.received_at, decode::reading{decode::reading::body_as::json, false, false}});
    if (!verdict.ok) {
      return unauthorized(
          req, ctx, "api", verdict, [&] { return auth::redact_target(req.target(), table->api_auth()); },
          !table->api_auth().basic.empty());
    }
  }
  const std::string_view method(req.method_string().data(), req.method_string().size());
  if (!route.allow.empty() && !allows(route.allow, method)) {
    return method_not_allowed(req, route.allow);
  }
  if (route.serve_async) {
    return async_work{[serve = route.serve_async, req](std::function<void(response)> done) {
      serve(route_request_of(req), [version = req.version(), done = std::move(done)](route_answer a) {
        done(to_response(std::move(a), version));
      });
    }};
  }
  return blocking_work{[serve = route.serve, req] { return to_response(serve(route_request_of(req)), req.version()); }};
}

response handler::unauthorized(const request& req, const request_context& ctx, std::string_view label,
                               const auth::verdict& verdict, const std::function<std::string()>& redacted_target,
                               bool basic) const {
  if (config_.on_auth_failure) config_.on_auth_failure(label, auth::verifier::label_of(verdict));
  auth_failure_log(label, verdict.reason, ctx.peer_address, redacted_target);
  // One answer whatever failed: the caller learns nothing about which check it was.
  auto res = error_answer(req, bhttp::status::unauthorized, "unauthorized");
  if (basic) res.set(bhttp::field::www_authenticate, R"(Basic realm="dlrd")");
  return res;
}

outcome handler::webhook(const request& req, const request_context& ctx, const webhook_table::endpoint& ep,
                         std::string_view token) const {
  const auto& profile = ep.profile;
  const bool takes_get = (profile.encodings & decode::query_string) != 0;
  const bool is_get = req.method() == bhttp::verb::get;
  if (!(req.method() == bhttp::verb::post || (is_get && takes_get))) {
    return method_not_allowed(req, takes_get ? "GET, POST" : "POST");
  }
  auto content_type = req[bhttp::field::content_type];
  std::string lowered;
  decode::callback_input in;
  in.get = is_get;
  in.media_type = text::media_type_of(content_type, lowered);
  in.query = text::query_of(req.target());
  in.body = req.body();
  if (!ep.verifier.empty()) {
    // The checks are told what the decoder will read, so that a signature covers all of it.
    auto verdict = ep.verifier.check(
        auth::check_input{req, token, ctx.peer_address, ctx.received_at, decode::reading_of(profile, in)});
    if (!verdict.ok) {
      return unauthorized(
          req, ctx, profile.name, verdict,
          [&] { return auth::redact_target(req.target(), ep.config.auth, ep.token_segment); },
          !ep.config.auth.basic.empty());
    }
  }
  auto decoded = decode::decode(profile, in, ctx.received_at);
  if (auto* ok = std::get_if<decode::decoded>(&decoded)) return accept(req, profile, *ok);
  const auto& err = std::get<decode::profile_error>(decoded);
  if (err.unsupported) return error_answer(req, bhttp::status::unsupported_media_type, err.error.reason);
  if (config_.decode.reject_invalid) {
    return error_answer(req, bhttp::status::bad_request, err.error.reason, err.error.field);
  }
  return quarantine(req, ctx, ep, err);
}

/// Decoded reports: spooled, then answered with the profile's success answer.
outcome handler::accept(const request& req, const decode::profile& profile, decode::decoded& ok) const {
  if (config_.on_unknown_status) {
    for (const auto& w : ok.unknown_words) config_.on_unknown_status(profile.name, w);
  }
  if (config_.on_ignored_event) {
    for (const auto& why : ok.ignored) config_.on_ignored_event(profile.name, why);
  }
  // Only events the profile ignores (an inbound SMS, a summary): nothing to make durable.
  if (ok.reports.empty() && ok.rejected.empty()) return success_of(profile, req.version());
  spool_action action;
  action.records.reserve(ok.reports.size() + ok.rejected.size());
  for (auto& r : ok.reports) action.records.emplace_back(std::move(r));
  // Batch elements the profile sets aside (batch_errors: element): each quarantined alone,
  // durable with the rest, under the one success answer.
  for (auto& q : ok.rejected) action.records.emplace_back(std::move(q));
  action.on_durable = success_of(profile, req.version());
  return action;
}

/// An undecodable callback: kept in quarantine, answered once durable.
outcome handler::quarantine(const request& req, const request_context& ctx, const webhook_table::endpoint& ep,
                            const decode::profile_error& err) const {
  const auto& profile = ep.profile;
  const bool is_get = req.method() == bhttp::verb::get;
  report::quarantined_payload q;
  q.provider = profile.name;
  q.reason = err.error.reason;
  q.field = err.error.field;
  // A GET's report is its target (path and query string), kept with no content type: that
  // is what `dlrd quarantine replay` decodes again after a profile fix. Its secrets (the
  // {token} segment, ?token= and the like) are blanked as in the log lines.
  q.content_type = is_get ? std::string() : std::string(req[bhttp::field::content_type]);
  q.body = is_get ? auth::redact_target(req.target(), ep.config.auth, ep.token_segment) : req.body();
  q.received_at = ctx.received_at;
  spool_action action;
  action.records.emplace_back(std::move(q));
  // The gateway's own success answer even so: many treat 4xx as permanent and would drop the
  // report, and some (Jasmin) retry anything but their exact answer. The default JSON answer
  // says that the callback was quarantined.
  action.on_durable = profile.success_content_type == "application/json" && profile.success_body == R"({"ok":true})"
                          ? json_answer(req.version(), static_cast<bhttp::status>(profile.success_status),
                                        R"({"ok":true,"quarantined":true})")
                          : success_of(profile, req.version());
  return action;
}

}  // namespace dlrd::http
