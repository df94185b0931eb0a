// The bad-input catalogue: every malformed, oversized, ambiguous or slow request a gateway (or
// an attacker) may send, each with its answer, all sent to ONE running daemon that must stay
// ready throughout and must store nothing it did not acknowledge.
#include "harness.hpp"

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <csignal>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>

namespace dlrd::e2e {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

/// Limits of the daemon under test (the rest are the defaults: 8 KiB of header, 100 fields,
/// 2048-byte targets, 64 KiB bodies).
constexpr std::string_view listen_limits = "  read_timeout: 1s\n  body_timeout: 1s\n  idle_timeout: 2s\n";
constexpr std::size_t header_limit = 8 * 1024;
constexpr std::size_t body_limit = 64 * 1024;

// Request heads, named once. Every request of the catalogue asks for Connection: close where
// the server would otherwise keep the connection open, so that each exchange ends at once.
constexpr std::string_view webhook_head = "POST /webhooks/smspm HTTP/1.1\r\nHost: dlrd.test\r\n";
constexpr std::string_view json = "Content-Type: application/json\r\n";
constexpr std::string_view close_after = "Connection: close\r\n";

/// A report that would be stored if the request carrying it were (wrongly) accepted.
constexpr std::string_view smuggled_report =
    R"({"messageId":"smuggled-1","status":"DELIVRD","to":"+4915112345678","timestamp":"2026-03-01T10:00:00Z"})";
constexpr std::string_view truncated_report_start = R"({"messageId":"truncated-1","status":"DELI)";
/// Sent last: once it is in sms_logs, everything sent before it has been written too.
constexpr std::string_view last_report =
    R"({"messageId":"catalogue-last","status":"DELIVRD","to":"+4915112345678","timestamp":"2026-03-01T10:00:00Z"})";

// Well-formed HTTP whose body the SMSPM profile cannot decode: quarantined, answered 200.
constexpr std::string_view invalid_utf8_json = "{\"messageId\":\"q-utf8-\xff\xfe\",\"status\":\"DELIVRD\"}";
constexpr std::string_view control_char_json =
    "{\"messageId\":\"q-ctl-1\",\"status\":\"DELIVRD\",\"to\":\"+4915112345678\",\"text\":\"a\x01" "b\"}";
constexpr std::string_view empty_batch = "[]";

/// Authenticated endpoints of the daemon under test (the plain /webhooks/<profile> routes stay
/// open, as the entries above expect).
constexpr std::string_view auth_yaml = R"(webhooks:
  - profile: smspm
  - profile: smspm
    path: /secure/smspm
    auth:
      bearer: ["bearer-secret-1", "bearer-secret-2"]
      hmac: { header: X-Signature, algorithm: sha256, encoding: hex, secrets: ["hmac-key"],
              timestamp_header: X-Timestamp, window: 5m }
  - profile: smspm
    path: /tok/{token}/smspm
    auth:
      token: { values: ["path-secret"] }
  - profile: smspm
    path: /private/smspm
    auth:
      ip: { allow: ["10.0.0.0/8"] }
  - profile: smspm
    path: /proxied/smspm
    auth:
      ip: { allow: ["10.0.0.0/8"], trusted_proxies: ["127.0.0.1/32"] }
  - profile: smspm
    path: /bearer/smspm
    auth:
      bearer: ["bearer-only-secret"]
)";
constexpr std::string_view signed_report =
    R"({"messageId":"auth-ok-1","status":"DELIVRD","to":"+4915112345678","timestamp":"2026-03-01T10:00:00Z"})";
constexpr std::string_view unknown_word_report =
    R"({"messageId":"unknown-word-1","status":"TELEPORTED","to":"+4915112345678","timestamp":"2026-03-01T10:00:00Z"})";

std::string hmac_sha256_hex(std::string_view key, std::string_view text) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(text.data()),
       text.size(), mac, &len);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += digits[mac[i] >> 4];
    out += digits[mac[i] & 15];
  }
  return out;
}

