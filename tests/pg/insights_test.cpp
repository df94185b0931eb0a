// Deliverability insights against a real PostgreSQL: each dlr_stats_* function, the stats API
// and `dlrd report` on a small crafted month whose figures are worked out by hand below.
#include <dlrd/insights/api.hpp>

#include <dlrd/insights/report.hpp>
#include <dlrd/insights/stats.hpp>

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using dlrd::insights::answer_stats;
using dlrd::test::query;
using nlohmann::json;

// t(d, s): noon (UTC) d days before today, plus s seconds. Noon keeps every message on its
// day and at least 12 hours old whenever the test runs.
constexpr const char* time_helper = R"sql(
CREATE FUNCTION t(d int, s float8) RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT (date_trunc('day', now() AT TIME ZONE 'UTC') - d * interval '1 day' + interval '12 hours'
          + s * interval '1 second') AT TIME ZONE 'UTC'
$$;
)sql";

// The crafted data set. By day (UTC, D = today):
//   D-3: DE de1..de8 delivered after 1..8 s; de9, de13 undelivered '27'; de14 undelivered '31';
//        de10 enroute; FR fr1, fr2 delivered after 10 and 20 s, fr3 rejected '11', fr4 expired
//        (no code). Senders: DE Acme, FR Promo; providers smspm except fr3, fr4 on backup.
//   D-2: nothing (an empty day).
//   D-1: DE de11, de12 delivered after 9 and 10 s; VN vn1..vn3 sent, never reported (no
//        finals); x1 a report-created row: no country, sender or send time, delivered.
constexpr const char* crafted_rows = R"sql(
INSERT INTO sms_logs (message_id, to_number, country_code, from_number, provider, status, error_code,
                      sent_at, created_at, status_at, delivered_at)
SELECT m.id, '+100', m.country, m.sender, m.provider, m.status, m.code,
       t(m.d, 0), t(m.d, 0), t(m.d, m.latency),
       CASE WHEN m.status = 'delivered' THEN t(m.d, m.latency) END
  FROM (VALUES
    ('de1', 'DE', 'Acme', 'smspm', 'delivered', NULL, 3, 1.0),
    ('de2', 'DE', 'Acme', 'smspm', 'delivered', NULL, 3, 2.0),
    ('de3', 'DE', 'Acme', 'smspm', 'delivered', NULL, 3, 3.0),
    ('de4', 'DE', 'Acme', 'smspm', 'delivered', NULL, 3, 4.0),
    ('de5', 'DE', 'Acme', 'smspm', 'delivered', NULL, 3, 5.0),
    ('de6', 'DE', 'Acme', 'smspm', 'delivered', NULL, 3, 6.0),
    ('de7', 'DE', 'Acme', 'smspm', 'delivered', NULL, 3, 7.0),
    ('de8', 'DE', 'Acme', 'smspm', 'delivered', NULL, 3, 8.0),
    ('de9', 'DE', 'Acme', 'smspm', 'undelivered', '27', 3, 30.0),
    ('de13', 'DE', 'Acme', 'smspm', 'undelivered', '27', 3, 30.0),
    ('de14', 'DE', 'Acme', 'smspm', 'undelivered', '31', 3, 30.0),
    ('de10', 'DE', 'Acme', 'smspm', 'enroute', NULL, 3, 1.0),
    ('fr1', 'FR', 'Promo', 'smspm', 'delivered', NULL, 3, 10.0),
    ('fr2', 'FR', 'Promo', 'smspm', 'delivered', NULL, 3, 20.0),
    ('fr3', 'FR', 'Promo', 'backup', 'rejected', '11', 3, 1.0),
    ('fr4', 'FR', 'Promo', 'backup', 'expired', NULL, 3, 172800.0),
    ('de11', 'DE', 'Acme', 'smspm', 'delivered', NULL, 1, 9.0),
    ('de12', 'DE', 'Acme', 'smspm', 'delivered', NULL, 1, 10.0),
    ('vn1', 'VN', 'Acme', 'smspm', 'sent', NULL, 1, 1.0),
    ('vn2', 'VN', 'Acme', 'smspm', 'sent', NULL, 1, 1.0),
    ('vn3', 'VN', 'Acme', 'smspm', 'sent', NULL, 1, 1.0)
  ) AS m(id, country, sender, provider, status, code, d, latency);
