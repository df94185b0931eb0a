// The `status_api`, `expiry` and `retention` sections: defaults, every key, errors with key
// paths; and the long-poll's `wait` parameter.
#include <dlrd/status/config.hpp>

#include <dlrd/status/api.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace std::chrono_literals;

struct sections {
  dlrd::status::status_api_config api;
  dlrd::status::expiry_config expiry;
  dlrd::status::retention_config retention;
};

sections load(const std::string& text) {
  sections out;
  dlrd::config::load_string(text, "test.yaml", [&](dlrd::config::section& root) {
    if (auto s = root.child("status_api")) {
      dlrd::status::parse(*s, out.api);
      s->finish();
    }
    if (auto s = root.child("expiry")) {
      dlrd::status::parse(*s, out.expiry);
      s->finish();
    }
    if (auto s = root.child("retention")) {
      dlrd::status::parse(*s, out.retention);
      s->finish();
    }
  });
  return out;
}

std::string error_of(const std::string& text) {
  try {
    load(text);
  } catch (const dlrd::config::config_error& e) {
    return e.what();
  }
  return "";
}

TEST(status_config, defaults_wait_a_minute_at_most_expire_nothing_and_keep_events_ninety_days) {
  auto c = load("{}\n");
  EXPECT_EQ(c.api.max_wait, 60s);
  EXPECT_EQ(c.api.max_waiters, 10'000u);
  EXPECT_TRUE(c.expiry.rules.empty());
  EXPECT_EQ(c.expiry.interval, 30s);
  EXPECT_EQ(c.expiry.batch, 1000u);
  EXPECT_EQ(c.retention.events_after, std::chrono::hours(24 * 90));
  EXPECT_FALSE(c.retention.sms_logs_after);
  EXPECT_EQ(c.retention.interval, 1h);
  EXPECT_EQ(c.retention.batch, 10'000u);
}

TEST(status_config, every_key_is_read) {
  auto c = load(R"(
status_api: {enabled: false, max_wait: 30s, max_waiters: 5, max_batch: 7, connections: 3, max_queue: 9, history_limit: 0}
expiry:
  interval: 10s
  batch: 50
  rules:
    - name: otp
      match: {tag: otp, sender: ACME, recipient_prefix: "+44", provider: smspm}
      after: 10m
    - name: stale
      after: 2d
retention: {events_after: null, sms_logs_after: 400d, interval: 5m, batch: 100}
)");
  EXPECT_FALSE(c.api.enabled);
  EXPECT_EQ(c.api.max_wait, 30s);
  EXPECT_EQ(c.api.max_waiters, 5u);
  EXPECT_EQ(c.api.max_batch, 7u);
  EXPECT_EQ(c.api.connections, 3);
  EXPECT_EQ(c.api.max_queue, 9u);
  EXPECT_EQ(c.api.history_limit, 0u);
  EXPECT_EQ(c.expiry.interval, 10s);
  EXPECT_EQ(c.expiry.batch, 50u);
  ASSERT_EQ(c.expiry.rules.size(), 2u);
  const auto& otp = c.expiry.rules[0];
  EXPECT_EQ(otp.name, "otp");
  EXPECT_EQ(otp.tag, "otp");
  EXPECT_EQ(otp.sender, "ACME");
  EXPECT_EQ(otp.recipient_prefix, "+44");
  EXPECT_EQ(otp.provider, "smspm");
  EXPECT_EQ(otp.after, 10min);
  EXPECT_FALSE(c.expiry.rules[1].tag);
  EXPECT_EQ(c.expiry.rules[1].after, std::chrono::hours(48));
  EXPECT_FALSE(c.retention.events_after);
  EXPECT_EQ(c.retention.sms_logs_after, std::chrono::hours(24 * 400));
  EXPECT_EQ(c.retention.interval, 5min);
  EXPECT_EQ(c.retention.batch, 100u);
}

TEST(status_config, errors_name_their_key_paths) {
  auto e = error_of("expiry:\n  rules:\n    - {name: otp, after: 10m}\n    - {name: otp, after: 1h}\n");
  EXPECT_NE(e.find("expiry.rules[1].name: duplicate rule name 'otp'"), std::string::npos) << e;
  e = error_of("expiry:\n  rules:\n    - {name: otp}\n");
  EXPECT_NE(e.find("expiry.rules[0].after: required"), std::string::npos) << e;
  e = error_of("expiry:\n  rules:\n    - {name: otp, after: 10m, match: {country: GB}}\n");
  EXPECT_NE(e.find("expiry.rules[0].match.country: unknown key"), std::string::npos) << e;
  e = error_of("retention: {events_after: soon}\n");
  EXPECT_NE(e.find("retention.events_after: expected a duration"), std::string::npos) << e;
  e = error_of("status_api: {max_wait: forever}\n");
  EXPECT_NE(e.find("status_api.max_wait"), std::string::npos) << e;
}

TEST(status_wait, durations_are_parsed_and_capped_at_the_maximum) {
  EXPECT_EQ(dlrd::status::parse_wait("30s", 60s), 30s);
  EXPECT_EQ(dlrd::status::parse_wait("250ms", 60s), 250ms);
  EXPECT_EQ(dlrd::status::parse_wait("20", 60s), 20s);
  EXPECT_EQ(dlrd::status::parse_wait("5m", 60s), 60s);
  EXPECT_EQ(dlrd::status::parse_wait("0", 60s), 0s);
  for (const char* bad : {"", "soon", "-1s", "10parsecs", "nan"}) {
    EXPECT_FALSE(dlrd::status::parse_wait(bad, 60s)) << bad;
  }
}

}  // namespace
