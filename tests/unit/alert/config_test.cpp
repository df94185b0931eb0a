// The `alerts` config section: defaults, sinks, and errors that name their key path.
#include <dlrd/alert/config.hpp>

#include <dlrd/alert/rules.hpp>

#include <gtest/gtest.h>

#include <fstream>

namespace {

using dlrd::alert::alert_config;

alert_config load(const std::string& yaml) {
  alert_config out;
  dlrd::config::load_string(yaml, "test.yaml", [&](dlrd::config::section& root) {
    if (auto s = root.child("alerts")) {
      parse(*s, out);
      s->finish();
    }
    root.finish();
  });
  return out;
}

std::string error_of(const std::string& yaml) {
  try {
    load(yaml);
  } catch (const dlrd::config::config_error& e) {
    return e.what();
  }
  return "";
}

TEST(alert_config, defaults_are_the_documented_ones) {
  auto c = load("alerts: {}\n");
  EXPECT_EQ(c.failed_statuses, (std::vector<std::string>{"undelivered", "rejected", "expired"}));
  EXPECT_EQ(c.max_age, std::chrono::hours(1));
  EXPECT_EQ(c.poll_interval, std::chrono::seconds(1));
  EXPECT_EQ(c.retry.initial, std::chrono::seconds(5));
  EXPECT_EQ(c.retry.max, std::chrono::minutes(10));
  ASSERT_EQ(c.sinks.size(), 1u);
  EXPECT_EQ(c.sinks[0].type, "log");
  EXPECT_EQ(c.sinks[0].max_per_minute, 60);
}

TEST(alert_config, sinks_with_headers_tokens_and_limits_are_read) {
  ::setenv("DLRD_TEST_HOOK_TOKEN", "s3cret", 1);
  auto c = load(R"(alerts:
  failed_statuses: [undelivered, rejected]
  max_age: 30m
  retry: {initial: 1s, max: 1m}
  sinks:
    - name: ops
      type: webhook
      url: https://alerts.example.com/dlr
      headers: {X-Team: sms}
      bearer_token: ${DLRD_TEST_HOOK_TOKEN}
      max_per_minute: 10
      connect_timeout: 2s
      timeout: 5s
    - name: chat
      type: slack
      url: https://hooks.slack.com/services/T/B/x
)");
  EXPECT_EQ(c.failed_statuses.size(), 2u);
  EXPECT_EQ(c.max_age, std::chrono::minutes(30));
  EXPECT_EQ(c.retry.max, std::chrono::minutes(1));
  ASSERT_EQ(c.sinks.size(), 2u);
  EXPECT_EQ(c.sinks[0].headers, (std::vector<std::pair<std::string, std::string>>{{"X-Team", "sms"}}));
  EXPECT_EQ(c.sinks[0].bearer_token, "s3cret");
  EXPECT_EQ(c.sinks[0].max_per_minute, 10);
  EXPECT_EQ(c.sinks[0].timeout, std::chrono::seconds(5));
  EXPECT_EQ(c.sinks[1].type, "slack");
  EXPECT_TRUE(load("alerts: {sinks: []}\n").sinks.empty());
}

TEST(alert_config, errors_name_the_key_path) {
  EXPECT_NE(error_of("alerts:\n  sinks:\n    - {name: a, type: webhook}\n").find("alerts.sinks[0].url: required"),
            std::string::npos);
  EXPECT_NE(error_of("alerts:\n  sinks:\n    - {name: a, type: webhook, url: 'ftp://x/'}\n")
                .find("alerts.sinks[0].url: unsupported URL scheme 'ftp'"),
            std::string::npos);
  EXPECT_NE(error_of("alerts:\n  sinks:\n    - {name: a, type: pager}\n").find("alerts.sinks[0].type: must be one of"),
            std::string::npos);
  EXPECT_NE(error_of("alerts:\n  sinks:\n    - {type: log}\n").find("alerts.sinks[0].name: required"),
            std::string::npos);
  EXPECT_NE(error_of("alerts:\n  sinks:\n    - {name: a, type: log}\n    - {name: a, type: log}\n")
                .find("alerts.sinks[1].name: duplicate sink name 'a'"),
            std::string::npos);
  EXPECT_NE(error_of("alerts:\n  sinks:\n    - {name: a, type: log, url: 'https://x/'}\n")
                .find("alerts.sinks[0].url: only for webhook and slack sinks"),
            std::string::npos);
  EXPECT_NE(error_of("alerts:\n  sinks:\n    - {name: a, type: log, bogus: 1}\n").find("alerts.sinks[0].bogus: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of("alerts:\n  sinks:\n    - {name: a, type: webhook, url: 'https://x/', max_per_minute: 0}\n")
                .find("alerts.sinks[0].max_per_minute: must be between"),
            std::string::npos);
  EXPECT_NE(error_of("alerts:\n  failed_statuses: [delivered]\n").find("alerts.failed_statuses: must list only"),
            std::string::npos);
  EXPECT_NE(error_of("alerts:\n  retry: {initial: 1m, max: 1s}\n").find("alerts.retry.max: must be at least"),
            std::string::npos);
  EXPECT_NE(error_of("alerts:\n  sinks: {name: a}\n").find("alerts.sinks: expected a list of mappings"),
            std::string::npos);
  EXPECT_NE(error_of("alerts:\n  sinks:\n    - {name: a, type: slack, url: 'https://x/', bearer_token: t}\n")
                .find("alerts.sinks[0].bearer_token"),
            std::string::npos);
  EXPECT_NE(error_of("alerts:\n  bogus: 1\n").find("alerts.bogus: unknown key"), std::string::npos);
}

}  // namespace

namespace {

TEST(alert_config, the_reference_config_shows_every_key_at_its_default) {
  // Only the `alerts` block: the other sections belong to other modules.
  std::ifstream in(DLRD_SOURCE_DIR "/config/dlrd.reference.yaml");
  std::string line, block;
  bool inside = false;
  while (std::getline(in, line)) {
    bool top_level = !line.empty() && line[0] != ' ' && line[0] != '#';
    if (top_level) inside = line.starts_with("alerts:");
    if (inside) block += line + "\n";
  }
  ASSERT_FALSE(block.empty());
  alert_config parsed;
  parsed.sinks.clear();
  std::vector<dlrd::alert::rate_rule> rules;
  dlrd::config::load_string(block, "dlrd.reference.yaml", [&](dlrd::config::section& root) {
    auto s = root.child("alerts");
    ASSERT_TRUE(s.has_value());
    parse(*s, parsed);
    dlrd::alert::parse_rules(*s, rules);  // alerts.rules belongs to the rule evaluator
    s->finish();
  });
  EXPECT_EQ(parsed, alert_config{});
  EXPECT_EQ(rules, dlrd::alert::default_rate_rules());
}

}  // namespace
