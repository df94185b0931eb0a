// The real binary as an operator runs it: /metrics, sd_notify (READY, STATUS, WATCHDOG,
// RELOADING, STOPPING) and SIGHUP reload.
#include "harness.hpp"
#include "webhook_receiver.hpp"

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace dlrd::e2e {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view delivered_report =
    R"({"messageId":"ops-1","status":"delivered","to":"+447700900123","timestamp":"2026-01-01T10:00:00Z"})";
constexpr std::string_view undecodable_report = R"({"messageId":"ops-2"})";

/// The value of one series in a Prometheus text body (`series` written exactly as
/// rendered, labels included); -1 when absent.
double sample(const std::string& body, const std::string& series) {
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

/// Polls the daemon's log until it contains `needle`.
bool log_shows(const daemon& d, const std::string& needle, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (d.log().find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

/// A NOTIFY_SOCKET for the daemon: a datagram socket the test reads sd_notify messages from.
class notify_socket {
 public:
  explicit notify_socket(const std::string& dir) : path_(dir + "/notify.sock") {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("bind failed");
    timeval tv{0, 100'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~notify_socket() { ::close(fd_); }
  const std::string& path() const { return path_; }

  /// Every message received within `window`, in order.
  std::vector<std::string> collect(std::chrono::milliseconds window) {
    std::vector<std::string> out;
    auto deadline = std::chrono::steady_clock::now() + window;
    while (std::chrono::steady_clock::now() < deadline) {
      char buf[4096];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) out.emplace_back(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

  /// Reads until a message starting with `prefix` arrives; false at the timeout.
  bool wait_for(const std::string& prefix, std::chrono::milliseconds timeout, std::vector<std::string>* seen = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      for (auto& m : collect(100ms)) {
        if (seen) seen->push_back(m);
        if (m.rfind(prefix, 0) == 0) return true;
      }
    }
    return false;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

std::size_t count_prefix(const std::vector<std::string>& messages, const std::string& prefix) {
  std::size_t n = 0;
  for (const auto& m : messages) n += m.rfind(prefix, 0) == 0;
  return n;
}

/// Starts `d` with NOTIFY_SOCKET and WATCHDOG_USEC set for it only.
void start_notified(daemon& d, const notify_socket& sock, std::chrono::milliseconds watchdog) {
  ::setenv("NOTIFY_SOCKET", sock.path().c_str(), 1);
  ::setenv("WATCHDOG_USEC", std::to_string(watchdog.count() * 1000).c_str(), 1);
  d.start();
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
}

TEST(operability, metrics_are_prometheus_text_and_move_as_reports_flow) {
  test::pg_database db;
  temp_dir dir;
  daemon d(dir.path(), db.url());
  d.start();
  ASSERT_TRUE(d.wait_ready());
  client c(d.port());

  auto before = c.get("/metrics");
  ASSERT_EQ(before.status, 200);
  EXPECT_EQ(before.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(before.body.find("# TYPE dlrd_ack_latency_seconds histogram\n"), std::string::npos);

  ASSERT_EQ(c.post("/webhooks/smspm", delivered_report).status, 200);
  ASSERT_EQ(c.post("/webhooks/smspm", undecodable_report).status, 200);
  ASSERT_EQ(c.get("/no-such-route").status, 404);

  // The writers commit asynchronously; wait until both records are in PostgreSQL.
  std::string after;
  for (int i = 0; i < 100; ++i) {
    after = c.get("/metrics").body;
    if (sample(after, "dlrd_spool_records_committed_total") >= 2) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(sample(after, R"(dlrd_http_requests_total{route="/webhooks",code="200"})"), 2);
  EXPECT_EQ(sample(after, R"(dlrd_http_requests_total{route="other",code="404"})"), 1);
  EXPECT_GE(sample(after, R"(dlrd_http_requests_total{route="/metrics",code="200"})"), 1);
  EXPECT_EQ(sample(after, R"(dlrd_reports_total{provider="smspm",status="delivered"})"), 1);
  EXPECT_EQ(sample(after, "dlrd_quarantined_total"), 1);
  EXPECT_EQ(sample(after, "dlrd_ack_latency_seconds_count"), 2);
  EXPECT_EQ(sample(after, R"(dlrd_ack_latency_seconds_bucket{le="+Inf"})"), 2);
  EXPECT_EQ(sample(after, "dlrd_spool_records_appended_total"), 2);
  EXPECT_EQ(sample(after, "dlrd_spool_records_committed_total"), 2);
  EXPECT_EQ(sample(after, "dlrd_spool_backlog_records"), 0);
  EXPECT_GE(sample(after, "dlrd_writer_batch_size_count"), 1);
  EXPECT_EQ(sample(after, "dlrd_writer_batch_size_sum"), 2);
  EXPECT_GE(sample(after, "dlrd_connections_accepted_total"), 1);
  EXPECT_GE(sample(after, "dlrd_connections_active"), 1);
  EXPECT_EQ(sample(after, "dlrd_db_errors_total"), 0);
  // The standard process series, of the daemon itself.
  EXPECT_GT(sample(after, "process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(sample(after, "process_open_fds"), 3);
  EXPECT_GT(sample(after, "process_max_fds"), sample(after, "process_open_fds"));
  EXPECT_GT(sample(after, "process_start_time_seconds"), 1.7e9);
  EXPECT_GE(sample(after, "process_cpu_seconds_total"), 0);

  // A real parser and linter, when Debian's prometheus package provides it.
  int rc = -1;
  run_command("command -v promtool >/dev/null", rc);
  if (rc == 0) {
    write_file(dir.path() + "/metrics.txt", after);
    auto out = run_command("promtool check metrics < " + dir.path() + "/metrics.txt 2>&1", rc);
    EXPECT_EQ(rc, 0) << out;
  }
}

/// Polls /metrics until `series` reads `value`; returns the last body read.
std::string metrics_when(client& c, const std::string& series, double value, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string body;
  do {
    body = c.get("/metrics").body;
    if (sample(body, series) == value) break;
    std::this_thread::sleep_for(50ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return body;
}

TEST(operability, database_up_reads_1_when_postgresql_answers_and_0_while_it_is_unreachable) {
  test::pg_database db;
  temp_dir up_dir;
  daemon up(up_dir.path(), db.url(), "alerts:\n  poll_interval: 100ms\n");
  up.start();
  ASSERT_TRUE(up.wait_ready()) << up.log();
  client to_up(up.port());
  auto m = metrics_when(to_up, "dlrd_database_up", 1);
  EXPECT_EQ(sample(m, "dlrd_database_up"), 1) << m << up.log();

  temp_dir down_dir;
  const int closed = free_port();  // bound and released: nothing listens there
  daemon down(down_dir.path(), "postgresql://postgres@127.0.0.1:" + std::to_string(closed) + "/dlrd",
              "alerts:\n  poll_interval: 100ms\n");
  down.start();
  ASSERT_TRUE(down.wait_ready()) << down.log();
  ASSERT_TRUE(log_shows(down, "alert outbox backlog not read")) << down.log();  // a read was tried, and failed
  client to_down(down.port());
  m = to_down.get("/metrics").body;
  EXPECT_EQ(sample(m, "dlrd_database_up"), 0) << m << down.log();
  EXPECT_EQ(sample(m, "dlrd_spool_backlog_records"), 0) << m;
}

TEST(operability, the_outbox_backlog_counts_the_notices_a_failing_sink_cannot_send) {
  test::pg_database db;
  temp_dir dir;
  receiver hook;
  const int closed = free_port();  // the failing sink's endpoint: nothing listens there
  auto sink = [](const std::string& name, const std::string& url) {
    return "    - name: " + name + "\n      type: webhook\n      url: " + url + "\n      allow_private: true\n";
  };
  daemon d(dir.path(), db.url(),
           "alerts:\n  poll_interval: 100ms\n  rules: []\n  sinks:\n" + sink("hook", hook.url()) +
               sink("dead", "http://127.0.0.1:" + std::to_string(closed) + "/hook"));
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  client c(d.port());
  ASSERT_EQ(post_reports_now(c, "bk", 5, 3), 5);  // three undelivered: three notices

  auto m = metrics_when(c, R"(dlrd_alert_outbox_backlog{sink="dead"})", 3);
  EXPECT_EQ(sample(m, R"(dlrd_alert_outbox_backlog{sink="dead"})"), 3) << m << d.log();
  // The working sink sent the same notices, and owes none.
  for (int i = 0; i < 200 && hook.delivered().size() < 3; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(hook.delivered().size(), 3u) << d.log();
  m = metrics_when(c, R"(dlrd_alert_outbox_backlog{sink="hook"})", 0);
  EXPECT_EQ(sample(m, R"(dlrd_alert_outbox_backlog{sink="hook"})"), 0) << m << d.log();
  EXPECT_GE(sample(m, R"(dlrd_alert_notices_total{sink="dead",result="failed"})"), 1) << m;
}

// Every thread names its part, so that `top -H`, `ps -L` and perf tell them apart.
TEST(operability, each_thread_carries_the_name_of_its_part) {
  test::pg_database db;
  temp_dir dir;
  daemon d(dir.path(), db.url(), "store:\n  workers: 2\n", "  threads: 2\n");
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  // What `top -H` and `ps -L` show: one name per thread, from /proc. A thread names itself
  // as it starts, which a busy machine may delay past readiness: read until all are there.
  const std::vector<std::string> expected{"dlrd-http-0",   "dlrd-http-1", "dlrd-spool", "dlrd-writer-0",
                                          "dlrd-writer-1", "dlrd-rules",  "dlrd-jobs",  "dlrd-db-gauges"};
  std::multiset<std::string> names;
  auto all_there = [&] {
    return std::all_of(expected.begin(), expected.end(), [&](const auto& e) { return names.count(e) == 1; });
  };
  for (int i = 0; i < 100 && (i == 0 || !all_there()); ++i) {
    if (i > 0) std::this_thread::sleep_for(50ms);
    names.clear();
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(d.pid()) + "/task")) {
      std::ifstream comm(task.path() / "comm");
      std::string name;
      std::getline(comm, name);
      names.insert(name);
    }
  }
  std::string all;
  for (const auto& n : names) all += n + " ";
  for (const auto& e : expected) EXPECT_EQ(names.count(e), 1u) << e << " in: " << all;
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

// Two processes on one spool would each recover, append to and trim the same segments: the
// second's recovery truncates what the first is writing. The second is refused before it
// touches anything, the first keeps serving, and a kill -9 of the first frees the directory.
TEST(operability, a_second_daemon_on_the_same_spool_directory_is_refused_and_the_first_keeps_serving) {
  test::pg_database db;
  temp_dir dir;
  daemon first(dir.path(), db.url());
  first.start();
  ASSERT_TRUE(first.wait_ready()) << first.log();
  daemon second(dir.path(), db.url());  // the same spool.dir, another port
  second.start();
  EXPECT_EQ(second.wait_exit(20s), 1) << second.log();
  const auto log = second.log();
  EXPECT_NE(log.find("/spool is in use by another dlrd (pid " + std::to_string(first.pid()) + ")"), std::string::npos)
      << log;

  client c(first.port());
  ASSERT_EQ(post_reports_now(c, "lk", 5, 1), 5);
  first.kill_hard();
  second.start();
  ASSERT_TRUE(second.wait_ready()) << second.log();
  for (int i = 0; i < 200 && test::query(db.url(), "SELECT count(*) FROM sms_logs")[0][0].as<int>() < 5; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(test::query(db.url(), "SELECT count(*) FROM sms_logs")[0][0].as<int>(), 5) << second.log();
}

TEST(operability, an_invalid_file_on_sighup_is_refused_and_the_old_configuration_keeps_serving) {
  test::pg_database db;
  temp_dir dir;
  daemon d(dir.path(), db.url());
  d.start();
  ASSERT_TRUE(d.wait_ready());

  write_file(d.config_path(), read_file(d.config_path()) + "bogus_key: 1\n");
  d.signal(SIGHUP);
  ASSERT_TRUE(log_shows(d, "reload refused")) << d.log();
  EXPECT_NE(d.log().find("bogus_key: unknown key"), std::string::npos) << d.log();
  EXPECT_NE(d.log().find("still running on the previous configuration"), std::string::npos) << d.log();

  client c(d.port());
  EXPECT_EQ(c.post("/webhooks/smspm", delivered_report).status, 200);
  auto metrics = c.get("/metrics").body;
  EXPECT_EQ(sample(metrics, R"(dlrd_config_reloads_total{result="refused"})"), 1);
  EXPECT_EQ(sample(metrics, R"(dlrd_config_reloads_total{result="applied"})"), 0);
}

TEST(operability, a_new_log_level_applies_on_sighup_and_keys_that_need_a_restart_are_named) {
  test::pg_database db;
  temp_dir dir;
  daemon d(dir.path(), db.url(), "", "  max_connections: 100\n");
  d.start();
  ASSERT_TRUE(d.wait_ready());

  auto text = read_file(d.config_path());
  text = std::regex_replace(text, std::regex("level: warn"), "level: info");
  text = std::regex_replace(text, std::regex("max_connections: 100"), "max_connections: 200");
  write_file(d.config_path(), text);
  d.signal(SIGHUP);
  ASSERT_TRUE(log_shows(d, "reload: log.level warn -> info")) << d.log();
  EXPECT_TRUE(log_shows(d, "listen.* changed")) << d.log();
  EXPECT_NE(d.log().find("needs a restart"), std::string::npos) << d.log();

  // Info lines now reach the log: the level really changed.
  d.signal(SIGHUP);
  EXPECT_TRUE(log_shows(d, "nothing to change live")) << d.log();
  client c(d.port());
  EXPECT_EQ(c.post("/webhooks/smspm", delivered_report).status, 200);
}

TEST(operability, a_rotated_webhook_secret_applies_on_sighup_without_dropping_a_connection) {
  test::pg_database db;
  temp_dir dir;
  const std::string webhooks = "webhooks:\n  - profile: smspm\n    auth:\n      token: { values: [\"old-secret\"] }\n";
  daemon d(dir.path(), db.url(), webhooks);
  d.start();
  ASSERT_TRUE(d.wait_ready());

  // One keep-alive connection across the reload: the answers below all travel on it.
  client c(d.port());
  EXPECT_EQ(c.post("/webhooks/smspm?token=old-secret", delivered_report).status, 200);
  EXPECT_EQ(c.post("/webhooks/smspm?token=new-secret", delivered_report).status, 401);

  auto text = read_file(d.config_path());
  text = std::regex_replace(text, std::regex("\"old-secret\""), "\"new-secret\"");
  write_file(d.config_path(), text);
  auto accepted_before = sample(c.get("/metrics").body, "dlrd_connections_accepted_total");
  d.signal(SIGHUP);
  bool applied = false;
  for (int i = 0; i < 100 && !applied; ++i) {
    applied = sample(c.get("/metrics").body, R"(dlrd_config_reloads_total{result="applied"})") == 1;
    if (!applied) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(applied) << d.log();

  EXPECT_EQ(c.post("/webhooks/smspm?token=new-secret", delivered_report).status, 200);
  EXPECT_EQ(c.post("/webhooks/smspm?token=old-secret", delivered_report).status, 401);
  auto metrics = c.get("/metrics").body;
  EXPECT_EQ(sample(metrics, R"(dlrd_auth_failures_total{profile="smspm",reason="token"})"), 2);
  // The same connection served every request: the reload dropped nothing.
  EXPECT_EQ(sample(metrics, "dlrd_connections_accepted_total"), accepted_before);
  // The secret never reaches the log.
  EXPECT_EQ(d.log().find("old-secret"), std::string::npos);
  EXPECT_EQ(d.log().find("new-secret"), std::string::npos);
}

TEST(operability, a_separate_metrics_listener_serves_metrics_and_health_and_nothing_else) {
  test::pg_database db;
  temp_dir dir;
  const int metrics_port = free_port();
  daemon d(dir.path(), db.url(),
           "metrics_listen:\n  address: 127.0.0.1\n  port: " + std::to_string(metrics_port) + "\n");
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();

  client main_port(d.port());
  EXPECT_EQ(main_port.post("/webhooks/smspm", delivered_report).status, 200);
  EXPECT_EQ(main_port.get("/metrics").status, 404);  // moved to the metrics listener

  client probes(metrics_port);
  auto metrics = probes.get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(sample(metrics.body, R"(dlrd_http_requests_total{route="/webhooks",code="200"})"), 1);
  EXPECT_EQ(probes.get("/healthz").status, 200);
  EXPECT_EQ(probes.get("/readyz").status, 200);
  EXPECT_EQ(probes.post("/webhooks/smspm", delivered_report).status, 404);  // no webhooks here
  EXPECT_EQ(probes.get("/v1/stats/daily").status, 404);                    // nor the API
}

TEST(operability, json_log_lines_are_one_json_object_each) {
  test::pg_database db;
  temp_dir dir;
  daemon d(dir.path(), db.url());
  write_file(d.config_path(), std::regex_replace(read_file(d.config_path()), std::regex("log:\n  level: warn\n"),
                                                 "log:\n  level: info\n  format: json\n"));
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  client c(d.port());
  // A message with quotes and a backslash in it: the refused config key below is quoted.
  EXPECT_EQ(c.post("/webhooks/smspm", delivered_report).status, 200);
  write_file(d.config_path(), read_file(d.config_path()) + "bogus\"key\\: 1\n");
  d.signal(SIGHUP);
  ASSERT_TRUE(log_shows(d, "reload refused")) << d.log();

  std::istringstream lines(d.log());
  int parsed = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
    EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("msg")) << line;
    ++parsed;
  }
  EXPECT_GT(parsed, 3);
}

TEST(operability, systemd_hears_ready_status_watchdog_reloading_and_stopping) {
  test::pg_database db;
  temp_dir dir;
  notify_socket sock(dir.path());
  daemon d(dir.path(), db.url());
  start_notified(d, sock, 1000ms);

  std::vector<std::string> seen;
  ASSERT_TRUE(sock.wait_for("READY=1", 20s, &seen));
  // READY comes with the listener bound.
  client c(d.port());
  EXPECT_EQ(c.get("/healthz").status, 200);

  auto pings = sock.collect(2500ms);
  EXPECT_GE(count_prefix(pings, "WATCHDOG=1"), 3u);

  EXPECT_TRUE(sock.wait_for("STATUS=backlog ", 7s, &seen));

  d.signal(SIGHUP);
  std::vector<std::string> reload;
  ASSERT_TRUE(sock.wait_for("READY=1", 5s, &reload));
  EXPECT_EQ(count_prefix(reload, "RELOADING=1"), 1u);

  d.signal(SIGTERM);
  EXPECT_TRUE(sock.wait_for("STOPPING=1", 5s));
  EXPECT_EQ(d.wait_exit(20s), 0);
}

TEST(operability, ready_comes_after_recovery_of_a_prepared_spool_and_the_wait_shows_in_the_oldest_age) {
  test::pg_database db;
  temp_dir dir;
  constexpr int n = 40;
  auto body = [](int i) {
    return R"({"messageId":"prep-)" + std::to_string(i) +
           R"(","status":"delivered","to":"+447700900123","timestamp":"2026-01-01T10:00:00Z"})";
  };
  // A spool left by a daemon killed while PostgreSQL refused its writes: n acked records
  // not in sms_logs, and a torn record at the tail of the last segment.
  {
    daemon first(dir.path(), db.url());
    first.start();
    ASSERT_TRUE(first.wait_ready()) << first.log();
    pqxx::connection locker(db.url());
    pqxx::work lock(locker);
    lock.exec("LOCK TABLE sms_logs IN SHARE MODE");  // readers pass, writers wait
    client c(first.port());
    for (int i = 0; i < n; ++i) ASSERT_EQ(c.post("/webhooks/smspm", body(i)).status, 200);
    first.signal(SIGKILL);
    ASSERT_EQ(first.wait_exit(10s), -SIGKILL);
  }
  std::string last_segment;
  for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/spool")) {
    auto name = e.path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".seg") == 0) last_segment = std::max(last_segment, name);
  }
  ASSERT_FALSE(last_segment.empty());
  {
    // The segment was zeroed ahead of its records: the torn bytes go where the records end
    // (each is a 20-byte header starting "DLR1", its payload length next, then the payload).
    auto path = dir.path() + "/spool/" + last_segment;
    std::stringstream content;
    content << std::ifstream(path, std::ios::binary).rdbuf();
    auto bytes = content.str();
    std::size_t end = 0;
    while (end + 20 <= bytes.size() && bytes.compare(end, 4, "DLR1") == 0) {
      std::uint32_t length = 0;
      for (int i = 3; i >= 0; --i) length = (length << 8) | static_cast<unsigned char>(bytes[end + 4 + i]);
      end += 20 + length;
    }
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(end));
    f.write("\x01\x02\x03\x04\x05", 5);
  }

  // Writers stay blocked after the restart too, so the records wait in the spool.
  pqxx::connection locker(db.url());
  pqxx::work lock(locker);
  lock.exec("LOCK TABLE sms_logs IN SHARE MODE");
  notify_socket sock(dir.path());
  daemon d(dir.path(), db.url());
  auto started = std::chrono::steady_clock::now();
  start_notified(d, sock, 2000ms);
  ASSERT_TRUE(sock.wait_for("READY=1", 20s)) << d.log();
  // By READY the spool was recovered: the torn tail is cut, and the records are replaying.
  EXPECT_NE(d.log().find("(5 bytes, then zeros); truncated"), std::string::npos) << d.log();
  client c(d.port());
  auto m1 = c.get("/metrics").body;
  EXPECT_EQ(sample(m1, "dlrd_spool_backlog_records"), n) << m1;
  std::this_thread::sleep_for(1200ms);
  auto m2 = c.get("/metrics").body;
  auto age = sample(m2, "dlrd_spool_oldest_record_age_seconds");
  auto since_start = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // Recovered records count from the recovery, which came after `started`.
  EXPECT_GE(age, 1.2) << m2;
  EXPECT_LE(age, since_start) << m2;

  lock.abort();  // PostgreSQL takes writes again: the backlog drains and the age drops to 0
  std::string m3;
  for (int i = 0; i < 200; ++i) {
    m3 = c.get("/metrics").body;
    if (sample(m3, "dlrd_spool_backlog_records") == 0) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(sample(m3, "dlrd_spool_backlog_records"), 0) << m3;
  EXPECT_EQ(sample(m3, "dlrd_spool_oldest_record_age_seconds"), 0) << m3;
  EXPECT_EQ(test::query(db.url(), "SELECT count(*) FROM sms_logs WHERE message_id LIKE 'prep-%'")[0][0].as<int>(), n);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(20s), 0) << d.log();
}

TEST(operability, rate_rules_firing_show_in_metrics) {
  test::pg_database db;
  temp_dir dir;
  daemon d(dir.path(), db.url(),
           "alerts:\n  rules:\n    - name: failing\n      window: 1h\n      failed_share_above: 0.05\n"
           "      min_messages: 10\n      interval: 1s\n    - name: quiet\n      window: 1h\n"
           "      failed_share_above: 0.9\n      min_messages: 10\n      interval: 1s\n");
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  client c(d.port());
  ASSERT_EQ(post_reports_now(c, "rr", 20, 4), 20);  // 20% failed
  std::string m;
  for (int i = 0; i < 200; ++i) {
    m = c.get("/metrics").body;
    if (sample(m, R"(dlrd_rate_rules_firing{rule="failing"})") == 1) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(sample(m, R"(dlrd_rate_rules_firing{rule="failing"})"), 1) << m << d.log();
  EXPECT_EQ(sample(m, R"(dlrd_rate_rules_firing{rule="quiet"})"), 0) << m;
  EXPECT_EQ(sample(m, R"(dlrd_rate_rule_transitions_total{rule="failing",transition="fired"})"), 1) << m;
}

TEST(operability, watchdog_pings_stop_while_a_writer_hangs_in_postgresql) {
  // A "PostgreSQL" that completes TCP handshakes (the kernel's backlog) but never answers:
  // every connect hangs until database.connect_timeout.
  int hung = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(hung, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(hung, 64), 0);
  socklen_t len = sizeof addr;
  ::getsockname(hung, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string url = "postgresql://postgres@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/dlrd";

  temp_dir dir;
  notify_socket sock(dir.path());
  daemon d(dir.path(), url, "store:\n  workers: 1\n");
  auto text = read_file(d.config_path());
  write_file(d.config_path(), std::regex_replace(text, std::regex("(  url: [^\n]*\n)"), "$1  connect_timeout: 8s\n"));
  start_notified(d, sock, 2000ms);
  ASSERT_TRUE(sock.wait_for("READY=1", 30s));
  // Idle writers are alive: the pings flow.
  EXPECT_GE(count_prefix(sock.collect(2500ms), "WATCHDOG=1"), 2u);

  // A report sends the writer into a connect that hangs for 8 s.
  client c(d.port());
  ASSERT_EQ(c.post("/webhooks/smspm", delivered_report).status, 200);
  sock.collect(3000ms);
  auto during = sock.collect(3500ms);
  EXPECT_EQ(count_prefix(during, "WATCHDOG=1"), 0u);
  EXPECT_TRUE(log_shows(d, "watchdog: a PostgreSQL writer made no progress")) << d.log();
  // The HTTP side still answers: only systemd is told that something is stuck.
  EXPECT_EQ(c.get("/healthz").status, 200);
  ::close(hung);
}

TEST(operability, a_damaged_segment_at_start_shows_in_metrics_and_reaches_the_alert_webhook_once) {
  test::pg_database db;
  temp_dir dir;
  auto body = [](int i) {
    return R"({"messageId":"rot-)" + std::to_string(i) +
           R"(","status":"delivered","to":"+447700900123","timestamp":"2026-01-01T10:00:00Z"})";
  };
  // Three acked records left in the spool (writers blocked, then kill -9) ...
  {
    daemon first(dir.path(), db.url());
    first.start();
    ASSERT_TRUE(first.wait_ready()) << first.log();
    pqxx::connection locker(db.url());
    pqxx::work lock(locker);
    lock.exec("LOCK TABLE sms_logs IN SHARE MODE");
    client c(first.port());
    for (int i = 0; i < 3; ++i) ASSERT_EQ(c.post("/webhooks/smspm", body(i)).status, 200);
    first.signal(SIGKILL);
    ASSERT_EQ(first.wait_exit(10s), -SIGKILL);
  }
  // ... and one byte of the first record's payload flipped on disk: a checksum failure with
  // valid records after it, i.e. corruption, not a torn tail.
  std::string first_segment;
  for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/spool")) {
    auto name = e.path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".seg") == 0 &&
        (first_segment.empty() || name < first_segment)) {
      first_segment = name;
    }
  }
  ASSERT_FALSE(first_segment.empty());
  {
    std::fstream f(dir.path() + "/spool/" + first_segment, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(30);  // past the 20-byte record header
    char byte = 0;
    f.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x20);
    f.seekp(30);
    f.write(&byte, 1);
  }

  receiver hook;
  daemon d(dir.path(), db.url(),
           "alerts:\n  poll_interval: 100ms\n  rules: []\n  sinks:\n    - name: hook\n      type: webhook\n"
           "      url: " + hook.url() + "\n      allow_private: true\n");
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  client c(d.port());
  auto metrics = c.get("/metrics").body;
  EXPECT_EQ(sample(metrics, R"(dlrd_spool_corrupt_regions_total{phase="recovery"})"), 1) << metrics;
  EXPECT_EQ(sample(metrics, R"(dlrd_spool_corrupt_regions_total{phase="runtime"})"), 0) << metrics;
  EXPECT_GT(sample(metrics, "dlrd_spool_corrupt_bytes_total"), 0) << metrics;

  auto until = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < until && hook.delivered().empty()) std::this_thread::sleep_for(50ms);
  std::this_thread::sleep_for(500ms);  // room for a (wrong) second notice
  auto got = hook.delivered();
  ASSERT_EQ(got.size(), 1u) << d.log();
  EXPECT_EQ(got[0]["type"], "payload_quarantined") << got[0].dump();
  EXPECT_EQ(got[0]["provider"], "spool") << got[0].dump();
  EXPECT_NE(got[0]["reason"].get<std::string>().find(first_segment), std::string::npos) << got[0].dump();
  // The records after the damaged one were kept and committed.
  for (int i = 0; i < 200; ++i) {
    if (test::query(db.url(), "SELECT count(*) FROM sms_logs")[0][0].as<int>() == 2) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(test::query(db.url(), "SELECT count(*) FROM sms_logs")[0][0].as<int>(), 2);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

TEST(operability, migrate_says_what_it_applied_function_files_included) {
  test::pg_database db(false);
  temp_dir dir;
  daemon d(dir.path(), db.url());  // writes the config; not started
  const std::string migrate = std::string(DLRD_BINARY) + " migrate --config " + d.config_path() + " 2>&1";
  int code = -1;
  auto out = run_command(migrate, code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("applied 0001_sms_logs"), std::string::npos) << out;
  EXPECT_NE(out.find("applied function file functions/dlr_log_send"), std::string::npos) << out;
  out = run_command(migrate, code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("schema is up to date"), std::string::npos) << out;
  // Only a function file to apply: said as such, not "up to date".
  test::query(db.url(), "DELETE FROM dlr_schema_migrations WHERE name = 'functions/dlr_log_send'");
  out = run_command(migrate, code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("applied function file functions/dlr_log_send"), std::string::npos) << out;
  EXPECT_EQ(out.find("schema is up to date"), std::string::npos) << out;
}

}  // namespace
}  // namespace dlrd::e2e
