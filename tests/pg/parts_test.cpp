// Long messages reported part by part (sql/0010): every arrival order, batching and
// concurrency gives the same message row, the history keeps each part, one notice.
#include "support/writer_fixture.hpp"
#include "support/report_gen.hpp"
#include "random_batches.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

namespace {

using dlrd::report::delivery_report;
using dlrd::report::ingest_record;
using dlrd::report::status;
using dlrd::store::writer;
using dlrd::test::make_report;
using dlrd::test::query;

constexpr std::int64_t t0 = 1714564800LL * 1000000;  // 2024-05-01T12:00:00Z in microseconds
constexpr std::int64_t second = 1000000;

// A part's converged state as its row shows it: status|raw_status|status_at (µs)|error_code.
std::string part_state(const delivery_report& r) {
  return std::string(dlrd::report::to_string(r.canonical)) + "|" + r.raw_status + "|" +
         std::to_string(r.event_at.time_since_epoch().count()) + "|" + r.error_code.value_or("");
}

// The message row the part rule gives for its parts' converged states, in part order: the
// latest failure (then the higher status, then the lower part) decides; else delivered when
// every part is; else pending. As parts_test::row shows it: status|raw_status|error_code.
std::string message_state(const std::vector<delivery_report>& parts) {
  const delivery_report* failed = nullptr;
  std::size_t failed_part = 0, delivered = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto& p = parts[i];
    if (p.canonical == status::delivered) ++delivered;
    if (!dlrd::report::is_failed(p.canonical)) continue;
    if (failed == nullptr || std::tuple(p.event_at, p.canonical) > std::tuple(failed->event_at, failed->canonical)) {
      failed = &p;
      failed_part = i + 1;
    }
  }
  const auto n = std::to_string(parts.size());
  if (failed != nullptr) {
    return std::string(dlrd::report::to_string(failed->canonical)) + "|part " + std::to_string(failed_part) + "/" + n +
           ": " + failed->raw_status + "|" + failed->error_code.value_or("");
  }
  return std::string(delivered == parts.size() ? "delivered" : "pending") + "|" + std::to_string(delivered) + "/" + n +
         " parts delivered|";
}

class parts_test : public dlrd::test::writer_fixture {
 protected:
  void write(writer& w, const std::vector<delivery_report>& batch) { write_with(w, batch); }
  void register_parts(const std::string& message, const std::vector<std::string>& parts) {
    std::string arr = "{";
    for (const auto& p : parts) arr += (arr.size() > 1 ? "," : "") + p;
    arr += "}";
    query(url(), "SELECT dlr_log_send('" + message + "', '+447700900123')");
    query(url(), "SELECT dlr_log_parts('" + message + "', '" + arr + "')");
  }
  std::string row(const std::string& message) {
    auto r = query(url(), "SELECT status || '|' || coalesce(raw_status, '') || '|' || coalesce(error_code, '') "
                          "FROM sms_logs WHERE message_id = '" + message + "'");
    return r.empty() ? "(none)" : r[0][0].as<std::string>();
  }
  std::int64_t scalar(const std::string& sql) { return query(url(), sql)[0][0].as<std::int64_t>(); }

};

