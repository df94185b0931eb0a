// The command line, run as the built binary: help with descriptions, `help CMD`, --flag=value,
// `profiles NAME`, and check-config's answers to open, misspelt and unreadable configs.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

namespace {

struct result {
  int code = -1;
  std::string out;  ///< stdout and stderr together
};

/// Runs `dlrd ARGS` through the shell with stderr merged into stdout.
result dlrd(const std::string& args) {
  std::string cmd = std::string("'") + DLRD_BINARY + "' " + args + " 2>&1";
  result r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string write_config(const std::string& name, const std::string& yaml) {
  auto path = testing::TempDir() + "dlrd_cli_test_" + name + ".yaml";
  std::ofstream(path) << yaml;
  return path;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(cli_help, the_overview_lists_every_usage_with_a_description) {
  auto r = dlrd("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(contains(r.out, "  dlrd serve [--config FILE]\n      Run the daemon:")) << r.out;
  EXPECT_TRUE(contains(r.out, "  dlrd check-config [--config FILE]\n      Validate the configuration")) << r.out;
  EXPECT_TRUE(contains(r.out, "  dlrd profiles [NAME]\n      Print the built-in provider profiles")) << r.out;
  EXPECT_EQ(dlrd("help").out, r.out);
}

TEST(cli_help, help_command_prints_the_same_as_command_dash_dash_help) {
  auto a = dlrd("help serve");
  auto b = dlrd("serve --help");
  EXPECT_EQ(a.code, 0);
  EXPECT_EQ(a.out, b.out);
  EXPECT_TRUE(a.out.starts_with("usage: dlrd serve [--config FILE]\n\nReceive delivery reports")) << a.out;
  EXPECT_EQ(dlrd("help report").out, dlrd("report -h").out);
  auto bad = dlrd("help nosuch");
  EXPECT_EQ(bad.code, 2);
  EXPECT_TRUE(contains(bad.out, "dlrd help: unknown command 'nosuch'")) << bad.out;
}

TEST(cli_help, the_man_page_is_roff_built_from_the_same_texts) {
  auto r = dlrd("help --man");
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(r.out.starts_with(".TH DLRD 8 ")) << r.out;
  EXPECT_TRUE(contains(r.out, "\n.B dlrd serve [\\-\\-config FILE]\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "Receive delivery reports over HTTP, spool them durably")) << r.out;
  EXPECT_TRUE(contains(r.out, "/etc/default/dlrd")) << r.out;
}

TEST(cli_flags, every_flag_takes_its_value_after_an_equals_sign_too) {
  auto missing = "/nonexistent/dlrd/x.yaml";
  auto spaced = dlrd(std::string("report --days 7 --config ") + missing);
  auto joined = dlrd(std::string("report --days=7 --config=") + missing);
  EXPECT_EQ(joined.code, 1);
  EXPECT_EQ(joined.out, spaced.out);
  EXPECT_TRUE(contains(joined.out, "cannot read config file: No such file or directory")) << joined.out;
  auto days = dlrd(std::string("report --days=0 --config=") + write_config("days", ""));
  EXPECT_EQ(days.code, 2);
  EXPECT_TRUE(contains(days.out, "--days must be an integer from 1 to 366")) << days.out;
  auto sw = dlrd("quarantine list --all=yes");
  EXPECT_EQ(sw.code, 2);
  EXPECT_TRUE(contains(sw.out, "dlrd quarantine: --all takes no value")) << sw.out;
  EXPECT_EQ(dlrd("spool inspect --dir=" + testing::TempDir() + "dlrd-cli-no-spool").out,
            dlrd("spool inspect --dir " + testing::TempDir() + "dlrd-cli-no-spool").out);
}

TEST(cli_profiles, a_name_prints_only_that_profile) {
  auto r = dlrd("profiles twilio");
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(contains(r.out, "\ntwilio:\n") || r.out.starts_with("twilio:\n")) << r.out;
  for (const char* other : {"\nsmspm:", "\nvonage:", "\ninfobip:", "\ntelnyx:"}) {
    EXPECT_FALSE(contains(r.out, other)) << other << "\n" << r.out;
  }
  auto all = dlrd("profiles");
  EXPECT_TRUE(contains(all.out, r.out)) << "twilio's block is a piece of the whole text";
  EXPECT_GT(all.out.size(), r.out.size());
}

TEST(cli_profiles, an_unknown_name_is_an_error_listing_the_known_ones) {
  auto r = dlrd("profiles twillio");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.out, "dlrd profiles: no built-in profile 'twillio'; the built-in ones are: ")) << r.out;
  EXPECT_TRUE(contains(r.out, "twilio")) << r.out;
  EXPECT_TRUE(contains(r.out, "smspm")) << r.out;
}

TEST(cli_check_config, an_open_non_loopback_config_is_refused_and_its_opt_out_warned) {
  auto open = dlrd("check-config --config " + write_config("open", "listen:\n  address: 0.0.0.0\n"));
  EXPECT_EQ(open.code, 1);
  EXPECT_TRUE(contains(open.out, "listen.address: '0.0.0.0' is not a loopback address")) << open.out;
  auto allowed = dlrd("check-config --config " +
                      write_config("allowed",
                                   "listen:\n  address: 0.0.0.0\n"
                                   "allow_unauthenticated:\n  webhooks: firewalled\n  api: firewalled\n"));
  EXPECT_EQ(allowed.code, 0) << allowed.out;
  EXPECT_TRUE(contains(allowed.out, "warning: listening on 0.0.0.0 (not loopback) with unauthenticated webhooks"))
      << allowed.out;
  EXPECT_TRUE(contains(allowed.out, "configuration is valid")) << allowed.out;
  auto local = dlrd("check-config --config " + write_config("local", "listen:\n  address: 127.0.0.1\n"));
  EXPECT_EQ(local.code, 0);
  EXPECT_FALSE(contains(local.out, "warning")) << local.out;
}

TEST(cli_check_config, config_errors_reach_the_operator_with_file_and_line) {
  auto typo = write_config("typo", "listen:\n  adress: 127.0.0.1\n");
  auto r = dlrd("check-config --config=" + typo);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.out, typo + ":2: listen.adress: unknown key (did you mean 'address'?)")) << r.out;
  auto dup = write_config("dup", "listen:\n  port: 1\n  port: 2\n");
  r = dlrd("check-config --config=" + dup);
  EXPECT_TRUE(contains(r.out, dup + ":3: listen.port: duplicate key")) << r.out;
  auto db = write_config("db", "database:\n  url: \"host=x dbname\"\n");
  r = dlrd("check-config --config=" + db);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.out, db + ":2: database.url: is not a connection string libpq accepts")) << r.out;
  r = dlrd("check-config --config=" + testing::TempDir());
  EXPECT_TRUE(contains(r.out, "cannot read config file: Is a directory")) << r.out;
}

