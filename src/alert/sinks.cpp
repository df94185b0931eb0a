// The log sink (one structured line per notice) and the HTTP sinks (webhook JSON, Slack text).
#include <dlrd/alert/sink.hpp>

#include <dlrd/net/client.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace dlrd::alert {

namespace {

class log_sink final : public sink {
 public:
  explicit log_sink(sink_config c) : config_(std::move(c)) {}
  const sink_config& config() const override { return config_; }
  send_result send(const store::notice& n, const std::atomic<bool>*) override {
    spdlog::warn("alert: {} sink={} {}", n.kind.empty() ? "message_failed" : n.kind, config_.name, log_fields(n));
    return {true, {}};
  }
  send_result send(const digest& d, const std::atomic<bool>*) override {
    spdlog::warn("alert: digest sink={} count={} text={}", config_.name, d.count,
                 nlohmann::json(digest_text(d)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return {true, {}};
  }

 private:
  sink_config config_;
};

// webhook and slack differ only in the body they build from a notice or a digest.
class http_sink final : public sink {
 public:
  http_sink(sink_config c, std::shared_ptr<const net::client> client)
      : config_(std::move(c)), client_(std::move(client)), slack_(config_.type == "slack") {}
  const sink_config& config() const override { return config_; }
  send_result send(const store::notice& n, const std::atomic<bool>* cancel) override {
    return post(slack_ ? slack_json(n) : webhook_json(n), cancel);
  }
  send_result send(const digest& d, const std::atomic<bool>* cancel) override {
    return post(slack_ ? slack_json(d) : webhook_json(d), cancel);
  }

 private:
  send_result post(std::string body, const std::atomic<bool>* cancel) {
    net::post_request req;
    req.url = config_.url;
    req.body = std::move(body);
    req.headers = config_.headers;
    if (!config_.bearer_token.empty()) req.headers.emplace_back("Authorization", "Bearer " + config_.bearer_token);
    req.allow_private = config_.allow_private;
    req.connect_timeout = config_.connect_timeout;
    req.timeout = config_.timeout;
    auto r = client_->post(req, cancel);
    return {r.ok(), r.ok() ? std::string{} : r.describe()};
  }
  sink_config config_;
  std::shared_ptr<const net::client> client_;
  bool slack_;
};

}  // namespace

std::unique_ptr<sink> make_sink(const sink_config& config, std::shared_ptr<const net::client> client) {
  if (config.type == "log") return std::make_unique<log_sink>(config);
  return std::make_unique<http_sink>(config, std::move(client));
}

}  // namespace dlrd::alert
