// dlrd-load: closed- and open-loop HTTP load generator for dlrd's SMSPM webhook, with an ack oracle.
#include <utility>

#include "histogram.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace dlrd::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using wall = std::chrono::system_clock;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr std::string_view usage_text = R"(usage:
  dlrd-load [options]                 send load to dlrd's SMSPM webhook
  dlrd-load --serve-ok PORT [--threads N] [--duration D]
                                      answer 200 {"ok":true} to every request (the bare-HTTP ceiling)

load options (defaults in brackets):
  --host H [127.0.0.1]  --port P [8080]  --path P [/webhooks/smspm]
  --mode closed|open [closed]   closed: every connection sends as fast as answers come;
                                open: a fixed arrival schedule at --rate, latency measured from
                                each request's intended send time (no coordinated omission)
  --connections N [64]  --threads N [1]  --duration D [20s]  --rate R [10000] (requests/s, open)
  --timeout D [30s]              per-request deadline; a request past it is a connection error
  --tick D [0]                   open loop: wake for the due requests once per tick instead of
                                 at each request's own instant (fewer wakeups of the generator
                                 on a machine it shares; latency still counts from the intended time)
  --batch N [1]                  reports per request; N > 1 sends a JSON array (one atomic unit)
  --statuses LIST [delivered=90,undelivered=4,rejected=3,expired=3]
  --duplicates F [0.10]          share of reports that resend an already acked report
  --out-of-order F [0.02]        share of reports that are an 'enroute' report, timestamped
                                 before an already acked final, sent after it
  --run-id ID [r<unix time>]     message ids are <run-id>-<n>, n = --id-start, --id-start + 1, ...
  --id-start N [1]  --seed N [1]
  --oracle FILE                  one line per acked report: message_id TAB status TAB event time
  --json FILE                    results as JSON
durations: 500ms, 20s, 2m, or a bare number of seconds)";

// ---------------------------------------------------------------- options

struct status_weight {
  std::string word;
  double weight;
};

struct options {
  std::string mode = "closed";
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::string path = "/webhooks/smspm";
  int connections = 64;
  int threads = 1;
  double duration_s = 20;
  double rate = 10000;
  double timeout_s = 30;
  double tick_s = 0;
  int batch = 1;
  std::vector<status_weight> statuses{{"delivered", 90}, {"undelivered", 4}, {"rejected", 3}, {"expired", 3}};
  double duplicates = 0.10;
  double out_of_order = 0.02;
  std::string run_id;
  std::uint64_t id_start = 1;
  std::uint64_t seed = 1;
  std::string oracle_path;
  std::string json_path;
  int serve_ok_port = 0;
};

double parse_duration(std::string_view s) {
  std::size_t used = 0;
  const double v = std::stod(std::string(s), &used);
  const auto unit = s.substr(used);
  if (unit.empty() || unit == "s") return v;
  if (unit == "ms") return v / 1000.0;
  if (unit == "m") return v * 60.0;
  if (unit == "h") return v * 3600.0;
  throw std::invalid_argument("bad duration '" + std::string(s) + "'");
}

std::vector<status_weight> parse_statuses(std::string_view s) {
  std::vector<status_weight> out;
  while (!s.empty()) {
    const auto comma = s.find(',');
    const auto item = s.substr(0, comma);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) throw std::invalid_argument("--statuses wants word=weight,...");
    out.push_back({std::string(item.substr(0, eq)), std::stod(std::string(item.substr(eq + 1)))});
    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
  }
  if (out.empty()) throw std::invalid_argument("--statuses is empty");
  return out;
}

