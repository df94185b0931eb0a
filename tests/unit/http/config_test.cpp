// The listen config section: defaults of the edge limits, the tls block, and their errors.
#include <dlrd/http/config.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace dlrd::http {
namespace {

using namespace std::chrono_literals;

listen_config load(const std::string& yaml) {
  listen_config cfg;
  config::load_string(yaml, "dlrd.yaml", [&](config::section& root) {
    if (auto s = root.child("listen")) {
      parse(*s, cfg);
      s->finish();
    }
  });
  return cfg;
}

std::string error_of(const std::string& yaml) {
  try {
    load(yaml);
  } catch (const config::config_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(listen_config, the_edge_limits_have_their_documented_defaults) {
  auto c = load("");
  EXPECT_EQ(c.max_connections_per_ip, 256u);
  EXPECT_EQ(c.max_header_count, 100u);
  EXPECT_EQ(c.max_target_length, 2048u);
  EXPECT_EQ(c.body_timeout, 10s);
  EXPECT_EQ(c.read_timeout, 10s);
  EXPECT_FALSE(c.tls.has_value());
}

TEST(listen_config, the_edge_limits_are_read) {
  auto c = load("listen:\n  max_connections_per_ip: 0\n  max_header_count: 20\n  max_target_length: 512\n"
                "  body_timeout: 2s\n");
  EXPECT_EQ(c.max_connections_per_ip, 0u);
  EXPECT_EQ(c.max_header_count, 20u);
  EXPECT_EQ(c.max_target_length, 512u);
  EXPECT_EQ(c.body_timeout, 2s);
}

TEST(listen_config, a_limit_out_of_range_names_the_key) {
  EXPECT_NE(error_of("listen:\n  max_header_count: 0\n").find("dlrd.yaml:2: listen.max_header_count:"),
            std::string::npos);
  EXPECT_NE(error_of("listen:\n  header_limit: 2GiB\n").find("listen.header_limit: must be at most 1MiB"),
            std::string::npos);
}

TEST(listen_config, tls_needs_both_files_and_checks_they_are_readable) {
  char cert[] = "/tmp/dlrd-cert-XXXXXX";
  int fd = mkstemp(cert);
  ASSERT_GE(fd, 0);
  std::fclose(fdopen(fd, "w"));
  auto c = load(std::string("listen:\n  tls:\n    cert_file: ") + cert + "\n    key_file: " + cert + "\n");
  ASSERT_TRUE(c.tls.has_value());
  EXPECT_EQ(c.tls->cert_file, cert);
  EXPECT_EQ(c.tls->key_file, cert);

  EXPECT_EQ(error_of(std::string("listen:\n  tls:\n    cert_file: ") + cert + "\n"),
            "dlrd.yaml:3: listen.tls.key_file: is required with listen.tls");
  EXPECT_EQ(error_of(std::string("listen:\n  tls:\n    cert_file: ") + cert + "\n    key_file: /nonexistent/key.pem\n"),
            "dlrd.yaml:4: listen.tls.key_file: cannot read '/nonexistent/key.pem'");
  EXPECT_EQ(error_of(std::string("listen:\n  tls:\n    cert_file: ") + cert + "\n    key_file: " + cert +
                     "\n    ciphers: ALL\n"),
            "dlrd.yaml:5: listen.tls.ciphers: unknown key");
  std::remove(cert);
}

}  // namespace
}  // namespace dlrd::http
