// The `auth` mapping: every key, secrets from the environment and from files, defaults, and
// errors that name the key.
#include <dlrd/auth/auth.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace dlrd::auth {
namespace {

auth_config load(const std::string& yaml) {
  auth_config cfg;
  config::load_string(yaml, "dlrd.yaml", [&](config::section& root) {
    // As the endpoint loader does: auth reads its keys, the caller reports the rest.
    if (auto s = root.child("auth")) {
      parse(*s, cfg);
      s->finish();
    }
  });
  return cfg;
}

/// The config_error text for `yaml`, or "" when it loads.
std::string errors_of(const std::string& yaml) {
  try {
    load(yaml);
  } catch (const config::config_error& e) {
    return e.what();
  }
  return {};
}

std::string write_file(const std::string& name, const std::string& content) {
  auto path = std::filesystem::path(::testing::TempDir()) / name;
  std::ofstream(path) << content;
  return path.string();
}

// An Ed25519 public key (RFC 8032 TEST 1), base64.
constexpr const char* telnyx_key = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

TEST(auth_config, an_absent_or_empty_section_configures_no_check) {
  EXPECT_TRUE(load("").empty());
  EXPECT_TRUE(load("auth: {}\n").empty());
}

TEST(auth_config, every_check_reads_its_keys) {
  ::setenv("DLRD_TEST_TOKEN", "tok-from-env", 1);
  ::setenv("DLRD_TEST_BEARER", "bearer-from-env", 1);
  auto pw = write_file("basic.pw", "pw-from-file\n");
  auto tok = write_file("token.txt", "tok-from-file\r\n");
  auto cfg = load(
      std::string("auth:\n") +
      "  token:\n"
      "    values: [\"${DLRD_TEST_TOKEN}\", old-token]\n"
      "    values_files: [" + tok + "]\n"
      "    query_param: t\n"
      "  basic:\n"
      "    - { user: smspm, password_file: " + pw + " }\n"
      "    - { user: smspm, password: \"${DLRD_TEST_TOKEN}\" }\n"
      "  hmac:\n"
      "    header: X-Hub-Signature-256\n"
      "    algorithm: sha512\n"
      "    encoding: base64\n"
      "    prefix: \"sha512=\"\n"
      "    secrets: [s1, s2]\n"
      "    timestamp_header: X-Timestamp\n"
      "    separator: \":\"\n"
      "    window: 90s\n"
      "  twilio: { auth_tokens: [\"${DLRD_TEST_BEARER}\"], public_base_url: \"https://dlr.example.com:8443\" }\n"
      "  telnyx: { public_keys: [\"" + std::string(telnyx_key) + "\"], window: 2m }\n"
      "  ip: { allow: [10.0.0.0/8, \"2001:db8::/32\", 192.0.2.1], trusted_proxies: [127.0.0.1/32] }\n");
  ASSERT_TRUE(cfg.token);
  EXPECT_EQ(cfg.token->values, (std::vector<std::string>{"tok-from-env", "old-token", "tok-from-file"}));
  EXPECT_EQ(cfg.token->query_param, "t");
  EXPECT_EQ(cfg.basic, (std::vector<basic_user>{{"smspm", "pw-from-file"}, {"smspm", "tok-from-env"}}));
  ASSERT_TRUE(cfg.hmac);
  EXPECT_EQ(cfg.hmac->header, "X-Hub-Signature-256");
  EXPECT_EQ(cfg.hmac->algorithm, "sha512");
  EXPECT_EQ(cfg.hmac->encoding, "base64");
  EXPECT_EQ(cfg.hmac->prefix, "sha512=");
  EXPECT_EQ(cfg.hmac->secrets, (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(cfg.hmac->timestamp_header, "X-Timestamp");
  EXPECT_EQ(cfg.hmac->separator, ":");
  EXPECT_EQ(cfg.hmac->window, std::chrono::seconds(90));
  ASSERT_TRUE(cfg.twilio);
  EXPECT_EQ(cfg.twilio->auth_tokens, std::vector<std::string>{"bearer-from-env"});
  EXPECT_EQ(cfg.twilio->public_base_url, "https://dlr.example.com:8443");
  ASSERT_TRUE(cfg.telnyx);
  EXPECT_EQ(cfg.telnyx->public_keys, std::vector<std::string>{telnyx_key});
  EXPECT_EQ(cfg.telnyx->window, std::chrono::minutes(2));
  ASSERT_TRUE(cfg.ip);
  EXPECT_EQ(cfg.ip->allow, (std::vector<std::string>{"10.0.0.0/8", "2001:db8::/32", "192.0.2.1"}));
  EXPECT_EQ(cfg.ip->trusted_proxies, std::vector<std::string>{"127.0.0.1/32"});
  // The parsed config builds a verifier.
  EXPECT_FALSE(verifier(cfg).empty());
}

TEST(auth_config, bearer_tokens_come_from_a_list_and_files) {
  ::setenv("DLRD_TEST_BEARER", "bearer-from-env", 1);
  auto f = write_file("bearer.txt", "bearer-from-file\n");
  auto cfg = load("auth:\n  bearer: [\"${DLRD_TEST_BEARER}\", b2]\n  bearer_files: [" + f + "]\n");
  EXPECT_EQ(cfg.bearer, (std::vector<std::string>{"bearer-from-env", "b2", "bearer-from-file"}));
}

TEST(auth_config, unset_keys_keep_their_defaults) {
  auto cfg = load("auth:\n  hmac: { secrets: [k] }\n  token: { values: [t] }\n  telnyx: { public_keys: [\"" +
                  std::string(telnyx_key) + "\"] }\n");
  ASSERT_TRUE(cfg.hmac && cfg.token && cfg.telnyx);
  hmac_config defaults;
  defaults.secrets = {"k"};
  EXPECT_EQ(*cfg.hmac, defaults);
  EXPECT_EQ(cfg.token->query_param, "token");
  EXPECT_EQ(cfg.telnyx->window, std::chrono::minutes(5));
}

TEST(auth_config, a_bad_algorithm_or_encoding_names_the_key) {
  auto e = errors_of("auth:\n  hmac:\n    secrets: [k]\n    algorithm: md5\n    encoding: base32\n");
  EXPECT_NE(e.find("dlrd.yaml:4: auth.hmac.algorithm: must be one of sha1, sha256, sha512, got 'md5'"), std::string::npos) << e;
  EXPECT_NE(e.find("dlrd.yaml:5: auth.hmac.encoding: must be one of hex, base64, got 'base32'"), std::string::npos) << e;
}

TEST(auth_config, a_bad_cidr_names_the_key_and_the_value) {
  auto e = errors_of("auth:\n  ip:\n    allow: [10.0.0.0/8, 10.0.0.0/33, \"2001:db8::/129\"]\n    trusted_proxies: [localhost]\n");
  EXPECT_NE(e.find("auth.ip.allow: '10.0.0.0/33' is not an IP address or CIDR range"), std::string::npos) << e;
  EXPECT_NE(e.find("auth.ip.allow: '2001:db8::/129' is not"), std::string::npos) << e;
  EXPECT_NE(e.find("auth.ip.trusted_proxies: 'localhost' is not"), std::string::npos) << e;
  EXPECT_EQ(e.find("'10.0.0.0/8'"), std::string::npos) << e;
}

TEST(auth_config, a_telnyx_key_must_be_32_bytes_of_base64) {
  auto e = errors_of("auth:\n  telnyx:\n    public_keys: [\"" + std::string(telnyx_key) +
                     "\", \"AAAA\", \"not base64!\"]\n");
  EXPECT_NE(e.find("dlrd.yaml:3: auth.telnyx.public_keys: 'AAAA' is not the base64 of a 32-byte Ed25519 public key"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("'not base64!' is not the base64"), std::string::npos) << e;
}

TEST(auth_config, standard_webhooks_reads_whsec_secrets_and_a_tolerance) {
  auto cfg = load("auth:\n  standard_webhooks:\n    secrets: [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]\n    tolerance: 2m\n");
  ASSERT_TRUE(cfg.standard_webhooks);
  EXPECT_EQ(cfg.standard_webhooks->secrets, std::vector<std::string>{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"});
  EXPECT_EQ(cfg.standard_webhooks->tolerance, std::chrono::minutes(2));
  EXPECT_EQ(load("auth:\n  standard_webhooks: { secrets: [MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw] }\n").standard_webhooks->tolerance,
            std::chrono::minutes(5));
  // A secret that is not base64 is named by its key, never echoed.
  auto e = errors_of("auth:\n  standard_webhooks: { secrets: [\"whsec_not base64!\"] }\n");
  EXPECT_NE(e.find("auth.standard_webhooks.secrets: a secret is not whsec_ followed by base64"), std::string::npos) << e;
  EXPECT_EQ(e.find("not base64!"), std::string::npos) << e;
  EXPECT_NE(errors_of("auth:\n  standard_webhooks: {}\n").find("auth.standard_webhooks.secrets: needs at least one secret"),
            std::string::npos);
}

TEST(auth_config, empty_secret_lists_and_empty_secrets_are_errors) {
  EXPECT_NE(errors_of("auth:\n  token: { values: [] }\n").find("auth.token.values: needs at least one secret"), std::string::npos);
  EXPECT_NE(errors_of("auth:\n  token: { query_param: t }\n").find("auth.token.values: needs at least one secret"),
            std::string::npos);
  EXPECT_NE(errors_of("auth:\n  hmac: {}\n").find("auth.hmac.secrets: needs at least one secret"), std::string::npos);
  EXPECT_NE(errors_of("auth:\n  twilio: { public_base_url: \"https://x.example\" }\n").find("auth.twilio.auth_tokens: needs"),
            std::string::npos);
  EXPECT_NE(errors_of("auth:\n  telnyx: { public_keys: [] }\n").find("auth.telnyx.public_keys: needs"), std::string::npos);
  EXPECT_NE(errors_of("auth:\n  bearer: []\n").find("auth.bearer: needs at least one secret"), std::string::npos);
  EXPECT_NE(errors_of("auth:\n  basic: []\n").find("auth.basic: needs at least one user"), std::string::npos);
  EXPECT_NE(errors_of("auth:\n  ip: { allow: [] }\n").find("auth.ip.allow: needs at least one"), std::string::npos);
  ::setenv("DLRD_TEST_EMPTY", "", 1);
  EXPECT_NE(errors_of("auth:\n  bearer: [\"${DLRD_TEST_EMPTY}\"]\n").find("auth.bearer: a secret is empty"), std::string::npos);
  ::unsetenv("DLRD_TEST_UNSET");
  EXPECT_NE(errors_of("auth:\n  bearer: [\"${DLRD_TEST_UNSET}\"]\n").find("auth.bearer: environment variable DLRD_TEST_UNSET is not set"),
            std::string::npos);
  auto empty_file = write_file("empty.txt", "\n");
  EXPECT_NE(errors_of("auth:\n  bearer_files: [" + empty_file + "]\n").find("auth.bearer_files: '" + empty_file + "' is empty"),
            std::string::npos);
  EXPECT_NE(errors_of("auth:\n  bearer_files: [/nonexistent/dlrd.secret]\n").find("auth.bearer_files: cannot read"),
            std::string::npos);
}

TEST(auth_config, basic_users_need_a_name_and_a_password) {
  auto e = errors_of("auth:\n  basic:\n    - { user: \"a:b\", password: p }\n    - { password: p }\n    - { user: u }\n");
  EXPECT_NE(e.find("auth.basic[0].user: must not contain ':'"), std::string::npos) << e;
  EXPECT_NE(e.find("auth.basic[1].user: is required"), std::string::npos) << e;
  EXPECT_NE(e.find("auth.basic[2].password: is required"), std::string::npos) << e;
}

TEST(auth_config, basic_and_bearer_cannot_share_the_authorization_header) {
  auto e = errors_of("auth:\n  basic: [{ user: u, password: p }]\n  bearer: [t]\n");
  EXPECT_NE(e.find("auth.bearer: basic and bearer both read the Authorization header"), std::string::npos) << e;
}

TEST(auth_config, the_twilio_base_url_is_a_scheme_and_host_only) {
  for (const char* good : {"https://dlr.example.com", "http://dlr.example.com:8080", "https://[2001:db8::1]:443",
                           "https://10.0.0.1"}) {
    EXPECT_EQ(errors_of(std::string("auth:\n  twilio: { auth_tokens: [t], public_base_url: \"") + good + "\" }\n"), "")
        << good;
  }
  for (const char* bad : {"dlr.example.com", "ftp://dlr.example.com", "https://dlr.example.com/", "https://dlr.example.com/dlr",
                          "https://dlr.example.com?x=1", "https://", "https://host:", "https://host:99999",
                          "https://user@host", "https://host:80a"}) {
    auto e = errors_of(std::string("auth:\n  twilio: { auth_tokens: [t], public_base_url: \"") + bad + "\" }\n");
    EXPECT_NE(e.find("auth.twilio.public_base_url: must be http(s)://host[:port] with no path"), std::string::npos)
        << bad << ": " << e;
  }
  EXPECT_NE(errors_of("auth:\n  twilio: { auth_tokens: [t] }\n").find("auth.twilio.public_base_url: is required"),
            std::string::npos);
}

TEST(auth_config, unknown_keys_in_nested_sections_are_reported) {
  auto e = errors_of("auth:\n  hmac: { secrets: [k], algo: sha1 }\n  basic: [{ user: u, password: p, role: x }]\n");
  EXPECT_NE(e.find("dlrd.yaml:2: auth.hmac.algo: unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("auth.basic[0].role: unknown key"), std::string::npos) << e;
  // The caller finishes the auth section itself.
  auto top = errors_of("auth:\n  tokens: { values: [x] }\n");
  EXPECT_NE(top.find("auth.tokens: unknown key"), std::string::npos) << top;
}

TEST(auth_config, a_replay_window_must_be_a_positive_duration) {
  EXPECT_NE(errors_of("auth:\n  hmac: { secrets: [k], window: 0s }\n").find("auth.hmac.window: must be at least"),
            std::string::npos);
  EXPECT_NE(errors_of("auth:\n  hmac: { secrets: [k], window: soon }\n").find("auth.hmac.window: expected a duration"),
            std::string::npos);
}

}  // namespace
}  // namespace dlrd::auth
