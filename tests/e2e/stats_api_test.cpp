// The stats API through the real daemon: reports posted to a webhook show up in the
// per-country figures, bad parameters get 400 naming the field, and api.auth guards it.
#include "harness.hpp"

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <future>
#include <csignal>
#include <vector>
#include <thread>

namespace dlrd::e2e {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view api_yaml = "api:\n  auth:\n    bearer: [\"stats-reader\"]\n";

/// GET `target` with (or without) the API's bearer token; the whole raw answer.
std::string get(int port, const std::string& target, bool authorized = true) {
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  if (authorized) req += "Authorization: Bearer stats-reader\r\n";
  return raw_exchange(port, req + "\r\n", 5s);
}

nlohmann::json body_of(const std::string& raw) {
  auto at = raw.find("\r\n\r\n");
  return nlohmann::json::parse(at == std::string::npos ? std::string() : raw.substr(at + 4), nullptr, false);
}

const nlohmann::json* country(const nlohmann::json& list, const std::string& code) {
  for (const auto& c : list) {
    if (c.value("country", nlohmann::json()).is_string() && c["country"] == code) return &c;
  }
  return nullptr;
}

TEST(stats_api, reports_posted_to_a_webhook_show_in_the_country_figures) {
  test::pg_database db;
  temp_dir dir;
  daemon d(dir.path(), db.url(), std::string(api_yaml));
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();

  client c(d.port());
  const char* reports[] = {
      R"({"messageId":"de-1","status":"delivered","to":"+4915112345671"})",
      R"({"messageId":"de-2","status":"delivered","to":"+4915112345672"})",
      R"({"messageId":"de-3","status":"delivered","to":"+4915112345673"})",
      R"({"messageId":"de-4","status":"undelivered","to":"+4915112345674","errorCode":"27"})",
      R"({"messageId":"fr-1","status":"rejected","to":"+33612345678","errorCode":"62"})",
  };
  for (const char* r : reports) ASSERT_EQ(c.post("/webhooks/smspm", r).status, 200);
  pqxx::connection conn(db.url());
  int stored = 0;
  for (int i = 0; i < 200 && stored < 5; ++i) {
    pqxx::work tx(conn);
    stored = tx.exec1("SELECT count(*) FROM sms_logs")[0].as<int>();
    tx.commit();
    if (stored < 5) std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(stored, 5);

  auto raw = get(d.port(), "/v1/stats/countries?since=1d");
  ASSERT_EQ(status_of(raw), 200) << raw;
  EXPECT_NE(raw.find("Content-Type: application/json"), std::string::npos) << raw;
  auto j = body_of(raw);
  ASSERT_TRUE(j.contains("countries")) << raw;
  const auto* de = country(j["countries"], "DE");
  const auto* fr = country(j["countries"], "FR");
  ASSERT_NE(de, nullptr) << raw;
  ASSERT_NE(fr, nullptr) << raw;
  EXPECT_EQ((*de)["total"], 4);
  EXPECT_EQ((*de)["delivered"], 3);
  EXPECT_EQ((*de)["undelivered"], 1);
  EXPECT_DOUBLE_EQ((*de)["delivery_rate"].get<double>(), 0.75);
  EXPECT_EQ((*de)["band"], "investigate");
  EXPECT_EQ((*fr)["rejected"], 1);
  EXPECT_DOUBLE_EQ((*fr)["failure_rate"].get<double>(), 1.0);
  // Worst failure rate first.
  EXPECT_EQ(j["countries"][0]["country"], "FR");

  auto daily = body_of(get(d.port(), "/v1/stats/daily?days=3"));
  ASSERT_EQ(daily["days"].size(), 3u) << daily.dump();
  EXPECT_EQ(daily["days"][2]["total"], 5) << daily.dump();

  auto errors = body_of(get(d.port(), "/v1/stats/errors?since=1d"));
  ASSERT_FALSE(errors["errors"].empty()) << errors.dump();

  // Coverage per provider: sends logged through a gateway that never reports lead the list,
  // one of them given up on by dlrd's own expiry rule (still without a carrier report).
  {
    pqxx::work tx(conn);
    tx.exec("SELECT dlr_log_send('quiet-' || i, '+4915112345679', NULL, NULL, now(), NULL, NULL, 'DE', "
            "NULL::text[], 'quietgw') FROM generate_series(1, 2) AS i");
    tx.exec("UPDATE sms_logs SET status = 'expired', raw_status = 'dlrd:expired:otp', expired_by = 'policy' "
            "WHERE message_id = 'quiet-2'");
    tx.commit();
  }
  auto by_provider = body_of(get(d.port(), "/v1/stats/coverage?after=0s&by=provider&since=1d"));
  ASSERT_EQ(by_provider["providers"].size(), 2u) << by_provider.dump();
  EXPECT_EQ(by_provider["providers"][0]["provider"], "quietgw");
  EXPECT_EQ(by_provider["providers"][0]["pending"], 2) << "expired by policy: no carrier report either";
  EXPECT_EQ(by_provider["providers"][0]["all_pending"], true);
  EXPECT_EQ(by_provider["providers"][1]["provider"], "smspm");
  EXPECT_EQ(by_provider["providers"][1]["total"], 5);
  EXPECT_EQ(by_provider["providers"][1]["pending"], 0);
  auto by_country = body_of(get(d.port(), "/v1/stats/coverage?after=0s&since=1d"));
  EXPECT_FALSE(by_country.contains("providers")) << "per country stays the default";
  ASSERT_NE(country(by_country["countries"], "DE"), nullptr) << by_country.dump();
  EXPECT_EQ((*country(by_country["countries"], "DE"))["total"], 6);

  // Bad parameters: 400 naming the field; unknown stats: 404.
  for (auto [target, field] : {std::pair{"/v1/stats/daily?days=0", "days"}, {"/v1/stats/daily?days=x", "days"},
                               {"/v1/stats/countries?since=yesterday", "since"},
                               {"/v1/stats/coverage?after=-1h", "after"},
                               {"/v1/stats/coverage?by=planet", "by"}}) {
    auto bad = get(d.port(), target);
    EXPECT_EQ(status_of(bad), 400) << target << "\n" << bad;
    EXPECT_EQ(body_of(bad)["field"], field) << target << "\n" << bad;
  }
  EXPECT_EQ(status_of(get(d.port(), "/v1/stats/nothing-here")), 404);

  // api.auth: the same figures are refused without the token, with the one 401 answer.
  auto refused = get(d.port(), "/v1/stats/countries?since=1d", false);
  EXPECT_EQ(status_of(refused), 401) << refused;
  EXPECT_EQ(body_of(refused), nlohmann::json::parse(R"({"error":"unauthorized"})"));
  EXPECT_EQ(status_of(get(d.port(), "/dashboard", false)), 401);
  auto page = get(d.port(), "/dashboard");
  EXPECT_EQ(status_of(page), 200);
  EXPECT_NE(page.find("Content-Type: text/html"), std::string::npos);
  // Webhooks are not behind the API's auth.
  EXPECT_EQ(c.post("/webhooks/smspm", reports[0]).status, 200);
}

TEST(stats_api, while_stats_queries_are_stuck_the_dashboard_health_and_webhooks_answer_and_extra_stats_get_503) {
  test::pg_database db;
  temp_dir dir;
  daemon d(dir.path(), db.url());
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  // Every stats query waits on this lock for as long as the test holds it.
  pqxx::connection locker(db.url());
  pqxx::work lock(locker);
  lock.exec("LOCK TABLE sms_logs IN ACCESS EXCLUSIVE MODE");
  auto stats_running = [&db] {
    return test::query(db.url(), "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%dlr_stats_%' "
                                 "AND query NOT LIKE '%pg_stat_activity%' AND state = 'active'")[0][0]
        .as<int>();
  };
  // Twelve distinct ranges (no cache): more than the stats service runs and queues.
  constexpr int sent = 12;
  std::vector<std::future<http_reply>> stats;
  for (int i = 0; i < sent; ++i) {
    stats.push_back(std::async(std::launch::async, [&d, i] {
      client c(d.port());
      return c.get("/v1/stats/countries?since=" + std::to_string(300 + i) + "d");
    }));
  }
  for (int i = 0; i < 400 && stats_running() == 0; ++i) std::this_thread::sleep_for(25ms);
  ASSERT_GT(stats_running(), 0);

  // The rest of the daemon answers while a stats query is provably still running.
  auto others = std::async(std::launch::async, [&d] {
    client c(d.port());
    std::vector<int> codes;
    codes.push_back(c.get("/dashboard").status);
    codes.push_back(c.get("/healthz").status);
    codes.push_back(c.post("/webhooks/smspm",
                           R"({"messageId":"st-1","status":"delivered","to":"+447700900123","timestamp":"2026-01-01T10:00:00Z"})")
                        .status);
    return codes;
  });
  ASSERT_EQ(others.wait_for(20s), std::future_status::ready) << "held up behind the stuck stats queries";
  EXPECT_EQ(others.get(), (std::vector<int>{200, 200, 200}));
  EXPECT_GT(stats_running(), 0) << "the stats queries ended before the others were answered";

  // Past the bound (2 running + 8 queued), stats requests are refused at once with Retry-After.
  int refused = 0;
  for (int i = 0; i < sent; ++i) {
    if (stats[static_cast<std::size_t>(i)].wait_for(0s) != std::future_status::ready) continue;
    auto r = stats[static_cast<std::size_t>(i)].get();
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_FALSE(r.headers["retry-after"].empty());
    ++refused;
  }
  EXPECT_EQ(refused, sent - 10);
  lock.abort();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

}  // namespace
}  // namespace dlrd::e2e
