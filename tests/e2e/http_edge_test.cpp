// Every limit and bad request at the HTTP edge gets its own answer from the real binary.
#include "harness.hpp"

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include <sys/socket.h>

namespace dlrd::e2e {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view delivered_report =
    R"({"messageId":"edge-1","status":"DELIVRD","to":"+4915112345678","timestamp":"2026-03-01T10:00:00Z"})";
constexpr std::string_view not_json = R"({"messageId":"edge-2","status":)";
constexpr std::string_view missing_status = R"({"messageId":"edge-3","to":"+4915112345678"})";

TEST(http_edge_cases, every_limit_and_bad_request_gets_its_status_code) {
  test::pg_database db;
  temp_dir dir;
  // Limits small enough to hit quickly; listen keys are appended to the harness's section.
  daemon d(dir.path(), db.url(), "", "  read_timeout: 500ms\n  body_timeout: 500ms\n  idle_timeout: 1s\n");
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  client c(d.port());

  auto ok = c.post("/webhooks/smspm", delivered_report);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, R"({"ok":true})");

  auto not_found = c.get("/nope");
  EXPECT_EQ(not_found.status, 404);
  EXPECT_NE(not_found.body.find("no route"), std::string::npos);

  auto wrong_method = c.send("DELETE", "/webhooks/smspm", "", "");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_NE(wrong_method.headers["allow"].find("POST"), std::string::npos) << wrong_method.headers["allow"];

  auto wrong_type = c.post("/webhooks/smspm", "messageId=1&status=delivered", "text/plain");
  EXPECT_EQ(wrong_type.status, 415);

  auto quarantined = c.post("/webhooks/smspm", not_json);
  EXPECT_EQ(quarantined.status, 200);
  auto quarantined2 = c.post("/webhooks/smspm", missing_status);
  EXPECT_EQ(quarantined2.status, 200);

  EXPECT_EQ(c.get("/healthz").status, 200);

  // 413 decided from Content-Length alone: the body is never sent.
  auto too_big = raw_exchange(d.port(),
                              "POST /webhooks/smspm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              "Content-Length: 10000000\r\n\r\n",
                              3s);
  EXPECT_EQ(status_of(too_big), 413) << too_big;

  // 413 for a chunked body that grows past the limit.
  std::string chunked = "POST /webhooks/smspm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) chunked += "1000\r\n" + std::string(0x1000, 'a') + "\r\n";
  chunked += "0\r\n\r\n";
  EXPECT_EQ(status_of(raw_exchange(d.port(), chunked, 3s)), 413);

  // 431 past 8 KiB of headers.
  std::string huge_header = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'b') + "\r\n\r\n";
  EXPECT_EQ(status_of(raw_exchange(d.port(), huge_header, 3s)), 431);

  // 414 past 2048 bytes of request-target.
  EXPECT_EQ(status_of(raw_exchange(d.port(), "GET /" + std::string(3000, 't') + " HTTP/1.1\r\nHost: x\r\n\r\n", 3s)), 414);

  // 408 when a started request stalls past read_timeout (header) or body_timeout (body).
  auto stalled = raw_exchange(d.port(), "POST /webhooks/smspm HTTP/1.1\r\nHost: x\r\n", 3s);
  EXPECT_EQ(status_of(stalled), 408) << stalled;
  auto stalled_body = raw_exchange(d.port(),
                                   "POST /webhooks/smspm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                   "Content-Length: 50\r\n\r\n{\"messageId\":",
                                   3s);
  EXPECT_EQ(status_of(stalled_body), 408) << stalled_body;

  // 400 for a request line that is not HTTP.
  EXPECT_EQ(status_of(raw_exchange(d.port(), "NOT HTTP AT ALL\r\n\r\n", 3s)), 400);

  // An idle keep-alive connection is closed without an answer after idle_timeout.
  auto t0 = std::chrono::steady_clock::now();
  auto idle = raw_exchange(d.port(), "", 5s);
  auto idle_for = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(idle.empty());
  EXPECT_LT(idle_for, 4s);

  // The quarantined payloads are in dlr_quarantine with their reasons, raw.
  pqxx::connection conn(db.url());
  std::vector<std::pair<std::string, std::string>> q;
  bool edge_row = false;
  for (int i = 0; i < 600 && (q.size() < 2 || !edge_row); ++i) {
    pqxx::work tx(conn);
    q.clear();
    // Two writers may commit the two payloads in either order: sort by field, not by id.
    for (const auto& row : tx.exec("SELECT reason, field FROM dlr_quarantine ORDER BY field"))
      q.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
    edge_row = tx.exec1("SELECT count(*) FROM sms_logs WHERE message_id = 'edge-1'")[0].as<int>() == 1;
    tx.commit();
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0].second, "");
  EXPECT_NE(q[0].first.find("JSON"), std::string::npos) << q[0].first;
  EXPECT_EQ(q[1].second, "status");
  pqxx::work tx(conn);
  auto row = tx.exec1("SELECT status, raw_status, to_number FROM sms_logs WHERE message_id = 'edge-1'");
  EXPECT_EQ(row[0].as<std::string>(), "delivered");
  EXPECT_EQ(row[1].as<std::string>(), "DELIVRD");
  EXPECT_EQ(row[2].as<std::string>(), "+4915112345678");
  tx.commit();

  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

