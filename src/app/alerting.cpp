#include "alerting.hpp"

#include <spdlog/spdlog.h>

namespace dlrd::app {

live_alerts::live_alerts(store::database_config db, alert::alert_config config, metrics::registry& registry)
    : db_(std::move(db)), config_(std::move(config)), registry_(registry),
      current_(std::make_unique<alert::dispatcher>(db_, config_)) {
  for (const auto& sink : config_.sinks) register_series(sink.name);
}

live_alerts::~live_alerts() { stop(); }

void live_alerts::start() { current_->start(); }

void live_alerts::stop() { current_->stop(); }

bool live_alerts::apply(const alert::alert_config& next_in) {
  auto next = next_in;
  next.failed_statuses = config_.failed_statuses;
  if (next == config_) return false;
  // Built before anything stops: a sink that cannot be made leaves the running ones alone.
  auto replacement = std::make_unique<alert::dispatcher>(db_, next);
  current_->stop();
  {
    std::lock_guard lock(mutex_);
    for (const auto& c : current_->counters()) {
      auto& r = retired_[c.sink];
      r.sink = c.sink;
      r.claimed += c.claimed;
      r.sent += c.sent;
      r.digested += c.digested;
      r.digests += c.digests;
      r.failed += c.failed;
      r.dropped += c.dropped;
    }
    current_ = std::move(replacement);
  }
  config_ = next;
  std::string names;
  for (const auto& sink : config_.sinks) {
    register_series(sink.name);
    names += names.empty() ? sink.name : ", " + sink.name;
  }
  current_->start();
  spdlog::info("reload: alert sinks replaced; now sending to {}", names.empty() ? "no sink" : names);
  return true;
}

std::vector<std::string> live_alerts::sink_names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  for (const auto& c : current_->counters()) names.push_back(c.sink);
  return names;
}

std::uint64_t live_alerts::total(const std::string& sink, std::uint64_t alert::sink_counters::*field) const {
  std::lock_guard lock(mutex_);
  std::uint64_t n = 0;
  if (auto it = retired_.find(sink); it != retired_.end()) n += it->second.*field;
  for (const auto& c : current_->counters()) {
    if (c.sink == sink) n += c.*field;
  }
  return n;
}

/// dlrd_alert_notices_total{sink,result}: what each sink did with the notices it claimed. A
/// sink removed by a reload keeps its series at its last totals.
void live_alerts::register_series(const std::string& sink) {
  if (!registered_.insert(sink).second) return;
  auto series = [this, &sink](const char* result, std::uint64_t alert::sink_counters::*field) {
    registry_.add_callback("dlrd_alert_notices_total",
                           "Failure notices by sink and result: sent one by one, folded into a digest, failed "
                           "(retried later), dropped as stale.",
                           metrics::kind::counter,
                           [this, sink, field] { return static_cast<double>(total(sink, field)); },
                           {{"sink", sink}, {"result", result}});
  };
  series("sent", &alert::sink_counters::sent);
  series("digested", &alert::sink_counters::digested);
  series("failed", &alert::sink_counters::failed);
  series("dropped", &alert::sink_counters::dropped);
}

}  // namespace dlrd::app
