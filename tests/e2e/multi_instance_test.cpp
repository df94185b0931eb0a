// Several instances behind HAProxy: three dlrd on one database, each with its own spool. The
// leader is killed -9 under load: another instance takes its jobs, HAProxy routes around it,
// it drains its spool when it comes back, and no acked callback is lost; a long-poll on one
// instance is woken by a report sent to another. Skipped when haproxy is not installed.
#include "harness.hpp"

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace dlrd::e2e {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr int instances = 3;
const char* const names[instances] = {"a", "b", "c"};

// Every leader job runs each second, so survivors compete for the locks each second.
constexpr const char* leader_jobs_yaml =
    "status_api:\n  max_wait: 20s\n"
    "expiry:\n  interval: 1s\n  rules:\n    - name: stale\n      after: 1d\n"
    "retention:\n  interval: 1s\n"
    "alerts:\n  rules:\n    - name: failing\n      window: 1h\n      failed_share_above: 0.5\n"
    "      min_messages: 1000000\n      interval: 1s\n";
// Behind a proxy every connection comes from the proxy's address.
constexpr const char* behind_proxy = "  max_connections_per_ip: 0\n";

double seconds_since(steady::time_point t) { return std::chrono::duration<double>(steady::now() - t).count(); }

/// A port of 47600-47699 free on 127.0.0.1, for HAProxy's frontend; the search starts at a
/// place of this process's own, as other runs of the tests may look at the same time.
int proxy_port() {
  for (int k = 0; k < 100; ++k) {
    int port = 47600 + (static_cast<int>(::getpid()) + k) % 100;
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (free) return port;
  }
  throw std::runtime_error("no free port in 47600-47699");
}

/// HAProxy in the foreground: round robin over the instances, health-checked on /readyz every
/// 200 ms, answers marked with the instance that gave them (X-Served-By).
class haproxy {
 public:
  haproxy(const std::string& binary, const std::string& dir, const std::vector<int>& servers)
      : port_(proxy_port()), config_(dir + "/haproxy.cfg") {
    std::string cfg =
        "global\n  maxconn 256\n"
        "defaults\n  mode http\n  timeout connect 500ms\n  timeout client 10s\n  timeout server 10s\n"
        "  timeout check 500ms\n  retries 3\n  option redispatch 1\n  retry-on conn-failure empty-response 503\n"
        "frontend callbacks\n  bind 127.0.0.1:" + std::to_string(port_) + "\n  default_backend dlrd\n"
        "backend dlrd\n  balance roundrobin\n  option httpchk GET /readyz\n  http-check expect status 200\n"
        "  http-response set-header X-Served-By %[srv_name]\n  default-server inter 200ms fall 2 rise 2\n";
    for (std::size_t i = 0; i < servers.size(); ++i) {
      cfg += "  server " + std::string(names[i]) + " 127.0.0.1:" + std::to_string(servers[i]) + " check\n";
    }
    write_file(config_, cfg);
    const std::string log = dir + "/haproxy.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execl(binary.c_str(), binary.c_str(), "-db", "-f", config_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~haproxy() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
  haproxy(const haproxy&) = delete;
  haproxy& operator=(const haproxy&) = delete;

  int port() const { return port_; }

  /// Polls /readyz through the proxy until every server in `expected` has answered.
  bool wait_serving(const std::set<std::string>& expected, std::chrono::seconds timeout = 10s) const {
    std::set<std::string> seen;
    auto deadline = steady::now() + timeout;
    while (steady::now() < deadline) {
      try {
        client c(port_);
        auto r = c.get("/readyz");
        if (r.status == 200) seen.insert(r.headers["x-served-by"]);
        bool all = true;
        for (const auto& s : expected) all = all && seen.count(s);
        if (all) return true;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

 private:
  int port_;
  std::string config_;
  pid_t pid_ = -1;
};

/// A gateway: a few connections through the proxy posting unique ids; an answer other than 200
/// (or none) is retried after a pause, as gateways do. Records who acked each id.
class gateway_load {
 public:
  gateway_load(int port, int connections, int per_connection, std::string prefix)
      : prefix_(std::move(prefix)), per_connection_(per_connection) {
    for (int t = 0; t < connections; ++t) threads_.emplace_back([this, port, t] { run(port, t); });
  }
  ~gateway_load() { join(); }

  void join() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int acked() const { return acked_count_; }
  /// From now on acks are counted apart (the backlog was read; the kill follows).
  void mark() { marked_ = true; }

  // Read after join().
  std::map<std::string, std::vector<std::string>> acked_by;  ///< server -> ids it acked
  std::map<std::string, int> acked_after_mark;               ///< server -> acks after mark()
  std::map<int, int> refused;                                ///< status -> answers (0: no answer)

 private:
  void run(int port, int t) {
    client c(port);
    for (int n = 0; n < per_connection_; ++n) {
      std::string id = prefix_ + "-" + std::to_string(t) + "-" + std::to_string(n);
      std::string body = R"({"messageId":")" + id + R"(","status":"delivered","to":"+447700900123"})";
      for (;;) {
        int status = 0;
        std::string server;
        try {
          auto r = c.post("/webhooks/smspm", body);
          status = r.status;
          server = r.headers["x-served-by"];
        } catch (const std::exception&) {
        }
        std::lock_guard lock(mutex_);
        if (status == 200) {
          acked_by[server].push_back(id);
          if (marked_) ++acked_after_mark[server];
          ++acked_count_;
          break;
        }
        ++refused[status];
        std::this_thread::sleep_for(20ms);
      }
    }
  }

  std::string prefix_;
  int per_connection_;
  std::mutex mutex_;
  std::atomic<int> acked_count_{0};
  std::atomic<bool> marked_{false};
  std::vector<std::thread> threads_;
};

std::vector<std::string> all_ids(const gateway_load& load) {
  std::vector<std::string> out;
  for (const auto& [server, ids] : load.acked_by) out.insert(out.end(), ids.begin(), ids.end());
  return out;
}

/// How many of `ids` are not in sms_logs.
long long missing_from_sms_logs(const std::string& url, const std::vector<std::string>& ids) {
  if (ids.empty()) return 0;
  std::string list;
  for (const auto& id : ids) list += (list.empty() ? "'" : ",'") + id + "'";
  auto stored = test::query(url, "SELECT count(*) FROM sms_logs WHERE message_id IN (" + list + ")")[0][0].as<long long>();
  return static_cast<long long>(ids.size()) - stored;
}

class multi_instance : public ::testing::Test {
 protected:
  void SetUp() override {
    int code = -1;
    haproxy_binary_ = run_command("command -v haproxy", code);
    while (!haproxy_binary_.empty() && haproxy_binary_.back() == '\n') haproxy_binary_.pop_back();
    if (code != 0 || haproxy_binary_.empty()) GTEST_SKIP() << "haproxy is not installed (scripts/install-deps.sh --test)";
    db_ = std::make_unique<test::pg_database>();
    std::vector<int> ports;
    for (int i = 0; i < instances; ++i) {
      daemons_[i] = std::make_unique<daemon>(dirs_[i].path(), db_->url(), leader_jobs_yaml, behind_proxy);
      daemons_[i]->start();
    }
    for (auto& d : daemons_) {
      ASSERT_TRUE(d->wait_ready()) << d->log();
      ports.push_back(d->port());
    }
    proxy_ = std::make_unique<haproxy>(haproxy_binary_, proxy_dir_.path(), ports);
    ASSERT_TRUE(proxy_->wait_serving({"a", "b", "c"})) << read_file(proxy_dir_.path() + "/haproxy.log");
  }

  /// The instances (indexes) whose dlrd_leader{jobs} reads 1, of those that answer.
  std::vector<int> leaders(const std::string& jobs) const {
    std::vector<int> out;
    for (int i = 0; i < instances; ++i) {
      if (daemons_[i]->running() && metric_value(daemons_[i]->port(), "dlrd_leader{jobs=\"" + jobs + "\"}") == 1) {
        out.push_back(i);
      }
    }
    return out;
  }

  /// Polls until exactly one instance leads `jobs` (and it is not `not_this`); returns it or -1.
  int wait_single_leader(const std::string& jobs, int not_this = -1, std::chrono::seconds timeout = 10s) const {
    auto deadline = steady::now() + timeout;
    while (steady::now() < deadline) {
      auto l = leaders(jobs);
      if (l.size() == 1 && l[0] != not_this) return l[0];
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }

  /// Polls until the instance's spool holds nothing uncommitted.
  bool wait_drained(int i, std::chrono::seconds timeout = 20s) const {
    auto deadline = steady::now() + timeout;
    while (steady::now() < deadline) {
      if (metric_value(daemons_[i]->port(), "dlrd_spool_backlog_records") == 0) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  std::string logs() const {
    std::string out;
    for (int i = 0; i < instances; ++i) out += std::string("--- ") + names[i] + "\n" + daemons_[i]->log();
    return out + "--- haproxy\n" + read_file(proxy_dir_.path() + "/haproxy.log");
  }

  std::unique_ptr<test::pg_database> db_;  // after the check for haproxy: a skip costs nothing
  temp_dir dirs_[instances];
  temp_dir proxy_dir_;
  std::string haproxy_binary_;
  std::unique_ptr<daemon> daemons_[instances];
  std::unique_ptr<haproxy> proxy_;
};

/// Unsent records `dlrd spool inspect` reports for a stopped instance's spool, or -1.
long long unsent_on_disk(const std::string& spool_dir) {
  int code = -1;
  auto out = run_command(std::string(DLRD_BINARY) + " spool inspect --dir " + spool_dir, code);
  std::smatch m;
  if (code != 0 || !std::regex_search(out, m, std::regex(R"(unsent:\s+(\d+) record)"))) return -1;
  return std::stoll(m[1].str());
}

TEST_F(multi_instance, the_leader_killed_under_load_hands_over_its_jobs_and_drains_when_back) {
  const int rules_leader = wait_single_leader("rate_rules");
  ASSERT_GE(rules_leader, 0) << logs();
  const int status_leader = wait_single_leader("expiry_retention");
  ASSERT_GE(status_leader, 0) << logs();
  daemon& victim = *daemons_[rules_leader];
  const std::string victim_name = names[rules_leader];

  gateway_load load(proxy_->port(), 3, 1000, "mi");
  auto deadline = steady::now() + 20s;
  while (load.acked() < 900 && steady::now() < deadline) std::this_thread::sleep_for(2ms);
  ASSERT_GE(load.acked(), 900) << logs();
  // What a lost disk would cost now: the backlog read just before the kill. Acks from the mark
  // on are counted apart, so none falls between the reading and the count.
  load.mark();
  auto before = scrape_metrics(victim.port());
  const double backlog = metric_sample(before, "dlrd_spool_backlog_records");
  const double oldest_age = metric_sample(before, "dlrd_spool_oldest_record_age_seconds");
  victim.signal(SIGKILL);
  const auto killed_at = steady::now();
  ASSERT_EQ(victim.wait_exit(10s), -SIGKILL);
  ASSERT_GE(backlog, 0) << before;
  ASSERT_GE(oldest_age, 0) << before;

  const int new_rules_leader = wait_single_leader("rate_rules", rules_leader);
  const double rules_failover = seconds_since(killed_at);
  ASSERT_GE(new_rules_leader, 0) << logs();
  const int new_status_leader = wait_single_leader("expiry_retention", rules_leader);
  const double status_failover = seconds_since(killed_at);  // 0 s apart when it already led elsewhere
  ASSERT_GE(new_status_leader, 0) << logs();
  if (status_leader != rules_leader) {
    EXPECT_EQ(new_status_leader, status_leader) << "a living leader keeps its jobs";
  }
  // Both jobs run each second, and the lock of a killed process goes with its connections.
  EXPECT_LT(rules_failover, 10) << logs();

  load.join();
  EXPECT_EQ(load.acked(), 3000);
  for (int i = 0; i < instances; ++i) {
    if (i != rules_leader) {
      ASSERT_TRUE(wait_drained(i)) << logs();
    }
  }
  // The survivors committed theirs: what is missing now lives only on the dead instance's disk.
  const auto& victim_ids = load.acked_by[victim_name];
  const long long lost_with_disk = missing_from_sms_logs(db_->url(), victim_ids);
  const long long on_disk = unsent_on_disk(dirs_[rules_leader].path() + "/spool");
  EXPECT_GE(on_disk, lost_with_disk) << "the spool holds every acked record not yet committed";
  EXPECT_LE(lost_with_disk, static_cast<long long>(backlog) + load.acked_after_mark[victim_name])
      << "the backlog gauge counted every record not yet committed";

  const auto restarted_at = steady::now();
  victim.start();
  ASSERT_TRUE(victim.wait_ready()) << victim.log();
  ASSERT_TRUE(wait_drained(rules_leader)) << victim.log();
  const double drain_time = seconds_since(restarted_at);
  auto ids = all_ids(load);
  EXPECT_EQ(missing_from_sms_logs(db_->url(), ids), 0) << logs();
  EXPECT_EQ(leaders("rate_rules"), std::vector<int>{new_rules_leader}) << "leadership is sticky";
  ASSERT_TRUE(proxy_->wait_serving({victim_name})) << "HAProxy sends to the instance again\n" << logs();

  int refused = 0;
  for (const auto& [status, n] : load.refused) refused += n;
  std::printf(
      "[ multi ] %zu acked, %d answers other than 200 retried; leader %s killed with %.0f record(s) in its "
      "backlog (oldest %.3f s), %lld acked record(s) only on its disk (%lld unsent on disk); rate rules taken over "
      "in %.2f s, expiry/retention %s after %.2f s; restarted and drained in %.2f s\n",
      ids.size(), refused, victim_name.c_str(), backlog, oldest_age, lost_with_disk, on_disk, rules_failover,
      status_leader == rules_leader ? "taken over" : "kept by its leader", status_failover, drain_time);
}

TEST_F(multi_instance, a_long_poll_on_one_instance_is_woken_by_a_report_sent_to_another) {
  client through_proxy(proxy_->port());
  auto sent = through_proxy.post("/v1/messages", R"({"message_id":"mi-wait-1","to":"+447700900123"})");
  ASSERT_EQ(sent.status, 200) << sent.body;
  auto waiting = std::async(std::launch::async, [&] {
    client c(daemons_[0]->port());
    return c.get("/v1/messages/mi-wait-1?wait=15s");
  });
  auto deadline = steady::now() + 10s;
  while (metric_value(daemons_[0]->port(), "dlrd_status_waiters") < 1 && steady::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(metric_value(daemons_[0]->port(), "dlrd_status_waiters"), 1) << logs();
  client other(daemons_[2]->port());
  auto report = R"({"messageId":"mi-wait-1","status":"undelivered","to":"+447700900123"})";
  ASSERT_EQ(other.post("/webhooks/smspm", report).status, 200);
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready) << logs();
  auto reply = waiting.get();
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(nlohmann::json::parse(reply.body)["status"], "undelivered") << reply.body;
}

}  // namespace
}  // namespace dlrd::e2e
