// The status API through the real binary: long-poll wake-ups (one instance, many waiters,
// across two instances), timeouts, errors, and the two retry examples run against it.
#include "harness.hpp"

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

namespace dlrd::e2e {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using clock = std::chrono::steady_clock;

constexpr const char* status_yaml = "status_api:\n  max_wait: 30s\n";
// Thousands of waiters come from one address in these tests.
constexpr const char* many_connections = "  max_connections_per_ip: 0\n";

std::string report_body(const std::string& id, const std::string& status) {
  return R"({"messageId":")" + id + R"(","status":")" + status + R"(","to":"+447700900123"})";
}

double ms_since(clock::time_point t) { return std::chrono::duration<double, std::milli>(clock::now() - t).count(); }

/// Waits until the daemon has `n` long-polls registered.
bool wait_for_waiters(int port, double n, std::chrono::milliseconds timeout = 20s) {
  auto deadline = clock::now() + timeout;
  while (clock::now() < deadline) {
    if (metric_value(port, "dlrd_status_waiters") >= n) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

/// The thread count of the dlrd process started with `config_path`, or -1.
int threads_of(const std::string& config_path) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string args;
    std::ifstream cmdline(entry.path() / "cmdline");
    for (std::string arg; std::getline(cmdline, arg, '\0');) args += arg + '\n';
    if (args.find("serve\n") == std::string::npos || args.find(config_path + '\n') == std::string::npos) {
      continue;
    }
    std::ifstream status(entry.path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (line.starts_with("Threads:")) return std::atoi(line.c_str() + 8);
    }
  }
  return -1;
}

class status_api : public ::testing::Test {
 protected:
  void log_send(int port, const std::string& id) {
    client c(port);
    auto r = c.post("/v1/messages", R"({"message_id":")" + id + R"(","to":"+447700900123","tags":["otp"]})");
    ASSERT_EQ(r.status, 200) << r.body;
  }

