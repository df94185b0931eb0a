// LISTEN on a store::connection: the receiver is made again on every connect.
#include <dlrd/store/notify.hpp>

#include "pg.hpp"

namespace dlrd::store {

struct listener::receiver final : pqxx::notification_receiver {
  receiver(pqxx::connection_base& c, const std::string& channel, std::vector<std::string>& out)
      : pqxx::notification_receiver(c, channel), out_(out) {}
  void operator()(const std::string& payload, int) override { out_.push_back(payload); }

 private:
  std::vector<std::string>& out_;
};

listener::listener(std::string url, std::string channel) : db_(std::move(url)), channel_(std::move(channel)) {
  auto& state = db_.state();
  state.on_open = [this](pqxx::connection& c) { receiver_ = std::make_unique<receiver>(c, channel_, payloads_); };
  // The receiver unregisters itself from its connection, so it goes first.
  state.on_close = [this] { receiver_.reset(); };
}

listener::~listener() { db_.close(); }

void listener::open() {
  with_retry(db_, retry_policy{.attempts = 1}, [](pqxx::connection&) { return 0; });
}

std::vector<std::string> listener::wait(std::chrono::milliseconds timeout) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
  with_retry(db_, retry_policy{.attempts = 1}, [&](pqxx::connection& c) {
    return c.await_notification(static_cast<long>(us / 1'000'000), static_cast<long>(us % 1'000'000));
  });
  auto out = std::move(payloads_);
  payloads_.clear();
  return out;
}

}  // namespace dlrd::store