TEST(http_edge_cases, past_max_connections_a_new_connection_gets_503_with_retry_after) {
  test::pg_database db;
  temp_dir dir;
  // Timeouts far longer than the test: the held connections send nothing, and with a short
  // read_timeout the daemon would close them (rightly) before the ninth arrives on a busy
  // machine, which then gets served instead of refused.
  daemon d(dir.path(), db.url(), "", "  read_timeout: 30s\n  idle_timeout: 30s\n  max_connections: 8\n");
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  boost::asio::io_context ioc;
  std::vector<boost::asio::ip::tcp::socket> held;
  for (int i = 0; i < 8; ++i) {
    held.emplace_back(ioc);
    held.back().connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(d.port())});
  }
  // A new connection's answer, asked again (for up to 5 s) until it is `want`: the daemon
  // takes and releases connections asynchronously, and a try answered otherwise closes.
  auto answer_once_it_is = [&](int want) {
    std::string answer;
    for (int i = 0; i < 100 && status_of(answer) != want; ++i) {
      if (i > 0) std::this_thread::sleep_for(50ms);
      answer = raw_exchange(d.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3s);
    }
    return answer;
  };
  auto refused = answer_once_it_is(503);
  EXPECT_EQ(status_of(refused), 503) << refused;
  EXPECT_NE(refused.find("Retry-After:"), std::string::npos) << refused;
  held.clear();
  // Once they are gone, a new connection is served again.
  EXPECT_EQ(status_of(answer_once_it_is(200)), 200);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