  test::pg_database db_;
  temp_dir dir_;
};

TEST_F(status_api, a_waiter_is_answered_as_soon_as_the_report_arrives) {
  daemon d(dir_.path(), db_.url(), status_yaml);
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  log_send(d.port(), "fast-1");

  auto waiting = std::async(std::launch::async, [&] {
    client c(d.port());
    auto r = c.get("/v1/messages/fast-1?wait=20s");
    return std::make_pair(r, clock::now());
  });
  ASSERT_TRUE(wait_for_waiters(d.port(), 1)) << d.log();
  EXPECT_EQ(waiting.wait_for(300ms), std::future_status::timeout) << "answered before any report";

  client gateway(d.port());
  auto sent = clock::now();
  ASSERT_EQ(gateway.post("/webhooks/smspm", report_body("fast-1", "delivered")).status, 200);
  auto acked = clock::now();
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  auto [reply, answered_at] = waiting.get();
  std::printf("[ status ] wake-up latency: %.1f ms after the report was posted (%.1f ms after its ack)\n",
              std::chrono::duration<double, std::milli>(answered_at - sent).count(),
              std::chrono::duration<double, std::milli>(answered_at - acked).count());
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto j = json::parse(reply.body);
  EXPECT_EQ(j["status"], "delivered");
  EXPECT_EQ(j["final"], true);
  EXPECT_EQ(j["retryable"], false);
  EXPECT_EQ(j["timed_out"], false);
  EXPECT_EQ(j["provider"], "smspm");
  EXPECT_EQ(j["tags"], json::array({"otp"}));
  ASSERT_EQ(j["history"].size(), 1u);
  EXPECT_EQ(j["history"][0]["status"], "delivered");
}

TEST_F(status_api, a_wait_times_out_with_the_current_state_and_errors_are_json) {
  daemon d(dir_.path(), db_.url(), status_yaml);
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  log_send(d.port(), "slow-1");
  client c(d.port());
  ASSERT_EQ(c.post("/webhooks/smspm", report_body("slow-1", "enroute")).status, 200);

  auto t0 = clock::now();
  auto r = c.get("/v1/messages/slow-1?wait=1500ms");
  auto waited = ms_since(t0);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_GE(waited, 1400);
  auto j = json::parse(r.body);
  EXPECT_EQ(j["status"], "pending");
  EXPECT_EQ(j["raw_status"], "enroute") << "the timeout answers with the current state, not the one at the start";
  EXPECT_EQ(j["final"], false);
  EXPECT_EQ(j["timed_out"], true);

  EXPECT_EQ(c.get("/v1/messages/slow-1?wait=0").status, 200);  // no wait: a plain lookup

  auto unknown = c.get("/v1/messages/no-such-message");
  EXPECT_EQ(unknown.status, 404) << "a plain lookup of an id never seen";
  EXPECT_TRUE(json::parse(unknown.body).contains("error"));
  // A wait on it waits (the report may be on its way), and times out saying it is not known.
  t0 = clock::now();
  auto never = c.get("/v1/messages/no-such-message?wait=1s");
  EXPECT_GE(ms_since(t0), 900);
  ASSERT_EQ(never.status, 200) << never.body;
  j = json::parse(never.body);
  EXPECT_EQ(j["message_id"], "no-such-message");
  EXPECT_EQ(j["known"], false);
  EXPECT_EQ(j["status"], nullptr);
  EXPECT_EQ(j["final"], false);
  EXPECT_EQ(j["timed_out"], true);
  EXPECT_EQ(c.get("/v1/messages/no-such-message").status, 404) << "the wait created no row";

  for (const char* bad : {"soon", "-1s", "10parsecs", ""}) {
    auto r400 = c.get(std::string("/v1/messages/slow-1?wait=") + bad);
    EXPECT_EQ(r400.status, 400) << bad;
    EXPECT_EQ(json::parse(r400.body)["field"], "wait") << bad;
  }
  EXPECT_EQ(c.post("/v1/messages:wait", R"({"ids":["slow-1"],"wait":"forever"})").status, 400);
  EXPECT_EQ(c.post("/v1/messages:wait", R"({"ids":[]})").status, 400);
  EXPECT_EQ(c.post("/v1/messages", R"({"to":"+447700900123"})").status, 400);
  EXPECT_EQ(c.send("DELETE", "/v1/messages/slow-1", "", "application/json").status, 405);

  // The batch wait: answers at its timeout with each message's state.
  auto batch = c.post("/v1/messages:wait", R"({"ids":["slow-1","no-such-message"],"wait":"500ms"})");
  ASSERT_EQ(batch.status, 200) << batch.body;
  j = json::parse(batch.body);
  EXPECT_EQ(j["timed_out"], true);
  EXPECT_EQ(j["all_final"], false);
  EXPECT_EQ(j["unknown"], json::array({"no-such-message"}));
  ASSERT_EQ(j["messages"].size(), 1u);
  EXPECT_EQ(j["messages"][0]["message_id"], "slow-1");
}

TEST_F(status_api, a_wait_on_an_id_never_seen_is_answered_when_its_first_report_arrives_on_any_instance) {
  // The seed's waitForDLR(messageId): called right after the gateway's send API returns,
  // before any report and without the send logged in dlrd.
  temp_dir dir_b;
  daemon a(dir_.path(), db_.url(), status_yaml);
  daemon b(dir_b.path(), db_.url(), status_yaml);
  a.start();
  b.start();
  ASSERT_TRUE(a.wait_ready()) << a.log();
  ASSERT_TRUE(b.wait_ready()) << b.log();
  auto single = std::async(std::launch::async, [&] { return client(b.port()).get("/v1/messages/new-1?wait=20s"); });
  auto batch = std::async(std::launch::async, [&] {
    return client(a.port()).post("/v1/messages:wait", R"({"ids":["new-1","new-2"],"wait":"20s"})");
  });
  ASSERT_TRUE(wait_for_waiters(b.port(), 1)) << b.log();
  ASSERT_TRUE(wait_for_waiters(a.port(), 1)) << a.log();
  EXPECT_EQ(single.wait_for(1s), std::future_status::timeout) << "answered before any report";

  // The first report for new-1 inserts its row through instance a: b's waiter is woken.
  client gateway(a.port());
  ASSERT_EQ(gateway.post("/webhooks/smspm", report_body("new-1", "delivered")).status, 200);
  ASSERT_EQ(single.wait_for(10s), std::future_status::ready) << b.log();
  auto r = single.get();
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["status"], "delivered");
  EXPECT_EQ(j["known"], true);
  EXPECT_EQ(j["timed_out"], false);
  EXPECT_EQ(batch.wait_for(300ms), std::future_status::timeout) << "new-2 has no report yet";

