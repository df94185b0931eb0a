// YAML config sections through load_string and load_file: values, defaults, and every error path.
#include <dlrd/config/yaml.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace dlrd::config {
namespace {

using namespace std::chrono_literals;

// A section shaped like a real module's, with a nested child, owned by this test only.
struct listen_config {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::chrono::milliseconds read_timeout{10'000};
  std::size_t body_limit = 64 * 1024;
};

struct test_config {
  listen_config listen;
  std::string mode = "fast";
  bool verbose = false;
  std::string token;
  std::vector<std::string> tags;
  std::int64_t offset = 0;
};

void parse(section& s, listen_config& out) {
  s.read("host", out.host);
  s.read("port", out.port, 1, 65535);
  s.read_duration("read_timeout", out.read_timeout, 10ms);
  s.read_size("body_limit", out.body_limit, 1024);
  s.finish();
}

void parse(section& root, test_config& out) {
  if (auto l = root.child("listen")) parse(*l, out.listen);
  root.read_choice("mode", out.mode, {"fast", "safe"});
  root.read("verbose", out.verbose);
  root.read_secret("token", out.token);
  root.read_list("tags", out.tags);
  root.read("offset", out.offset, -100, 100);
}

test_config load(const std::string& yaml) {
  test_config cfg;
  load_string(yaml, "x.yaml", [&](section& root) { parse(root, cfg); });
  return cfg;
}

/// The loader's whole message for `yaml`, or "" when it loaded.
std::string error_of(const std::string& yaml) {
  try {
    load(yaml);
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

std::string temp_file(const std::string& name, const std::string& content) {
  auto path = testing::TempDir() + "dlrd_config_test_" + name;
  std::ofstream(path) << content;
  return path;
}

TEST(config_load, absent_keys_keep_their_defaults) {
  auto cfg = load("");
  EXPECT_EQ(cfg.listen.host, "127.0.0.1");
  EXPECT_EQ(cfg.listen.port, 8080);
  EXPECT_EQ(cfg.listen.read_timeout, 10s);
  EXPECT_EQ(cfg.mode, "fast");
  EXPECT_EQ(load("listen:\n  port: 9000\n").listen.host, "127.0.0.1");
  EXPECT_EQ(load("listen:\n").listen.port, 8080);
}

constexpr const char* full_yaml = R"(listen:
  host: 0.0.0.0
  port: 8443
  read_timeout: 250ms
  body_limit: 1 MiB
mode: safe
verbose: yes
token: abc
tags: [a, b]
offset: -5
)";

TEST(config_load, every_kind_of_value_is_read) {
  auto cfg = load(full_yaml);
  EXPECT_EQ(cfg.listen.host, "0.0.0.0");
  EXPECT_EQ(cfg.listen.port, 8443);
  EXPECT_EQ(cfg.listen.read_timeout, 250ms);
  EXPECT_EQ(cfg.listen.body_limit, 1024u * 1024u);
  EXPECT_EQ(cfg.mode, "safe");
  EXPECT_TRUE(cfg.verbose);
  EXPECT_EQ(cfg.token, "abc");
  EXPECT_EQ(cfg.tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(cfg.offset, -5);
}

TEST(config_load, unknown_key_reports_file_line_and_key_path) {
  EXPECT_EQ(error_of("listen:\n  port: 9000\n  bogus: 1\n"), "x.yaml:3: listen.bogus: unknown key");
  EXPECT_EQ(error_of("mode: fast\nlisten_port: 1\n"), "x.yaml:2: listen_port: unknown key");
}

TEST(config_load, every_error_is_reported_at_once) {
  EXPECT_EQ(error_of("listen:\n  port: 0\n  bogus: 1\nmode: slow\n"),
            "x.yaml:2: listen.port: must be between 1 and 65535, got 0\n"
            "x.yaml:3: listen.bogus: unknown key\n"
            "x.yaml:4: mode: must be one of fast, safe, got 'slow'");
}

TEST(config_load, bad_types_and_values_name_the_key) {
  EXPECT_EQ(error_of("listen:\n  port: http\n"), "x.yaml:2: listen.port: expected an integer, got 'http'");
  EXPECT_EQ(error_of("listen:\n  port: 80.5\n"), "x.yaml:2: listen.port: expected an integer, got '80.5'");
  EXPECT_EQ(error_of("listen:\n  port: 70000\n"), "x.yaml:2: listen.port: must be between 1 and 65535, got 70000");
  EXPECT_EQ(error_of("listen:\n  host: [a, b]\n"), "x.yaml:2: listen.host: expected a scalar value");
  EXPECT_EQ(error_of("listen: 8080\n"), "x.yaml:1: listen: expected a mapping");
  EXPECT_EQ(error_of("verbose: maybe\n"), "x.yaml:1: verbose: expected true or false, got 'maybe'");
  EXPECT_EQ(error_of("tags: a\n"), "x.yaml:1: tags: expected a list");
  EXPECT_EQ(error_of("tags:\n  - a\n  - {b: 1}\n"), "x.yaml:2: tags: expected a list of strings");
  EXPECT_EQ(error_of("offset: -101\n"), "x.yaml:1: offset: must be between -100 and 100, got -101");
  EXPECT_EQ(error_of("offset: 99999999999999999999\n"),
            "x.yaml:1: offset: expected an integer, got '99999999999999999999'");
}

TEST(config_load, durations_and_sizes_below_their_minimum_are_errors) {
  EXPECT_EQ(error_of("listen:\n  read_timeout: 5ms\n"), "x.yaml:2: listen.read_timeout: must be at least 10ms");
  EXPECT_EQ(error_of("listen:\n  read_timeout: soon\n"),
            "x.yaml:2: listen.read_timeout: expected a duration such as 250ms, 5s, 2m or 1h, got 'soon'");
  EXPECT_EQ(error_of("listen:\n  body_limit: 512\n"), "x.yaml:2: listen.body_limit: must be at least 1024 bytes");
  EXPECT_EQ(error_of("listen:\n  body_limit: 1 PiB\n"),
            "x.yaml:2: listen.body_limit: expected a size such as 512, 64KiB, 8MiB or 1GiB, got '1 PiB'");
}

TEST(config_load, syntax_errors_name_the_file_and_line) {
  auto e = error_of("listen:\n  host: [a\n");
  EXPECT_TRUE(e.starts_with("x.yaml:")) << e;
  EXPECT_EQ(error_of("- a\n- b\n"), "x.yaml:1: the top level must be a mapping");
}

TEST(config_load, environment_variables_are_expanded) {
  ::setenv("DLRD_TEST_HOST", "db.example.org", 1);
  EXPECT_EQ(load("listen:\n  host: ${DLRD_TEST_HOST}\n").listen.host, "db.example.org");
  EXPECT_EQ(load("listen:\n  host: \"pre-${DLRD_TEST_HOST}-post\"\n").listen.host, "pre-db.example.org-post");
  EXPECT_EQ(load("listen:\n  host: $HOME\n").listen.host, "$HOME");
}

TEST(config_load, a_missing_environment_variable_is_an_error_naming_it) {
  ::unsetenv("DLRD_TEST_MISSING");
  EXPECT_EQ(error_of("listen:\n  host: ${DLRD_TEST_MISSING}\n"),
            "x.yaml:2: listen.host: environment variable DLRD_TEST_MISSING is not set");
  EXPECT_EQ(error_of("listen:\n  host: ${DLRD_TEST_HOST\n"), "x.yaml:2: listen.host: unterminated ${ in value");
}

TEST(config_load, secrets_come_from_the_value_or_a_file) {
  auto path = temp_file("token", "s3cret\n");
  EXPECT_EQ(load("token_file: " + path + "\n").token, "s3cret");
  ::setenv("DLRD_TEST_TOKEN", "from-env", 1);
  EXPECT_EQ(load("token: ${DLRD_TEST_TOKEN}\n").token, "from-env");
  ::setenv("DLRD_TEST_TOKEN_PATH", path.c_str(), 1);
  EXPECT_EQ(load("token_file: ${DLRD_TEST_TOKEN_PATH}\n").token, "s3cret");
}

TEST(config_load, secret_errors_name_the_file_key) {
  auto path = temp_file("token2", "x");
  EXPECT_EQ(error_of("token: a\ntoken_file: " + path + "\n"),
            "x.yaml:2: token_file: set either token or token_file, not both");
  EXPECT_EQ(error_of("token_file: /nonexistent/dlrd/token\n"),
            "x.yaml:1: token_file: cannot read '/nonexistent/dlrd/token'");
}

TEST(config_load_file, reads_a_file_and_names_it_in_errors) {
  auto path = temp_file("ok.yaml", full_yaml);
  test_config cfg;
  load_file(path, [&](section& root) { parse(root, cfg); });
  EXPECT_EQ(cfg.listen.port, 8443);

  auto bad = temp_file("bad.yaml", "mode: fast\nlisten:\n  bogus: 1\n");
  try {
    load_file(bad, [&](section& root) { parse(root, cfg); });
    FAIL() << "expected a config_error";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()), bad + ":3: listen.bogus: unknown key");
  }
}

/// load_file's whole message for `path`, or "" when it loaded.
std::string file_error_of(const std::string& path) {
  try {
    load_file(path, [](section&) {});
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

TEST(config_load_file, a_missing_file_is_named_with_the_reason) {
  const std::string path = "/nonexistent/dlrd/missing.yaml";
  EXPECT_EQ(file_error_of(path), path + ": cannot read config file: No such file or directory");
}

TEST(config_load_file, a_directory_in_place_of_the_file_says_so) {
  const std::string dir = testing::TempDir();
  EXPECT_EQ(file_error_of(dir), dir + ": cannot read config file: Is a directory");
}

TEST(config_load, a_key_written_twice_is_refused_at_its_second_line) {
  EXPECT_EQ(error_of("mode: fast\nverbose: true\nmode: safe\n"),
            "x.yaml:3: mode: duplicate key (already set above; remove one of them)");
  EXPECT_EQ(error_of("listen:\n  port: 1\n  port: 2\n"),
            "x.yaml:3: listen.port: duplicate key (already set above; remove one of them)");
  // In a list item and in a mapping no reader asks for, too.
  EXPECT_EQ(error_of("tags: []\nlisten:\n  host: a\nmode: fast\nextra:\n  - {a: 1, a: 2}\n"),
            "x.yaml:6: extra[0].a: duplicate key (already set above; remove one of them)");
  EXPECT_EQ(error_of("listen:\n  port: 1\nmode: fast\nlisten:\n  port: 2\n"),
            "x.yaml:4: listen: duplicate key (already set above; remove one of them)");
}

TEST(config_load, a_misspelt_key_suggests_the_known_one) {
  EXPECT_EQ(error_of("listen:\n  prot: 9000\n"), "x.yaml:2: listen.prot: unknown key (did you mean 'port'?)");
  EXPECT_EQ(error_of("listen:\n  read_timout: 1s\n"),
            "x.yaml:2: listen.read_timout: unknown key (did you mean 'read_timeout'?)");
  EXPECT_EQ(error_of("verbos: true\n"), "x.yaml:1: verbos: unknown key (did you mean 'verbose'?)");
  EXPECT_EQ(error_of("token_fiel: x\n"), "x.yaml:1: token_fiel: unknown key (did you mean 'token_file'?)");
}

TEST(config_load, an_unknown_key_far_from_every_known_one_gets_no_suggestion) {
  EXPECT_EQ(error_of("listen:\n  bogus: 1\n"), "x.yaml:2: listen.bogus: unknown key");
  // Short keys are not guessed at: two edits turn most short words into each other.
  EXPECT_EQ(error_of("listen:\n  pt: 1\n"), "x.yaml:2: listen.pt: unknown key");
  // A key the file already sets is not suggested for another one.
  EXPECT_EQ(error_of("listen:\n  port: 1\n  portt: 2\n"), "x.yaml:3: listen.portt: unknown key");
}

TEST(parse_duration, units) {
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("5s"), 5s);
  EXPECT_EQ(parse_duration("2m"), 2min);
  EXPECT_EQ(parse_duration("2min"), 2min);
  EXPECT_EQ(parse_duration("1h"), 1h);
  EXPECT_EQ(parse_duration("1d"), 24h);
  EXPECT_EQ(parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(parse_duration("10"), 10s);
  EXPECT_EQ(parse_duration(" 5 s "), 5s);
  EXPECT_EQ(parse_duration("0"), 0ms);
}

TEST(parse_duration, rejects_nonsense) {
  for (std::string_view bad : {"", "s", "5x", "5 sec", "-1s", "1e20h", "inf", "nan", "nan s", "five"}) {
    EXPECT_FALSE(parse_duration(bad)) << bad;
  }
}

TEST(parse_size, units) {
  EXPECT_EQ(parse_size("512"), 512u);
  EXPECT_EQ(parse_size("512B"), 512u);
  EXPECT_EQ(parse_size("64KiB"), 64u * 1024);
  EXPECT_EQ(parse_size("8 MiB"), 8u * 1024 * 1024);
  EXPECT_EQ(parse_size("1GiB"), 1024u * 1024 * 1024);
  EXPECT_EQ(parse_size("2T"), 2ull << 40);
}

TEST(parse_size, rejects_nonsense) {
  for (std::string_view bad : {"", "KiB", "-1", "1.5MiB", "10 PiB", "99999999999999TiB", "18446744073709551616",
                               "ten"}) {
    EXPECT_FALSE(parse_size(bad)) << bad;
  }
}

TEST(expand_env, leaves_plain_text_alone_and_reports_the_missing_name) {
  std::string err;
  EXPECT_EQ(expand_env("plain $ text {}", err), "plain $ text {}");
  ::unsetenv("DLRD_TEST_NOPE");
  EXPECT_FALSE(expand_env("a${DLRD_TEST_NOPE}b", err));
  EXPECT_EQ(err, "environment variable DLRD_TEST_NOPE is not set");
}

}  // namespace
}  // namespace dlrd::config