/// A POST to the bearer + HMAC endpoint; `ts_offset` moves the signed timestamp from now.
std::string secure_post(std::string_view bearer, std::string_view body, std::chrono::seconds ts_offset,
                        bool sign = true, bool corrupt = false) {
  auto ts = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch() + ts_offset)
                               .count());
  std::string head = "POST /secure/smspm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n";
  if (!bearer.empty()) head += "Authorization: Bearer " + std::string(bearer) + "\r\n";
  head += "X-Timestamp: " + ts + "\r\n";
  if (sign) {
    auto sig = hmac_sha256_hex("hmac-key", ts + "." + std::string(body));
    if (corrupt) sig[5] = sig[5] == 'a' ? 'b' : 'a';
    head += "X-Signature: " + sig + "\r\n";
  }
  return std::string(head) + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

std::string with_length(std::string_view head, std::string_view body) {
  return std::string(head) + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

std::string json_post(std::string_view body) {
  return with_length(std::string(webhook_head) + std::string(json) + std::string(close_after), body);
}

std::string chunked(std::string_view body) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx", body.size());
  return std::string(size) + "\r\n" + std::string(body) + "\r\n0\r\n\r\n";
}

/// A chunked POST of `smuggled_report` to `path`: `size_suffix` follows the chunk size (an
/// extension), `last_chunk` ends the chunks, `trailer` is what follows it up to the final CRLF.
std::string chunked_post(std::string_view path, std::string_view size_suffix, std::string_view last_chunk,
                         std::string_view trailer) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx", smuggled_report.size());
  return "POST " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n" + std::string(json) + std::string(close_after) +
         "Transfer-Encoding: chunked\r\n\r\n" + size + std::string(size_suffix) + "\r\n" +
         std::string(smuggled_report) + "\r\n" + std::string(last_chunk) + "\r\n" + std::string(trailer) + "\r\n";
}

struct bad_input {
  std::string name;
  std::vector<std::string> pieces;  ///< sent in order, `gap` apart (one piece: all at once)
  int expected;                     ///< the final status code; 0 = the connection closes unanswered
  std::chrono::milliseconds gap{0};
  bool half_close = false;          ///< shut down the sending side after the last piece
  bool quarantined = false;         ///< answered 200 and kept in dlr_quarantine with its body
  std::string body{};               ///< the body that is quarantined
};