TEST(cli_endpoints, prints_each_webhook_url_to_paste_with_its_checks) {
  auto file = write_config("endpoints",
                           "listen:\n  address: 127.0.0.1\n  port: 8443\n"
                           "webhooks:\n"
                           "  - profile: smspm\n    path: /dlr/{token}/smspm\n    auth: {token: {values: [\"a/b+c%d\"]}}\n"
                           "  - profile: kannel\n    auth:\n      token: {values: [k1]}\n      ip: {allow: [10.0.0.0/8]}\n"
                           "  - profile: twilio\n    auth: {twilio: {auth_tokens: [t], public_base_url: "
                           "\"https://dlr.example.com\"}}\n"
                           "  - profile: infobip\n    auth: {standard_webhooks: {secrets: "
                           "[\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]}}\n"
                           "api:\n  auth: {bearer: [reader]}\n");
  auto r = dlrd("endpoints --config " + file);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "http://127.0.0.1:8443/dlr/{token}/smspm")) << r.out;
  EXPECT_TRUE(contains(r.out, "token (path)")) << r.out;
  EXPECT_TRUE(contains(r.out, "http://127.0.0.1:8443/webhooks/kannel?token={token}")) << r.out;
  EXPECT_TRUE(contains(r.out, "token (query token), ip allowlist (1)")) << r.out;
  // Twilio signs the URL it called: its public base is the one to paste.
  EXPECT_TRUE(contains(r.out, "https://dlr.example.com/webhooks/twilio ")) << r.out;
  EXPECT_TRUE(contains(r.out, " twilio signature\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "/webhooks/infobip ")) << r.out;
  EXPECT_TRUE(contains(r.out, " standard webhooks signature\n")) << r.out;
  EXPECT_FALSE(contains(r.out, "MfKQ9r8")) << r.out;
  EXPECT_TRUE(contains(r.out, "http://127.0.0.1:8443/v1/... and /dashboard ")) << r.out;
  EXPECT_TRUE(contains(r.out, " bearer\n")) << r.out;
  EXPECT_FALSE(contains(r.out, "a/b+c")) << r.out;  // no secret without --reveal
  EXPECT_FALSE(contains(r.out, "k1")) << r.out;

  r = dlrd("endpoints --reveal --base-url=https://hooks.example.org/ --config=" + file);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "https://hooks.example.org/dlr/a%2Fb%2Bc%25d/smspm")) << r.out;
  EXPECT_TRUE(contains(r.out, "https://hooks.example.org/webhooks/kannel?token=k1")) << r.out;
  EXPECT_TRUE(contains(r.out, "https://hooks.example.org/webhooks/twilio")) << r.out;
  EXPECT_FALSE(contains(r.out, "{token}")) << r.out;

  EXPECT_EQ(dlrd("endpoints --reveal=yes --config " + file).code, 2);
  EXPECT_EQ(dlrd("help endpoints").out, dlrd("endpoints --help").out);
}

}  // namespace
