// Alert sinks: where a failure notice or a digest goes (a log line, a webhook, Slack).
#pragma once

#include <dlrd/alert/config.hpp>
#include <dlrd/alert/format.hpp>
#include <dlrd/store/outbox.hpp>

#include <atomic>
#include <memory>
#include <string>

namespace dlrd::net { class client; }

namespace dlrd::alert {

struct send_result {
  bool ok = false;
  std::string error;     ///< why not, for logs and dlr_alert_delivery.last_error
};

/// One destination. send() blocks at most the sink's timeout, or until `cancel` is true.
/// A sink is used by one dispatcher thread at a time.
class sink {
 public:
  virtual ~sink() = default;
  virtual const sink_config& config() const = 0;
  virtual send_result send(const store::notice& n, const std::atomic<bool>* cancel) = 0;
  virtual send_result send(const digest& d, const std::atomic<bool>* cancel) = 0;
};

/// The sink for `config.type`; http sinks share `client` (thread-safe).
std::unique_ptr<sink> make_sink(const sink_config& config, std::shared_ptr<const net::client> client);

}  // namespace dlrd::alert