INSERT INTO sms_logs (message_id, provider, status, sent_at, created_at, status_at, delivered_at)
VALUES ('x1', 'smspm', 'delivered', NULL, t(1, 0), t(1, 5), t(1, 5));
)sql";

// The range that holds all of it: [D-7 noon, now).
constexpr const char* week = "t(7, 0), now()";

class insights_test : public dlrd::test::pg_test {
 protected:
  void SetUp() override {
    pg_test::SetUp();
    query(url(), time_helper);
    query(url(), crafted_rows);
    conn_ = std::make_unique<pqxx::connection>(url());
    db_ = std::make_unique<dlrd::store::connection>(url());
  }
  void TearDown() override {
    db_.reset();
    conn_.reset();
    pg_test::TearDown();
  }

  // The API's answer, with its status checked and its body parsed.
  json get(std::string_view path, std::string_view query_string, int status = 200) {
    auto a = answer_stats(*db_, path, query_string);
    EXPECT_EQ(a.status, status) << path << "?" << query_string << " -> " << a.body;
    return json::parse(a.body);
  }

  std::string day(int days_ago) {
    return query(url(), "SELECT ((now() AT TIME ZONE 'UTC')::date - " + std::to_string(days_ago) + ")::text")[0][0]
        .as<std::string>();
  }

  std::unique_ptr<pqxx::connection> conn_;     // the test's own statements
  std::unique_ptr<dlrd::store::connection> db_;  // the API's
};

// A field's value, or NaN for NULL, so that one EXPECT can check both.
double num(const pqxx::field& f) { return f.is_null() ? std::nan("") : f.as<double>(); }
bool is_null(const pqxx::field& f) { return f.is_null(); }

