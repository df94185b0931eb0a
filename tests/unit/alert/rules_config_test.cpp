// The `alerts.rules` config: defaults, every key of an entry, and errors with key paths.
#include <dlrd/alert/rules.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

using dlrd::alert::rate_rule;
using dlrd::alert::rate_threshold;

/// Loads `text` and returns the rules (starting from the defaults, as the app does).
std::vector<rate_rule> load(const std::string& text) {
  std::vector<rate_rule> rules = dlrd::alert::default_rate_rules();
  dlrd::config::load_string(text, "test.yaml", [&](dlrd::config::section& root) {
    if (auto a = root.child("alerts")) {
      dlrd::alert::parse_rules(*a, rules);
      a->finish();
    }
  });
  return rules;
}

/// The error text a config throws, or "" when it loads.
std::string error_of(const std::string& text) {
  try {
    load(text);
  } catch (const dlrd::config::config_error& e) {
    return e.what();
  }
  return "";
}

TEST(rules_config, defaults_are_the_seed_rules) {
  auto rules = load("alerts: {}\n");
  ASSERT_GE(rules.size(), 2u);
  EXPECT_EQ(rules[0].name, "failure-rate");
  EXPECT_EQ(rules[0].kind, rate_threshold::failed_share_above);
  EXPECT_DOUBLE_EQ(rules[0].threshold, 0.05);
  EXPECT_EQ(rules[0].window, std::chrono::hours(1));
  EXPECT_FALSE(rules[0].group_by_country);
  EXPECT_EQ(rules[1].name, "country-delivery");
  EXPECT_EQ(rules[1].kind, rate_threshold::delivered_share_below);
  EXPECT_DOUBLE_EQ(rules[1].threshold, 0.85);
  EXPECT_TRUE(rules[1].group_by_country);
  EXPECT_EQ(rules[1].min_messages, 100);
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_EQ(rules[2].name, "country-coverage");
  EXPECT_EQ(rules[2].kind, rate_threshold::pending_share_above);
  EXPECT_EQ(rules[2].window, std::chrono::hours(6));
  EXPECT_EQ(rules[2].grace, std::chrono::minutes(15));
  EXPECT_TRUE(rules[2].group_by_country);
  EXPECT_EQ(rules[3].name, "gateway-silence");
  EXPECT_EQ(rules[3].kind, rate_threshold::silent);
  EXPECT_EQ(rules[3].window, std::chrono::minutes(30));
  EXPECT_TRUE(rules[3].group_by_provider);
}

TEST(rules_config, coverage_and_silence_rules_read_their_keys) {
  auto rules = load("alerts:\n  rules:\n"
                    "    - {name: cov, pending_share_above: 40%, window: 2h, grace: 10m, group_by: country_provider,"
                    " min_messages: 5}\n"
                    "    - {name: quiet, silent_for: 20m, group_by: provider, min_messages: 0}\n");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].kind, rate_threshold::pending_share_above);
  EXPECT_DOUBLE_EQ(rules[0].threshold, 0.40);
  EXPECT_EQ(rules[0].grace, std::chrono::minutes(10));
  EXPECT_TRUE(rules[0].group_by_country);
  EXPECT_TRUE(rules[0].group_by_provider);
  EXPECT_EQ(rules[1].kind, rate_threshold::silent);
  EXPECT_EQ(rules[1].window, std::chrono::minutes(20));
  EXPECT_EQ(rules[1].min_messages, 0);
  EXPECT_NE(error_of("alerts:\n  rules:\n    - {name: q, silent_for: 20m, group_by: country}\n")
                .find("alerts.rules[0].group_by"), std::string::npos);
  EXPECT_NE(error_of("alerts:\n  rules:\n    - {name: c, pending_share_above: 0.3, window: 10m, grace: 15m}\n")
                .find("alerts.rules[0].grace"), std::string::npos);
  EXPECT_NE(error_of("alerts:\n  rules:\n    - {name: c, pending_share_above: 0.3, silent_for: 1h}\n")
                .find("set one of"), std::string::npos);
}

TEST(rules_config, an_empty_list_means_no_rules) { EXPECT_TRUE(load("alerts:\n  rules: []\n").empty()); }

TEST(rules_config, every_key_is_read) {
  auto rules = load(R"yaml(
alerts:
  rules:
    - name: smspm-gb
      window: 30m
      failed_statuses: [undelivered, rejected]
      failed_share_above: 2%
      min_messages: 50
      group_by: country
      filters: {provider: smspm, sender: ACME}
      hysteresis: 0.005
      interval: 30s
    - name: delivery
      delivered_share_below: 0.9
)yaml");
  ASSERT_EQ(rules.size(), 2u);
  const auto& r = rules[0];
  EXPECT_EQ(r.name, "smspm-gb");
  EXPECT_EQ(r.window, std::chrono::minutes(30));
  EXPECT_EQ(r.failed_statuses, (std::vector<std::string>{"undelivered", "rejected"}));
  EXPECT_EQ(r.kind, rate_threshold::failed_share_above);
  EXPECT_DOUBLE_EQ(r.threshold, 0.02);
  EXPECT_EQ(r.min_messages, 50);
  EXPECT_TRUE(r.group_by_country);
  EXPECT_EQ(r.provider, "smspm");
  EXPECT_EQ(r.sender, "ACME");
  EXPECT_DOUBLE_EQ(r.hysteresis, 0.005);
  EXPECT_EQ(r.interval, std::chrono::seconds(30));

  const auto& d = rules[1];
  EXPECT_EQ(d.kind, rate_threshold::delivered_share_below);
  EXPECT_DOUBLE_EQ(d.threshold, 0.9);
  EXPECT_EQ(d.window, std::chrono::hours(1));
  EXPECT_EQ(d.min_messages, 100);
  EXPECT_FALSE(d.group_by_country);
  EXPECT_FALSE(d.provider.has_value());
  EXPECT_DOUBLE_EQ(d.hysteresis, 0.01);
  EXPECT_EQ(d.interval, std::chrono::minutes(1));
  EXPECT_EQ(d.failed_statuses, (std::vector<std::string>{"undelivered", "rejected", "expired"}));
}