bool plain_id(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

options parse_options(int argc, char** argv) {
  options o;
  o.run_id = "r" + std::to_string(duration_cast<std::chrono::seconds>(wall::now().time_since_epoch()).count());
  for (int i = 1; i < argc; ++i) {
    const std::string_view key = argv[i];
    if (key == "--help" || key == "-h") {
      std::cout << usage_text << "\n";
      std::exit(0);
    }
    if (i + 1 >= argc) throw std::invalid_argument(std::string(key) + " needs a value");
    const std::string val = argv[++i];
    if (key == "--mode") o.mode = val;
    else if (key == "--host") o.host = val;
    else if (key == "--port") o.port = static_cast<std::uint16_t>(std::stoul(val));
    else if (key == "--path") o.path = val;
    else if (key == "--connections") o.connections = std::stoi(val);
    else if (key == "--threads") o.threads = std::stoi(val);
    else if (key == "--duration") o.duration_s = parse_duration(val);
    else if (key == "--rate") o.rate = std::stod(val);
    else if (key == "--timeout") o.timeout_s = parse_duration(val);
    else if (key == "--tick") o.tick_s = parse_duration(val);
    else if (key == "--batch") o.batch = std::stoi(val);
    else if (key == "--statuses") o.statuses = parse_statuses(val);
    else if (key == "--duplicates") o.duplicates = std::stod(val);
    else if (key == "--out-of-order") o.out_of_order = std::stod(val);
    else if (key == "--run-id") o.run_id = val;
    else if (key == "--id-start") o.id_start = std::stoull(val);
    else if (key == "--seed") o.seed = std::stoull(val);
    else if (key == "--oracle") o.oracle_path = val;
    else if (key == "--json") o.json_path = val;
    else if (key == "--serve-ok") o.serve_ok_port = std::stoi(val);
    else throw std::invalid_argument("unknown option " + std::string(key) + " (see --help)");
  }
  if (o.mode != "closed" && o.mode != "open") throw std::invalid_argument("--mode is closed or open");
  if (o.connections < 1 || o.threads < 1 || o.threads > 64) throw std::invalid_argument("bad --connections/--threads");
  if (o.batch < 1 || o.batch > 1000) throw std::invalid_argument("--batch is 1..1000");
  if (o.rate <= 0 || o.duration_s <= 0) throw std::invalid_argument("--rate and --duration must be positive");
  if (o.duplicates < 0 || o.out_of_order < 0 || o.duplicates + o.out_of_order > 1) {
    throw std::invalid_argument("--duplicates + --out-of-order must be within [0, 1]");
  }
  if (!plain_id(o.run_id)) throw std::invalid_argument("--run-id: 1-64 of [A-Za-z0-9_-]");
  for (const auto& s : o.statuses) {
    if (!plain_id(s.word) || s.weight < 0) throw std::invalid_argument("bad --statuses entry " + s.word);
  }
  return o;
}

/// The canonical status dlrd stores for the words this generator sends.
std::string_view canonical(std::string_view word) {
  if (word == "delivered" || word == "undelivered" || word == "rejected" || word == "expired") return word;
  return "pending";
}

/// "2026-11-28T10:15:00.123Z"; the seconds part is cached because most calls share it.
class timestamp_formatter {
 public:
  std::string format(wall::time_point t) {
    const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    if (secs != cached_secs_) {
      std::tm tmv{};
      gmtime_r(&secs, &tmv);
      char buf[80];
      std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.", tmv.tm_year + 1900, tmv.tm_mon + 1,
                    tmv.tm_mday, tmv.tm_hour, tmv.tm_min, tmv.tm_sec);
      cached_prefix_ = buf;
      cached_secs_ = secs;
    }
    char frac[8];
    std::snprintf(frac, sizeof frac, "%03dZ", static_cast<int>(ms % 1000));
    return cached_prefix_ + frac;
  }

 private:
  std::time_t cached_secs_ = -1;
  std::string cached_prefix_;
};

// ---------------------------------------------------------------- shared run state

/// What all threads share: the id sequence, the clocks of the run and the oracle file.
struct run_state {
  const options& opt;
  std::atomic<std::uint64_t> next_id;
  steady::time_point t0{};
  steady::time_point end{};
  std::FILE* oracle = nullptr;
  std::mutex oracle_mutex;

  explicit run_state(const options& o) : opt(o), next_id(o.id_start) {}

  void write_oracle(const std::string& text) {
    if (!oracle || text.empty()) return;
    std::lock_guard lock(oracle_mutex);
    if (std::fwrite(text.data(), 1, text.size(), oracle) != text.size()) {
      throw std::runtime_error("cannot write the oracle file");
    }
  }
};

/// A fresh final report that was acked: what duplicates and out-of-order reports reuse.
struct acked_final {
  std::string id;
  std::string status;
  std::string recipient;
  wall::time_point event_at;
  std::string object;  // the exact JSON object sent
  bool out_of_order_sent = false;
};

enum class report_kind { fresh, duplicate, out_of_order };

struct planned_report {
  report_kind kind;
  std::string object;
  std::string oracle_line;
  std::optional<acked_final> final_to_remember;  // set for fresh finals
};

