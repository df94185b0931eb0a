// dlr_events by day (sql/0015): the leader's upkeep of its partitions. Daily partitions are
// made ahead of time; retention detaches and drops a partition once all of its range is
// older than the age (the default partition is trimmed by delete_old_events, jobs_db.hpp).
#pragma once

#include <dlrd/store/connection.hpp>

#include <chrono>
#include <cstddef>

namespace dlrd::store {

/// Days after today (UTC, the database's clock) that always have a partition, so a leader
/// that is away for a while (or a gateway's clock a little ahead) sends nothing to the default.
inline constexpr int partition_days_ahead = 3;

/// How long a partition change waits for its table locks before it gives up until the next
/// run: writers queue behind a waiting ACCESS EXCLUSIVE request, so it must stay short.
inline constexpr std::chrono::milliseconds partition_lock_wait{2'000};

/// What one make_day_partitions() did.
struct partitions_made {
  std::size_t created = 0;  ///< daily partitions created
  std::size_t moved = 0;    ///< rows moved into them from the default partition
  std::size_t busy = 0;     ///< days left for the next run: a lock was not granted in time
};

/// Creates the partition dlr_events_pYYYYMMDD for each day from today through `days_ahead`
/// days later that no partition covers yet, each in a transaction of its own that moves the
/// day's rows out of the default partition. Throws database_error.
partitions_made make_day_partitions(connection& db, int days_ahead = partition_days_ahead);

/// What one drop_expired_partitions() did.
struct partitions_dropped {
  std::size_t dropped = 0;  ///< partitions detached and dropped
  std::size_t busy = 0;     ///< expired partitions left for the next run (lock not granted)
};

/// Detaches and drops every partition of dlr_events whose range ends at or before now() - `age`
/// (never the default partition), one transaction each. Throws database_error.
partitions_dropped drop_expired_partitions(connection& db, std::chrono::milliseconds age);

}  // namespace dlrd::store
