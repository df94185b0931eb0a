// Native TLS: a real handshake against an in-process server, the protocol floor, and
// certificate reload (a bad file keeps the old certificate; new connections get the new one).
#include <utility>  // GCC 12 needs it before Boost 1.74's awaitable.hpp

#include <dlrd/http/server.hpp>

#include <dlrd/spool/spool.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace dlrd::http {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

/// A directory with two self-signed certificates (CN=dlrd-a, CN=dlrd-b), made by `openssl`.
class tls_files_test : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dlrd-tls-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (const char* name : {"a", "b"}) {
      auto cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=dlrd-" +
                 std::string(name) + " -keyout " + path(name, "key") + " -out " + path(name, "crt") +
                 " >/dev/null 2>&1";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
    std::ofstream(path("junk", "crt")) << "not a certificate\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name, const std::string& ext) const { return dir_ + "/" + name + "." + ext; }
  tls_config files(const std::string& cert, const std::string& key) const {
    return {path(cert, "crt"), path(key, "key")};
  }

  std::string dir_;
};

struct tls_answer {
  std::string common_name;  ///< of the certificate the server presented
  int status = 0;
};

/// One GET /healthz over a fresh TLS connection (certificate not verified: it is self-signed).
tls_answer get_over_tls(std::uint16_t port, int max_version = 0) {
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_none);
  if (max_version) SSL_CTX_set_max_proto_version(ctx.native_handle(), max_version);
  ssl::stream<tcp::socket> stream(ioc, ctx);
  stream.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
  boost::system::error_code ec;
  stream.handshake(ssl::stream_base::client, ec);
  tls_answer out;
  if (ec) return out;
  if (X509* cert = SSL_get1_peer_certificate(stream.native_handle())) {
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    out.common_name = cn;
    X509_free(cert);
  }
  bhttp::request<bhttp::string_body> req{bhttp::verb::get, "/healthz", 11};
  req.set(bhttp::field::host, "127.0.0.1");
  bhttp::write(stream, req);
  boost::beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(stream, buffer, res);
  out.status = res.result_int();
  return out;
}

listen_config tls_listen(const tls_config& files) {
  listen_config l;
  l.port = 0;
  l.threads = 1;
  l.tls = files;
  return l;
}

TEST_F(tls_files_test, a_request_over_tls_gets_its_answer) {
  auto journal = spool::make_memory_journal({});
  server s(tls_listen(files("a", "a")), handler_config{}, *journal);
  s.start();
  auto r = get_over_tls(s.port());
  EXPECT_EQ(r.common_name, "dlrd-a");
  EXPECT_EQ(r.status, 200);
  s.stop(std::chrono::seconds(1));
}

TEST_F(tls_files_test, tls_below_1_2_is_refused) {
  auto journal = spool::make_memory_journal({});
  server s(tls_listen(files("a", "a")), handler_config{}, *journal);
  s.start();
  EXPECT_EQ(get_over_tls(s.port(), TLS1_1_VERSION).status, 0);
  EXPECT_EQ(get_over_tls(s.port(), TLS1_2_VERSION).status, 200);
  s.stop(std::chrono::seconds(1));
}

TEST_F(tls_files_test, unusable_files_are_refused_at_construction_naming_the_file) {
  auto journal = spool::make_memory_journal({});
  try {
    server s(tls_listen({path("junk", "crt"), path("a", "key")}), handler_config{}, *journal);
    FAIL() << "expected the junk certificate to be refused";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("listen.tls.cert_file '" + path("junk", "crt") + "'"), std::string::npos)
        << e.what();
  }
}

TEST_F(tls_files_test, reload_switches_new_connections_and_a_bad_reload_keeps_the_old_certificate) {
  auto journal = spool::make_memory_journal({});
  server s(tls_listen(files("a", "a")), handler_config{}, *journal);
  s.start();
  ASSERT_EQ(get_over_tls(s.port()).common_name, "dlrd-a");

  try {
    s.reload_tls(files("b", "a"));  // key of another certificate
    FAIL() << "expected a mismatched key to be refused";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("listen.tls.key_file"), std::string::npos) << e.what();
  }
  EXPECT_THROW(s.reload_tls({path("junk", "crt"), path("b", "key")}), std::runtime_error);
  EXPECT_THROW(s.reload_tls({path("missing", "crt"), path("b", "key")}), std::runtime_error);
  auto still = get_over_tls(s.port());
  EXPECT_EQ(still.common_name, "dlrd-a");
  EXPECT_EQ(still.status, 200);

  s.reload_tls(files("b", "b"));
  auto now = get_over_tls(s.port());
  EXPECT_EQ(now.common_name, "dlrd-b");
  EXPECT_EQ(now.status, 200);

  // The configured files are re-read in place (what a SIGHUP after a renewal does).
  std::filesystem::copy_file(path("b", "crt"), path("a", "crt"), std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(path("b", "key"), path("a", "key"), std::filesystem::copy_options::overwrite_existing);
  s.reload_tls();
  EXPECT_EQ(get_over_tls(s.port()).common_name, "dlrd-b");
  s.stop(std::chrono::seconds(1));
}

TEST_F(tls_files_test, past_the_per_address_limit_a_tls_client_is_closed_before_any_handshake) {
  auto journal = spool::make_memory_journal({});
  auto l = tls_listen(files("a", "a"));
  l.max_connections_per_ip = 1;
  server s(l, handler_config{}, *journal);
  s.start();
  {
    asio::io_context ioc;
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_verify_mode(ssl::verify_none);
    ssl::stream<tcp::socket> held(ioc, ctx);
    held.next_layer().connect({asio::ip::make_address("127.0.0.1"), s.port()});
    held.handshake(ssl::stream_base::client);
    // No certificate, no answer: the server spends no handshake on a refused connection.
    auto refused = get_over_tls(s.port());
    EXPECT_EQ(refused.status, 0);
    EXPECT_EQ(refused.common_name, "");
    EXPECT_EQ(s.counters().connections_refused_per_ip, 1u);
  }
  // The held connection is gone once the server has seen it close.
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    status = get_over_tls(s.port()).status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status, 200);
  s.stop(std::chrono::seconds(1));
}

TEST(server_tls, reload_on_a_plain_listener_says_tls_needs_a_restart) {
  auto journal = spool::make_memory_journal({});
  listen_config l;
  l.port = 0;
  l.threads = 1;
  server s(l, handler_config{}, *journal);
  try {
    s.reload_tls();
    FAIL() << "expected reload_tls to throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("needs a restart"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dlrd::http