struct planned_request {
  std::vector<planned_report> reports;
  std::string body;
};

/// One thread's generator: its io_context, random source, counters and histogram.
/// Touched only from its own thread.
class worker {
 public:
  worker(run_state& run, int index)
      : run_(run), index_(index), rng_(run.opt.seed * 7919 + static_cast<std::uint64_t>(index)) {
    double total = 0;
    for (const auto& s : run.opt.statuses) total += s.weight;
    double acc = 0;
    for (const auto& s : run.opt.statuses) {
      acc += s.weight / total;
      cumulative_.push_back(acc);
    }
    recent_.reserve(recent_capacity);
  }

  asio::io_context& ioc() { return ioc_; }

  planned_request plan() {
    planned_request req;
    const auto& o = run_.opt;
    req.reports.reserve(static_cast<std::size_t>(o.batch));
    for (int i = 0; i < o.batch; ++i) req.reports.push_back(plan_report());
    if (o.batch == 1) {
      req.body = req.reports.front().object;
    } else {
      req.body.reserve(static_cast<std::size_t>(o.batch) * 120);
      req.body.push_back('[');
      for (std::size_t i = 0; i < req.reports.size(); ++i) {
        if (i) req.body.push_back(',');
        req.body += req.reports[i].object;
      }
      req.body.push_back(']');
    }
    return req;
  }

  void on_reply(planned_request& req, unsigned code, steady::time_point intended, steady::time_point done) {
    if (code >= 200 && code < 300) {
      ++acked_requests_;
      latency_.record(static_cast<std::uint64_t>(duration_cast<microseconds>(done - intended).count()));
      const auto second = static_cast<std::size_t>(std::max<std::int64_t>(
          0, duration_cast<milliseconds>(done - run_.t0).count() / 1000));
      if (timeline_.size() <= second) timeline_.resize(second + 1, 0);
      for (auto& r : req.reports) {
        ++acked_reports_;
        ++timeline_[second];
        if (r.kind != report_kind::duplicate) ++distinct_reports_;
        if (r.kind == report_kind::duplicate) ++acked_duplicates_;
        if (r.kind == report_kind::out_of_order) ++acked_out_of_order_;
        oracle_buf_ += r.oracle_line;
        if (r.final_to_remember) remember(std::move(*r.final_to_remember));
      }
      if (oracle_buf_.size() > (1u << 20)) flush_oracle();
    } else {
      ++status_counts_[code];
    }
    last_done_ = std::max(last_done_, done);
  }

  void on_error(const std::string& what) { ++errors_[what]; }
  void on_sent() { ++sent_requests_; }

  void flush_oracle() {
    run_.write_oracle(oracle_buf_);
    oracle_buf_.clear();
  }

  /// Open loop: the next slot of this thread's share of the schedule, or nothing past the end.
  std::optional<steady::time_point> claim_slot() {
    const auto& o = run_.opt;
    const double at = (static_cast<double>(next_slot_) * o.threads + index_) / o.rate;
    const auto intended = run_.t0 + duration_cast<steady::duration>(std::chrono::duration<double>(at));
    if (intended >= run_.end) return std::nullopt;
    ++next_slot_;
    return intended;
  }

  std::uint64_t sent_requests_ = 0;
  std::uint64_t acked_requests_ = 0;
  std::uint64_t acked_reports_ = 0;
  std::uint64_t distinct_reports_ = 0;
  std::uint64_t acked_duplicates_ = 0;
  std::uint64_t acked_out_of_order_ = 0;
  std::uint64_t next_slot_ = 0;
  std::map<unsigned, std::uint64_t> status_counts_;
  std::map<std::string, std::uint64_t> errors_;
  std::vector<std::uint64_t> timeline_;
  histogram latency_;
  steady::time_point last_done_{};

 private:
  static constexpr std::size_t recent_capacity = 8192;

  double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

  std::string_view pick_status() {
    const double u = uniform();
    for (std::size_t i = 0; i < cumulative_.size(); ++i) {
      if (u < cumulative_[i]) return run_.opt.statuses[i].word;
    }
    return run_.opt.statuses.back().word;
  }

