// The rate rules' fire/resolve decision and its notice, without a database: thresholds,
// minimums, hysteresis, silence, and how a group key becomes the notice's country/provider.
#include <dlrd/alert/rules.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using dlrd::alert::decide;
using dlrd::alert::rate_rule;
using dlrd::alert::rate_threshold;
using dlrd::store::window_counts;

window_counts finals(std::int64_t total, std::int64_t failed, std::int64_t delivered) {
  window_counts c;
  c.total = total;
  c.failed = failed;
  c.delivered = delivered;
  return c;
}

TEST(rule_decision, a_failure_share_fires_above_the_threshold_only_with_enough_messages) {
  rate_rule r;  // failed_share_above 5%, hysteresis 1%, min 100
  EXPECT_FALSE(decide(r, finals(100, 5, 95), false).now_firing);  // 5% is not above 5%
  auto d = decide(r, finals(100, 6, 94), false);
  EXPECT_TRUE(d.now_firing);
  EXPECT_DOUBLE_EQ(d.share, 0.06);
  EXPECT_EQ(d.counted, 6);
  EXPECT_FALSE(decide(r, finals(99, 50, 49), false).now_firing);  // under min_messages
}

TEST(rule_decision, min_failed_lets_a_low_volume_sender_fire_below_min_messages) {
  rate_rule r;  // failed_share_above 5%, min_messages 100
  r.min_failed = 10;
  // 50 messages an hour, every one failed: under min_messages, but 50 failures.
  EXPECT_TRUE(decide(r, finals(50, 50, 0), false).now_firing);
  EXPECT_TRUE(decide(r, finals(40, 10, 30), false).now_firing);   // exactly min_failed
  EXPECT_FALSE(decide(r, finals(40, 9, 31), false).now_firing);   // neither minimum reached
  EXPECT_FALSE(decide(r, finals(300, 10, 290), false).now_firing);  // enough failures, share 3.3% too low
  r.min_failed = 0;  // off: only min_messages
  EXPECT_FALSE(decide(r, finals(50, 50, 0), false).now_firing);
  // A delivery-share rule counts the same failures.
  rate_rule d;
  d.kind = rate_threshold::delivered_share_below;
  d.threshold = 0.85;
  d.min_failed = 10;
  EXPECT_TRUE(decide(d, finals(20, 12, 8), false).now_firing);
  EXPECT_FALSE(decide(d, finals(20, 4, 16), false).now_firing);  // 80% delivered but only 4 failed
}

TEST(rule_decision, a_failure_rule_leaves_policy_expiries_out_unless_it_opts_in) {
  rate_rule r;
  EXPECT_FALSE(dlrd::alert::window_of(r).include_policy_expiry);
  r.include_policy_expiry = true;
  EXPECT_TRUE(dlrd::alert::window_of(r).include_policy_expiry);
}

TEST(rule_decision, a_firing_group_resolves_only_past_the_hysteresis_or_when_the_window_empties) {
  rate_rule r;
  EXPECT_TRUE(decide(r, finals(1000, 45, 955), true).now_firing);   // 4.5%: inside the band
  EXPECT_FALSE(decide(r, finals(1000, 39, 961), true).now_firing);  // 3.9% < 5% - 1%
  EXPECT_FALSE(decide(r, finals(0, 0, 0), true).now_firing);        // nothing left in the window
  EXPECT_TRUE(decide(r, finals(10, 5, 5), true).now_firing);        // minimums gate firing only
}

TEST(rule_decision, a_delivery_share_fires_below_and_resolves_above_the_band) {
  rate_rule r;
  r.kind = rate_threshold::delivered_share_below;
  r.threshold = 0.85;
  r.hysteresis = 0.02;
  auto d = decide(r, finals(200, 40, 160), false);
  EXPECT_TRUE(d.now_firing);
  EXPECT_DOUBLE_EQ(d.share, 0.8);
  EXPECT_TRUE(decide(r, finals(200, 30, 172), true).now_firing);    // 86%: inside the band
  EXPECT_FALSE(decide(r, finals(200, 20, 176), true).now_firing);   // 88% > 87%
}

TEST(rule_decision, coverage_counts_pending_sends_and_silence_counts_reports) {
  rate_rule coverage;
  coverage.kind = rate_threshold::pending_share_above;
  coverage.threshold = 0.3;
  coverage.min_messages = 50;
  window_counts c;
  c.total = 100;
  c.pending = 31;
  auto d = decide(coverage, c, false);
  EXPECT_TRUE(d.now_firing);
  EXPECT_EQ(d.counted, 31);

  rate_rule silence;
  silence.kind = rate_threshold::silent;
  silence.min_messages = 20;
  window_counts quiet;
  quiet.total = 20;
  EXPECT_TRUE(decide(silence, quiet, false).now_firing);
  quiet.total = 19;
  EXPECT_FALSE(decide(silence, quiet, false).now_firing);
  quiet.reports = 1;
  EXPECT_FALSE(decide(silence, quiet, true).now_firing);  // one report resolves it
  EXPECT_DOUBLE_EQ(decide(silence, quiet, true).share, 1.0);
}

TEST(rule_decision, the_notice_splits_the_group_key_into_country_and_provider) {
  rate_rule r;
  r.name = "route";
  r.group_by_country = true;
  r.group_by_provider = true;
  r.sender = "ACME";
  auto fired = decide(r, finals(200, 20, 180), false);
  auto n = dlrd::alert::notice_for(r, "DE/smspm", finals(200, 20, 180), fired);
  EXPECT_TRUE(n.fired);
  EXPECT_EQ(n.country, "DE");
  EXPECT_EQ(n.provider, "smspm");
  EXPECT_EQ(n.sender, "ACME");
  auto details = nlohmann::json::parse(n.details_json);
  EXPECT_EQ(details["group_by"], "country_provider");
  EXPECT_EQ(details["window"], "1h");
  EXPECT_EQ(details["threshold_kind"], "failed_share_above");
  EXPECT_DOUBLE_EQ(details["share"].get<double>(), 0.1);

  // "unknown" (a NULL in the table) becomes no field at all.
  auto unknown = dlrd::alert::notice_for(r, "unknown/unknown", finals(200, 20, 180), fired);
  EXPECT_EQ(unknown.country, "");
  EXPECT_EQ(unknown.provider, "");
}

TEST(rule_decision, each_rule_kind_counts_its_own_window) {
  rate_rule r;
  EXPECT_EQ(dlrd::alert::window_of(r).kind, dlrd::store::window_kind::finals);
  r.kind = rate_threshold::pending_share_above;
  EXPECT_EQ(dlrd::alert::window_of(r).kind, dlrd::store::window_kind::coverage);
  r.kind = rate_threshold::silent;
  r.group_by_provider = true;
  auto q = dlrd::alert::window_of(r);
  EXPECT_EQ(q.kind, dlrd::store::window_kind::silence);
  EXPECT_TRUE(q.by_provider);
}

}  // namespace
