// The convergence rule in SQL (dlr_status_class, dlr_status_ordinal, dlr_report_wins) against
// the C++ rule it mirrors (include/dlrd/report/report.hpp), status by status and pair by pair.
#include <dlrd/report/report.hpp>

#include "support/pg_fixture.hpp"
#include "support/report_gen.hpp"

#include <dlrd/report/time.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using dlrd::report::delivery_report;
using dlrd::report::status;
using dlrd::test::query;

class convergence_test : public dlrd::test::pg_test {
 protected:
  // One query, one row per name: the name's class and ordinal in SQL.
  pqxx::result ranks(const std::vector<std::string>& names) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + ("('" + n + "')");
    return query(url(), "SELECT n, dlr_status_class(n), dlr_status_ordinal(n) FROM (VALUES " + list +
                            ") AS v(n) ORDER BY n");
  }
};

constexpr status every_status[] = {status::pending, status::expired, status::undelivered, status::rejected,
                                   status::delivered};

TEST_F(convergence_test, every_status_has_the_same_class_and_ordinal_in_cpp_and_sql) {
  for (auto s : every_status) {
    const std::string name(dlrd::report::to_string(s));
    auto r = query(url(), "SELECT dlr_status_class('" + name + "'), dlr_status_ordinal('" + name + "')");
    EXPECT_EQ(r[0][0].as<int>(), dlrd::report::status_class(s)) << name;
    EXPECT_EQ(r[0][1].as<int>(), static_cast<int>(s)) << name;
  }
}

TEST_F(convergence_test, names_cpp_does_not_know_rank_as_pending_in_sql) {
  // An application's own words (the seed's 'sent'), an empty or a differently cased name.
  for (const auto& row : ranks({"sent", "", "DELIVERED", "failed", "unknown"})) {
    const auto name = row[0].as<std::string>();
    EXPECT_FALSE(dlrd::report::parse_canonical(name)) << name;
    EXPECT_EQ(row[1].as<int>(), 0) << name;
    EXPECT_EQ(row[2].as<int>(), 0) << name;
  }
  auto null = query(url(), "SELECT dlr_status_class(NULL), dlr_status_ordinal(NULL)");
  EXPECT_EQ(null[0][0].as<int>(), 0);
  EXPECT_EQ(null[0][1].as<int>(), 0);
}

// The four ranked fields of a report as a JSON object for json_to_recordset.
std::string fields_json(const delivery_report& r) {
  std::string out = "{\"status\":\"" + std::string(dlrd::report::to_string(r.canonical)) + "\",\"raw\":\"" +
                    r.raw_status + "\",\"at\":\"" + dlrd::report::format_timestamp(r.event_at) + "\"";
  if (r.error_code) out += ",\"err\":\"" + *r.error_code + "\"";
  return out + "}";
}

TEST_F(convergence_test, dlr_report_wins_equals_wins_over_for_random_pairs) {
  dlrd::test::report_gen gen(3);
  // Few messages, many reports: times, statuses, raw words and error codes collide often.
  auto reports = gen.reports(1, 8);
  while (reports.size() < 400) {
    auto more = gen.reports(1, 8);
    reports.insert(reports.end(), more.begin(), more.end());
  }
  std::string pairs = "[";
  std::vector<bool> expected;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    for (std::size_t j : {i, (i * 7 + 3) % reports.size(), (i * 13 + 5) % reports.size()}) {
      if (pairs.size() > 1) pairs += ",";
      pairs += "{\"new\":" + fields_json(reports[i]) + ",\"old\":" + fields_json(reports[j]) + "}";
      expected.push_back(dlrd::report::wins_over(reports[i], reports[j]));
    }
  }
  pairs += "]";
  auto rows = query(url(),
      "SELECT dlr_report_wins(n.status, n.at, n.raw, n.err, o.status, o.at, o.raw, o.err) "
      "  FROM json_array_elements('" + pairs + "') WITH ORDINALITY AS p(pair, i), "
      "       json_to_record(p.pair->'new') AS n(status text, raw text, at timestamptz, err text), "
      "       json_to_record(p.pair->'old') AS o(status text, raw text, at timestamptz, err text) "
      " ORDER BY p.i");
  ASSERT_EQ(rows.size(), expected.size());
  std::size_t wins = 0;
  for (std::size_t k = 0; k < expected.size(); ++k) {
    ASSERT_EQ(rows[k][0].as<bool>(), expected[k]) << "pair " << k;
    wins += expected[k] ? 1 : 0;
  }
  EXPECT_GT(wins, expected.size() / 4) << "the pairs test both answers";
  EXPECT_LT(wins, expected.size() * 3 / 4);
}

TEST_F(convergence_test, any_report_wins_over_a_row_no_report_touched) {
  for (auto s : every_status) {
    const std::string name(dlrd::report::to_string(s));
    for (const char* old_status : {"NULL", "'pending'", "'sent'"}) {
      auto r = query(url(), "SELECT dlr_report_wins('" + name + "', '2024-05-01T12:00:00Z', '', NULL, " +
                                old_status + ", NULL, NULL, NULL)");
      EXPECT_TRUE(r[0][0].as<bool>()) << name << " over " << old_status;
    }
  }
}

TEST_F(convergence_test, the_rule_is_inlined_into_the_calling_statement) {
  // A call per row would show the function's name in the plan; inlined, only its expression.
  auto plan = query(url(),
      "EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM sms_logs s "
      " WHERE dlr_report_wins('delivered', now(), 'DELIVRD', NULL, s.status, s.status_at, s.raw_status, s.error_code)");
  std::string text;
  for (const auto& row : plan) text += row[0].as<std::string>() + "\n";
  EXPECT_EQ(text.find("dlr_report_wins"), std::string::npos) << text;
  EXPECT_EQ(text.find("dlr_status_class"), std::string::npos) << text;
  EXPECT_NE(text.find("'-infinity'"), std::string::npos) << text;
}

}  // namespace