  static std::string object_of(std::string_view id, std::string_view status, std::string_view to,
                               std::string_view ts) {
    std::string s;
    s.reserve(120);
    s += R"({"messageId":")";
    s += id;
    s += R"(","status":")";
    s += status;
    s += R"(","to":")";
    s += to;
    s += R"(","timestamp":")";
    s += ts;
    s += R"("})";
    return s;
  }

  static std::string oracle_line_of(std::string_view id, std::string_view status, std::string_view ts) {
    std::string s;
    s.reserve(id.size() + status.size() + ts.size() + 3);
    s += id;
    s.push_back('\t');
    s += canonical(status);
    s.push_back('\t');
    s += ts;
    s.push_back('\n');
    return s;
  }

  planned_report plan_report() {
    const double u = uniform();
    if (!recent_.empty() && u < run_.opt.duplicates) {
      const auto& f = recent_[pick_recent()];
      // Byte-identical to the original, so its oracle line is the original's.
      return {report_kind::duplicate, f.object, oracle_line_of(f.id, f.status, formatter_.format(f.event_at)),
              std::nullopt};
    }
    if (!recent_.empty() && u < run_.opt.duplicates + run_.opt.out_of_order) {
      auto& f = recent_[pick_recent()];
      if (!f.out_of_order_sent) {
        // Each final gets at most one late 'enroute', so every out-of-order report is distinct.
        f.out_of_order_sent = true;
        const auto ts = formatter_.format(f.event_at - std::chrono::seconds(5));
        return {report_kind::out_of_order, object_of(f.id, "enroute", f.recipient, ts),
                oracle_line_of(f.id, "enroute", ts), std::nullopt};
      }
    }
    const std::uint64_t n = run_.next_id.fetch_add(1, std::memory_order_relaxed);
    std::string id = run_.opt.run_id + "-" + std::to_string(n);
    char to[24];
    std::snprintf(to, sizeof to, "+4477009%05" PRIu64, n % 100000);
    const auto now = wall::now();
    const auto ts = formatter_.format(now);
    const auto status = pick_status();
    planned_report r{report_kind::fresh, object_of(id, status, to, ts), oracle_line_of(id, status, ts),
                     std::nullopt};
    // The remembered time is the one sent: truncated to milliseconds.
    r.final_to_remember = acked_final{std::move(id), std::string(status), to,
                                      std::chrono::time_point_cast<milliseconds>(now), r.object, false};
    return r;
  }

  std::size_t pick_recent() {
    return std::uniform_int_distribution<std::size_t>(0, recent_.size() - 1)(rng_);
  }

  void remember(acked_final f) {
    if (recent_.size() < recent_capacity) {
      recent_.push_back(std::move(f));
    } else {
      recent_[recent_next_] = std::move(f);
      recent_next_ = (recent_next_ + 1) % recent_capacity;
    }
  }

  run_state& run_;
  int index_;
  asio::io_context ioc_{1};
  std::mt19937_64 rng_;
  std::vector<double> cumulative_;
  std::vector<acked_final> recent_;
  std::size_t recent_next_ = 0;
  std::string oracle_buf_;
  timestamp_formatter formatter_;
};

// ---------------------------------------------------------------- client connection

std::string error_name(const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return "timeout";
  if (ec == asio::error::connection_refused) return "connection refused";
  if (ec == asio::error::connection_reset) return "connection reset";
  if (ec == http::error::end_of_stream || ec == asio::error::eof) return "closed by server";
  if (ec == asio::error::broken_pipe) return "broken pipe";
  return ec.message();
}

/// The end of the tick (counted from t0) that `t` falls in; `t` itself without a tick.
steady::time_point tick_end(steady::time_point t0, steady::time_point t, steady::duration tick) {
  if (tick <= steady::duration::zero()) return t;
  const auto ticks = (t - t0).count() / tick.count() + ((t - t0).count() % tick.count() != 0 ? 1 : 0);
  return t0 + ticks * tick;
}

