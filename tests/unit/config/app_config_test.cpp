// The daemon's whole config (app::load_config): the refusal of open routes on a non-loopback
// address and its opt-out, database.url checked by libpq, and the shipped config files.
#include <dlrd/app/config.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace dlrd::app {
namespace {

/// A file of this test's own: ctest runs each test as its own process, several at once.
std::string write_config(const std::string& name, const std::string& yaml) {
  const auto* test = testing::UnitTest::GetInstance()->current_test_info();
  auto path = testing::TempDir() + "dlrd_app_config_test_" + test->test_suite_name() + "." + test->name() + "_" +
              name + ".yaml";
  std::ofstream(path) << yaml;
  return path;
}

/// load_config's whole message for `yaml`, or "" when it loaded.
std::string error_of(const std::string& yaml) {
  try {
    load_config(write_config("error", yaml));
  } catch (const config::config_error& e) {
    return e.what();
  }
  return "";
}

daemon_config load(const std::string& yaml) { return load_config(write_config("ok", yaml)); }

constexpr const char* open_on_every_interface = "listen:\n  address: 0.0.0.0\n";

constexpr const char* webhooks_with_auth =
    "webhooks:\n"
    "  - profile: smspm\n"
    "    auth: {bearer: [s3cret]}\n";

TEST(loopback, loopback_addresses_are_recognised) {
  for (std::string_view a : {"127.0.0.1", "127.1.2.3", "::1", "localhost", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(is_loopback(a)) << a;
  }
  for (std::string_view a : {"0.0.0.0", "::", "10.0.0.1", "192.168.1.10", "2001:db8::1", "example.org", ""}) {
    EXPECT_FALSE(is_loopback(a)) << a;
  }
}

TEST(exposure, the_default_listener_is_loopback_and_loads_with_open_routes) {
  auto c = load("");
  EXPECT_EQ(c.listen.address, "127.0.0.1");
  EXPECT_FALSE(unauthenticated_routes(c).webhooks.empty());
  EXPECT_TRUE(exposure_warnings(c).empty());
}

TEST(exposure, open_webhooks_and_api_on_every_interface_are_refused_naming_routes_and_fixes) {
  auto e = error_of(open_on_every_interface);
  EXPECT_NE(e.find(":2: listen.address: '0.0.0.0' is not a loopback address, and these webhooks take reports "
                   "from anyone who can reach them: /webhooks/bandwidth, /webhooks/clickatell, /webhooks/infobip"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("/webhooks/smspm"), std::string::npos) << e;
  EXPECT_NE(e.find("allow_unauthenticated: {webhooks:"), std::string::npos) << e;
  EXPECT_NE(e.find("the API has no api.auth"), std::string::npos) << e;
  EXPECT_NE(e.find("/v1/messages, /v1/stats/, /dashboard"), std::string::npos) << e;
  EXPECT_NE(e.find("allow_unauthenticated: {api:"), std::string::npos) << e;
}

TEST(exposure, authenticated_webhooks_and_api_may_listen_anywhere) {
  auto c = load(std::string(open_on_every_interface) + webhooks_with_auth + "api:\n  auth: {bearer: [t0ken]}\n");
  EXPECT_TRUE(unauthenticated_routes(c).webhooks.empty());
  EXPECT_TRUE(unauthenticated_routes(c).api.empty());
  EXPECT_TRUE(exposure_warnings(c).empty());
}

TEST(exposure, an_open_api_alone_is_refused_and_the_status_api_is_named_only_when_enabled) {
  auto e = error_of(std::string("listen:\n  address: \"::\"\n") + webhooks_with_auth);
  EXPECT_EQ(e.find("webhooks take reports"), std::string::npos) << e;
  EXPECT_NE(e.find("the API has no api.auth"), std::string::npos) << e;
  e = error_of(std::string(open_on_every_interface) + webhooks_with_auth + "status_api:\n  enabled: false\n");
  EXPECT_NE(e.find("/v1/stats/, /dashboard"), std::string::npos) << e;
  EXPECT_EQ(e.find("/v1/messages"), std::string::npos) << e;
}

TEST(exposure, the_opt_out_needs_a_reason_per_kind_and_is_warned_about) {
  auto c = load(std::string(open_on_every_interface) +
                "allow_unauthenticated:\n"
                "  webhooks: \"the firewall admits only the gateways\"\n"
                "  api: \"a VPN-only network\"\n");
  auto warnings = exposure_warnings(c);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("unauthenticated webhooks /webhooks/"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("the firewall admits only the gateways"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("unauthenticated API /v1/messages"), std::string::npos) << warnings[1];
  EXPECT_NE(warnings[1].find("a VPN-only network"), std::string::npos) << warnings[1];

  // One kind allowed does not allow the other; false and an empty reason allow nothing.
  auto e = error_of(std::string(open_on_every_interface) + "allow_unauthenticated:\n  webhooks: behind NAT\n");
  EXPECT_EQ(e.find("webhooks take reports"), std::string::npos) << e;
  EXPECT_NE(e.find("the API has no api.auth"), std::string::npos) << e;
  e = error_of(std::string(open_on_every_interface) + "allow_unauthenticated:\n  webhooks: false\n  api: \"\"\n");
  EXPECT_NE(e.find("webhooks take reports"), std::string::npos) << e;
  EXPECT_NE(e.find("the API has no api.auth"), std::string::npos) << e;
}

TEST(exposure, a_misspelt_opt_out_key_is_an_unknown_key) {
  auto e = error_of("allow_unauthenticated:\n  webhook: yes\n");
  EXPECT_NE(e.find(":2: allow_unauthenticated.webhook: unknown key (did you mean 'webhooks'?)"), std::string::npos)
      << e;
}

TEST(database_url, an_empty_url_is_refused_with_what_to_set) {
  ::setenv("DLRD_TEST_EMPTY_URL", "", 1);
  auto e = error_of("database:\n  url: ${DLRD_TEST_EMPTY_URL}\n");
  EXPECT_NE(e.find(":2: database.url: is empty: set a libpq connection string"), std::string::npos) << e;
  EXPECT_NE(error_of("database:\n  url: \"\"\n").find("database.url: is empty"), std::string::npos);
}

TEST(database_url, a_url_libpq_refuses_is_refused_with_libpqs_reason) {
  auto e = error_of("database:\n  url: \"postgresql://dlrd@localhost/dlrd?sslmod=require\"\n");
  EXPECT_NE(e.find(":2: database.url: is not a connection string libpq accepts: invalid URI query parameter: "
                   "\"sslmod\""),
            std::string::npos)
      << e;
  e = error_of("database:\n  url: \"host=localhost dbname\"\n");
  EXPECT_NE(e.find("database.url: is not a connection string libpq accepts: missing \"=\" after \"dbname\""),
            std::string::npos)
      << e;
  e = error_of("database:\n  url: \"postgres://[::1/dlrd\"\n");
  EXPECT_NE(e.find("database.url: is not a connection string libpq accepts"), std::string::npos) << e;
}

TEST(database_url, urls_and_keyword_strings_libpq_accepts_load) {
  EXPECT_EQ(load("database:\n  url: \"postgresql://dlrd:pw@db.example.org:5433/dlrd?sslmode=require\"\n").database.url,
            "postgresql://dlrd:pw@db.example.org:5433/dlrd?sslmode=require");
  EXPECT_EQ(load("database:\n  url: \"host=/run/postgresql dbname=dlrd\"\n").database.url,
            "host=/run/postgresql dbname=dlrd");
  EXPECT_EQ(load("").database.url, "postgresql:///dlrd");
}

// Notice retention deletes a notice no sink has claimed yet only once a claim would drop it as
// stale: it must outlast alerts.max_age.
TEST(notice_retention, notices_kept_for_sending_longer_than_the_retention_are_refused) {
  const std::string sink = "alerts:\n  max_age: 40d\n";
  auto e = error_of(sink);
  EXPECT_NE(e.find("retention: notices_after (default 30d) must be longer than alerts.max_age (3456000 s)"),
            std::string::npos)
      << e;
  e = error_of(sink + "retention:\n  notices_after: 40d\n");
  EXPECT_NE(e.find("retention.notices_after: must be longer than alerts.max_age"), std::string::npos) << e;
  EXPECT_EQ(load(sink + "retention:\n  notices_after: 41d\n").retention.notices_after, std::chrono::hours(24 * 41));
  EXPECT_FALSE(load(sink + "retention:\n  notices_after: null\n").retention.notices_after);
  EXPECT_EQ(load("").retention.notices_after, std::chrono::hours(24 * 30));
}

TEST(shipped_configs, every_shipped_config_loads_and_the_packaged_ones_are_loopback_or_authenticated) {
  ::setenv("DLRD_DATABASE_URL", "postgresql://dlrd@localhost/dlrd", 1);
  ::setenv("DLRD_SPOOL_DIR", "/tmp/dlrd-spool", 1);
  for (const char* file : {"config/dlrd.minimal.yaml", "config/dlrd.reference.yaml", "config/dlrd.example.yaml"}) {
    SCOPED_TRACE(file);
    daemon_config c;
    ASSERT_NO_THROW(c = load_config(std::string(DLRD_SOURCE_DIR) + "/" + file));
    EXPECT_TRUE(is_loopback(c.listen.address)) << c.listen.address;
  }
  // The container's config listens on every interface of its network namespace; it says why.
  auto c = load_config(std::string(DLRD_SOURCE_DIR) + "/docker/dlrd.yaml");
  EXPECT_FALSE(is_loopback(c.listen.address));
  EXPECT_FALSE(exposure_warnings(c).empty());
}

}  // namespace
}  // namespace dlrd::app
