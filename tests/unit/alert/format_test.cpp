// Notice formats: webhook JSON schema, Slack escaping, digest text, log fields, backoff bounds.
#include <dlrd/alert/format.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using dlrd::alert::backoff;
using dlrd::alert::retry_config;
using dlrd::store::notice;
using nlohmann::json;
using std::chrono::milliseconds;

notice failed(std::int64_t id, std::string status, std::optional<std::string> country) {
  notice n;
  n.id = id;
  n.kind = "message_failed";
  n.message_id = "m" + std::to_string(id);
  n.status = std::move(status);
  n.raw_status = "UNDELIV";
  n.error_code = "34";
  n.recipient = "+4915112345678";
  n.country = std::move(country);
  n.provider = "smspm";
  n.status_at = "2024-05-01T12:00:00.000000Z";
  n.noticed_at = "2024-05-01T12:00:01.000000Z";
  return n;
}

notice rule_notice(std::string kind, std::string details) {
  notice n;
  n.id = 9;
  n.kind = std::move(kind);
  n.country = "GB";
  n.noticed_at = "2024-05-01T12:00:01.000000Z";
  n.details = std::move(details);
  return n;
}

constexpr const char* fired_details =
    R"({"rule":"failure-rate","group_key":"GB","window":"1h","window_seconds":3600,)"
    R"("threshold_kind":"failed_share_above","threshold":0.05,"hysteresis":0.01,"min_messages":100,)"
    R"("failed_statuses":["undelivered","rejected","expired"],"failed":60,"delivered":940,"total":1000,"share":0.06})";

TEST(alert_format, a_rate_rule_notice_says_which_rule_fired_and_its_figures_in_every_sink) {
  auto n = rule_notice("rate_rule_fired", fired_details);
  EXPECT_TRUE(dlrd::alert::is_rule_notice(n));
  EXPECT_FALSE(dlrd::alert::is_rule_notice(failed(1, "undelivered", "DE")));
  EXPECT_EQ(dlrd::alert::rule_text(n),
            "Rate rule failure-rate fired for GB: 6.00% failed (60 of 1000 final messages in 1h; fires above 5.00%)");

  auto j = json::parse(dlrd::alert::webhook_json(n));
  EXPECT_EQ(j["type"], "rate_rule_fired");
  EXPECT_EQ(j["notice_id"], 9);
  EXPECT_EQ(j["rule"], "failure-rate");
  EXPECT_EQ(j["group_key"], "GB");
  EXPECT_DOUBLE_EQ(j["share"].get<double>(), 0.06);
  EXPECT_EQ(j["total"], 1000);
  EXPECT_EQ(j["noticed_at"], "2024-05-01T12:00:01.000000Z");
  EXPECT_FALSE(j.contains("message_id"));

  auto slack = json::parse(dlrd::alert::slack_json(n));
  EXPECT_EQ(slack["text"], dlrd::alert::rule_text(n));
  auto log = dlrd::alert::log_fields(n);
  EXPECT_NE(log.find(R"(kind="rate_rule_fired")"), std::string::npos) << log;
  EXPECT_NE(log.find("fired for GB"), std::string::npos) << log;

  auto resolved = rule_notice("rate_rule_resolved",
                              R"({"rule":"country-delivery","group_key":"FR","window":"1h",)"
                              R"("threshold_kind":"delivered_share_below","threshold":0.85,)"
                              R"("failed":10,"delivered":190,"total":200,"share":0.95})");
  resolved.sender = "ACME";
  EXPECT_EQ(dlrd::alert::rule_text(resolved),
            "Rate rule country-delivery resolved for FR: 95.00% delivered (190 of 200 final messages in 1h; "
            "fires below 85.00%), sender ACME");
  // Broken or missing details still give a readable line, never an exception.
  EXPECT_EQ(dlrd::alert::rule_text(rule_notice("rate_rule_fired", "not json")),
            "Rate rule  fired: 0.00% failed (? of ? final messages in ; fires above 0.00%)");
}

TEST(alert_format, coverage_and_silence_notices_say_what_is_missing) {
  auto coverage = rule_notice(
      "rate_rule_fired",
      R"({"rule":"country-coverage","group_key":"VN","window":"6h","grace":"15m","threshold_kind":"pending_share_above",)"
      R"("threshold":0.3,"pending":60,"total":60,"share":1.0})");
  EXPECT_EQ(dlrd::alert::rule_text(coverage),
            "Rate rule country-coverage fired for VN: 100.00% still without a final report (60 of 60 messages sent "
            "6h to 15m ago; fires above 30.00%)");
  auto silent = rule_notice("rate_rule_fired",
                            R"({"rule":"gateway-silence","group_key":"smspm","window":"30m","threshold_kind":"silent_for",)"
                            R"("total":30,"reports":0,"share":0})");
  EXPECT_EQ(dlrd::alert::rule_text(silent),
            "Rate rule gateway-silence fired for smspm: no report accepted in 30m while 30 message(s) were sent");
  silent.kind = "rate_rule_resolved";
  silent.details = R"({"rule":"gateway-silence","group_key":"smspm","window":"30m","threshold_kind":"silent_for",)"
                   R"("total":30,"reports":1,"share":1})";
  EXPECT_EQ(dlrd::alert::rule_text(silent),
            "Rate rule gateway-silence resolved for smspm: reports arrive again (1 in the last 30m)");
}