asio::awaitable<void> wait_until(steady::time_point t) {
  if (steady::now() >= t) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_at(t);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

/// One keep-alive connection: sends requests (closed loop) or claims schedule slots (open
/// loop) until the run ends; reconnects after an error.
asio::awaitable<void> connection(run_state& run, worker& w, tcp::endpoint ep) {
  const auto& o = run.opt;
  const bool open_loop = o.mode == "open";
  const auto timeout = duration_cast<steady::duration>(std::chrono::duration<double>(o.timeout_s));
  // Past this, an open-loop backlog that never got a connection is given up on.
  const auto hard_end = run.end + timeout;
  // Requests due within one tick all wake at its end: one timer expiry serves them all.
  const auto tick = duration_cast<steady::duration>(std::chrono::duration<double>(o.tick_s));
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  beast::flat_buffer buffer;
  http::request<http::string_body> req{http::verb::post, o.path, 11};
  req.set(http::field::host, o.host + ":" + std::to_string(o.port));
  req.set(http::field::content_type, "application/json");
  req.set(http::field::user_agent, "dlrd-load");
  req.keep_alive(true);
  bool connected = false;
  boost::system::error_code ec;

  auto connect = [&]() -> asio::awaitable<bool> {
    stream.expires_after(timeout);
    co_await stream.async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      stream.close();
      co_return false;
    }
    stream.socket().set_option(tcp::no_delay(true));
    buffer.clear();
    co_return true;
  };

  connected = co_await connect();  // before t0, so the first requests do not pay for it
  co_await wait_until(run.t0);
  for (;;) {
    steady::time_point intended;
    if (open_loop) {
      if (steady::now() >= hard_end) break;
      auto slot = w.claim_slot();
      if (!slot) break;
      intended = *slot;
      co_await wait_until(tick_end(run.t0, intended, tick));
    } else {
      intended = steady::now();
      if (intended >= run.end) break;
    }
    if (!connected) {
      connected = co_await connect();
      if (!connected) {
        w.on_error(error_name(ec));
        // A closed loop would spin on a refused port; pace the retries.
        if (!open_loop) co_await wait_until(steady::now() + milliseconds(50));
        continue;
      }
    }
    auto plan = w.plan();
    req.body() = plan.body;
    req.prepare_payload();
    stream.expires_after(timeout);
    w.on_sent();
    co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
    http::response<http::string_body> res;
    if (!ec) co_await http::async_read(stream, buffer, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      w.on_error(error_name(ec));
      stream.close();
      connected = false;
      continue;
    }
    w.on_reply(plan, static_cast<unsigned>(res.result_int()), intended, steady::now());
    if (!res.keep_alive()) {
      stream.close();
      connected = false;
    }
  }
  if (connected) {
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.close();
  }
}

// ---------------------------------------------------------------- reporting

std::string fmt_ms(std::uint64_t micros) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(micros) / 1000.0);
  return buf;
}