TEST_F(insights_test, daily_series_has_every_day_and_zero_counts_for_empty_days) {
  auto r = query(url(), "SELECT day::text, total, delivered, failed, pending, delivery_rate, failure_rate "
                        "FROM dlr_stats_daily((now() AT TIME ZONE 'UTC')::date - 4, (now() AT TIME ZONE 'UTC')::date)");
  ASSERT_EQ(r.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(r[i][0].as<std::string>(), day(4 - i));
  // D-4, D-2 and today: no messages, zero counts, rates NULL rather than a division by zero.
  for (int i : {0, 2, 4}) {
    EXPECT_EQ(r[i][1].as<std::int64_t>(), 0);
    EXPECT_EQ(r[i][4].as<std::int64_t>(), 0);
    EXPECT_TRUE(is_null(r[i][5]));
    EXPECT_TRUE(is_null(r[i][6]));
  }
  // D-3: 16 sent, 10 delivered, 5 failed (3 undelivered, 1 rejected, 1 expired), 1 pending.
  EXPECT_EQ(r[1][1].as<std::int64_t>(), 16);
  EXPECT_EQ(r[1][2].as<std::int64_t>(), 10);
  EXPECT_EQ(r[1][3].as<std::int64_t>(), 5);
  EXPECT_EQ(r[1][4].as<std::int64_t>(), 1);
  EXPECT_DOUBLE_EQ(num(r[1][5]), 10.0 / 15);
  EXPECT_DOUBLE_EQ(num(r[1][6]), 5.0 / 15);
  // D-1: 6 sent (x1 counted by its created_at), 3 delivered, 3 pending VN.
  EXPECT_EQ(r[3][1].as<std::int64_t>(), 6);
  EXPECT_EQ(r[3][2].as<std::int64_t>(), 3);
  EXPECT_EQ(r[3][3].as<std::int64_t>(), 0);
  EXPECT_EQ(r[3][4].as<std::int64_t>(), 3);
  EXPECT_DOUBLE_EQ(num(r[3][5]), 1.0);
  EXPECT_DOUBLE_EQ(num(r[3][6]), 0.0);

  auto s = dlrd::insights::query_daily(*db_, 5);
  EXPECT_EQ(s.from, day(4));
  EXPECT_EQ(s.to, day(0));
  ASSERT_EQ(s.days.size(), 5u);
  EXPECT_EQ(s.days[1].total, 16);
  EXPECT_FALSE(s.days[2].delivery_rate.has_value());
}

TEST_F(insights_test, countries_put_the_worst_failure_rate_first_and_no_finals_last) {
  auto r = query(url(), std::string("SELECT key, total, delivered, undelivered, rejected, expired, failed, pending, "
                                    "delivery_rate, failure_rate, reject_share FROM dlr_stats_breakdown('country', ") +
                            week + ")");
  ASSERT_EQ(r.size(), 4u);
  // FR: 4 sent, 2 delivered, 1 rejected, 1 expired: half of the finals failed.
  EXPECT_EQ(r[0][0].as<std::string>(), "FR");
  EXPECT_EQ(r[0][1].as<std::int64_t>(), 4);
  EXPECT_EQ(r[0][4].as<std::int64_t>(), 1);
  EXPECT_EQ(r[0][5].as<std::int64_t>(), 1);
  EXPECT_EQ(r[0][6].as<std::int64_t>(), 2);
  EXPECT_DOUBLE_EQ(num(r[0][8]), 0.5);
  EXPECT_DOUBLE_EQ(num(r[0][9]), 0.5);
  EXPECT_DOUBLE_EQ(num(r[0][10]), 0.25);
  // DE: 14 sent, 10 delivered, 3 undelivered, 1 pending: 10/13 delivered.
  EXPECT_EQ(r[1][0].as<std::string>(), "DE");
  EXPECT_EQ(r[1][1].as<std::int64_t>(), 14);
  EXPECT_EQ(r[1][2].as<std::int64_t>(), 10);
  EXPECT_EQ(r[1][3].as<std::int64_t>(), 3);
  EXPECT_EQ(r[1][7].as<std::int64_t>(), 1);
  EXPECT_DOUBLE_EQ(num(r[1][8]), 10.0 / 13);
  EXPECT_DOUBLE_EQ(num(r[1][9]), 3.0 / 13);
  EXPECT_DOUBLE_EQ(num(r[1][10]), 0.0);
  // The row without a country: one delivered.
  EXPECT_TRUE(is_null(r[2][0]));
  EXPECT_DOUBLE_EQ(num(r[2][8]), 1.0);
  // VN: 3 sent, nothing final: every rate NULL, sorted last.
  EXPECT_EQ(r[3][0].as<std::string>(), "VN");
  EXPECT_EQ(r[3][7].as<std::int64_t>(), 3);
  EXPECT_TRUE(is_null(r[3][8]));
  EXPECT_TRUE(is_null(r[3][9]));
  EXPECT_TRUE(is_null(r[3][10]));

  auto j = get("/v1/stats/countries", "since=7d");
  ASSERT_EQ(j["countries"].size(), 4u);
  EXPECT_EQ(j["countries"][0]["country"], "FR");
  EXPECT_EQ(j["countries"][0]["band"], "investigate");
  EXPECT_EQ(j["countries"][1]["band"], "investigate");  // 76.9%
  EXPECT_TRUE(j["countries"][2]["country"].is_null());
  EXPECT_EQ(j["countries"][2]["band"], "healthy");
  EXPECT_EQ(j["countries"][3]["country"], "VN");
  EXPECT_TRUE(j["countries"][3]["delivery_rate"].is_null());
  EXPECT_EQ(j["countries"][3]["band"], "no_finals");
  EXPECT_DOUBLE_EQ(j["bands"]["healthy"].get<double>(), 0.95);
  EXPECT_DOUBLE_EQ(j["bands"]["investigate"].get<double>(), 0.85);
}

TEST_F(insights_test, senders_and_providers_show_their_reject_share) {
  auto senders = get("/v1/stats/senders", "since=7d")["senders"];
  ASSERT_EQ(senders.size(), 3u);
  EXPECT_EQ(senders[0]["sender"], "Promo");
  EXPECT_DOUBLE_EQ(senders[0]["reject_share"].get<double>(), 0.25);
  EXPECT_EQ(senders[1]["sender"], "Acme");  // 17 sent, 10 delivered, 3 failed, 4 pending
  EXPECT_EQ(senders[1]["total"], 17);
  EXPECT_EQ(senders[1]["pending"], 4);
  EXPECT_DOUBLE_EQ(senders[1]["failure_rate"].get<double>(), 3.0 / 13);
  EXPECT_DOUBLE_EQ(senders[1]["reject_share"].get<double>(), 0.0);
  EXPECT_TRUE(senders[2]["sender"].is_null());

  auto providers = get("/v1/stats/providers", "since=7d")["providers"];
  ASSERT_EQ(providers.size(), 2u);
  EXPECT_EQ(providers[0]["provider"], "backup");  // fr3 rejected, fr4 expired
  EXPECT_DOUBLE_EQ(providers[0]["failure_rate"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(providers[0]["reject_share"].get<double>(), 0.5);
  EXPECT_EQ(providers[1]["provider"], "smspm");  // 20 sent, 13 delivered, 3 failed, 4 pending
  EXPECT_EQ(providers[1]["total"], 20);
  EXPECT_EQ(providers[1]["delivered"], 13);
  EXPECT_DOUBLE_EQ(providers[1]["failure_rate"].get<double>(), 3.0 / 16);
}

TEST_F(insights_test, coverage_marks_a_market_that_never_reports) {
  auto r = query(url(), std::string("SELECT country, total, pending, pending_share, all_pending "
                                    "FROM dlr_stats_coverage(interval '1 hour', ") + week + ")");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0][0].as<std::string>(), "VN");
  EXPECT_EQ(r[0][1].as<std::int64_t>(), 3);
  EXPECT_DOUBLE_EQ(num(r[0][3]), 1.0);
  EXPECT_TRUE(r[0][4].as<bool>());
  EXPECT_EQ(r[1][0].as<std::string>(), "DE");
  EXPECT_EQ(r[1][2].as<std::int64_t>(), 1);
  EXPECT_DOUBLE_EQ(num(r[1][3]), 1.0 / 14);
  EXPECT_FALSE(r[1][4].as<bool>());
  EXPECT_EQ(r[2][0].as<std::string>(), "FR");
  EXPECT_TRUE(is_null(r[3][0]));
  // Messages younger than `after` are not expected to have a report yet: 4 days leaves D-1 out.
  auto old = query(url(), std::string("SELECT country, total FROM dlr_stats_coverage(interval '2 days', ") + week +
                              ") ORDER BY country");
  ASSERT_EQ(old.size(), 2u);
  EXPECT_EQ(old[0][0].as<std::string>(), "DE");
  EXPECT_EQ(old[0][1].as<std::int64_t>(), 12);

  auto j = get("/v1/stats/coverage", "after=1h&since=7d");
  EXPECT_EQ(j["after_seconds"], 3600);
  ASSERT_EQ(j["countries"].size(), 4u);
  EXPECT_EQ(j["countries"][0]["country"], "VN");
  EXPECT_EQ(j["countries"][0]["all_pending"], true);
}

TEST_F(insights_test, latency_percentiles_per_country_leave_out_rows_without_a_send_time) {
  auto r = query(url(), std::string("SELECT country, delivered, p50_seconds, p90_seconds, p99_seconds "
                                    "FROM dlr_stats_latency(") + week + ")");
  // x1 has no sent_at; VN delivered nothing.
  ASSERT_EQ(r.size(), 2u);
  // FR: 10 s and 20 s. Continuous percentiles interpolate: p90 = 10 + 0.9 * 10.
  EXPECT_EQ(r[0][0].as<std::string>(), "FR");
  EXPECT_NEAR(num(r[0][2]), 15.0, 1e-6);
  EXPECT_NEAR(num(r[0][3]), 19.0, 1e-6);
  EXPECT_NEAR(num(r[0][4]), 19.9, 1e-6);
  // DE: 1..10 s. p50 = 5.5; p90 at 8.1 of 9 steps = 9.1; p99 = 9.91.
  EXPECT_EQ(r[1][0].as<std::string>(), "DE");
  EXPECT_EQ(r[1][1].as<std::int64_t>(), 10);
  EXPECT_NEAR(num(r[1][2]), 5.5, 1e-6);
  EXPECT_NEAR(num(r[1][3]), 9.1, 1e-6);
  EXPECT_NEAR(num(r[1][4]), 9.91, 1e-6);

  auto j = get("/v1/stats/latency", "since=7d");
  ASSERT_EQ(j["countries"].size(), 2u);
  EXPECT_NEAR(j["countries"][1]["p90_seconds"].get<double>(), 9.1, 1e-6);
}

TEST_F(insights_test, error_codes_are_ranked_per_country_and_status) {
  auto r = query(url(), std::string("SELECT country, status, error_code, messages, share, rank "
                                    "FROM dlr_stats_error_codes(") + week + ", 5)");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0][0].as<std::string>() + r[0][1].as<std::string>() + r[0][2].as<std::string>(), "DEundelivered27");
  EXPECT_EQ(r[0][3].as<std::int64_t>(), 2);
  EXPECT_DOUBLE_EQ(num(r[0][4]), 2.0 / 3);
  EXPECT_EQ(r[0][5].as<std::int64_t>(), 1);
  EXPECT_EQ(r[1][2].as<std::string>(), "31");
  EXPECT_EQ(r[1][5].as<std::int64_t>(), 2);
  EXPECT_EQ(r[2][0].as<std::string>() + r[2][1].as<std::string>(), "FRexpired");
  EXPECT_TRUE(is_null(r[2][2]));  // expired without a code
  EXPECT_DOUBLE_EQ(num(r[2][4]), 1.0);
  EXPECT_EQ(r[3][1].as<std::string>(), "rejected");

  auto j = get("/v1/stats/errors", "since=7d&top=1");
  EXPECT_EQ(j["top"], 1);
  ASSERT_EQ(j["errors"].size(), 3u);
  EXPECT_EQ(j["errors"][0]["error_code"], "27");
  EXPECT_TRUE(j["errors"][1]["error_code"].is_null());
}

