// Black-box harness: runs the real dlrd binary with a generated config and talks HTTP to it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <string_view>
#include <sys/types.h>

namespace dlrd::e2e {

/// A free TCP port on 127.0.0.1, drawn below the ephemeral range (bound and released).
int free_port();

/// A fresh directory under /tmp, removed by the destructor.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// The dlrd binary under test, started with `serve --config <dir>/dlrd.yaml`.
class daemon {
 public:
  /// `extra_yaml` is appended to a config that sets listen (127.0.0.1, a free port),
  /// database.url, spool.dir under `dir`, and log.level warn; `listen_extra` holds more
  /// indented keys for the listen section.
  daemon(std::string dir, std::string database_url, std::string extra_yaml = {}, std::string listen_extra = {});
  ~daemon();

  void start();
  /// Polls /healthz until it answers 200 or the timeout passes.
  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void signal(int sig);
  /// Waits for the process to exit; returns its exit code, or -signal when killed,
  /// or -1000 on timeout.
  int wait_exit(std::chrono::milliseconds timeout);
  void kill_hard();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  std::string log() const;
  const std::string& config_path() const { return config_path_; }

 private:
  std::string dir_;
  std::string config_path_;
  int port_;
  pid_t pid_ = -1;
};

struct http_reply {
  int status = 0;                              ///< 0 when the exchange failed
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::string body;
};

/// A keep-alive HTTP/1.1 client (synchronous, Beast). Not thread-safe: one per thread.
class client {
 public:
  explicit client(int port);
  ~client();
  http_reply post(std::string_view target, std::string_view body,
                  std::string_view content_type = "application/json");
  http_reply get(std::string_view target);
  http_reply send(std::string_view method, std::string_view target, std::string_view body,
                  std::string_view content_type);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Writes raw bytes on a fresh connection, then reads until the server closes it or
/// `wait` passes; returns what it read. For requests no well-behaved client sends.
std::string raw_exchange(int port, std::string_view bytes, std::chrono::milliseconds wait,
                         std::chrono::milliseconds pause_before_read = std::chrono::milliseconds(0));

/// How raw_exchange sends: pieces in order, `gap` apart, optionally half-closing after the last.
struct raw_sending {
  std::chrono::milliseconds gap{0};
  bool half_close = false;
  std::chrono::milliseconds pause_before_read{0};
};
std::string raw_exchange(int port, const std::vector<std::string>& pieces, const raw_sending& how,
                         std::chrono::milliseconds wait);

/// The status code of a raw HTTP answer ("HTTP/1.1 431 ..." → 431), 0 if none.
int status_of(std::string_view raw_response);

/// Posts `total` SMSPM reports stamped now (inside any rate rule's window), ids
/// `<prefix>-0`..; the first `failed` are undelivered, the rest delivered. Returns how many
/// were answered 200.
int post_reports_now(client& c, const std::string& prefix, int total, int failed);

/// A daemon's /metrics body, or "" when it does not answer.
std::string scrape_metrics(int port);
/// The value of `series` (a metric's name with its labels, as rendered, e.g.
/// `dlrd_leader{jobs="rate_rules"}`) in a /metrics body; -1 when absent.
double metric_sample(const std::string& body, const std::string& series);
/// The same, scraped from the daemon now; -1 when absent or when it does not answer.
double metric_value(int port, const std::string& series);

/// A whole file's bytes ("" when it cannot be read); writing replaces the file.
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);

/// Runs `command` with /bin/sh and returns its stdout; `exit_code` gets its exit status
/// (-1 when it did not exit normally).
std::string run_command(const std::string& command, int& exit_code);

}  // namespace dlrd::e2e
