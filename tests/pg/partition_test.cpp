// dlr_events by day (sql/0015, store/partitions.hpp): writes land in their day's partition,
// the leader makes days ahead, retention drops only whole expired partitions, dedup holds
// across partitions, and the migration from the unpartitioned table keeps every row.
#include <dlrd/store/partitions.hpp>

#include <dlrd/status/jobs.hpp>
#include <dlrd/store/migrations.hpp>

#include "support/report_gen.hpp"
#include "support/writer_fixture.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using dlrd::report::delivery_report;
using dlrd::report::status;
using dlrd::test::make_report;
using dlrd::test::query;
using namespace std::chrono_literals;

/// Microseconds since the epoch of `sql`, a timestamptz expression the database evaluates.
std::int64_t db_us(const std::string& url, const std::string& sql) {
  return query(url, "SELECT (extract(epoch FROM " + sql + ") * 1000000)::bigint")[0][0].as<std::int64_t>();
}

class partition_test : public dlrd::test::writer_fixture {
 protected:
  dlrd::store::write_outcome write(const std::vector<delivery_report>& batch) {
    auto w = make_writer();
    return write_with(w, batch);
  }
  /// Midnight UTC `days` days from today, in microseconds.
  std::int64_t midnight(int days) {
    return db_us(url(), "date_trunc('day', now(), 'UTC') + " + std::to_string(days) + " * interval '1 day'");
  }
  /// The partition holding each of the message's history rows, by event time.
  std::string where(const std::string& id) {
    auto r = query(url(), "SELECT string_agg(tableoid::regclass::text, ',' ORDER BY event_at) FROM dlr_events "
                          "WHERE message_id = '" + id + "'")[0][0];
    return r.is_null() ? "<none>" : r.as<std::string>();
  }
  std::string day_name(int days) {
    return query(url(), "SELECT 'dlr_events_p' || to_char(date_trunc('day', now(), 'UTC') + " + std::to_string(days) +
                            " * interval '1 day', 'YYYYMMDD')")[0][0]
        .as<std::string>();
  }
  int count(const std::string& sql) { return query(url(), sql)[0][0].as<int>(); }
  dlrd::status::retention_run retain(std::optional<std::chrono::milliseconds> events_after) {
    dlrd::status::retention_config c;
    c.events_after = events_after;
    dlrd::status::leader_jobs jobs({}, c, url(), [](std::vector<delivery_report>) { return true; });
    return jobs.retain_once();
  }
  /// A daily partition `days` from today made by hand (the leader only makes days ahead).
  void make_past_day(int days) {
    query(url(), "CREATE TABLE " + day_name(days) + " PARTITION OF dlr_events FOR VALUES FROM ('" +
                     query(url(), "SELECT date_trunc('day', now(), 'UTC') + " + std::to_string(days) +
                                      " * interval '1 day'")[0][0]
                         .as<std::string>() +
                     "') TO ('" +
                     query(url(), "SELECT date_trunc('day', now(), 'UTC') + " + std::to_string(days + 1) +
                                      " * interval '1 day'")[0][0]
                         .as<std::string>() +
                     "')");
  }
};

TEST_F(partition_test, the_leader_makes_today_and_the_days_ahead_once_and_moves_their_rows_out_of_the_default) {
  // Before any day exists, a report goes to the default partition: a write never fails.
  write({make_report("early", status::delivered, "DELIVRD", midnight(2) + 5'000'000)});
  EXPECT_EQ(where("early"), "dlr_events_default");

  auto first = retain(std::nullopt);
  ASSERT_TRUE(first.leader);
  EXPECT_EQ(first.partitions_created, static_cast<std::size_t>(dlrd::store::partition_days_ahead + 1));
  for (int d = 0; d <= dlrd::store::partition_days_ahead; ++d) {
    EXPECT_EQ(count("SELECT count(*) FROM pg_class WHERE relname = '" + day_name(d) + "' AND relispartition"), 1)
        << day_name(d);
  }
  EXPECT_EQ(where("early"), day_name(2)) << "the day's rows moved with it";
  EXPECT_EQ(retain(std::nullopt).partitions_created, 0u) << "a second run has nothing to make";
  EXPECT_EQ(count("SELECT count(*) FROM dlr_events_default"), 0);
}

TEST_F(partition_test, writes_across_a_day_boundary_land_in_each_days_partition) {
  dlrd::store::connection db(url());
  ASSERT_EQ(dlrd::store::make_day_partitions(db).created, static_cast<std::size_t>(dlrd::store::partition_days_ahead + 1));
  const auto boundary = midnight(1);
  auto out = write({make_report("edge", status::pending, "ENROUTE", boundary - 1),
                    make_report("edge", status::delivered, "DELIVRD", boundary),
                    make_report("far", status::delivered, "DELIVRD", midnight(30))});
  EXPECT_EQ(out.events_added, 3u);
  EXPECT_EQ(where("edge"), day_name(0) + "," + day_name(1));
  EXPECT_EQ(where("far"), "dlr_events_default") << "past the days made ahead";
  EXPECT_EQ(count("SELECT count(*) FROM sms_logs WHERE message_id = 'edge' AND status = 'delivered'"), 1);
}

