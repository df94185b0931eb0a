// Unit tests of the request handler without a socket: routing, the 404/405/415 answers, refused
// callers (401), quarantined callbacks, and the API routes behind the route adapter.
#include <dlrd/http/handler.hpp>

#include <dlrd/report/time.hpp>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace dlrd::http {
namespace {

namespace bhttp = boost::beast::http;

constexpr std::string_view delivered_json = R"({"messageId":"m-1","status":"delivered","to":"+447700900123"})";
constexpr std::string_view statusless_json = R"({"messageId":"m-2"})";
constexpr std::string_view csv_body = "messageId,status\nm-3,delivered\n";
constexpr std::string_view bearer_secret = "s3cret-bearer-token-of-some-length";

request make(bhttp::verb method, std::string_view target, std::string_view content_type = {},
             std::string_view body = {}) {
  request req{method, target, 11};
  req.set(bhttp::field::host, "dlrd.test");
  if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
  req.body() = std::string(body);
  req.prepare_payload();
  return req;
}

const request_context ctx{report::now(), "192.0.2.7", false};

/// The endpoints the tests call: smspm without auth, telnyx (POST only), and smspm behind a
/// bearer token; `api_auth` guards the API routes.
std::shared_ptr<webhook_routes> routes(const auth::auth_config& api_auth = {}) {
  webhook_config guarded{"smspm", "/webhooks/guarded", {}};
  guarded.auth.bearer = {std::string(bearer_secret)};
  std::vector<webhook_config> hooks = {
      {"smspm", "/webhooks/smspm", {}}, {"telnyx", "/webhooks/telnyx", {}}, guarded};
  return std::make_shared<webhook_routes>(std::make_shared<const webhook_table>(hooks, std::vector<decode::profile>{},
                                                                                  api_auth));
}

handler_config with(std::shared_ptr<webhook_routes> webhooks, std::vector<api_route> api = {}) {
  handler_config c;
  c.webhooks = std::move(webhooks);
  c.api_routes = std::move(api);
  return c;
}

/// The immediate answer (a copy: the outcome is usually a temporary).
response answer_of(const outcome& out) {
  EXPECT_TRUE(std::holds_alternative<response>(out));
  return std::holds_alternative<response>(out) ? std::get<response>(out) : response{};
}

std::string error_of(const response& res) { return nlohmann::json::parse(res.body()).value("error", ""); }

TEST(handler, health_answers_get_and_refuses_post_with_allow) {
  handler h(handler_config{});
  auto ok = answer_of(h.handle(make(bhttp::verb::get, "/healthz"), ctx));
  EXPECT_EQ(ok.result(), bhttp::status::ok);
  EXPECT_EQ(ok.body(), R"({"status":"ok"})");
  auto refused = answer_of(h.handle(make(bhttp::verb::post, "/healthz"), ctx));
  EXPECT_EQ(refused.result(), bhttp::status::method_not_allowed);
  EXPECT_EQ(refused[bhttp::field::allow], "GET, HEAD");
}

TEST(handler, readiness_says_why_it_is_not_ready) {
  handler_config c;
  c.ready = [] { return readiness{false, "database down"}; };
  handler h(c);
  auto res = answer_of(h.handle(make(bhttp::verb::get, "/readyz"), ctx));
  EXPECT_EQ(res.result(), bhttp::status::service_unavailable);
  auto j = nlohmann::json::parse(res.body());
  EXPECT_EQ(j["status"], "not ready");
  EXPECT_EQ(j["reason"], "database down");
}

TEST(handler, metrics_is_served_only_when_configured) {
  EXPECT_EQ(answer_of(handler(handler_config{}).handle(make(bhttp::verb::get, "/metrics"), ctx)).result(),
            bhttp::status::not_found);
  handler_config c;
  c.metrics = [] { return std::string("dlrd_up 1\n"); };
  auto res = answer_of(handler(c).handle(make(bhttp::verb::get, "/metrics"), ctx));
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(res.body(), "dlrd_up 1\n");
}

TEST(handler, an_unknown_path_is_404_naming_it) {
  handler h(with(routes()));
  auto res = answer_of(h.handle(make(bhttp::verb::post, "/webhooks/nobody?x=1"), ctx));
  EXPECT_EQ(res.result(), bhttp::status::not_found);
  EXPECT_EQ(error_of(res), "no route for /webhooks/nobody");
}

TEST(handler, a_decoded_callback_is_spooled_and_answered_once_durable) {
  handler h(with(routes()));
  auto out = h.handle(make(bhttp::verb::post, "/webhooks/smspm", "application/json", delivered_json), ctx);
  ASSERT_TRUE(std::holds_alternative<spool_action>(out));
  const auto& action = std::get<spool_action>(out);
  ASSERT_EQ(action.records.size(), 1u);
  const auto* r = std::get_if<report::delivery_report>(&action.records[0]);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->message_id, "m-1");
  EXPECT_EQ(action.on_durable.result(), bhttp::status::ok);
}

