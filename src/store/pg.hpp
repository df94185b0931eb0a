// Store-internal: the libpqxx side of store::connection and the with_retry loop that every
// typed function runs its transaction in. Only src/store/*.cpp includes this file.
#pragma once

#include <dlrd/store/connection.hpp>
#include <dlrd/store/retry.hpp>

#include <pqxx/pqxx>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace dlrd::store {

struct connection::impl {
  std::string url;
  std::vector<std::string> setup;
  std::unique_ptr<pqxx::connection> conn;
  std::uint64_t connects = 0;
  /// Run after every connect (e.g. LISTEN), and before the connection goes (whatever refers
  /// to it, such as a notification receiver, must go first).
  std::function<void(pqxx::connection&)> on_open;
  std::function<void()> on_close;
  /// The session holds state a new one would not have (the leader's advisory lock): store
  /// never reconnects it on its own; only the owner's open() does.
  bool pinned = false;

  /// Connects when there is no open session.
  pqxx::connection& open();
  /// open(), but a lost pinned session throws broken_connection instead of being replaced.
  pqxx::connection& use();
  void close();
};

/// The session behind `c`, connected now if it was not (see impl::use()).
inline pqxx::connection& pg(connection& c) { return c.state().use(); }

/// The policy's name for what `e` says; `e` is a libpqxx failure.
failure classify(const pqxx::failure& e);

/// "" unless `e` is an sql_error.
std::string sqlstate_of(const pqxx::failure& e);

/// Closes `c` when the failure left its session broken or in an unknown state.
void close_if_broken(connection& c, const pqxx::failure& e, failure kind);

/// A NULL statement parameter when absent (libpqxx 6 has no std::optional parameters).
inline const char* param(const std::optional<std::string>& v) { return v ? v->c_str() : nullptr; }

/// A text[] literal for `values` (every element quoted).
std::string pg_array(const std::vector<std::string>& values);

/// Runs `body(pqxx::connection&)` on `c` under `policy`: a failure the policy retries closes
/// the connection when it is broken, waits, and runs `body` again on a live session; any
/// other failure, or the last, is thrown as database_error. Exceptions that are not libpqxx
/// failures (a conversion, a bug) pass through untouched. `body` owns its transaction, so a
/// retry always starts a new one (never a blind replay of a commit: see replay_safe).
template <typename F>
auto with_retry(connection& c, const retry_policy& policy, F&& body) -> decltype(body(pg(c))) {
  for (int attempt = 1;; ++attempt) {
    try {
      return body(pg(c));
    } catch (const pqxx::failure& e) {
      const auto kind = classify(e);
      close_if_broken(c, e, kind);
      if (attempt >= policy.attempts || !policy.retries(kind)) throw database_error(kind, sqlstate_of(e), e.what());
    }
    std::this_thread::sleep_for(policy.wait_after(attempt));
  }
}

}  // namespace dlrd::store
