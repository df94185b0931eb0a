// The stats API (GET /v1/stats/*) as a plain function of path and query string, and the
// embedded dashboard page (GET /dashboard) that reads it.
#pragma once

#include <dlrd/store/connection.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace dlrd::insights {

/// An HTTP answer: status code and a JSON body (Content-Type: application/json).
struct stats_answer {
  int status = 200;
  std::string body;
  int retry_after = 0;  ///< seconds, for a 503 (0: no Retry-After)
};

/// "7d", "24h", "90m", "30s", "2w", or several in a row ("1d12h"); std::nullopt when malformed.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

/// Answers GET `path` (e.g. "/v1/stats/daily", no query) with `query_string` (without '?'):
///
///   /v1/stats/daily?days=30            (1..366, default 30)
///       {"from":"2024-05-01","to":"2024-05-30","days":[{"day","total","delivered","failed",
///        "pending","delivery_rate","failure_rate"}, ...]}  every day, empty ones with zeros
///   /v1/stats/countries?since=7d&until=T   (since: RFC 3339 or a duration back from until,
///   /v1/stats/providers?...                 default 7d, at most 366d; until: RFC 3339,
///   /v1/stats/senders?...                   default now; '+' in an offset as %2B)
///       {"since","until","bands":{"healthy":0.95,"investigate":0.85},
///        "countries"|"providers"|"senders":[{"country"|"provider"|"sender","total",
///        "delivered","undelivered","rejected","expired","failed","pending","delivery_rate",
///        "failure_rate","reject_share","band"}, ...]}  worst failure rate first
///   /v1/stats/coverage?after=24h&by=provider&since=7d&until=T   (after: duration, default
///     24h; by: country (default), provider or sender)
///       {"since","until","after_seconds","countries"|"providers"|"senders":[{"country"|
///        "provider"|"sender","total","pending","pending_share","all_pending"}, ...]}
///   /v1/stats/latency?since=7d&until=T
///       {"since","until","countries":[{"country","delivered","p50_seconds","p90_seconds",
///        "p99_seconds"}, ...]}
///   /v1/stats/errors?since=7d&until=T&top=5   (top: 1..100)
///       {"since","until","top","errors":[{"country","status","error_code","messages",
///        "share","rank"}, ...]}
///   /v1/stats/rules
///       {"firing":[{"rule","group","since","share","failed","total"}, ...]}
///
/// Rates are shares of final messages, null when there is none; a missing country,
/// provider or sender is null. A bad or unknown parameter is 400 with
/// {"error": "...", "field": "<parameter>"}; an unknown path under /v1/stats/ is 404
/// {"error": "..."}. Database errors are thrown (store::database_error): the caller decides
/// between 503 and 500 (stats_service does). Runs on the caller's thread and may block
/// for up to query_timeout; not thread-safe on one connection.
stats_answer answer_stats(store::connection& db, std::string_view path, std::string_view query_string);

/// answer_stats over a connection of its own, for the HTTP server's blocking pool: connects
/// on first use, reconnects (under store's retry_policy) after a broken connection, answers 503
/// {"error":"database unavailable"} when it cannot (or a query hits query_timeout), 500 on
/// any other database error. A 200 answer is reused for `cache_for` for the same path and
/// query string, so dashboards left open (each polls every 30 s) share one set of queries.
/// Thread-safe: requests take turns on the one connection, which bounds the load the stats
/// put on PostgreSQL to one query at a time per dlrd.
class stats_service {
 public:
  explicit stats_service(std::string url, std::chrono::seconds cache_for = std::chrono::seconds(15));
  ~stats_service();
  stats_service(const stats_service&) = delete;
  stats_service& operator=(const stats_service&) = delete;

  stats_answer answer(std::string_view path, std::string_view query_string);

  /// For the HTTP server: answers through `done` from one of the service's own threads
  /// (`workers`, one connection each), never the caller's, so a slow stats query can hold
  /// neither an I/O thread nor the server's blocking pool (the status API and webhooks never
  /// wait for it). At most `workers + max_queued` requests are in the service at once
  /// (running or waiting for a worker, counted together so the bound does not depend on how
  /// fast a worker picks one up); past that, and after stop, 503 with Retry-After. A cached
  /// answer is given at once. Thread-safe.
  void answer_async(std::string path, std::string query_string, std::function<void(stats_answer)> done);
  /// Answers what is queued with 503 and joins the threads. Idempotent; the destructor calls it.
  void stop();

  static constexpr int workers = 2;
  static constexpr std::size_t max_queued = 8;

 private:
  struct cached {
    std::chrono::steady_clock::time_point at;
    stats_answer answer;
  };
  stats_answer answer_uncached(store::connection& db, std::string_view path, std::string_view query_string);
  std::optional<stats_answer> from_cache(const std::string& key);
  void keep(const std::string& key, const stats_answer& a);
  void work();

  struct queued {
    std::string path, query_string;
    std::function<void(stats_answer)> done;
  };

  std::string url_;
  std::chrono::seconds cache_for_;
  std::mutex mutex_;
  store::connection conn_;
  std::mutex cache_mutex_;
  std::map<std::string, cached> cache_;  // bounded: cleared when it reaches max_cached
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<queued> queue_;
  std::size_t running_ = 0;  // taken by a worker, not yet answered; guarded by queue_mutex_
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

/// The dashboard page (one self-contained HTML document, no external requests) that fetches
/// ./v1/stats/* relative to the site root and refreshes every 30 s. Serve it as
/// "text/html; charset=utf-8" at /dashboard.
std::string_view dashboard_html();

}  // namespace dlrd::insights