TEST(handler, a_wrong_method_on_a_webhook_is_405_with_the_profiles_methods) {
  handler h(with(routes()));
  auto post_only = answer_of(h.handle(make(bhttp::verb::get, "/webhooks/telnyx"), ctx));
  EXPECT_EQ(post_only.result(), bhttp::status::method_not_allowed);
  EXPECT_EQ(post_only[bhttp::field::allow], "POST");
  auto with_get = answer_of(h.handle(make(bhttp::verb::put, "/webhooks/smspm"), ctx));
  EXPECT_EQ(with_get[bhttp::field::allow], "GET, POST");
}

TEST(handler, a_media_type_the_profile_does_not_read_is_415) {
  handler h(with(routes()));
  auto res = answer_of(h.handle(make(bhttp::verb::post, "/webhooks/smspm", "text/csv", csv_body), ctx));
  EXPECT_EQ(res.result(), bhttp::status::unsupported_media_type);
}

TEST(handler, a_refused_caller_is_401_and_counted) {
  std::vector<std::string> failures;
  handler_config c;
  c.webhooks = routes();
  c.on_auth_failure = [&](std::string_view profile, std::string_view) { failures.emplace_back(profile); };
  handler h(c);
  auto req = make(bhttp::verb::post, "/webhooks/guarded", "application/json", delivered_json);
  auto res = answer_of(h.handle(req, ctx));
  EXPECT_EQ(res.result(), bhttp::status::unauthorized);
  EXPECT_EQ(error_of(res), "unauthorized");
  EXPECT_EQ(failures, std::vector<std::string>{"smspm"});

  req.set(bhttp::field::authorization, "Bearer " + std::string(bearer_secret));
  EXPECT_TRUE(std::holds_alternative<spool_action>(h.handle(req, ctx)));
}

TEST(handler, an_undecodable_callback_is_quarantined_and_answered_as_taken) {
  handler h(with(routes()));
  auto out = h.handle(make(bhttp::verb::post, "/webhooks/smspm", "application/json", statusless_json), ctx);
  ASSERT_TRUE(std::holds_alternative<spool_action>(out));
  const auto& action = std::get<spool_action>(out);
  ASSERT_EQ(action.records.size(), 1u);
  const auto* q = std::get_if<report::quarantined_payload>(&action.records[0]);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->provider, "smspm");
  EXPECT_EQ(q->body, statusless_json);
  EXPECT_EQ(q->content_type, "application/json");
  EXPECT_EQ(action.on_durable.result(), bhttp::status::ok);
  EXPECT_EQ(action.on_durable.body(), R"({"ok":true,"quarantined":true})");
}