TEST_F(insights_test, an_empty_range_gives_no_rows_and_no_division_by_zero) {
  for (const char* f : {"dlr_stats_breakdown('country', t(30, 0), t(20, 0))",
                        "dlr_stats_coverage(interval '1 hour', t(30, 0), t(20, 0))",
                        "dlr_stats_latency(t(30, 0), t(20, 0))", "dlr_stats_error_codes(t(30, 0), t(20, 0), 5)",
                        "dlr_stats_breakdown('nonsense', t(7, 0), now())"}) {
    EXPECT_EQ(query(url(), std::string("SELECT count(*) FROM ") + f)[0][0].as<int>(), 0) << f;
  }
  query(url(), "TRUNCATE sms_logs");
  auto d = get("/v1/stats/daily", "days=3");
  ASSERT_EQ(d["days"].size(), 3u);
  for (const auto& day : d["days"]) {
    EXPECT_EQ(day["total"], 0);
    EXPECT_TRUE(day["delivery_rate"].is_null());
  }
  EXPECT_TRUE(get("/v1/stats/countries", "")["countries"].empty());
}

TEST_F(insights_test, the_functions_can_read_through_the_send_time_index) {
  // Inlined into the caller and matching the index expression; the planner picks the index
  // for a short range of a big table (forced here, the test table being tiny).
  pqxx::work tx(*conn_);
  tx.exec("SET LOCAL enable_seqscan = off");
  std::string plan;
  for (const auto& row : tx.exec("EXPLAIN SELECT * FROM dlr_stats_breakdown('country', now() - interval '1 hour', now())")) {
    plan += row[0].as<std::string>() + "\n";
  }
  EXPECT_NE(plan.find("idx_sms_logs_send_time"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("Function Scan"), std::string::npos) << plan;
}

TEST_F(insights_test, the_daily_endpoint_answers_json_for_good_parameters) {
  auto j = get("/v1/stats/daily", "days=5");
  EXPECT_EQ(j["from"], day(4));
  EXPECT_EQ(j["to"], day(0));
  ASSERT_EQ(j["days"].size(), 5u);
  EXPECT_EQ(j["days"][1]["day"], day(3));
  EXPECT_EQ(j["days"][1]["total"], 16);
  EXPECT_EQ(j["days"][1]["failed"], 5);
  EXPECT_DOUBLE_EQ(j["days"][1]["delivery_rate"].get<double>(), 10.0 / 15);
  EXPECT_EQ(get("/v1/stats/daily", "")["days"].size(), 30u);
  EXPECT_EQ(get("/v1/stats/daily/", "days=366")["days"].size(), 366u);
}

TEST_F(insights_test, absolute_windows_are_read_as_given) {
  auto since = query(url(), "SELECT to_char(t(3, -1) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")[0][0]
                   .as<std::string>();
  auto until = query(url(), "SELECT to_char(t(3, 1) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")[0][0]
                   .as<std::string>();
  auto j = get("/v1/stats/countries", "since=" + since + "&until=" + until);
  EXPECT_EQ(j["since"].get<std::string>().substr(0, 19), since.substr(0, 19));
  ASSERT_EQ(j["countries"].size(), 2u);  // only D-3: FR and DE
  // A duration counts back from until: the same two seconds.
  auto k = get("/v1/stats/countries", "since=2s&until=" + until);
  EXPECT_EQ(k["countries"], j["countries"]);
}

TEST_F(insights_test, bad_parameters_are_answered_400_with_the_field) {
  struct bad_case {
    const char* path;
    const char* query;
    const char* field;
  };
  for (const auto& c : std::vector<bad_case>{{"/v1/stats/daily", "days=0", "days"},
                                             {"/v1/stats/daily", "days=367", "days"},
                                             {"/v1/stats/daily", "days=abc", "days"},
                                             {"/v1/stats/daily", "days=5&days=6", "days"},
                                             {"/v1/stats/daily", "since=7d", "since"},
                                             {"/v1/stats/daily", "days=%zz", "query"},
                                             {"/v1/stats/countries", "since=yesterday", "since"},
                                             {"/v1/stats/countries", "since=0d", "since"},
                                             {"/v1/stats/countries", "since=400d", "since"},
                                             {"/v1/stats/countries", "until=tomorrow", "until"},
                                             {"/v1/stats/countries",
                                              "since=2024-05-02T00:00:00Z&until=2024-05-01T00:00:00Z", "since"},
                                             {"/v1/stats/countries", "since=2020-01-01T00:00:00Z&until=2024-01-01T00:00:00Z",
                                              "since"},
                                             {"/v1/stats/coverage", "after=soon", "after"},
                                             {"/v1/stats/coverage", "after=400d", "after"},
                                             {"/v1/stats/latency", "days=3", "days"},
                                             {"/v1/stats/errors", "top=0", "top"},
                                             {"/v1/stats/rules", "x=1", "x"}}) {
    auto j = get(c.path, c.query, 400);
    EXPECT_EQ(j["field"], c.field) << c.path << "?" << c.query;
    EXPECT_TRUE(j["error"].is_string());
  }
  auto unknown = get("/v1/stats/nope", "", 404);
  EXPECT_TRUE(unknown["error"].is_string());
  get("/v1/other", "", 404);
  // An offset whose '+' was not escaped arrives as a space and is still understood.
  get("/v1/stats/countries", "since=2024-05-01T00:00:00+02:00&until=2024-05-02T00:00:00%2B02:00");
}

TEST_F(insights_test, the_rules_endpoint_lists_only_firing_groups) {
  query(url(), "INSERT INTO dlr_rule_state (rule, group_key, firing, since, last_share, last_failed, last_total) "
               "VALUES ('country-delivery', 'FR', true, '2024-05-01T12:00:00Z', 0.5, 2, 4), "
               "       ('country-delivery', 'DE', false, NULL, 0.07, 1, 14)");
  auto j = get("/v1/stats/rules", "");
  ASSERT_EQ(j["firing"].size(), 1u);
  EXPECT_EQ(j["firing"][0]["rule"], "country-delivery");
  EXPECT_EQ(j["firing"][0]["group"], "FR");
  EXPECT_EQ(j["firing"][0]["since"], "2024-05-01T12:00:00.000000Z");
  EXPECT_DOUBLE_EQ(j["firing"][0]["share"].get<double>(), 0.5);
  EXPECT_EQ(j["firing"][0]["total"], 4);
}

TEST_F(insights_test, the_stats_service_reconnects_and_answers_503_without_a_database) {
  dlrd::insights::stats_service service(url(), std::chrono::seconds(0));
  auto a = service.answer("/v1/stats/countries", "since=7d");
  EXPECT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(json::parse(a.body)["countries"].size(), 4u);
  // Its connection is killed between two requests: the next one reconnects.
  query(url(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
               "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  EXPECT_EQ(service.answer("/v1/stats/daily", "days=2").status, 200);
  EXPECT_EQ(service.answer("/v1/stats/daily", "days=0").status, 400);

  dlrd::insights::stats_service nowhere("postgresql://postgres@127.0.0.1:1/none?connect_timeout=2");
  auto down = nowhere.answer("/v1/stats/daily", "");
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(json::parse(down.body)["error"], "database unavailable");
}

TEST_F(insights_test, the_stats_service_reuses_an_answer_for_a_while) {
  dlrd::insights::stats_service service(url(), std::chrono::seconds(60));
  auto before = service.answer("/v1/stats/countries", "since=7d");
  query(url(), "TRUNCATE sms_logs");
  EXPECT_EQ(service.answer("/v1/stats/countries", "since=7d").body, before.body);
  EXPECT_TRUE(json::parse(service.answer("/v1/stats/countries", "since=6d").body)["countries"].empty());
}

// Runs the built dlrd and returns its stdout; `code` is its exit status.
std::string run(const std::string& command, int& code) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = ::pclose(p);
  code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

class report_test : public insights_test {
 protected:
  void SetUp() override {
    insights_test::SetUp();
    dir_ = std::filesystem::temp_directory_path() / ("dlrd-report-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    config_ = (dir_ / "dlrd.yaml").string();
    std::ofstream(config_) << "listen:\n  address: 127.0.0.1\n  port: 18080\ndatabase:\n  url: \"" << url()
                           << "\"\nspool:\n  dir: " << (dir_ / "spool").string() << "\n";
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    insights_test::TearDown();
  }
  std::string report(const std::string& args, int expect_code = 0) {
    int code = -1;
    auto out = run(std::string(DLRD_BINARY) + " report --config " + config_ + " " + args + " 2>&1", code);
    EXPECT_EQ(code, expect_code) << out;
    return out;
  }

  std::filesystem::path dir_;
  std::string config_;
};

TEST_F(report_test, json_holds_the_api_bodies) {
  auto j = json::parse(report("--days 5 --format json"));
  EXPECT_EQ(j["days"], 5);
  EXPECT_EQ(j["daily"]["days"], get("/v1/stats/daily", "days=5")["days"]);
  EXPECT_EQ(j["countries"]["countries"], get("/v1/stats/countries", "since=5d")["countries"]);
  EXPECT_EQ(j["senders"]["senders"], get("/v1/stats/senders", "since=5d")["senders"]);
  EXPECT_EQ(j["providers"]["providers"], get("/v1/stats/providers", "since=5d")["providers"]);
  EXPECT_EQ(j["coverage"]["countries"], get("/v1/stats/coverage", "after=24h&since=5d")["countries"]);
  EXPECT_EQ(j["latency"]["countries"], get("/v1/stats/latency", "since=5d")["countries"]);
  EXPECT_EQ(j["errors"]["errors"], get("/v1/stats/errors", "since=5d")["errors"]);
  EXPECT_TRUE(j["rules"]["firing"].empty());
}

TEST_F(report_test, csv_has_one_block_per_section_with_the_same_figures) {
  auto csv = report("--days 5 --format csv");
  EXPECT_NE(csv.find("section,day,total,delivered,failed,pending,delivery_rate,failure_rate\n"), std::string::npos)
      << csv;
  EXPECT_NE(csv.find("daily," + day(3) + ",16,10,5,1,0.666667,0.333333\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("daily," + day(2) + ",0,0,0,0,,\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("section,country,total,delivered,undelivered,rejected,expired,failed,pending,delivery_rate,"
                     "failure_rate,reject_share,band\n"
                     "countries,FR,4,2,0,1,1,2,0,0.500000,0.500000,0.250000,investigate\n"
                     "countries,DE,14,10,3,0,0,3,1,0.769231,0.230769,0.000000,investigate\n"
                     "countries,,1,1,0,0,0,0,0,1.000000,0.000000,0.000000,healthy\n"
                     "countries,VN,3,0,0,0,0,0,3,,,,no_finals\n"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("senders,Promo,4,2,0,1,1,2,0,0.500000,0.500000,0.250000,investigate\n"), std::string::npos);
  // Coverage after 24 h depends on the time of day the test runs (D-1 is noon yesterday);
  // json_holds_the_api_bodies checks its figures.
  EXPECT_NE(csv.find("\nsection,country,total,pending,pending_share,all_pending\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("latency,DE,10,5.500,9.100,9.910\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("errors,DE,undelivered,27,2,0.666667,1\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\nsection,rule,group,since,share,failed,total\n"), std::string::npos) << csv;
}

TEST_F(report_test, table_aligns_columns_and_shows_percentages) {
  auto table = report("--days 5");
  // Names left, numbers right, every row of a table as wide as its header.
  EXPECT_NE(table.find("  country    total  delivered  undelivered  rejected  expired  failed  pending  "
                       "delivery_rate  failure_rate  reject_share  band\n"
                       "  FR             4          2            0         1        1       2        0         "
                       "50.00%        50.00%        25.00%  investigate\n"
                       "  DE            14         10            3         0        0       3        1         "
                       "76.92%        23.08%         0.00%  investigate\n"
                       "  (unknown)      1          1            0         0        0       0        0        "
                       "100.00%         0.00%         0.00%  healthy\n"
                       "  VN             3          0            0         0        0       0        3              "
                       "-             -             -  no_finals\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("Rate rules firing now\n  (none)\n"), std::string::npos) << table;
}

TEST_F(report_test, bad_options_exit_2) {
  report("--days 0", 2);
  report("--format xml", 2);
  auto help = report("--help");
  EXPECT_NE(help.find("dlrd report"), std::string::npos);
}

TEST(insights_params, durations_take_seconds_to_weeks_and_refuse_anything_else) {
  using dlrd::insights::parse_duration;
  using std::chrono::seconds;
  EXPECT_EQ(parse_duration("30s"), seconds(30));
  EXPECT_EQ(parse_duration("90m"), seconds(5400));
  EXPECT_EQ(parse_duration("24h"), seconds(86400));
  EXPECT_EQ(parse_duration("7d"), seconds(604800));
  EXPECT_EQ(parse_duration("2w"), seconds(1209600));
  EXPECT_EQ(parse_duration("1d12h"), seconds(129600));
  EXPECT_EQ(parse_duration("0h"), seconds(0));
  std::string many_parts;
  for (int i = 0; i < 20000; ++i) many_parts += "999999999w";
  EXPECT_FALSE(parse_duration(many_parts).has_value());
  for (const char* bad : {"", "7", "d", "7x", "-7d", "7d ", " 7d", "1.5h", "9999999999d", "7dd"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(insights_dashboard, the_page_is_self_contained_and_reads_the_stats_api) {
  auto page = dlrd::insights::dashboard_html();
  EXPECT_EQ(page.substr(0, 15), "<!DOCTYPE html>");
  // No external request: the only absolute URL is the SVG namespace name.
  std::string text(page);
  for (std::size_t at = text.find("http"); at != std::string::npos; at = text.find("http", at + 1)) {
    auto url = text.substr(at, 30);
    if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
      EXPECT_EQ(url.rfind("http://www.w3.org/2000/svg", 0), 0u) << url;
    }
  }
  EXPECT_EQ(text.find("<link"), std::string::npos);
  EXPECT_EQ(text.find("src="), std::string::npos);
  for (const char* endpoint : {"'daily?days=", "'countries?", "'coverage?after=24h&", "'latency?", "'rules'"}) {
    EXPECT_NE(text.find(endpoint), std::string::npos) << endpoint;
  }
  EXPECT_NE(text.find("data-country"), std::string::npos);
  EXPECT_NE(text.find("30000"), std::string::npos);  // refreshes every 30 s
  EXPECT_NE(text.find("@media (max-width"), std::string::npos);
}

}  // namespace
