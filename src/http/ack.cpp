// The spool ack and the work done off the I/O threads, as awaitable operations.
#include "ack.hpp"

#include <dlrd/report/codec.hpp>
#include <dlrd/spool/spool.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>

namespace dlrd::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

/// A blocking or asynchronous route that threw: the caller may try again.
response route_failed(const std::exception& e) {
  spdlog::warn("api request failed: {}", e.what());
  // The session sets the request's version before it writes.
  return error_answer(http_1_1, bhttp::status::service_unavailable, "temporarily unavailable, retry later");
}

/// Hands records to the spool and resumes the caller on its own executor once the
/// spool has answered.
template <typename Token>
auto async_append(spool::journal& journal, std::vector<std::string> payloads, Token&& token) {
  return asio::async_initiate<Token, void(spool::append_result)>(
      [&journal](auto handler, std::vector<std::string> records) {
        auto ex = asio::get_associated_executor(handler);
        // std::function needs a copyable callable; the coroutine's handler is move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        journal.append(std::move(records), [shared, ex](spool::append_result r) {
          asio::post(ex, [shared, r]() mutable { (*shared)(r); });
        });
      },
      token, std::move(payloads));
}

/// Runs `work` on `pool` and resumes the caller on its own executor with the answer.
template <typename Token>
auto async_run_blocking(asio::thread_pool& pool, std::function<response()> work, Token&& token) {
  return asio::async_initiate<Token, void(response)>(
      [&pool](auto handler, std::function<response()> job) {
        auto ex = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        asio::post(pool, [shared, ex, job = std::move(job)]() mutable {
          response res;
          try {
            res = job();
          } catch (const std::exception& e) {
            res = route_failed(e);
          }
          asio::post(ex, [shared, res = std::move(res)]() mutable { (*shared)(std::move(res)); });
        });
      },
      token, std::move(work));
}

/// Hands `work` a completion it may call from any thread, and resumes the caller on its own
/// executor with the answer. A second call of the completion is ignored.
template <typename Token>
auto async_answer(std::function<void(std::function<void(response)>)> work, Token&& token) {
  return asio::async_initiate<Token, void(response)>(
      [](auto handler, std::function<void(std::function<void(response)>)> job) {
        auto ex = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto answered = std::make_shared<std::atomic<bool>>(false);
        auto complete = [shared, ex, answered](response res) {
          if (answered->exchange(true)) return;
          asio::post(ex, [shared, res = std::move(res)]() mutable { (*shared)(std::move(res)); });
        };
        try {
          job(complete);
        } catch (const std::exception& e) {
          complete(route_failed(e));
        }
      },
      token, std::move(work));
}

}  // namespace

answerer::answerer(spool::journal& journal, listener_metrics& metrics, int retry_after_seconds)
    : journal_(journal), metrics_(metrics), retry_after_seconds_(retry_after_seconds) {}

asio::awaitable<response> answerer::answer(outcome out, unsigned version,
                                           std::chrono::steady_clock::time_point read_done) {
  if (auto* action = std::get_if<spool_action>(&out)) co_return co_await ack(std::move(*action), version, read_done);
  if (auto* work = std::get_if<blocking_work>(&out)) {
    co_return co_await async_run_blocking(blocking_pool_, std::move(work->run), asio::use_awaitable);
  }
  if (auto* work = std::get_if<async_work>(&out)) {
    co_return co_await async_answer(std::move(work->start), asio::use_awaitable);
  }
  co_return std::move(std::get<response>(out));
}

asio::awaitable<response> answerer::ack(spool_action action, unsigned version,
                                        std::chrono::steady_clock::time_point read_done) {
  std::vector<std::string> payloads;
  payloads.reserve(action.records.size());
  for (const auto& r : action.records) payloads.push_back(report::encode(r));
  auto result = co_await async_append(journal_, std::move(payloads), asio::use_awaitable);
  if (result == spool::append_result::durable) {
    metrics_.spooled(action.records, read_done);
    co_return std::move(action.on_durable);
  }
  // Never ack what was not stored (DESIGN.md invariant 2).
  std::string why = result == spool::append_result::full      ? "spool is full, retry later"
                    : result == spool::append_result::stopped ? "shutting down, retry later"
                                                              : "spool write failed, retry later";
  co_return unavailable(version, why, retry_after_seconds_);
}

void answerer::stop() { blocking_pool_.join(); }

}  // namespace dlrd::http