TEST(handler, with_reject_invalid_an_undecodable_callback_is_400) {
  handler_config c;
  c.webhooks = routes();
  c.decode.reject_invalid = true;
  auto res = answer_of(
      handler(c).handle(make(bhttp::verb::post, "/webhooks/smspm", "application/json", statusless_json), ctx));
  EXPECT_EQ(res.result(), bhttp::status::bad_request);
}

api_route stats_like_route(std::vector<std::string>& seen) {
  api_route r;
  r.prefix = "/v1/stats/";
  r.allow = "GET";
  r.serve = [&seen](const route_request& in) {
    seen.push_back(std::string(in.path) + "|" + std::string(in.query));
    route_answer a;
    a.body = R"({"rows":[]})";
    a.retry_after = 3;
    return a;
  };
  return r;
}

TEST(handler, an_api_route_runs_off_the_io_thread_and_its_answer_becomes_a_response) {
  std::vector<std::string> seen;
  handler h(with(routes(), {stats_like_route(seen)}));
  auto out = h.handle(make(bhttp::verb::get, "/v1/stats/daily?days=7"), ctx);
  ASSERT_TRUE(std::holds_alternative<blocking_work>(out));
  EXPECT_TRUE(seen.empty());  // nothing ran on the I/O thread
  auto res = std::get<blocking_work>(out).run();
  EXPECT_EQ(seen, std::vector<std::string>{"/v1/stats/daily|days=7"});
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  EXPECT_EQ(res[bhttp::field::retry_after], "3");
  EXPECT_EQ(res.body(), R"({"rows":[]})");
}

TEST(handler, an_api_route_refuses_other_methods_with_allow) {
  std::vector<std::string> seen;
  handler h(with(nullptr, {stats_like_route(seen)}));
  auto res = answer_of(h.handle(make(bhttp::verb::post, "/v1/stats/daily"), ctx));
  EXPECT_EQ(res.result(), bhttp::status::method_not_allowed);
  EXPECT_EQ(res[bhttp::field::allow], "GET");
}

TEST(handler, an_async_route_answers_through_its_completion_in_the_error_shape) {
  api_route r;
  r.prefix = "/v1/messages";
  r.serve_async = [](const route_request&, std::function<void(route_answer)> done) {
    route_answer a;
    a.status = 405;
    a.error = "method not allowed";
    a.allow = "GET, POST";
    done(std::move(a));
  };
  handler h(with(nullptr, {r}));
  auto out = h.handle(make(bhttp::verb::put, "/v1/messages/x"), ctx);
  ASSERT_TRUE(std::holds_alternative<async_work>(out));
  response got;
  std::get<async_work>(out).start([&](response res) { got = std::move(res); });
  EXPECT_EQ(got.result(), bhttp::status::method_not_allowed);
  EXPECT_EQ(got[bhttp::field::allow], "GET, POST");
  EXPECT_EQ(error_of(got), "method not allowed");
}

TEST(handler, the_api_behind_basic_auth_is_401_with_a_challenge) {
  auth::auth_config api_auth;
  api_auth.basic = {{"ops", "a-long-enough-password"}};
  std::vector<std::string> seen;
  handler h(with(routes(api_auth), {stats_like_route(seen)}));
  auto res = answer_of(h.handle(make(bhttp::verb::get, "/v1/stats/daily"), ctx));
  EXPECT_EQ(res.result(), bhttp::status::unauthorized);
  EXPECT_EQ(res[bhttp::field::www_authenticate], R"(Basic realm="dlrd")");
  EXPECT_TRUE(seen.empty());
}

TEST(handler, route_labels_are_bounded) {
  EXPECT_EQ(handler::route_of("/webhooks/smspm/abc?token=x"), "/webhooks");
  EXPECT_EQ(handler::route_of("/v1/stats/daily"), "/v1");
  EXPECT_EQ(handler::route_of("/healthz?x"), "/healthz");
  EXPECT_EQ(handler::route_of("/anything-else"), "other");
}

}  // namespace
}  // namespace dlrd::http