TEST(alert_format, a_quarantined_callback_is_noticed_with_its_profile_reason_and_row) {
  auto n = rule_notice("payload_quarantined", R"({"quarantine_id":12,"reason":"missing field","field":"messageId"})");
  n.provider = "smspm";
  n.status = "quarantined";
  n.country.reset();
  n.status_at = "2024-05-01T12:00:00.000000Z";
  EXPECT_TRUE(dlrd::alert::is_quarantine_notice(n));
  EXPECT_FALSE(dlrd::alert::is_rule_notice(n));
  EXPECT_EQ(dlrd::alert::quarantine_text(n),
            "Callback for profile smspm quarantined: missing field [messageId] (dlrd quarantine list --id 12)");
  auto j = json::parse(dlrd::alert::webhook_json(n));
  EXPECT_EQ(j["type"], "payload_quarantined");
  EXPECT_EQ(j["quarantine_id"], 12);
  EXPECT_EQ(j["provider"], "smspm");
  EXPECT_EQ(j["reason"], "missing field");
  EXPECT_EQ(j["field"], "messageId");
  EXPECT_EQ(j["received_at"], "2024-05-01T12:00:00.000000Z");
  EXPECT_EQ(json::parse(dlrd::alert::slack_json(n))["text"], dlrd::alert::quarantine_text(n));
  // In a digest they count under their own name.
  auto d = dlrd::alert::make_digest(std::vector<notice>{n, failed(1, "undelivered", "DE")});
  // A quarantined callback is no failed message: the digest's head says "notices".
  EXPECT_EQ(dlrd::alert::digest_text(d), "2 more notices: 1 quarantined, 1 undelivered; top countries: DE 1");
  EXPECT_EQ(dlrd::alert::digest_text(dlrd::alert::make_digest(std::vector<notice>{n})), "1 more notice: 1 quarantined");
}

TEST(alert_format, a_policy_expiry_is_its_own_kind_in_every_sink_and_the_digest) {
  auto n = failed(5, "expired", "GB");
  n.kind = "message_expired_by_policy";
  n.raw_status = "dlrd:expired:otp";
  n.error_code.reset();
  n.recipient = "+447700900123";
  n.details = R"({"rule":"otp"})";
  EXPECT_TRUE(dlrd::alert::is_policy_expiry_notice(n));
  EXPECT_FALSE(dlrd::alert::is_policy_expiry_notice(failed(1, "expired", "GB")));
  const std::string text =
      "SMS m5 expired by dlrd's expiry rule otp: no final report from the carrier yet (it may still deliver), "
      "to +447700900123 [GB], via smspm, at 2024-05-01T12:00:00.000000Z";
  EXPECT_EQ(dlrd::alert::policy_expiry_text(n), text);

  auto j = json::parse(dlrd::alert::webhook_json(n));
  EXPECT_EQ(j["type"], "message_expired_by_policy");
  EXPECT_EQ(j["notice_id"], 5);
  EXPECT_EQ(j["message_id"], "m5");
  EXPECT_EQ(j["status"], "expired");
  EXPECT_EQ(j["expired_by"], "policy");
  EXPECT_EQ(j["rule"], "otp");
  EXPECT_EQ(j["raw_status"], "dlrd:expired:otp");
  EXPECT_EQ(j["provider"], "smspm");
  EXPECT_EQ(j["text"], text);
  EXPECT_FALSE(j.contains("error_code"));

  EXPECT_EQ(json::parse(dlrd::alert::slack_json(n))["text"], text);
  auto log = dlrd::alert::log_fields(n);
  EXPECT_NE(log.find(R"(kind="message_expired_by_policy" rule="otp" message_id="m5" status="expired")"),
            std::string::npos)
      << log;
  // A failure notice's log line stays as it was: no kind field.
  EXPECT_EQ(dlrd::alert::log_fields(failed(1, "expired", "GB")).find("kind="), std::string::npos);

  auto d = dlrd::alert::make_digest(std::vector<notice>{n, failed(1, "expired", "GB")});
  EXPECT_EQ(dlrd::alert::digest_text(d), "2 more failures: 1 expired, 1 expired_by_policy; top countries: GB 2");
  EXPECT_EQ(json::parse(dlrd::alert::webhook_json(d))["by_status"]["expired_by_policy"], 1);
}

