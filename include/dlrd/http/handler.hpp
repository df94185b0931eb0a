// Request logic as a plain function: a parsed request in, a response (or records to
// spool and the response to send once they are durable) out. No sockets here.
#pragma once

#include <dlrd/decode/config.hpp>
#include <dlrd/decode/profile.hpp>
#include <dlrd/http/answers.hpp>
#include <dlrd/http/route.hpp>
#include <dlrd/http/webhooks.hpp>
#include <dlrd/report/report.hpp>

#include <functional>
#include <string>
#include <variant>
#include <vector>

namespace dlrd::http {

/// Records to make durable, and the answer once they are.
struct spool_action {
  std::vector<report::ingest_record> records;
  response on_durable;
};

/// Work that may block (a database query): the server runs it off the I/O threads and sends
/// what it returns.
struct blocking_work {
  std::function<response()> run;
};

/// Work that answers later without holding a thread (a long-poll): the server calls `start`
/// with a completion that may be invoked from any thread, exactly once.
struct async_work {
  std::function<void(std::function<void(response)>)> start;
};

/// What the handler decided: an answer now, records to make durable before the answer, or
/// work that produces the answer elsewhere.
using outcome = std::variant<response, spool_action, blocking_work, async_work>;

/// What the server knows about a request besides the request itself.
struct request_context {
  report::time_point received_at;  ///< when the request was fully read
  std::string_view peer_address;   ///< the TCP peer's IP, textual
  bool tls = false;                ///< arrived over native TLS
};

/// Readiness as seen by the application: ready or not, and why.
struct readiness {
  bool ready = true;
  std::string reason;
};

struct handler_config {
  decode::decode_config decode;
  /// The webhook endpoints; absent = every built-in profile at /webhooks/<name>, no auth.
  std::shared_ptr<webhook_routes> webhooks;
  /// Called on an I/O thread for each refused caller (profile, failure label) and each
  /// status word a profile did not know (profile, word); both must be quick and thread-safe.
  std::function<void(std::string_view, std::string_view)> on_auth_failure;
  std::function<void(std::string_view, std::string_view)> on_unknown_status;
  /// Each event a profile ignores (profile, reason): answered as a success, never stored.
  /// Absent: the server counts them as dlrd_events_ignored_total{profile,reason}.
  std::function<void(std::string_view, std::string_view)> on_ignored_event;
  std::function<readiness()> ready;  ///< for /readyz; absent = always ready
  /// Renders the body of GET /metrics (Prometheus text 0.0.4); absent = no such route (404).
  /// Called on an I/O thread, so it must be quick and thread-safe.
  std::function<std::string()> metrics;
  std::vector<api_route> api_routes;
};

/// Thread-safety: `handle` is const and may run on every I/O thread at once.
class handler {
 public:
  explicit handler(handler_config config);

  outcome handle(const request& req, const request_context& ctx) const;

  /// The route label for metrics: one of the known routes ("/webhooks" for every path under
  /// it, whatever the profile or token), or "other" (so that unknown paths cannot create
  /// unbounded label values).
  static std::string_view route_of(std::string_view target);

 private:
  outcome probe(const request& req, std::string_view path) const;
  outcome api(const request& req, const request_context& ctx, const webhook_table* table, const api_route& route) const;
  outcome webhook(const request& req, const request_context& ctx, const webhook_table::endpoint& ep,
                  std::string_view token) const;
  outcome accept(const request& req, const decode::profile& profile, decode::decoded& ok) const;
  outcome quarantine(const request& req, const request_context& ctx, const webhook_table::endpoint& ep,
                     const decode::profile_error& err) const;
  /// The 401 for a refused caller: counted under `label`, logged (rate-limited, target
  /// redacted), one body whatever check failed; a Basic challenge when Basic is configured.
  response unauthorized(const request& req, const request_context& ctx, std::string_view label,
                        const auth::verdict& verdict, const std::function<std::string()>& redacted_target,
                        bool basic) const;

  handler_config config_;
};

}  // namespace dlrd::http