TEST(rules_config, both_thresholds_is_an_error) {
  auto e = error_of("alerts:\n  rules:\n    - name: a\n      failed_share_above: 0.1\n      delivered_share_below: 0.8\n");
  EXPECT_NE(e.find("test.yaml:5: alerts.rules[0].delivered_share_below: set one of"), std::string::npos) << e;
}

TEST(rules_config, min_failed_and_include_policy_expiry_are_read_for_failure_rules_only) {
  auto rules = load("alerts:\n  rules:\n    - {name: low, failed_share_above: 0.2, min_failed: 10, "
                    "include_policy_expiry: true}\n");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].min_failed, 10);
  EXPECT_TRUE(rules[0].include_policy_expiry);
  EXPECT_EQ(dlrd::alert::default_rate_rules()[0].min_failed, 0);
  EXPECT_FALSE(dlrd::alert::default_rate_rules()[0].include_policy_expiry);
  auto e = error_of("alerts:\n  rules:\n    - {name: c, pending_share_above: 0.3, min_failed: 5}\n");
  EXPECT_NE(e.find("alerts.rules[0].min_failed: applies to failed_share_above and delivered_share_below"),
            std::string::npos)
      << e;
}

TEST(rules_config, a_missing_threshold_is_an_error) {
  auto e = error_of("alerts:\n  rules:\n    - name: a\n      window: 1h\n");
  EXPECT_NE(e.find("alerts.rules[0].failed_share_above: a threshold is required"), std::string::npos) << e;
}

TEST(rules_config, a_share_outside_zero_to_one_is_an_error) {
  auto e = error_of("alerts:\n  rules:\n    - name: a\n      failed_share_above: 1.5\n");
  EXPECT_NE(e.find("test.yaml:4: alerts.rules[0].failed_share_above: expected a share between 0 and 1"),
            std::string::npos)
      << e;
  e = error_of("alerts:\n  rules:\n    - name: a\n      delivered_share_below: lots\n");
  EXPECT_NE(e.find("alerts.rules[0].delivered_share_below: expected a share"), std::string::npos) << e;
  e = error_of("alerts:\n  rules:\n    - name: a\n      failed_share_above: 0.1\n      hysteresis: -0.1\n");
  EXPECT_NE(e.find("alerts.rules[0].hysteresis: expected a share"), std::string::npos) << e;
}

TEST(rules_config, an_unknown_group_by_is_an_error) {
  auto e = error_of("alerts:\n  rules:\n    - name: a\n      failed_share_above: 0.1\n      group_by: sender\n");
  EXPECT_NE(e.find("test.yaml:5: alerts.rules[0].group_by: must be one of none, country, provider, country_provider, "
                   "got 'sender'"),
            std::string::npos)
      << e;
}

TEST(rules_config, entry_errors_name_their_key_path) {
  auto e = error_of(R"yaml(
alerts:
  rules:
    - name: a
      failed_share_above: 0.1
    - name: a
      failed_share_above: 0.1
      window: soon
      failed_statuses: [pending]
      filters: {country: GB}
      colour: red
    - failed_share_above: 0.1
)yaml");
  EXPECT_NE(e.find("alerts.rules[1].name: duplicate rule name 'a'"), std::string::npos) << e;
  EXPECT_NE(e.find("alerts.rules[1].window: expected a duration"), std::string::npos) << e;
  EXPECT_NE(e.find("alerts.rules[1].failed_statuses: 'pending' is not a failed final status"), std::string::npos) << e;
  EXPECT_NE(e.find("alerts.rules[1].filters.country: unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("alerts.rules[1].colour: unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("alerts.rules[2].name: required"), std::string::npos) << e;
}

TEST(rules_config, rules_must_be_a_list_of_mappings) {
  auto e = error_of("alerts:\n  rules: {name: a}\n");
  EXPECT_NE(e.find("alerts.rules: expected a list"), std::string::npos) << e;
  e = error_of("alerts:\n  rules:\n    - just a string\n");
  EXPECT_NE(e.find("alerts.rules[0]: expected a mapping"), std::string::npos) << e;
}

TEST(rules_config, a_hysteresis_that_never_resolves_is_an_error) {
  auto e = error_of("alerts:\n  rules:\n    - name: a\n      failed_share_above: 0.01\n      hysteresis: 0.02\n");
  EXPECT_NE(e.find("alerts.rules[0].hysteresis: too large"), std::string::npos) << e;
}

}  // namespace
