// The seed article's two dashboard queries, verbatim, on a database the real daemon wrote:
// they run unchanged and agree with the stats API's figures over the same messages.
#include "harness.hpp"

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <cmath>
#include <map>
#include <thread>

namespace dlrd::e2e {
namespace {

using namespace std::chrono_literals;

// "Building a Deliverability Dashboard", both queries exactly as the article gives them.
constexpr const char* article_delivery_rate_by_day = R"sql(
SELECT
DATE_TRUNC('day', sent_at) AS day,
COUNT(*) AS total,
COUNT(*) FILTER (WHERE status = 'delivered') AS delivered,
ROUND(100.0 * COUNT(*) FILTER (WHERE status = 'delivered') / COUNT(*), 1) AS delivery_rate_pct
FROM sms_logs
WHERE sent_at > NOW() - INTERVAL '30 days'
GROUP BY 1
ORDER BY 1;
)sql";

constexpr const char* article_failure_rate_by_country = R"sql(
SELECT
country_code,
COUNT(*) AS total,
COUNT(*) FILTER (WHERE status IN ('undelivered','rejected','expired')) AS failed,
ROUND(100.0 * COUNT(*) FILTER (WHERE status IN ('undelivered','rejected','expired')) / COUNT(*), 1) AS failure_rate_pct
FROM sms_logs
GROUP BY 1
ORDER BY failure_rate_pct DESC;
)sql";

constexpr std::string_view api_yaml = "api:\n  auth:\n    bearer: [\"reader\"]\n";

std::string call(int port, const std::string& method, const std::string& target, const std::string& body = {}) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer reader\r\n";
  if (!body.empty()) req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  return raw_exchange(port, req + "\r\n" + body, 5s);
}

nlohmann::json body_of(const std::string& raw) {
  auto at = raw.find("\r\n\r\n");
  return nlohmann::json::parse(at == std::string::npos ? std::string() : raw.substr(at + 4), nullptr, false);
}

double pct(double share) { return std::round(share * 1000.0) / 10.0; }

TEST(article_queries, run_verbatim_on_what_the_daemon_wrote_and_agree_with_the_stats_api) {
  test::pg_database db;
  temp_dir dir;
  daemon d(dir.path(), db.url(), std::string(api_yaml));
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();

  // Sends logged through the API under the article's field names (one under the old names,
  // still read for a release), then reports: DE 3 of 4 delivered, FR 1 of 2 rejected, VN never
  // reported (all pending: the article shows 0% failed there, dlrd's final-based rate has no data).
  struct send {
    std::string id, to, status;
  };
  const std::vector<send> sends = {
      {"a-de-1", "+4915112345671", "delivered"}, {"a-de-2", "+4915112345672", "delivered"},
      {"a-de-3", "+4915112345673", "delivered"}, {"a-de-4", "+4915112345674", "undelivered"},
      {"a-fr-1", "+33612345671", "rejected"},    {"a-fr-2", "+33612345672", "delivered"},
      {"a-vn-1", "+84912345671", ""},            {"a-vn-2", "+84912345672", ""},
  };
  for (std::size_t i = 0; i < sends.size(); ++i) {
    const auto& s = sends[i];
    std::string body = i == 0 ? R"({"message_id":")" + s.id + R"(","to":")" + s.to + R"(","from":"ShopCo","cost":0.05})"
                              : R"({"message_id":")" + s.id + R"(","to_number":")" + s.to +
                                    R"(","from_number":"ShopCo","text_preview":"Your code","cost_eur":0.045})";
    auto raw = call(d.port(), "POST", "/v1/messages", body);
    ASSERT_EQ(status_of(raw), 200) << raw;
    auto j = body_of(raw);
    EXPECT_EQ(j["to_number"], s.to) << "the API speaks the article's column names";
    EXPECT_EQ(j["from_number"], "ShopCo");
    EXPECT_TRUE(j["country_code"].is_string());
    EXPECT_FALSE(j.contains("recipient"));
  }
  client c(d.port());
  int reports = 0;
  for (const auto& s : sends) {
    if (s.status.empty()) continue;
    auto r = c.post("/webhooks/smspm", R"({"messageId":")" + s.id + R"(","status":")" + s.status + R"(","to":")" +
                                           s.to + R"("})");
    ASSERT_EQ(r.status, 200);
    ++reports;
  }
  pqxx::connection conn(db.url());
  int stored = 0;
  for (int i = 0; i < 200 && stored < reports; ++i) {
    pqxx::work tx(conn);
    stored = tx.exec1("SELECT count(*) FROM sms_logs WHERE status <> 'pending'")[0].as<int>();
    tx.commit();
    if (stored < reports) std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(stored, reports);

  pqxx::work tx(conn);
  tx.exec("SET TIME ZONE 'UTC'");  // the stats API's days are UTC days
  auto by_day = tx.exec(article_delivery_rate_by_day);
  auto by_country = tx.exec(article_failure_rate_by_country);
  tx.commit();

  auto daily = body_of(call(d.port(), "GET", "/v1/stats/daily?days=1"));
  ASSERT_TRUE(daily.contains("days")) << daily.dump();
  ASSERT_EQ(by_day.size(), 1u);
  const auto& today = daily["days"].back();
  EXPECT_EQ(by_day[0]["total"].as<int>(), today["total"].get<int>());
  EXPECT_EQ(by_day[0]["delivered"].as<int>(), today["delivered"].get<int>());
  EXPECT_DOUBLE_EQ(by_day[0]["delivery_rate_pct"].as<double>(), pct(today["delivery_rate_of_sent"].get<double>()));
  EXPECT_DOUBLE_EQ(today["delivery_rate"].get<double>(), 4.0 / 6.0) << "dlrd's own rate: delivered of final";

  auto countries = body_of(call(d.port(), "GET", "/v1/stats/countries?since=1d"));
  ASSERT_TRUE(countries.contains("countries")) << countries.dump();
  std::map<std::string, nlohmann::json> api;
  for (const auto& row : countries["countries"]) api[row["country"].get<std::string>()] = row;
  ASSERT_EQ(by_country.size(), 3u);
  for (const auto& row : by_country) {
    auto code = row["country_code"].as<std::string>();
    SCOPED_TRACE(code);
    ASSERT_TRUE(api.contains(code));
    EXPECT_EQ(row["total"].as<int>(), api[code]["total"].get<int>());
    EXPECT_EQ(row["failed"].as<int>(), api[code]["failed"].get<int>());
    EXPECT_DOUBLE_EQ(row["failure_rate_pct"].as<double>(), pct(api[code]["failure_rate_of_sent"].get<double>()));
  }
  EXPECT_EQ(by_country[0]["country_code"].as<std::string>(), "FR");  // 50.0%
  EXPECT_DOUBLE_EQ(by_country[1]["failure_rate_pct"].as<double>(), 25.0);
  EXPECT_DOUBLE_EQ(by_country[2]["failure_rate_pct"].as<double>(), 0.0);
  EXPECT_TRUE(api["VN"]["failure_rate"].is_null()) << "no final report: dlrd's rate has no data";
  EXPECT_DOUBLE_EQ(api["VN"]["failure_rate_of_sent"].get<double>(), 0.0) << "the article's figure for the same market";
}

}  // namespace
}  // namespace dlrd::e2e