  ASSERT_EQ(client(b.port()).post("/webhooks/smspm", report_body("new-2", "undelivered")).status, 200);
  ASSERT_EQ(batch.wait_for(10s), std::future_status::ready) << a.log();
  r = batch.get();
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(r.body);
  EXPECT_EQ(j["all_final"], true);
  EXPECT_EQ(j["timed_out"], false);
  EXPECT_EQ(j["unknown"], json::array());
  ASSERT_EQ(j["messages"].size(), 2u);
  EXPECT_EQ(j["messages"][1]["status"], "undelivered");
  EXPECT_GE(metric_value(b.port(), "dlrd_status_notifications_total"), 1);
}

/// Opens a connection and sends one request on it, without waiting for the answer.
int send_raw(int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return -1;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/// True once `raw` holds a whole HTTP response (header and Content-Length bytes of body).
bool complete(const std::string& raw) {
  auto end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  auto cl = raw.find("Content-Length: ");
  if (cl == std::string::npos || cl > end) cl = raw.find("content-length: ");
  if (cl == std::string::npos || cl > end) return true;
  auto length = std::stoul(raw.substr(cl + 16));
  return raw.size() >= end + 4 + length;
}

TEST_F(status_api, two_thousand_concurrent_waiters_need_no_thread_each_and_all_wake) {
  constexpr int waiters = 2000;
  daemon d(dir_.path(), db_.url(), std::string(status_yaml) + "  max_waiters: 5000\n", many_connections);
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  test::query(db_.url(),
              "SELECT dlr_log_send('many-' || i, '+447700900123') FROM generate_series(0, " +
                  std::to_string(waiters - 1) + ") AS i");

  std::vector<int> fds;
  std::vector<std::string> replies(waiters);
  for (int i = 0; i < waiters; ++i) {
    int fd = send_raw(d.port(), "GET /v1/messages/many-" + std::to_string(i) +
                                    "?wait=25s HTTP/1.1\r\nHost: dlrd\r\nConnection: close\r\n\r\n");
    ASSERT_GE(fd, 0) << "connection " << i;
    fds.push_back(fd);
  }
  ASSERT_TRUE(wait_for_waiters(d.port(), waiters)) << d.log();

  // Thread count of the daemon while 2,000 requests wait: a handful, not one per waiter.
  int threads = threads_of(d.config_path());
  std::printf("[ status ] %d waiters registered; the daemon runs %d threads\n", waiters, threads);
  EXPECT_GT(threads, 0);
  EXPECT_LT(threads, 100);

  // The reports arrive (in a few batches: the body limit) while everybody waits.
  client gateway(d.port());
  auto t0 = clock::now();
  for (int start = 0; start < waiters; start += 400) {
    std::string body = "[";
    for (int i = start; i < start + 400; ++i) {
      if (i > start) body += ',';
      body += report_body("many-" + std::to_string(i), i % 2 ? "delivered" : "undelivered");
    }
    body += "]";
    ASSERT_EQ(gateway.post("/webhooks/smspm", body).status, 200);
  }

  std::vector<pollfd> polls;
  for (int fd : fds) polls.push_back(pollfd{fd, POLLIN, 0});
  std::size_t done = 0;
  std::vector<bool> finished(waiters, false);
  auto deadline = clock::now() + 25s;
  while (done < static_cast<std::size_t>(waiters) && clock::now() < deadline) {
    ::poll(polls.data(), polls.size(), 100);
    for (int i = 0; i < waiters; ++i) {
      if (finished[i] || !(polls[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[8192];
      for (;;) {
        auto n = ::recv(fds[i], buf, sizeof buf, 0);
        if (n <= 0) break;
        replies[i].append(buf, static_cast<std::size_t>(n));
      }
      if (complete(replies[i])) {
        finished[i] = true;
        polls[i].events = 0;
        ++done;
      }
    }
  }
  std::printf("[ status ] all %zu waiters answered %.0f ms after the first report was posted\n", done, ms_since(t0));
  for (int fd : fds) ::close(fd);
  ASSERT_EQ(done, static_cast<std::size_t>(waiters));
  int final_answers = 0;
  for (int i = 0; i < waiters; ++i) {
    auto& r = replies[i];
    EXPECT_EQ(status_of(r), 200) << r;
    auto body = json::parse(r.substr(r.find("\r\n\r\n") + 4), nullptr, false);
    if (body.is_object() && body["final"] == true && body["timed_out"] == false &&
        body["status"] == (i % 2 ? "delivered" : "undelivered")) {
      ++final_answers;
    }
  }
  EXPECT_EQ(final_answers, waiters);
}

TEST_F(status_api, a_report_received_by_one_instance_wakes_a_waiter_on_another) {
  temp_dir dir_b;
  daemon a(dir_.path(), db_.url(), status_yaml);
  daemon b(dir_b.path(), db_.url(), status_yaml);
  a.start();
  b.start();
  ASSERT_TRUE(a.wait_ready()) << a.log();
  ASSERT_TRUE(b.wait_ready()) << b.log();
  log_send(a.port(), "cross-1");
  log_send(a.port(), "cross-2");

  auto waiting = std::async(std::launch::async, [&] {
    client c(b.port());
    auto r = c.post("/v1/messages:wait", R"({"ids":["cross-1","cross-2"],"wait":"20s"})");
    return std::make_pair(r, clock::now());
  });
  ASSERT_TRUE(wait_for_waiters(b.port(), 1)) << b.log();
  client gateway(a.port());
  ASSERT_EQ(gateway.post("/webhooks/smspm", report_body("cross-1", "expired")).status, 200);
  EXPECT_EQ(waiting.wait_for(500ms), std::future_status::timeout) << "one of two is final: keep waiting";
  auto sent = clock::now();
  ASSERT_EQ(gateway.post("/webhooks/smspm", report_body("cross-2", "rejected")).status, 200);
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready) << b.log();
  auto [reply, answered_at] = waiting.get();
  std::printf("[ status ] cross-instance wake-up latency: %.1f ms\n",
              std::chrono::duration<double, std::milli>(answered_at - sent).count());
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto j = json::parse(reply.body);
  EXPECT_EQ(j["all_final"], true);
  EXPECT_EQ(j["timed_out"], false);
  ASSERT_EQ(j["messages"].size(), 2u);
  EXPECT_EQ(j["messages"][0]["status"], "expired");
  EXPECT_EQ(j["messages"][0]["retryable"], true);
  EXPECT_EQ(j["messages"][1]["status"], "rejected");
  EXPECT_EQ(j["messages"][1]["retryable"], false);
  EXPECT_GE(metric_value(b.port(), "dlrd_status_notifications_total"), 1);
}

/// Runs an example script in the background; the test plays the gateway meanwhile.
std::future<std::pair<int, std::string>> run_example(const std::string& command) {
  return std::async(std::launch::async, [command] {
    int code = -1;
    // Bounded: a daemon that died must fail the test, not leave the script polling.
    auto out = run_command("timeout -k 5 90 env " + command + " 2>&1", code);
    return std::make_pair(code, out);
  });
}

/// Waits until message `id` is known to dlrd (the script logged its send) and waited for.
bool wait_logged_and_waited(int port, const std::string& id, double waiters) {
  auto deadline = clock::now() + 20s;
  client c(port);
  while (clock::now() < deadline) {
    if (c.get("/v1/messages/" + id).status == 200 && metric_value(port, "dlrd_status_waiters") >= waiters) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST_F(status_api, the_shell_retry_example_retries_an_undelivered_message_until_it_is_delivered) {
  daemon d(dir_.path(), db_.url(), status_yaml);
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  auto script = run_example("DLRD_URL=http://127.0.0.1:" + std::to_string(d.port()) +
                            " SEND_CMD='echo sh-$ATTEMPT' TO=+447700900123 TEXT=hi WAIT=10s sh " DLRD_SOURCE_DIR
                            "/examples/retry.sh");
  client gateway(d.port());
  ASSERT_TRUE(wait_logged_and_waited(d.port(), "sh-1", 1)) << d.log();
  ASSERT_EQ(gateway.post("/webhooks/smspm", report_body("sh-1", "undelivered")).status, 200);
  ASSERT_TRUE(wait_logged_and_waited(d.port(), "sh-2", 1)) << d.log();
  ASSERT_EQ(gateway.post("/webhooks/smspm", report_body("sh-2", "delivered")).status, 200);
  ASSERT_EQ(script.wait_for(20s), std::future_status::ready);
  auto [code, out] = script.get();
  std::printf("%s", out.c_str());
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("undelivered: sh-1 (attempt 1); sending again"), std::string::npos) << out;
  EXPECT_NE(out.find("delivered: sh-2 (attempt 2)"), std::string::npos) << out;
  auto tags = test::query(db_.url(), "SELECT array_to_string(tags, ',') FROM sms_logs WHERE message_id = 'sh-2'");
  EXPECT_EQ(tags[0][0].as<std::string>(), "otp");
}

/// Waits until `answered` long-polls have been answered and `waiting` more wait.
bool wait_answered_and_waiting(int port, double answered, double waiting) {
  auto deadline = clock::now() + 20s;
  while (clock::now() < deadline) {
    if (metric_value(port, "dlrd_status_woken_total") >= answered && metric_value(port, "dlrd_status_waiters") >= waiting) {
      return true;
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST_F(status_api, the_python_retry_example_retries_an_expired_message_and_never_a_rejected_one) {
  daemon d(dir_.path(), db_.url(), status_yaml);
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  // Without logging the send, as the seed's loop does: each wait starts before dlrd knows the id.
  auto script = run_example("python3 " DLRD_SOURCE_DIR "/examples/retry.py --dlrd http://127.0.0.1:" +
                            std::to_string(d.port()) +
                            " --to +447700900123 --text hi --wait 10s --no-log-send --send-cmd 'echo py-$ATTEMPT'");
  client gateway(d.port());
  ASSERT_TRUE(wait_answered_and_waiting(d.port(), 0, 1)) << d.log();
  EXPECT_EQ(gateway.get("/v1/messages/py-1").status, 404) << "the send was not logged";
  ASSERT_EQ(gateway.post("/webhooks/smspm", report_body("py-1", "expired")).status, 200);
  ASSERT_TRUE(wait_answered_and_waiting(d.port(), 1, 1)) << d.log();
  EXPECT_EQ(gateway.get("/v1/messages/py-2").status, 404) << "the send was not logged";
  ASSERT_EQ(gateway.post("/webhooks/smspm", report_body("py-2", "rejected")).status, 200);
  ASSERT_EQ(script.wait_for(20s), std::future_status::ready);
  auto [code, out] = script.get();
  std::printf("%s", out.c_str());
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("expired: py-1 (attempt 1); sending again"), std::string::npos) << out;
  EXPECT_NE(out.find("rejected: py-2; not retrying"), std::string::npos) << out;
  EXPECT_EQ(client(d.port()).get("/v1/messages/py-3").status, 404) << "a rejected message is never sent again";
}

}  // namespace
}  // namespace dlrd::e2e