int run_load(const options& o) {
  run_state run(o);
  if (!o.oracle_path.empty()) {
    run.oracle = std::fopen(o.oracle_path.c_str(), "w");
    if (!run.oracle) throw std::runtime_error("cannot open " + o.oracle_path);
  }
  std::vector<std::unique_ptr<worker>> workers;
  for (int i = 0; i < o.threads; ++i) workers.push_back(std::make_unique<worker>(run, i));

  tcp::resolver resolver(workers.front()->ioc());
  const auto ep = *resolver.resolve(o.host, std::to_string(o.port)).begin();

  // Connections are spread over the threads; all wait for t0, set far enough ahead to connect.
  const auto wall_start = wall::now();
  run.t0 = steady::now() + milliseconds(300 + o.connections);
  run.end = run.t0 + duration_cast<steady::duration>(std::chrono::duration<double>(o.duration_s));
  for (int c = 0; c < o.connections; ++c) {
    auto& w = *workers[static_cast<std::size_t>(c % o.threads)];
    asio::co_spawn(w.ioc(), connection(run, w, ep), [&w](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        w.on_error(std::string("exception: ") + ex.what());
      }
    });
  }
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->ioc().run(); });
  for (auto& t : threads) t.join();

  histogram latency;
  std::uint64_t sent = 0, acked_req = 0, acked_rep = 0, distinct = 0, dups = 0, ooo = 0, slots = 0;
  std::map<unsigned, std::uint64_t> codes;
  std::map<std::string, std::uint64_t> errors;
  std::vector<std::uint64_t> timeline;
  steady::time_point last = run.t0;
  for (auto& w : workers) {
    w->flush_oracle();
    latency.merge(w->latency_);
    sent += w->sent_requests_;
    acked_req += w->acked_requests_;
    acked_rep += w->acked_reports_;
    distinct += w->distinct_reports_;
    dups += w->acked_duplicates_;
    ooo += w->acked_out_of_order_;
    slots += w->next_slot_;
    for (const auto& [k, v] : w->status_counts_) codes[k] += v;
    for (const auto& [k, v] : w->errors_) errors[k] += v;
    if (timeline.size() < w->timeline_.size()) timeline.resize(w->timeline_.size(), 0);
    for (std::size_t i = 0; i < w->timeline_.size(); ++i) timeline[i] += w->timeline_[i];
    last = std::max(last, w->last_done_);
  }
  if (run.oracle && std::fclose(run.oracle) != 0) throw std::runtime_error("cannot write " + o.oracle_path);

  const double elapsed = std::max(1e-9, std::chrono::duration<double>(last - run.t0).count());
  std::uint64_t non2xx = 0, error_count = 0;
  for (const auto& [k, v] : codes) non2xx += v;
  for (const auto& [k, v] : errors) error_count += v;
  // Seconds fully inside the run; the last partial second would look like a dip.
  const auto full_seconds = static_cast<std::size_t>(o.duration_s);
  std::uint64_t min_sec = UINT64_MAX, max_sec = 0;
  for (std::size_t i = 0; i < full_seconds; ++i) {
    const auto v = i < timeline.size() ? timeline[i] : 0;
    min_sec = std::min(min_sec, v);
    max_sec = std::max(max_sec, v);
  }
  if (full_seconds == 0) min_sec = 0;
  const std::uint64_t scheduled =
      o.mode == "open" ? static_cast<std::uint64_t>(o.rate * o.duration_s) : sent;

  std::printf("dlrd-load  mode=%s connections=%d threads=%d duration=%.1fs%s batch=%d run-id=%s\n",
              o.mode.c_str(), o.connections, o.threads, o.duration_s,
              o.mode == "open" ? (" rate=" + std::to_string(static_cast<long>(o.rate)) + "/s").c_str() : "",
              o.batch, o.run_id.c_str());
  std::printf("  %-28s %12.1f s\n", "elapsed (t0 -> last answer)", elapsed);
  if (o.mode == "open") std::printf("  %-28s %12" PRIu64 "\n", "requests scheduled", scheduled);
  std::printf("  %-28s %12" PRIu64 "\n", "requests sent", sent);
  std::printf("  %-28s %12" PRIu64 "  (%.0f/s)\n", "requests acked (2xx)", acked_req, static_cast<double>(acked_req) / elapsed);
  std::printf("  %-28s %12" PRIu64 "  (%.0f/s)\n", "reports acked", acked_rep, static_cast<double>(acked_rep) / elapsed);
  std::printf("  %-28s %12" PRIu64 "  (duplicates %" PRIu64 ", out-of-order %" PRIu64 ")\n", "distinct reports acked",
              distinct, dups, ooo);
  std::printf("  %-28s %12" PRIu64 " / %" PRIu64 "\n", "acked reports/s min / max", min_sec, max_sec);
  std::printf("  %-28s %12" PRIu64 "\n", "non-2xx answers", non2xx);
  for (const auto& [k, v] : codes) std::printf("    HTTP %-23u %12" PRIu64 "\n", k, v);
  std::printf("  %-28s %12" PRIu64 "\n", "connection errors", error_count);
  for (const auto& [k, v] : errors) std::printf("    %-26s %12" PRIu64 "\n", k.c_str(), v);
  // The load generator's own CPU (every thread): on a machine it shares with dlrd and
  // PostgreSQL, what it takes is not left for them.
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::printf("  %-28s %12.2f s  (%.1f us per acked request)\n", "load generator CPU", cpu_s,
              acked_req ? cpu_s * 1e6 / static_cast<double>(acked_req) : 0.0);
  std::printf("  latency of acked requests (ms, from the %s send time)\n",
              o.mode == "open" ? "intended" : "actual");
  std::printf("    p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %.3f\n", fmt_ms(latency.quantile(0.5)).c_str(),
              fmt_ms(latency.quantile(0.9)).c_str(), fmt_ms(latency.quantile(0.99)).c_str(),
              fmt_ms(latency.quantile(0.999)).c_str(), fmt_ms(latency.max()).c_str(), latency.mean() / 1000.0);

  if (!o.json_path.empty()) {
    nlohmann::ordered_json j;
    j["mode"] = o.mode;
    j["connections"] = o.connections;
    j["threads"] = o.threads;
    j["duration_s"] = o.duration_s;
    j["rate"] = o.mode == "open" ? o.rate : 0.0;
    j["batch"] = o.batch;
    j["run_id"] = o.run_id;
    j["id_start"] = o.id_start;
    j["id_next"] = run.next_id.load();
    j["start_unix_ms"] = duration_cast<milliseconds>(wall_start.time_since_epoch()).count();
    j["elapsed_s"] = elapsed;
    j["requests_scheduled"] = scheduled;
    j["requests_sent"] = sent;
    j["requests_acked"] = acked_req;
    j["reports_acked"] = acked_rep;
    j["distinct_reports_acked"] = distinct;
    j["duplicates_acked"] = dups;
    j["out_of_order_acked"] = ooo;
    j["requests_acked_per_s"] = static_cast<double>(acked_req) / elapsed;
    j["reports_acked_per_s"] = static_cast<double>(acked_rep) / elapsed;
    j["acked_per_second_min"] = min_sec;
    j["acked_per_second_max"] = max_sec;
    j["non_2xx"] = non2xx;
    auto& jc = j["non_2xx_by_code"] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : codes) jc[std::to_string(k)] = v;
    j["errors"] = error_count;
    auto& je = j["errors_by_kind"] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : errors) je[k] = v;
    auto ms = [](std::uint64_t us) { return static_cast<double>(us) / 1000.0; };
    j["latency_ms"] = {{"p50", ms(latency.quantile(0.5))},   {"p90", ms(latency.quantile(0.9))},
                       {"p99", ms(latency.quantile(0.99))},  {"p99_9", ms(latency.quantile(0.999))},
                       {"max", ms(latency.max())},           {"mean", latency.mean() / 1000.0}};
    j["acked_reports_per_second"] = timeline;
    j["cpu_seconds"] = cpu_s;
    std::FILE* f = std::fopen(o.json_path.c_str(), "w");
    if (!f) throw std::runtime_error("cannot open " + o.json_path);
    const auto text = j.dump(2) + "\n";
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (std::fclose(f) != 0 || !ok) throw std::runtime_error("cannot write " + o.json_path);
  }
  return 0;
}

