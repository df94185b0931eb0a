// For PostgreSQL tests that drive the store's writer directly: a writer on the test's own
// database that gives up quickly, and one call to write a batch of reports.
#pragma once

#include <dlrd/store/writer.hpp>

#include "support/pg_fixture.hpp"

#include <atomic>
#include <chrono>
#include <vector>

namespace dlrd::test {

class writer_fixture : public pg_test {
 protected:
  /// Retries back off at most 100 ms, so tests that break the connection stay short.
  static store::store_config fast_retry() {
    store::store_config c;
    c.retry_backoff_max = std::chrono::milliseconds(100);
    return c;
  }
  store::writer make_writer(store::store_config c = fast_retry()) const {
    return store::writer(store::database_config{url(), std::chrono::seconds(2), false}, c);
  }
  store::write_outcome write_with(store::writer& w, const std::vector<report::ingest_record>& batch) {
    return w.write(batch, never_stop_);
  }
  store::write_outcome write_with(store::writer& w, const std::vector<report::delivery_report>& batch) {
    return write_with(w, std::vector<report::ingest_record>(batch.begin(), batch.end()));
  }

  std::atomic<bool> never_stop_{false};
};

}  // namespace dlrd::test
