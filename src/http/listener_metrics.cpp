// The listener's counters and series, with per-thread caches of the registry's series.
#include "listener_metrics.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

namespace dlrd::http {

// The registry's lookup builds its label strings and takes its lock; on the ack path each
// I/O thread does it once per series and keeps the pointer (counters live as long as the
// registry, and an I/O thread serves one server for its whole life).
struct listener_metrics::thread_series {
  const metrics::registry* owner = nullptr;
  std::map<std::pair<std::string_view, unsigned>, metrics::counter*> routes;  // route_of's static names
  std::array<std::vector<std::pair<std::string, metrics::counter*>>, 5> reports;  // by status, then provider
};

listener_metrics::listener_metrics(metrics::registry* registry) : registry_(registry) {
  if (!registry_) return;
  ack_latency_ = &registry_->get_histogram("dlrd_ack_latency_seconds",
                                           "Time from a callback fully read to its durable answer being ready.",
                                           metrics::latency_buckets());
  quarantined_ = &registry_->get_counter("dlrd_quarantined_total",
                                         "Undecodable callbacks stored in quarantine (acked once durable).");
  for (std::size_t i = 0; i < rejection_names.size(); ++i) {
    rejected_[i] = &registry_->get_counter("dlrd_http_rejected_total",
                                           "Connections and requests refused at the HTTP edge, by reason.",
                                           {{"reason", std::string(rejection_names[i])}});
  }
}

listener_metrics::thread_series& listener_metrics::series() const {
  thread_local thread_series mine;
  if (mine.owner != registry_) {
    mine = thread_series{};
    mine.owner = registry_;
  }
  return mine;
}

void listener_metrics::refused(rejection why) {
  ++(why == rejection::too_many_connections ? refused_ : refused_per_ip_);
  rejected(why);
}

void listener_metrics::rejected(rejection why) {
  if (registry_) rejected_[static_cast<std::size_t>(why)]->inc();
}

void listener_metrics::answered(std::string_view route, unsigned code) {
  if (code < 300) ++r2xx_;
  else if (code < 500) ++r4xx_;
  else ++r5xx_;
  if (!registry_) return;
  auto& c = series().routes[{route, code}];
  if (!c) {
    c = &registry_->get_counter("dlrd_http_requests_total", "HTTP requests answered, by route and status code.",
                                {{"route", std::string(route)}, {"code", std::to_string(code)}});
  }
  c->inc();
}

void listener_metrics::spooled(const std::vector<report::ingest_record>& records,
                               std::chrono::steady_clock::time_point since) {
  if (!registry_) return;
  ack_latency_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count());
  auto& cache = series().reports;
  for (const auto& r : records) {
    const auto* d = std::get_if<report::delivery_report>(&r);
    if (!d) {
      quarantined_->inc();
      continue;
    }
    auto& by_provider = cache[static_cast<std::size_t>(d->canonical)];
    auto it = std::find_if(by_provider.begin(), by_provider.end(),
                           [d](const auto& e) { return e.first == d->provider; });
    if (it == by_provider.end()) {
      auto& c = registry_->get_counter(
          "dlrd_reports_total", "Delivery reports acked (durable), by provider and canonical status.",
          {{"provider", d->provider}, {"status", std::string(report::to_string(d->canonical))}});
      it = by_provider.insert(by_provider.end(), {d->provider, &c});
    }
    it->second->inc();
  }
}

server_counters listener_metrics::counters() const {
  server_counters c;
  c.connections_accepted = accepted_;
  c.connections_refused = refused_;
  c.connections_refused_per_ip = refused_per_ip_;
  c.requests = requests_;
  c.responses_2xx = r2xx_;
  c.responses_4xx = r4xx_;
  c.responses_5xx = r5xx_;
  return c;
}

}  // namespace dlrd::http