TEST(http_edge_cases, reject_mode_answers_400_naming_the_field_and_stores_nothing) {
  test::pg_database db;
  temp_dir dir;
  daemon d(dir.path(), db.url(), "decode:\n  on_invalid: reject\n");
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  client c(d.port());
  auto r = c.post("/webhooks/smspm", missing_status);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(R"("field":"status")"), std::string::npos) << r.body;
  EXPECT_EQ(c.post("/webhooks/smspm", delivered_report).status, 200);
  // Once the report sent after the rejected one is stored, the rejected one would be too.
  pqxx::connection conn(db.url());
  int stored = 0;
  for (int i = 0; i < 600 && stored == 0; ++i) {
    pqxx::work poll(conn);
    stored = poll.exec1("SELECT count(*) FROM sms_logs WHERE message_id = 'edge-1'")[0].as<int>();
    poll.commit();
    if (stored == 0) std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(stored, 1);
  pqxx::work tx(conn);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM dlr_quarantine")[0].as<int>(), 0);
  tx.commit();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

TEST(http_edge_cases, a_config_error_names_file_line_and_key_and_the_binary_exits_nonzero) {
  temp_dir dir;
  daemon d(dir.path(), "postgresql:///nowhere", "listen_typo: 1\n");
  d.start();
  EXPECT_EQ(d.wait_exit(10s), 1);
  auto log = d.log();
  EXPECT_NE(log.find("dlrd.yaml:"), std::string::npos) << log;
  EXPECT_NE(log.find("listen_typo: unknown key"), std::string::npos) << log;
}

/// `curl -sk` against the daemon's TLS port: the status code (0 when no HTTP answer came),
/// then the body.
std::pair<int, std::string> curl_tls(int port, const std::string& args, const std::string& target) {
  int rc = -1;
  auto out = run_command("curl -sk --max-time 5 -w '\\n%{http_code}' " + args + " https://127.0.0.1:" +
                             std::to_string(port) + target + " 2>/dev/null",
                         rc);
  auto nl = out.rfind('\n');
  if (nl == std::string::npos) return {0, out};
  return {std::atoi(out.c_str() + nl + 1), out.substr(0, nl)};
}

TEST(http_edge_cases, native_tls_serves_https_and_refuses_plain_http_on_its_port) {
  test::pg_database db;
  temp_dir dir;
  const auto cert = dir.path() + "/tls.crt", key = dir.path() + "/tls.key";
  int rc = -1;
  auto made = run_command("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
                          "-subj /CN=127.0.0.1 -keyout " + key + " -out " + cert + " 2>&1",
                          rc);
  ASSERT_EQ(rc, 0) << made;
  daemon d(dir.path(), db.url(), "",
           "  read_timeout: 1s\n  tls:\n    cert_file: " + cert + "\n    key_file: " + key + "\n");
  d.start();
  // The harness's readiness probe speaks plain HTTP: poll over TLS instead.
  int ready = 0;
  for (int i = 0; i < 200 && ready != 200; ++i) {
    ready = curl_tls(d.port(), "", "/healthz").first;
    if (ready != 200) std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(ready, 200) << d.log();

  std::ofstream(dir.path() + "/report.json") << R"({"messageId":"tls-1","status":"DELIVRD","to":"+4915112345678"})";
  auto posted = curl_tls(d.port(), "-X POST -H 'Content-Type: application/json' --data-binary @" + dir.path() +
                                       "/report.json",
                         "/webhooks/smspm");
  EXPECT_EQ(posted.first, 200);
  EXPECT_EQ(posted.second, R"({"ok":true})");
  // TLS below 1.2 is refused at the handshake.
  EXPECT_EQ(curl_tls(d.port(), "--tlsv1.1 --tls-max 1.1", "/healthz").first, 0);

  // Plain HTTP to the TLS port: a 400 that says so, never a 2xx.
  auto plain = raw_exchange(d.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 3s);
  EXPECT_EQ(status_of(plain), 400) << plain;
  EXPECT_NE(plain.find("https"), std::string::npos) << plain;
  // A handshake that never finishes is dropped after read_timeout.
  auto t0 = std::chrono::steady_clock::now();
  auto stalled = raw_exchange(d.port(), std::string_view("\x16\x03\x01\x00", 4), 5s);
  EXPECT_TRUE(stalled.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);

  auto metrics = curl_tls(d.port(), "", "/metrics").second;
  EXPECT_NE(metrics.find(R"(dlrd_http_rejected_total{reason="tls_handshake"} )"), std::string::npos);
  EXPECT_EQ(metrics.find(R"(dlrd_http_rejected_total{reason="tls_handshake"} 0)"), std::string::npos);

  pqxx::connection conn(db.url());
  int stored = 0;
  for (int i = 0; i < 600 && stored == 0; ++i) {
    pqxx::work poll(conn);
    stored = poll.exec1("SELECT count(*) FROM sms_logs WHERE message_id = 'tls-1'")[0].as<int>();
    poll.commit();
    if (stored == 0) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(stored, 1);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

TEST(http_edge_cases, expect_100_continue_is_answered_before_the_body_is_sent_and_pipelined_requests_in_order) {
  test::pg_database db;
  temp_dir dir;
  daemon d(dir.path(), db.url());
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();

  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::socket s(ioc);
  s.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(d.port())});
  const std::string body(delivered_report);
  asio::write(s, asio::buffer("POST /webhooks/smspm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              "Expect: 100-continue\r\nConnection: close\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n"));
  auto read_some = [&s] {
    timeval tv{3, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    auto n = ::recv(s.native_handle(), buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  };
  EXPECT_EQ(read_some(), "HTTP/1.1 100 Continue\r\n\r\n");
  asio::write(s, asio::buffer(body));
  auto answer = read_some();
  EXPECT_EQ(status_of(answer), 200) << answer;

  auto both = raw_exchange(d.port(),
                           "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n"
                           "Connection: close\r\n\r\n",
                           3s);
  EXPECT_EQ(status_of(both), 200) << both;
  auto second = both.find("HTTP/1.1 404");
  EXPECT_NE(second, std::string::npos) << both;
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

TEST(http_edge_cases, past_max_connections_per_ip_a_new_connection_gets_503_and_a_freed_slot_is_reused) {
  test::pg_database db;
  temp_dir dir;
  daemon d(dir.path(), db.url(), "", "  max_connections_per_ip: 3\n");
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  std::this_thread::sleep_for(500ms);  // the readiness probe's connection is gone

  boost::asio::io_context ioc;
  std::vector<boost::asio::ip::tcp::socket> held;
  for (int i = 0; i < 3; ++i) {
    held.emplace_back(ioc);
    held.back().connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(d.port())});
  }
  std::this_thread::sleep_for(200ms);
  auto refused = raw_exchange(d.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 3s);
  EXPECT_EQ(status_of(refused), 503) << refused;
  EXPECT_NE(refused.find("Retry-After: "), std::string::npos) << refused;
  EXPECT_NE(refused.find("Connection: close"), std::string::npos) << refused;
  EXPECT_NE(refused.find(R"({"error":"too many open connections from your address"})"), std::string::npos) << refused;

  held.pop_back();  // closes one
  std::this_thread::sleep_for(200ms);
  client c(d.port());
  EXPECT_EQ(c.get("/healthz").status, 200);
  auto metrics = c.get("/metrics").body;
  EXPECT_NE(metrics.find(R"(dlrd_http_rejected_total{reason="too_many_connections_per_ip"} 1)"), std::string::npos);
  held.clear();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

/// The status codes of every answer in `raw`, in order.
std::vector<int> statuses_of(std::string_view raw) {
  std::vector<int> out;
  for (auto at = raw.find("HTTP/1.1 "); at != std::string_view::npos; at = raw.find("HTTP/1.1 ", at + 1)) {
    out.push_back(status_of(raw.substr(at)));
  }
  return out;
}

TEST(http_edge_cases, every_pipelined_request_on_one_connection_gets_its_own_header_and_body_limits) {
  test::pg_database db;
  temp_dir dir;
  daemon d(dir.path(), db.url());
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();

  const std::string small = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  // Just under the header limit each: together far over it.
  const std::string near_limit = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(7 * 1024, 'p') + "\r\n\r\n";
  // Just under the body limit each (to a route that answers 404 once the body is read).
  std::string near_body_limit = "POST /nowhere HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 15; ++i) near_body_limit += "1000\r\n" + std::string(0x1000, 'a') + "\r\n";
  near_body_limit += "0\r\n\r\n";
  const std::string over_header = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'b') + "\r\n\r\n";
  const std::string over_body = "POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";

  auto header_run = raw_exchange(d.port(), small + near_limit + near_limit + near_limit + over_header + small, 5s);
  EXPECT_EQ(statuses_of(header_run), (std::vector<int>{200, 200, 200, 200, 431})) << header_run.substr(0, 400);
  auto body_run = raw_exchange(d.port(), near_body_limit + near_body_limit + near_body_limit + over_body + small, 5s);
  EXPECT_EQ(statuses_of(body_run), (std::vector<int>{404, 404, 404, 413})) << body_run.substr(0, 400);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

TEST(http_edge_cases, a_forwarded_for_sent_as_a_trailer_never_passes_an_ip_allowlist) {
  test::pg_database db;
  temp_dir dir;
  // 127.0.0.1 is a trusted proxy: the client is the X-Forwarded-For address it reports.
  daemon d(dir.path(), db.url(),
           "webhooks:\n  - profile: smspm\n    path: /private/smspm\n    auth:\n"
           "      ip: { allow: [\"10.0.0.0/8\"], trusted_proxies: [\"127.0.0.1/32\"] }\n");
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();

  const std::string_view report =
      R"({"messageId":"trailer-xff-1","status":"DELIVRD","to":"+4915112345678","timestamp":"2026-03-01T10:00:00Z"})";
  char size[16];
  std::snprintf(size, sizeof size, "%zx", report.size());
  const std::string head = "POST /private/smspm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           "Connection: close\r\nTransfer-Encoding: chunked\r\n";
  const std::string body = std::string(size) + "\r\n" + std::string(report) + "\r\n0\r\n";

  // The real client (127.0.0.1, no forwarded address) is not on the list.
  auto plain = raw_exchange(d.port(), head + "\r\n" + body + "\r\n", 3s);
  EXPECT_EQ(status_of(plain), 401) << plain;
  // The same address as a trailer: refused before auth sees it, never 200.
  auto trailer = raw_exchange(d.port(), head + "\r\n" + body + "X-Forwarded-For: 10.1.2.3\r\n\r\n", 3s);
  EXPECT_EQ(status_of(trailer), 400) << trailer;
  EXPECT_NE(trailer.find("trailer"), std::string::npos) << trailer;
  // Announced in the header and sent as a trailer: the same.
  auto announced = raw_exchange(d.port(), head + "Trailer: X-Forwarded-For\r\n\r\n" + body +
                                              "X-Forwarded-For: 10.1.2.3\r\n\r\n", 3s);
  EXPECT_EQ(status_of(announced), 400) << announced;
  // A Host trailer after the Host header would dodge the single-Host check.
  auto host = raw_exchange(d.port(), "POST /webhooks/smspm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                     "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n" + body +
                                         "Host: elsewhere\r\n\r\n", 3s);
  EXPECT_EQ(status_of(host), 400) << host;

  // The control: a forwarded address in the header is the client, and it passes.
  auto header = raw_exchange(d.port(), head + "X-Forwarded-For: 10.1.2.3\r\n\r\n" + body + "\r\n", 3s);
  EXPECT_EQ(status_of(header), 200) << header;

  client c(d.port());
  auto metrics = c.get("/metrics").body;
  EXPECT_NE(metrics.find(R"(dlrd_http_rejected_total{reason="malformed"} 3)"), std::string::npos) << metrics;
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

TEST(http_edge_cases, over_the_connection_limit_a_tls_port_closes_before_any_handshake) {
  test::pg_database db;
  temp_dir dir;
  const auto cert = dir.path() + "/tls.crt", key = dir.path() + "/tls.key";
  int rc = -1;
  auto made = run_command("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
                          "-subj /CN=127.0.0.1 -keyout " + key + " -out " + cert + " 2>&1",
                          rc);
  ASSERT_EQ(rc, 0) << made;
  daemon d(dir.path(), db.url(), "",
           "  read_timeout: 10s\n  max_connections_per_ip: 1\n  tls:\n    cert_file: " + cert +
               "\n    key_file: " + key + "\n");
  d.start();
  int ready = 0;
  for (int i = 0; i < 200 && ready != 200; ++i) {
    ready = curl_tls(d.port(), "", "/healthz").first;
    if (ready != 200) std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(ready, 200) << d.log();
  std::this_thread::sleep_for(300ms);  // the probe's connection is gone

  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket held(ioc);
    held.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(d.port())});
    std::this_thread::sleep_for(200ms);
    // The refused client never gets a ServerHello, let alone a certificate: the server spends
    // no handshake on it.
    auto s_client = run_command("openssl s_client -connect 127.0.0.1:" + std::to_string(d.port()) +
                                    " -servername x </dev/null 2>&1",
                                rc);
    EXPECT_NE(s_client.find("SSL handshake has read 0 bytes"), std::string::npos) << s_client;
    EXPECT_EQ(s_client.find("BEGIN CERTIFICATE"), std::string::npos) << s_client;
    EXPECT_EQ(curl_tls(d.port(), "", "/healthz").first, 0);
  }
  std::this_thread::sleep_for(300ms);
  auto metrics = curl_tls(d.port(), "", "/metrics").second;
  EXPECT_NE(metrics.find(R"(dlrd_http_rejected_total{reason="too_many_connections_per_ip"} 2)"), std::string::npos)
      << metrics;
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

}  // namespace
}  // namespace dlrd::e2e