// ---------------------------------------------------------------- bare-200 responder

asio::awaitable<void> serve_session(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  stream.socket().set_option(tcp::no_delay(true));
  beast::flat_buffer buffer;
  http::response<http::string_body> res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = R"({"ok":true})";
  res.prepare_payload();
  boost::system::error_code ec;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(1u << 20);
    stream.expires_after(std::chrono::seconds(60));
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    res.keep_alive(parser.get().keep_alive());
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !res.keep_alive()) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> serve_listener(tcp::acceptor& acceptor) {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket(acceptor.get_executor());
    co_await acceptor.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) continue;
    asio::co_spawn(acceptor.get_executor(), serve_session(std::move(socket)), asio::detached);
  }
}

int run_serve_ok(const options& o) {
  asio::io_context ioc(o.threads);
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<std::uint16_t>(o.serve_ok_port)));
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { ioc.stop(); });
  asio::steady_timer stop_timer(ioc);
  stop_timer.expires_after(duration_cast<steady::duration>(std::chrono::duration<double>(o.duration_s)));
  stop_timer.async_wait([&](const boost::system::error_code& ec) {
    if (!ec) ioc.stop();
  });
  asio::co_spawn(ioc, serve_listener(acceptor), asio::detached);
  std::printf("dlrd-load: answering 200 on 127.0.0.1:%d with %d thread(s) for at most %.0f s\n", o.serve_ok_port,
              o.threads, o.duration_s);
  std::fflush(stdout);
  std::vector<std::thread> threads;
  for (int i = 1; i < o.threads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();
  return 0;
}

}  // namespace
}  // namespace dlrd::bench

int main(int argc, char** argv) {
  try {
    auto o = dlrd::bench::parse_options(argc, argv);
    if (o.serve_ok_port > 0) {
      // The responder's --duration is a safety stop; the harness ends it with SIGTERM.
      bool duration_given = false;
      for (int i = 1; i < argc; ++i) duration_given |= std::string_view(argv[i]) == "--duration";
      if (!duration_given) o.duration_s = 3600;
      return dlrd::bench::run_serve_ok(o);
    }
    return dlrd::bench::run_load(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dlrd-load: %s\n", e.what());
    return 2;
  }
}
