// `dlrd serve`: start in data-flow order, stop in reverse.
#include <dlrd/app/serve.hpp>

#include "writer_pool.hpp"

#include <dlrd/http/server.hpp>
#include <dlrd/spool/config.hpp>
#include <dlrd/store/migrations.hpp>

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <csignal>
#include <pthread.h>

namespace dlrd::app {

namespace {

/// Blocks the daemon's signals in every thread; the main thread takes them with sigwait.
sigset_t block_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int wait_signal(const sigset_t& set, std::chrono::milliseconds timeout) {
  timespec ts{static_cast<time_t>(timeout.count() / 1000), static_cast<long>((timeout.count() % 1000) * 1'000'000)};
  int sig = sigtimedwait(&set, nullptr, &ts);
  return sig < 0 ? 0 : sig;
}

/// Refuses to serve against a schema this build does not know; tolerates a database
/// that is down (the spool absorbs until it returns, and writers check again).
bool schema_acceptable(const store::database_config& db) {
  try {
    auto problem = store::check_schema(store::connection_string(db));
    if (!problem.empty()) {
      spdlog::critical("{}", problem);
      return false;
    }
  } catch (const std::exception& e) {
    spdlog::warn("database not reachable at start ({}); accepting into the spool until it is", e.what());
  }
  return true;
}

}  // namespace

int serve(const daemon_config& config) {
  auto signals = block_signals();
  spdlog::info("dlrd starting: listen {}:{}, {} writer(s), spool {} at {}", config.listen.address,
               config.listen.port, config.store.workers, config.spool.kind, config.spool.dir);

  if (config.database.migrate_on_start) {
    for (const auto& name : store::migrate(store::connection_string(config.database))) spdlog::info("applied migration {}", name);
  }
  if (!schema_acceptable(config.database)) return 1;

  spool::recovery_report recovery;
  auto journal = spool::open_journal(config.spool, recovery);
  spdlog::info("spool recovered: {}", spool::describe(recovery));

  writer_pool writers(*journal, config.database, config.store);
  writers.start();

  http::handler_config handling;
  handling.decode = config.decode;
  handling.ready = [&writers, &journal]() {
    auto problem = writers.database_problem();
    if (problem.empty()) return http::readiness{};
    return http::readiness{true, "degraded: " + problem + "; spool absorbing " +
                                     std::to_string(journal->snapshot().backlog_records) + " records"};
  };
  http::server listener(config.listen, handling, *journal);
  listener.start();
  spdlog::info("listening on {}:{}", config.listen.address, listener.port());
  sd_notify(0, "READY=1");

  for (;;) {
    int sig = wait_signal(signals, std::chrono::seconds(5));
    if (sig == SIGTERM || sig == SIGINT) break;
    if (sig == SIGHUP) spdlog::info("SIGHUP: reload is not supported yet; configuration unchanged");
  }

  sd_notify(0, "STOPPING=1");
  spdlog::info("stopping: finishing in-flight requests");
  listener.stop(config.shutdown.grace);
  journal->close();

  spdlog::info("draining {} spooled record(s) for at most {} ms", journal->snapshot().backlog_records,
               config.shutdown.drain_timeout.count());
  auto deadline = std::chrono::steady_clock::now() + config.shutdown.drain_timeout;
  while (journal->snapshot().backlog_records > 0 && std::chrono::steady_clock::now() < deadline) {
    int sig = wait_signal(signals, std::chrono::milliseconds(20));
    if (sig == SIGTERM || sig == SIGINT) {
      // Safe: everything acked is in the spool and replays at the next start.
      spdlog::warn("second signal: exiting now, {} record(s) stay in the spool",
                   journal->snapshot().backlog_records);
      std::_Exit(0);
    }
  }
  writers.stop();
  auto left = journal->snapshot().backlog_records;
  journal.reset();
  if (left > 0) spdlog::warn("stopped with {} record(s) left in the spool for the next start", left);
  spdlog::info("dlrd stopped");
  return 0;
}

}  // namespace dlrd::app