TEST(alert_format, webhook_json_carries_the_documented_fields) {
  auto j = json::parse(dlrd::alert::webhook_json(failed(7, "undelivered", "DE")));
  EXPECT_EQ(j["type"], "message_failed");
  EXPECT_EQ(j["notice_id"], 7);
  EXPECT_EQ(j["message_id"], "m7");
  EXPECT_EQ(j["status"], "undelivered");
  EXPECT_EQ(j["raw_status"], "UNDELIV");
  EXPECT_EQ(j["error_code"], "34");
  EXPECT_EQ(j["recipient"], "+4915112345678");
  EXPECT_EQ(j["country"], "DE");
  EXPECT_EQ(j["provider"], "smspm");
  EXPECT_EQ(j["status_at"], "2024-05-01T12:00:00.000000Z");
  EXPECT_EQ(j["noticed_at"], "2024-05-01T12:00:01.000000Z");
  EXPECT_TRUE(json::parse(dlrd::alert::webhook_json(failed(8, "rejected", std::nullopt)))["country"].is_null());
}

TEST(alert_format, slack_escaping_replaces_only_ampersand_and_angle_brackets) {
  EXPECT_EQ(dlrd::alert::slack_escape("a & b <@U123> <!channel> <https://x|y> *bold*"),
            "a &amp; b &lt;@U123&gt; &lt;!channel&gt; &lt;https://x|y&gt; *bold*");
  EXPECT_EQ(dlrd::alert::slack_escape("&amp;"), "&amp;amp;");
}

TEST(alert_format, slack_payload_is_valid_json_whose_fields_cannot_mention_or_link) {
  auto n = failed(1, "undelivered", "DE");
  n.message_id = "<!channel> \"quoted\"\n<https://evil.example|click>";
  n.raw_status = "<@U0001>";
  auto j = json::parse(dlrd::alert::slack_json(n));
  ASSERT_TRUE(j["text"].is_string());
  auto text = j["text"].get<std::string>();
  EXPECT_EQ(text.find('<'), std::string::npos);
  EXPECT_EQ(text.find('>'), std::string::npos);
  EXPECT_NE(text.find("&lt;!channel&gt; \"quoted\"\n&lt;https://evil.example|click&gt;"), std::string::npos);
  EXPECT_NE(text.find("&lt;@U0001&gt;"), std::string::npos);
  EXPECT_EQ(j.size(), 1u);
}

TEST(alert_format, digest_text_counts_statuses_and_top_countries) {
  std::vector<notice> ns;
  for (int i = 0; i < 30; ++i) ns.push_back(failed(i, "undelivered", i < 20 ? "DE" : (i < 29 ? "FR" : "GB")));
  for (int i = 30; i < 37; ++i) ns.push_back(failed(i, "rejected", std::nullopt));
  auto d = dlrd::alert::make_digest(ns);
  EXPECT_EQ(d.count, 37u);
  EXPECT_EQ(d.notice_ids.size(), 37u);
  EXPECT_EQ(dlrd::alert::digest_text(d), "37 more failures: 30 undelivered, 7 rejected; top countries: DE 20, FR 9, GB 1");
  auto j = json::parse(dlrd::alert::webhook_json(d));
  EXPECT_EQ(j["type"], "digest");
  EXPECT_EQ(j["count"], 37);
  EXPECT_EQ(j["by_status"]["undelivered"], 30);
  EXPECT_EQ(j["top_countries"][0]["country"], "DE");
  EXPECT_EQ(j["top_countries"][0]["count"], 20);
}

TEST(alert_format, digest_text_without_countries_omits_them) {
  std::vector<notice> ns{failed(1, "expired", std::nullopt)};
  EXPECT_EQ(dlrd::alert::digest_text(dlrd::alert::make_digest(ns)), "1 more failure: 1 expired");
}

TEST(alert_format, log_fields_quote_values_so_no_field_can_forge_another) {
  auto n = failed(3, "undelivered", "DE");
  n.message_id = "x\" status=delivered\nforged=1";
  auto line = dlrd::alert::log_fields(n);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("message_id=\"x\\\" status=delivered\\nforged=1\""), std::string::npos);
}

TEST(alert_format, backoff_doubles_from_initial_with_jitter_and_stays_under_the_cap) {
  retry_config r;  // 5s initial, 10m cap
  std::mt19937_64 rng(42);
  for (int attempts = 1; attempts <= 40; ++attempts) {
    auto base = milliseconds{5000};
    for (int i = 1; i < attempts && base < r.max; ++i) base *= 2;
    base = std::min(base, r.max);
    for (int k = 0; k < 50; ++k) {
      auto d = backoff(r, attempts, rng);
      EXPECT_GE(d, base / 2) << attempts;
      EXPECT_LE(d, base) << attempts;
    }
  }
  EXPECT_LE(backoff(r, 1, rng), milliseconds{5000});
  EXPECT_GE(backoff(r, 30, rng), milliseconds{300'000});
  EXPECT_LE(backoff(r, 1000, rng), milliseconds{600'000});
}

}  // namespace