TEST_F(partition_test, dedup_holds_across_partitions_and_when_a_day_is_made_between_two_copies) {
  const auto at = midnight(1) + 7'000'000;
  const auto report = make_report("dup", status::delivered, "DELIVRD", at);
  EXPECT_EQ(write({report}).events_added, 1u);  // into the default partition
  dlrd::store::connection db(url());
  EXPECT_EQ(dlrd::store::make_day_partitions(db).moved, 1u);
  EXPECT_EQ(write({report, report}).events_added, 0u) << "the copy finds the row in its day's partition";
  // The same report on another day is another report.
  EXPECT_EQ(write({make_report("dup", status::delivered, "DELIVRD", at - 86'400'000'000)}).events_added, 1u);
  EXPECT_EQ(where("dup"), day_name(0) + "," + day_name(1));
  EXPECT_EQ(count("SELECT count(*) FROM dlr_events WHERE message_id = 'dup'"), 2);
}

TEST_F(partition_test, retention_drops_only_partitions_whose_whole_day_is_older_and_trims_the_default) {
  for (int d : {-92, -91, -90}) make_past_day(d);
  write({make_report("gone-92", status::delivered, "DELIVRD", midnight(-92) + 1'000'000),
         make_report("gone-91", status::delivered, "DELIVRD", midnight(-91) + 1'000'000),
         // Older than 90 days, but its day is not over 90 days ago yet: it stays with its day.
         make_report("kept-90", status::delivered, "DELIVRD", midnight(-90) + 1'000'000),
         make_report("today", status::delivered, "DELIVRD", midnight(0) + 1'000'000),
         make_report("odd-clock", status::delivered, "DELIVRD", midnight(-4000)),
         make_report("odd-clock-new", status::delivered, "DELIVRD", midnight(-4001))});
  ASSERT_EQ(where("odd-clock"), "dlr_events_default");
  query(url(), "UPDATE dlr_events SET stored_at = now() - interval '91 days' WHERE message_id = 'odd-clock'");

  auto r = retain(90 * 24h);
  ASSERT_TRUE(r.leader);
  EXPECT_EQ(r.partitions_dropped, 2u);
  EXPECT_EQ(r.events_deleted, 1u) << "the default partition's rows go by stored_at, in batches";
  EXPECT_EQ(count("SELECT count(*) FROM pg_class WHERE relname IN ('" + day_name(-92) + "', '" + day_name(-91) + "')"),
            0)
      << "detached and dropped";
  auto left = query(url(), "SELECT string_agg(message_id, ',' ORDER BY message_id) FROM dlr_events")[0][0];
  EXPECT_EQ(left.as<std::string>(), "kept-90,odd-clock-new,today");
  EXPECT_EQ(retain(90 * 24h).partitions_dropped, 0u);
  EXPECT_EQ(retain(std::nullopt).partitions_dropped, 0u) << "null keeps every partition";
}

class partition_migration_test : public partition_test {
 protected:
  bool migrated() const override { return false; }
};

TEST_F(partition_migration_test, the_migration_from_the_unpartitioned_table_keeps_every_row_where_it_is) {
  // The schema just before sql/0015, with history written by its writer.
  std::string before;
  for (const auto& m : dlrd::store::embedded_migrations()) {
    if (m.name.starts_with("0015")) break;
    before = m.name;
  }
  dlrd::store::migrate(url(), before);
  ASSERT_EQ(count("SELECT count(*) FROM pg_partitioned_table"), 0);
  // By hand: the writer's statement needs the function files, which an older schema lacks.
  query(url(), "INSERT INTO dlr_events (message_id, status, event_at, provider) VALUES "
               "('old', 'pending', date_trunc('day', now(), 'UTC') - interval '40 days', 'smspm'), "
               "('old', 'delivered', date_trunc('day', now(), 'UTC') - interval '40 days' + interval '9 s', 'smspm'), "
               "('now', 'delivered', date_trunc('day', now(), 'UTC') + interval '1 ms', 'smspm'), "
               "('ahead', 'delivered', date_trunc('day', now(), 'UTC') + interval '2 days 1 ms', 'smspm')");
  // Columns added by later migrations (sql/0016's carrier_time) are left out of the comparison.
  const std::string rows =
      "SELECT md5(string_agg((to_jsonb(e) - 'carrier_time')::text, '|' ORDER BY id)) FROM dlr_events e";
  const auto before_rows = query(url(), rows)[0][0].as<std::string>();

  dlrd::store::migrate(url());
  EXPECT_EQ(dlrd::store::check_schema(url()), "");
  EXPECT_EQ(query(url(), rows)[0][0].as<std::string>(), before_rows) << "every row and id kept";
  EXPECT_EQ(where("old"), "dlr_events_legacy,dlr_events_legacy");
  EXPECT_EQ(where("now"), "dlr_events_legacy") << "the old table covers up to tomorrow";
  EXPECT_EQ(where("ahead"), "dlr_events_default") << "rows dated after its range moved out";

  // Dedup holds against the old rows; new ids follow the old ones.
  EXPECT_EQ(write({make_report("old", status::delivered, "DELIVRD", midnight(-40) + 9'000'000)}).events_added, 0u);
  auto r = retain(90 * 24h);
  EXPECT_EQ(r.partitions_created, static_cast<std::size_t>(dlrd::store::partition_days_ahead)) << "today is the old table's";
  EXPECT_EQ(r.partitions_dropped, 0u) << "the old table holds today's rows";
  EXPECT_EQ(where("ahead"), day_name(2));
  write({make_report("new", status::delivered, "DELIVRD", midnight(1) + 1'000)});
  EXPECT_EQ(count("SELECT count(*) FROM dlr_events WHERE message_id = 'new' AND id > (SELECT max(id) FROM "
                  "dlr_events WHERE message_id <> 'new')"),
            1);
}

TEST_F(partition_migration_test, a_fresh_database_gets_no_legacy_partition) {
  dlrd::store::migrate(url());
  EXPECT_EQ(count("SELECT count(*) FROM pg_class WHERE relname = 'dlr_events_legacy'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM pg_inherits WHERE inhparent = 'dlr_events'::regclass"), 1) << "the default";
}

}  // namespace