std::vector<bad_input> catalogue() {
  std::vector<bad_input> c;
  auto add = [&c](std::string name, std::string request, int expected) {
    c.push_back({.name = std::move(name), .pieces = {std::move(request)}, .expected = expected});
  };
  const std::string head(webhook_head);

  // Size limits of the header: 431, or 414 for the request-target.
  add("header_larger_than_the_limit", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(header_limit + 800, 'b') + "\r\n\r\n", 431);
  {
    std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 101; ++i) many += "X-Field-" + std::to_string(i) + ": v\r\n";
    add("more_header_fields_than_the_limit", many + "\r\n", 431);
  }
  {
    // 2000-byte target (allowed) + 6.5 KiB of fields (allowed) > 8 KiB together.
    std::string req = "GET /" + std::string(2000, 't') + " HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 13; ++i) req += "X-Pad-" + std::to_string(i) + ": " + std::string(500, 'p') + "\r\n";
    add("request_line_counts_towards_the_header_limit", req + "\r\n", 431);
  }
  add("target_longer_than_the_limit", "GET /" + std::string(3000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414);
  add("target_longer_than_the_whole_header_limit", "GET /" + std::string(header_limit + 1000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414);

  // Size limits of the body: 413, decided from Content-Length before reading, or while reading.
  add("declared_body_larger_than_the_limit", head + std::string(json) + "Content-Length: 10000000\r\n\r\n", 413);
  {
    std::string req = head + std::string(json) + "Transfer-Encoding: chunked\r\n\r\n";
    for (std::size_t sent = 0; sent <= body_limit; sent += 0x1000) req += "1000\r\n" + std::string(0x1000, 'a') + "\r\n";
    add("chunked_body_growing_past_the_limit", req + "0\r\n\r\n", 413);
  }
  add("expect_100_continue_with_a_body_over_the_limit",
      head + std::string(json) + "Expect: 100-continue\r\nContent-Length: 1000000\r\n\r\n", 413);

  // Message framing that two parsers could read differently (request smuggling): 400 and close.
  add("content_length_then_chunked", head + std::string(json) + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(smuggled_report), 400);
  add("chunked_then_content_length", head + std::string(json) + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + chunked(smuggled_report), 400);
  add("two_differing_content_lengths", head + std::string(json) + "Content-Length: 4\r\nContent-Length: 5\r\n\r\n{}{}{", 400);
  add("a_content_length_list_that_differs", head + std::string(json) + "Content-Length: 4, 5\r\n\r\n{}{}{", 400);
  add("transfer_encoding_gzip", head + std::string(json) + "Transfer-Encoding: gzip\r\n\r\n" + json_post(smuggled_report), 400);
  add("transfer_encoding_identity", head + std::string(json) + "Transfer-Encoding: identity\r\n\r\n" + json_post(smuggled_report), 400);
  add("transfer_encoding_chunked_twice", head + std::string(json) + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(smuggled_report), 400);
  add("chunked_on_http_1_0", "POST /webhooks/smspm HTTP/1.0\r\nHost: x\r\n" + std::string(json) + "Transfer-Encoding: chunked\r\n\r\n" + chunked(smuggled_report), 400);
  add("a_bad_chunk_size", head + std::string(json) + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400);

  // Chunk extensions and trailers: no gateway sends them, a proxy may read them differently,
  // and Beast would merge trailer fields into the header after every header check. 400 before
  // any handler or auth check sees the request.
  add("a_chunk_extension", chunked_post("/webhooks/smspm", ";ext=1", "0", ""), 400);
  add("a_chunk_extension_on_the_last_chunk", chunked_post("/webhooks/smspm", "", "0;ext=1", ""), 400);
  add("a_chunk_size_line_longer_than_the_limit", chunked_post("/webhooks/smspm", "", std::string(300, '0'), ""), 400);
  add("a_trailer_field", chunked_post("/webhooks/smspm", "", "0", "X-Any: 1\r\n"), 400);
  add("a_trailer_section_longer_than_the_limit",
      chunked_post("/webhooks/smspm", "", "0", "X-Long: " + std::string(2000, 'v') + "\r\n"), 400);
  add("a_host_trailer_after_the_host_header", chunked_post("/webhooks/smspm", "", "0", "Host: elsewhere\r\n"), 400);
  add("a_content_length_trailer", chunked_post("/webhooks/smspm", "", "0", "Content-Length: 5\r\n"), 400);
  add("a_forwarded_for_trailer_on_an_ip_allowlist",
      chunked_post("/proxied/smspm", "", "0", "X-Forwarded-For: 10.1.2.3\r\n"), 400);
  add("an_authorization_trailer_on_a_bearer_endpoint",
      chunked_post("/bearer/smspm", "", "0", "Authorization: Bearer bearer-only-secret\r\n"), 400);

  // Syntax: 400 and close.
  add("bare_lf_line_endings", "GET /healthz HTTP/1.1\nHost: x\n\n", 400);
  add("garbage_request_line", "NOT HTTP AT ALL\r\n\r\n", 400);
  add("http_0_9_request", "GET /healthz\r\n\r\n", 400);
  add("invalid_method_token", "G@T /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  add("unsupported_http_version", "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 400);
  add("control_character_in_a_header_value", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01z\r\n\r\n", 400);
  add("nul_in_a_header_value", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0z\r\n\r\n"s, 400);
  add("obs_fold_header_line", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  folded\r\n\r\n", 400);
  add("http_1_1_without_host", "GET /healthz HTTP/1.1\r\n\r\n", 400);
  add("two_host_headers", "GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400);

  // Deadlines: 408 and close; a peer that goes away mid-body gets no answer.
  c.push_back({.name = "slow_header_slowloris",
               .pieces = {"POST /webhooks/smspm HTTP/1.1\r\n", "Host: x\r\n", "X-A: 1\r\n", "X-B: 1\r\n", "X-C: 1\r\n",
                          "X-D: 1\r\n", "X-E: 1\r\n"},
               .expected = 408,
               .gap = 400ms});
  c.push_back({.name = "slow_body",
               .pieces = {head + std::string(json) + "Content-Length: 60\r\n\r\n", "{\"mess", "ageId", "\":\"sl", "ow-1\"", ",\"st",
                          "atus\""},
               .expected = 408,
               .gap = 400ms});
  c.push_back({.name = "truncated_body_then_close",
               .pieces = {head + std::string(json) + "Content-Length: 200\r\n\r\n" + std::string(truncated_report_start)},
               .expected = 0,
               .half_close = true});

  // Well-formed HTTP, answered by the handler.
  add("unknown_route", "GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404);
  add("wrong_method", "DELETE /webhooks/smspm HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405);
  add("non_json_content_type", with_length(head + "Content-Type: text/csv\r\nConnection: close\r\n", "messageId,status\n1,DELIVRD\n"), 415);
  auto quarantine = [&c](std::string name, std::string_view body) {
    c.push_back({.name = std::move(name), .pieces = {json_post(body)}, .expected = 200, .quarantined = true,
                 .body = std::string(body)});
  };
  quarantine("empty_body", "");
  quarantine("invalid_utf8_json", invalid_utf8_json);
  quarantine("control_characters_in_a_json_string", control_char_json);
  quarantine("empty_batch", empty_batch);
  // A status word nobody knows is no error: stored as pending with the raw word.
  add("unknown_status_word", json_post(unknown_word_report), 200);

  // Authentication: every refusal is the same 401, and nothing is stored.
  using std::chrono::seconds;
  add("auth_missing_credentials", with_length("POST /secure/smspm HTTP/1.1\r\nHost: x\r\n" + std::string(json) +
                                                  std::string(close_after), smuggled_report), 401);
  add("auth_wrong_bearer_token", secure_post("bearer-secret-3", smuggled_report, seconds(0)), 401);
  add("auth_missing_signature", secure_post("bearer-secret-1", smuggled_report, seconds(0), false), 401);
  add("auth_signature_with_one_byte_changed", secure_post("bearer-secret-1", smuggled_report, seconds(0), true, true), 401);
  add("auth_replayed_timestamp", secure_post("bearer-secret-1", smuggled_report, seconds(-3600)), 401);
  add("auth_timestamp_from_the_future", secure_post("bearer-secret-2", smuggled_report, seconds(3600)), 401);
  add("auth_wrong_path_token", with_length("POST /tok/not-the-secret/smspm HTTP/1.1\r\nHost: x\r\n" + std::string(json) +
                                               std::string(close_after), smuggled_report), 401);
  add("auth_source_address_not_allowed", with_length("POST /private/smspm HTTP/1.1\r\nHost: x\r\n" + std::string(json) +
                                                         std::string(close_after), smuggled_report), 401);
  add("auth_proxied_client_without_a_forwarded_address", chunked_post("/proxied/smspm", "", "0", ""), 401);
  add("auth_bearer_missing_on_a_chunked_request", chunked_post("/bearer/smspm", "", "0", ""), 401);
  add("auth_forwarded_for_from_an_untrusted_peer", with_length("POST /private/smspm HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.1.2.3\r\n" +
                                                                   std::string(json) + std::string(close_after), smuggled_report), 401);
  // The rotated second secret and a fresh signature pass: the control that auth is not simply closed.
  add("auth_valid_with_the_rotated_secret", secure_post("bearer-secret-2", signed_report, seconds(0)), 200);
  return c;
}

/// Sends `in` on a fresh connection and reads until the server closes it (or 5 s pass).
std::string exchange(int port, const bad_input& in) {
  return raw_exchange(port, in.pieces, raw_sending{in.gap, in.half_close, {}}, std::chrono::seconds(5));
}

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

TEST(bad_input_catalogue, every_bad_request_gets_its_answer_and_the_daemon_stays_ready) {
  test::pg_database db;
  temp_dir dir;
  daemon d(dir.path(), db.url(), std::string(auth_yaml), std::string(listen_limits));
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();

  const auto entries = catalogue();
  ASSERT_GE(entries.size(), 30u);
  std::set<std::string> names;
  std::set<std::string> unauthorized_bodies;
  for (const auto& in : entries) {
    SCOPED_TRACE(in.name);
    EXPECT_TRUE(names.insert(in.name).second) << "duplicate entry name";
    auto answer = exchange(d.port(), in);
    EXPECT_EQ(status_of(answer), in.expected) << answer.substr(0, 300);
    if (in.expected >= 400) {
      EXPECT_NE(answer.find("\r\n\r\n{\"error\":"), std::string::npos) << answer.substr(0, 300);
      EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos) << answer.substr(0, 300);
      // Nothing was asked to be continued, and a body over the limit is refused before it is.
      EXPECT_EQ(answer.find("100 Continue"), std::string::npos);
    }
    if (in.quarantined) {
      EXPECT_NE(answer.find(R"("quarantined":true)"), std::string::npos) << answer;
    }
    if (in.expected == 401) unauthorized_bodies.insert(answer.substr(answer.find("\r\n\r\n")));
    client c(d.port());
    EXPECT_EQ(c.get("/readyz").status, 200);
    EXPECT_EQ(c.get("/healthz").status, 200);
  }

  // One answer whatever check failed: the caller learns nothing from it.
  EXPECT_EQ(unauthorized_bodies, std::set<std::string>{"\r\n\r\n{\"error\":\"unauthorized\"}"});

  // The edge counted what it refused, by reason.
  client c(d.port());
  auto metrics = c.get("/metrics").body;
  EXPECT_NE(metrics.find(R"(dlrd_auth_failures_total{profile="smspm",reason="hmac"})"), std::string::npos);
  EXPECT_NE(metrics.find(R"(dlrd_auth_failures_total{profile="smspm",reason="ip"})"), std::string::npos);
  EXPECT_NE(metrics.find(R"(dlrd_unknown_status_total{profile="smspm",word="TELEPORTED"} 1)"), std::string::npos);
  for (std::string_view reason : {"header_timeout", "body_timeout", "header_too_large", "target_too_long",
                                  "body_too_large", "malformed", "smuggling"}) {
    auto series = "dlrd_http_rejected_total{reason=\"" + std::string(reason) + "\"} ";
    auto at = metrics.find(series);
    ASSERT_NE(at, std::string::npos) << series;
    EXPECT_NE(metrics.substr(at + series.size(), 2), "0\n") << series;
  }

  // Once the last report is in PostgreSQL, every earlier one would be: drain, then read.
  ASSERT_EQ(c.post("/webhooks/smspm", last_report).status, 200);
  pqxx::connection conn(db.url());
  int stored = 0;
  for (int i = 0; i < 600 && stored == 0; ++i) {
    pqxx::work poll(conn);
    stored = poll.exec1("SELECT count(*) FROM sms_logs WHERE message_id = 'catalogue-last'")[0].as<int>();
    poll.commit();
    if (stored == 0) std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(stored, 1);
  d.signal(SIGTERM);
  ASSERT_EQ(d.wait_exit(30s), 0) << d.log();

  pqxx::work tx(conn);
  // Only the accepted reports: nothing smuggled, truncated, unauthenticated or refused.
  std::vector<std::string> ids;
  for (const auto& row : tx.exec("SELECT message_id FROM sms_logs ORDER BY message_id")) ids.push_back(row[0].as<std::string>());
  EXPECT_EQ(ids, (std::vector<std::string>{"auth-ok-1", "catalogue-last", "unknown-word-1"}));
  EXPECT_EQ(tx.exec1("SELECT status || '/' || raw_status FROM sms_logs WHERE message_id = 'unknown-word-1'")[0].as<std::string>(),
            "pending/TELEPORTED");
  // Exactly the quarantined entries, each with its raw body.
  std::multiset<std::string> expected_bodies, bodies;
  for (const auto& in : entries) {
    if (in.quarantined) expected_bodies.insert(hex(in.body));
  }
  for (const auto& row : tx.exec("SELECT encode(body, 'hex') FROM dlr_quarantine")) bodies.insert(row[0].as<std::string>());
  EXPECT_EQ(bodies, expected_bodies);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM dlr_quarantine WHERE reason = 'batch is empty'")[0].as<int>(), 1);
  tx.commit();
}

}  // namespace
}  // namespace dlrd::e2e
