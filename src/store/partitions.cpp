// The leader's upkeep of dlr_events' partitions: daily ones made ahead, expired ones dropped.
#include <dlrd/store/partitions.hpp>

#include "pg.hpp"

#include <string>
#include <vector>

namespace dlrd::store {

namespace {

// Every partition but the default with its range, read back from its bound expression (so a
// partition an operator or pg_partman made counts too); lo is NULL for MINVALUE, hi for
// MAXVALUE. Times print as UTC: each transaction below sets TimeZone.
constexpr const char* ranges = R"sql(
  SELECT c.relname::text AS name,
         substring(b.expr FROM 'FROM \(''([^'']*)''\)')::timestamptz AS lo,
         substring(b.expr FROM 'TO \(''([^'']*)''\)')::timestamptz AS hi
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
         LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS expr) b
   WHERE i.inhparent = 'dlr_events'::regclass AND b.expr <> 'DEFAULT')sql";

// UTC days (so a day is 24 h whatever the server's zone), and a bounded wait for locks.
void set_up(pqxx::work& tx) {
  tx.exec0("SET LOCAL TimeZone = 'UTC'");
  tx.exec0("SET LOCAL lock_timeout = '" + std::to_string(partition_lock_wait.count()) + "ms'");
}

// lock_not_available: lock_timeout expired; the next run tries again.
bool lock_not_granted(const database_error& e) { return e.sqlstate() == "55P03"; }

struct day {
  std::string suffix;  // YYYYMMDD
  std::string from, to;
};

std::vector<day> missing_days(connection& db, int days_ahead) {
  return with_retry(db, retry_policy{.replay_safe = true}, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    set_up(tx);
    std::vector<day> out;
    for (const auto& row : tx.exec_params(
             std::string("WITH r AS (") + ranges +
                 ") SELECT to_char(d, 'YYYYMMDD'), d::text, (d + interval '1 day')::text "
                 "FROM generate_series(date_trunc('day', now()), date_trunc('day', now()) + $1 * interval '1 day', "
                 "interval '1 day') d WHERE NOT EXISTS (SELECT 1 FROM r WHERE coalesce(r.lo, '-infinity') < "
                 "d + interval '1 day' AND coalesce(r.hi, 'infinity') > d) ORDER BY d",
             days_ahead)) {
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>()});
    }
    tx.commit();
    return out;
  });
}

// A standalone table filled with the day's rows from the default partition, then attached:
// ATTACH takes SHARE UPDATE EXCLUSIVE on dlr_events, so writers go on; only those writing
// into the default partition wait, which is locked first so no row of the day slips in.
std::size_t make_day(connection& db, const day& d) {
  return with_retry(db, retry_policy{}, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    set_up(tx);
    const auto name = tx.quote_name("dlr_events_p" + d.suffix);
    const auto from = tx.quote(d.from), to = tx.quote(d.to);
    tx.exec0("LOCK TABLE dlr_events_default IN ACCESS EXCLUSIVE MODE");
    tx.exec0("CREATE TABLE " + name + " (LIKE dlr_events INCLUDING DEFAULTS)");
    auto moved = tx.exec1("WITH m AS (DELETE FROM dlr_events_default WHERE event_at >= " + from +
                          " AND event_at < " + to + " RETURNING *), i AS (INSERT INTO " + name +
                          " SELECT * FROM m RETURNING 1) SELECT count(*) FROM i")[0]
                     .as<std::size_t>();
    tx.exec0("ALTER TABLE dlr_events ATTACH PARTITION " + name + " FOR VALUES FROM (" + from + ") TO (" + to + ")");
    tx.commit();
    return moved;
  });
}

}  // namespace

partitions_made make_day_partitions(connection& db, int days_ahead) {
  partitions_made out;
  for (const auto& d : missing_days(db, days_ahead)) {
    try {
      out.moved += make_day(db, d);
      ++out.created;
    } catch (const database_error& e) {
      if (!lock_not_granted(e)) throw;
      ++out.busy;
    }
  }
  return out;
}

partitions_dropped drop_expired_partitions(connection& db, std::chrono::milliseconds age) {
  auto expired = with_retry(db, retry_policy{.replay_safe = true}, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    set_up(tx);
    std::vector<std::string> names;
    for (const auto& row : tx.exec_params(std::string("WITH r AS (") + ranges +
                                              ") SELECT name FROM r WHERE r.hi <= now() - $1::bigint * "
                                              "interval '1 millisecond' ORDER BY r.hi",
                                          static_cast<std::int64_t>(age.count()))) {
      names.push_back(row[0].as<std::string>());
    }
    tx.commit();
    return names;
  });
  partitions_dropped out;
  for (const auto& name : expired) {
    try {
      with_retry(db, retry_policy{}, [&](pqxx::connection& c) {
        // DETACH takes ACCESS EXCLUSIVE on dlr_events (CONCURRENTLY is refused while a default
        // partition exists), held for a catalog change only: no row is read or written.
        pqxx::work tx(c);
        set_up(tx);
        tx.exec0("ALTER TABLE dlr_events DETACH PARTITION " + tx.quote_name(name));
        tx.exec0("DROP TABLE " + tx.quote_name(name));
        tx.commit();
      });
      ++out.dropped;
    } catch (const database_error& e) {
      if (!lock_not_granted(e)) throw;
      ++out.busy;
    }
  }
  return out;
}

}  // namespace dlrd::store