TEST_F(parts_test, the_message_is_delivered_when_every_part_is_and_pending_before) {
  auto w = make_writer();
  register_parts("long-1", {"p1", "p2", "p3"});
  write(w, {make_report("p1", status::delivered, "DELIVRD", t0)});
  EXPECT_EQ(row("long-1"), "pending|1/3 parts delivered|");
  write(w, {make_report("p2", status::delivered, "DELIVRD", t0 + second),
            make_report("p3", status::pending, "ENROUTE", t0 + second)});
  EXPECT_EQ(row("long-1"), "pending|2/3 parts delivered|");
  write(w, {make_report("p3", status::delivered, "DELIVRD", t0 + 2 * second)});
  EXPECT_EQ(row("long-1"), "delivered|3/3 parts delivered|");
  EXPECT_EQ(scalar("SELECT (extract(epoch FROM delivered_at) * 1000000)::bigint FROM sms_logs WHERE message_id = 'long-1'"),
            t0 + 2 * second);
  // The parts are no messages of their own; their reports are all in the history.
  EXPECT_EQ(scalar("SELECT count(*) FROM sms_logs WHERE message_id LIKE 'p%'"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM dlr_events WHERE message_id IN ('p1', 'p2', 'p3')"), 4);
  EXPECT_EQ(scalar("SELECT count(*) FROM dlr_alert_outbox"), 0);
}

TEST_F(parts_test, the_sql_part_rule_equals_the_cpp_rule_for_any_split_and_order) {
  auto w = make_writer();
  dlrd::test::report_gen gen(17);
  constexpr int messages = 30, parts_per_message = 3;  // setup below names three parts
  // msg-0, msg-1, msg-2 are the parts of whole-0, and so on.
  std::string setup = "TRUNCATE sms_logs, dlr_events, dlr_message_parts, dlr_alert_outbox CASCADE;";
  for (int m = 0; m < messages; m += parts_per_message) {
    const auto message = "whole-" + std::to_string(m / parts_per_message);
    setup += "SELECT dlr_log_parts('" + message + "', ARRAY['msg-" + std::to_string(m) + "', 'msg-" +
             std::to_string(m + 1) + "', 'msg-" + std::to_string(m + 2) + "']);";
  }
  for (int round = 0; round < 10; ++round) {
    query(url(), setup);
    auto reports = gen.reports(messages, 8);
    auto winners = dlrd::test::fold_winners(reports);
    ASSERT_EQ(winners.size(), static_cast<std::size_t>(messages)) << "every part gets a report";
    dlrd::test::write_in_random_batches(gen, reports, [&](const std::vector<delivery_report>& b) { write(w, b); });

    std::map<std::string, std::string> parts;
    for (const auto& r : query(url(), "SELECT part_id, status || '|' || raw_status || '|' || "
                                      "(extract(epoch FROM status_at) * 1000000)::bigint || '|' || "
                                      "coalesce(error_code, '') FROM dlr_message_parts")) {
      parts[r[0].as<std::string>()] = r[1].as<std::string>();
    }
    for (const auto& [id, winner] : winners) {
      ASSERT_EQ(parts.at(id), part_state(winner)) << "round " << round << " part " << id;
    }
    for (int m = 0; m < messages; m += parts_per_message) {
      std::vector<delivery_report> in_order;
      for (int p = m; p < m + parts_per_message; ++p) in_order.push_back(winners.at("msg-" + std::to_string(p)));
      const auto message = "whole-" + std::to_string(m / parts_per_message);
      ASSERT_EQ(row(message), message_state(in_order)) << "round " << round << " message " << message;
    }
  }
}

TEST_F(parts_test, one_failed_part_fails_the_message_once_in_any_order) {
  const std::vector<delivery_report> reports = {
      make_report("q1", status::delivered, "DELIVRD", t0),
      make_report("q2", status::pending, "ENROUTE", t0 + second),
      make_report("q2", status::undelivered, "UNDELIV", t0 + 5 * second, "034"),
      make_report("q3", status::delivered, "DELIVRD", t0 + 2 * second),
      make_report("q3", status::delivered, "DELIVRD", t0 + 2 * second),  // a duplicate
  };
  std::vector<std::size_t> order(reports.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  int permutations = 0;
  std::set<std::string> rows;
  do {
    // A fresh message per order, each report in a batch of its own (the hardest case).
    std::string msg = "long-" + std::to_string(permutations);
    std::vector<std::string> ids;
    for (auto p : {"q1", "q2", "q3"}) ids.push_back(msg + "-" + p);
    register_parts(msg, ids);
    auto w = make_writer();
    for (auto i : order) {
      auto r = reports[i];
      r.message_id = msg + "-" + r.message_id;
      write(w, {r});
    }
    rows.insert(row(msg));
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()) && permutations < 40);
  EXPECT_EQ(rows, std::set<std::string>{"undelivered|part 2/3: UNDELIV|034"});
  // Exactly one notice per message, whatever the order.
  EXPECT_EQ(scalar("SELECT count(*) FROM dlr_alert_outbox"), permutations);
  EXPECT_EQ(scalar("SELECT count(DISTINCT message_id) FROM dlr_alert_outbox"), permutations);
}

TEST_F(parts_test, a_part_delivered_after_its_failure_clears_the_failure_by_the_part_rule) {
  auto w = make_writer();
  register_parts("long-r", {"r1", "r2"});
  write(w, {make_report("r1", status::undelivered, "UNDELIV", t0, "001")});
  EXPECT_EQ(row("long-r"), "undelivered|part 1/2: UNDELIV|001");
  // The carrier retried part 1: delivered wins for the part; the message waits for part 2.
  write(w, {make_report("r1", status::delivered, "DELIVRD", t0 + second)});
  EXPECT_EQ(row("long-r"), "pending|1/2 parts delivered|");
  write(w, {make_report("r2", status::delivered, "DELIVRD", t0 + 2 * second)});
  EXPECT_EQ(row("long-r"), "delivered|2/2 parts delivered|");
}

TEST_F(parts_test, two_writers_moving_two_parts_at_once_see_each_other) {
  for (int round = 0; round < 10; ++round) {
    std::string msg = "long-c" + std::to_string(round);
    register_parts(msg, {msg + "-a", msg + "-b"});
    std::thread t1([&] {
      auto w = make_writer();
      write(w, {make_report(msg + "-a", status::delivered, "DELIVRD", t0)});
    });
    std::thread t2([&] {
      auto w = make_writer();
      write(w, {make_report(msg + "-b", status::delivered, "DELIVRD", t0 + second)});
    });
    t1.join();
    t2.join();
    EXPECT_EQ(row(msg), "delivered|2/2 parts delivered|") << "round " << round;
  }
}

TEST_F(parts_test, messages_without_parts_are_untouched_by_the_part_rule) {
  auto w = make_writer();
  register_parts("long-x", {"x1", "x2"});
  write(w, {make_report("plain-1", status::delivered, "DELIVRD", t0), make_report("x1", status::rejected, "REJECTD", t0)});
  EXPECT_EQ(row("plain-1"), "delivered|DELIVRD|");
  EXPECT_EQ(row("long-x"), "rejected|part 1/2: REJECTD|");
  EXPECT_EQ(row("x1"), "(none)");
}

}  // namespace
