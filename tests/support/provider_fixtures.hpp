// Provider fixtures: raw HTTP request files under tests/fixtures/<provider>/, and what each
// one must decode to. Shared by the decode unit test and the end-to-end profile test.
#pragma once

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlrd::test {

/// One recorded request: the request line, headers and body of a `*.http` file.
struct http_fixture {
  std::string method;
  std::string target;  ///< as in the file: path and query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::string path() const { return target.substr(0, target.find('?')); }
  std::string query() const {
    auto q = target.find('?');
    return q == std::string::npos ? std::string() : target.substr(q + 1);
  }
  /// The header's value (name compared case-insensitively); empty when absent.
  std::string header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          })) {
        return v;
      }
    }
    return {};
  }
  /// "application/x-www-form-urlencoded; charset=utf-8" → "application/x-www-form-urlencoded"
  std::string media_type() const {
    auto t = header("Content-Type");
    t = t.substr(0, t.find(';'));
    while (!t.empty() && t.back() == ' ') t.pop_back();
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return t;
  }
};

inline std::string fixtures_dir() { return std::string(DLRD_SOURCE_DIR) + "/tests/fixtures"; }

/// Reads `<provider>/<file>`; line ends may be \r\n or \n. The file's last line end is not
/// part of the body. Throws when the file is missing or has no request line.
inline http_fixture load_http_fixture(const std::string& relative) {
  std::ifstream in(fixtures_dir() + "/" + relative, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + relative);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  std::string normal;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    normal.push_back(text[i]);
  }
  http_fixture f;
  std::size_t pos = 0;
  auto next_line = [&]() {
    auto nl = normal.find('\n', pos);
    std::string line = normal.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? normal.size() : nl + 1;
    return line;
  };
  std::istringstream request_line(next_line());
  std::string version;
  request_line >> f.method >> f.target >> version;
  if (f.method.empty() || f.target.empty() || !version.starts_with("HTTP/")) {
    throw std::runtime_error("fixture " + relative + " has no request line");
  }
  while (pos < normal.size()) {
    auto line = next_line();
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string::npos) throw std::runtime_error("fixture " + relative + ": bad header " + line);
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    f.headers.emplace_back(line.substr(0, colon), value);
  }
  f.body = normal.substr(pos);
  while (!f.body.empty() && f.body.back() == '\n') f.body.pop_back();
  return f;
}

/// The `*.http` files of one provider directory, sorted.
inline std::vector<std::string> http_fixture_files(const std::string& provider) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(fixtures_dir() + "/" + provider)) {
    if (e.path().extension() == ".http") out.push_back(provider + "/" + e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// One report a fixture must yield, as the gateway's documentation says it means.
struct expected_report {
  std::string message_id;
  std::string status;  ///< canonical
  std::string raw_status;
  std::optional<std::string> recipient;
  std::optional<std::string> sender;
  std::optional<std::string> error_code;
  std::optional<std::string> event_at;  ///< RFC 3339 UTC; std::nullopt: the time it was received
  std::optional<std::string> cost;      ///< decimal text as decoded
  std::optional<int> parts;
  /// The zone-less carrier time as the gateway wrote it, kept in history (dlr_events.carrier_time).
  std::optional<std::string> carrier_time = {};
};

struct fixture_case {
  std::string profile;
  std::string file;  ///< "<provider>/<name>.http"
  std::vector<expected_report> reports;
  /// Events the profile ignores (not delivery reports), by reason: answered, never stored.
  std::vector<std::string> ignored = {};
};

/// Every provider fixture file with its expected reports. A fixture without an entry here
/// fails the tests (they list the directories).
inline const std::vector<fixture_case>& fixture_cases() {
  static const std::vector<fixture_case> cases = {
      {"twilio", "twilio/delivered.http",
       {{"SM1342fe1b2c904d1ab04f0fc7a58abca9", "delivered", "delivered", "+15558675310", "+15017122661", {}, {}, {},
         {}, "2302141213"}}},
      {"twilio", "twilio/failed.http",
       {{"SM7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d", "rejected", "failed", "+15558675312", "+15017122661", "30007", {}, {},
         {}}}},
      {"twilio", "twilio/undelivered_spam_30007.http",
       {{"SM30007a1b2c3d4e5f60718293a4b5c6d7", "rejected", "undelivered", "+15558675313", "+15017122661", "30007", {},
         {}, {}}}},
      {"twilio", "twilio/failed_queue_overflow_30001.http",
       {{"SM30001f9e8d7c6b5a49382716f5e4d3c2b", "undelivered", "failed", "+15558675314", "+15017122661", "30001", {},
         {}, {}}}},
      {"twilio", "twilio/undelivered.http",
       {{"SM5e9f0a1d3c2b4e8f9a7b6c5d4e3f2a1b", "undelivered", "undelivered", "+15558675311", "+15017122661",
         "30003", {}, {}, {}, "2302141215"}}},
      {"vonage", "vonage/delivered_get.http",
       {{"0A0000001234567B", "delivered", "delivered", "+447700900000", "AcmeInc", {}, "2020-01-01T12:00:00Z",
         "0.03330000", {}, "2001011400"}}},
      {"vonage", "vonage/failed_json.http",
       {{"0A0000001234567C", "undelivered", "failed", "+447700900001", "AcmeInc", "4", "2020-01-01T14:05:30Z",
         "0.03330000", {}, "2001011405"}}},
      {"vonage", "vonage/rejected_form.http",
       {{"0A0000001234567D", "rejected", "rejected", "+447700900002", "AcmeInc", "6", "2020-01-01T14:10:00Z",
         "0.00000000", {}, "2001011410"}}},
      {"sinch", "sinch/batch_full.http",
       {{"01FC66621YYYYY119Z8PMV1QPR:+12345678910", "delivered", "Delivered", "+12345678910", {}, {}, {}, {}, {}},
        {"01FC66621YYYYY119Z8PMV1QPR:+12345678911", "delivered", "Delivered", "+12345678911", {}, {}, {}, {}, {}},
        {"01FC66621YYYYY119Z8PMV1QPR:+12345678912", "rejected", "Aborted", "+12345678912", {}, "402", {}, {}, {}}}},
      {"sinch", "sinch/recipient_delivered.http",
       {{"01FC66621XXXXX119Z8PMV1QPQ:+12345678910", "delivered", "Delivered", "+12345678910", {}, {},
         "2022-08-30T08:16:00Z", {}, 2}}},
      {"sinch", "sinch/recipient_dispatched.http",
       {{"01J06CY78GZ2F74YZNNH2VBWR6:+447700900123", "pending", "Dispatched", "+447700900123", {}, {},
         "2024-06-07T14:03:26.536Z", {}, {}}}},
      {"sinch", "sinch/batch_summary.http", {}, {"summary"}},
      {"infobip", "infobip/results_delivered.http",
       {{"MESSAGE-ID-123-xyz", "delivered", "DELIVERED", "+41793026727", {}, {}, "2019-11-09T16:00:00Z", "0.01", 1},
        {"12db39c3-7822-4e72-a3ec-c87442c0ffc5", "delivered", "DELIVERED", "+41793026834", {}, {},
         "2019-11-09T17:00:00Z", "0.01", 1}}},
      {"infobip", "infobip/results_undeliverable.http",
       {{"2034072219640523073", "rejected", "UNDELIVERABLE", "+41793026999", {}, "1", "2019-11-09T18:00:05Z",
         "0.02", 2}}},
      {"infobip", "infobip/results_permanent_flag.http",
       {{"3045083320751634184", "undelivered", "REJECTED", "+41793026555", "InfoSMS", "27", "2019-11-09T19:00:07Z",
         "0.01", 1},
        {"3045083320751634185", "rejected", "UNDELIVERABLE", "+41793026556", "InfoSMS", "1", "2019-11-09T19:00:09Z",
         "0.02", 2}}},
      {"kannel", "kannel/delivered_get.http",
       {{"out-20231114-0001", "delivered", "DELIVRD", "+4915112345678", "ACME", {}, "2023-11-14T22:13:20Z", {}, {},
         "2311142213"}}},
      {"kannel", "kannel/failed_expired_get.http",
       {{"out-20231114-0002", "expired", "EXPIRED", "+4915112345679", "ACME", {}, "2023-11-14T23:13:20Z", {}, {},
         "2311142313"}}},
      {"kannel", "kannel/failed_rejected_get.http",
       {{"out-20231114-0003", "rejected", "REJECTD", "+4915112345680", "ACME", "069", "2023-11-14T22:15:00Z", {},
         {}, "2311142214"}}},
      {"kannel", "kannel/smsc_reject_post.http",
       {{"out-20231114-0004", "rejected", "type:16", "+4915112345681", "ACME", {}, "2023-11-14T22:16:40Z", {}, {}}}},
      {"jasmin", "jasmin/level1_error_post.http",
       {{"26fd2706-8baf-433b-82eb-8c7fada847db", "rejected", "ESME_RINVNUMDESTS", {}, {}, "ESME_RINVNUMDESTS", {}, {},
         {}}}},
      {"jasmin", "jasmin/level1_throttled_post.http",
       {{"56fd2706-8baf-433b-82eb-8c7fada847de", "undelivered", "ESME_RTHROTTLED", {}, {}, "ESME_RTHROTTLED", {}, {},
         {}}}},
      {"jasmin", "jasmin/level1_ok_get.http",
       {{"16fd2706-8baf-433b-82eb-8c7fada847da", "pending", "ESME_ROK", {}, {}, {}, {}, {}, {}}}},
      {"jasmin", "jasmin/level2_delivered_post.http",
       {{"36fd2706-8baf-433b-82eb-8c7fada847dc", "delivered", "DELIVRD", {}, {}, {}, {}, {},
         {}, "1311022339"}}},
      {"jasmin", "jasmin/level2_undelivered_get.http",
       {{"46fd2706-8baf-433b-82eb-8c7fada847dd", "undelivered", "UNDELIV", {}, {}, "34", {}, {},
         {}, "1311030102"}}},
      {"smpp", "smpp/receipt_json.http",
       {{"0911897980", "delivered", "DELIVRD", "+447700900123", "ACME", {}, {}, {}, {}, "1201121553"}}},
      {"smpp", "smpp/receipt_undeliv_form.http",
       {{"0911897981", "undelivered", "UNDELIV", "+447700900124", "ACME", "075", {}, {}, {}, "1201121551"}}},
      {"smpp", "smpp/receipt_text_plain.http",
       {{"0911897982", "expired", "EXPIRED", {}, {}, {}, {}, {}, {}, "1201131551"}}},
      {"telnyx", "telnyx/finalized_delivered.http",
       {{"b301ed3f-1490-491f-995f-6e64e69674d4", "delivered", "delivered", "+18665550001", "+18445550001", {},
         "2019-12-09T21:32:14.148Z", "0.0051", 1}}},
      {"telnyx", "telnyx/finalized_delivery_failed.http",
       {{"c412fe4a-25a1-4a2b-8b3c-7f75e7a785e5", "rejected", "delivery_failed", "+18665550002", "+18445550001",
         "40300", "2019-12-09T21:40:01.512Z", "0.0102", 2}}},
      {"telnyx", "telnyx/sent.http",
       {{"40385f64-5717-4562-b3fc-2c963f66afa6", "pending", "sent", "+18665550003", "+18445550001", {},
         "2019-01-23T18:10:02.574Z", "0.0051", 1}}},
      {"telnyx", "telnyx/finalized_spam_permanent.http",
       {{"d5a3b2c1-6e7f-4a8b-9c0d-1e2f3a4b5c6d", "rejected", "delivery_failed", "+18665550004", "+18445550001", "40003",
         "2019-12-09T21:45:30.220Z", "0.0051", 1}}},
      {"telnyx", "telnyx/received_inbound.http", {}, {"inbound"}},
      {"bandwidth", "bandwidth/delivered_and_received.http",
       {{"14762070468292kw2fuqty55yp2b3", "delivered", "message-delivered", "+12345678902", "+12345678901", {},
         "2016-09-14T18:20:17Z", {}, 1}},
       {"inbound"}},
      {"bandwidth", "bandwidth/failed_forbidden_country.http",
       {{"14762070468292kw2fuqty55yp2b2", "rejected", "message-failed", "+52345678903", "+12345678901", "4432",
         "2016-09-14T18:20:16Z", {}, 1}}},
      {"plivo", "plivo/delivered_post.http",
       {{"1a4e6f2c-e05b-11ee-9a1b-0242ac110003", "delivered", "delivered", "+14155550101", "14157654321", {}, {},
         "0.00500", 1, "2024-03-12 09:14:07.551093"}}},
      {"plivo", "plivo/undelivered_spam_get.http",
       {{"2b5f7a3d-e05b-11ee-9a1b-0242ac110003", "undelivered", "undelivered", "+14155550102", "14157654321", "30", {},
         "0.01000", 2, "2024-03-12 09:20:19.880412"}}},
      {"plivo", "plivo/failed_network_error_post.http",
       {{"3c608b4e-e05b-11ee-9a1b-0242ac110003", "undelivered", "failed", "+14155550103", "14157654321", "20", {},
         "0.00000", 1, "2024-03-12 09:31:40.773015"}}},
      {"plivo", "plivo/failed_invalid_source_post.http",
       {{"4d719c5f-e05b-11ee-9a1b-0242ac110003", "rejected", "failed", "+14155550104", "14157654399", "40", {},
         "0.00000", 1, "2024-03-12 09:35:02.101950"}}},
      {"messagebird", "messagebird/delivered_get.http",
       {{"e8077d803532c0b5937c639b60216938:+31612345678", "delivered", "delivered", "+31612345678", {}, {},
         "2016-05-03T08:58:10Z", {}, {}}}},
      {"messagebird", "messagebird/delivery_failed_get.http",
       {{"f9188e914643d1c6048d740c71327049:+31612345679", "rejected", "delivery_failed", "+31612345679", {}, "1",
         "2016-05-03T09:12:44Z", {}, {}}}},
      {"messagebird", "messagebird/delivery_failed_absent_get.http",
       {{"1b3a0e36b8f5e2d7159e851d82438151:+31612345681", "undelivered", "delivery_failed", "+31612345681", {}, "27",
         "2016-05-04T09:30:00Z", {}, {}}}},
      {"messagebird", "messagebird/expired_get.http",
       {{"0a299fa25754e2d7159e851d82438150:+31612345680", "expired", "expired", "+31612345680", {}, {},
         "2016-05-04T08:00:01Z", {}, {}}}},
      {"routee", "routee/delivered.http",
       {{"82a91dc3-e842-41eb-86e5-07d55eb51234", "delivered", "Delivered", "+306912345678", "Routee", {},
         "2019-07-05T10:28:49Z", "0.036", 1}}},
      {"routee", "routee/undelivered_unknown_number.http",
       {{"93ba2ed4-f953-42fc-97f6-18e66fc62345", "rejected", "Undelivered", "+306912345679", "Routee", "Unknown Number",
         "2019-07-05T10:31:02Z", "0.036", 1}}},
      {"routee", "routee/undelivered_on_handset_part2.http",
       {{"a4cb3fe5-0a64-430d-a807-29f770d73456", "undelivered", "Undelivered", "+306912345680", "Routee",
         "Undelivered on Handset", "2019-07-05T11:02:17.512Z", "0.036", 2}}},
      {"clickatell", "clickatell/one_api_delivered.http",
       {{"b1c6f0d2e1a94c3f8d7e6a5b4c3d2e1f", "delivered", "DEVICE_ACK", {}, {}, {}, "2017-09-28T14:08:18Z", {}, {}}}},
      {"clickatell", "clickatell/one_api_routing_error.http",
       {{"c2d7a1e3f2b05d4a9e8f7b6c5d4e3f20", "undelivered", "ROUTING_ERROR", {}, {}, "100", "2017-09-28T14:08:32.345Z",
         {}, {}}}},
      {"clickatell", "clickatell/one_api_recipient_does_not_exist.http",
       {{"d3e8b2f4a3c16e5b0f9a8c7d6e5f4a31", "rejected", "RECIPIENT_DOES_NOT_EXIST", {}, {}, "29",
         "2017-09-28T14:08:40Z", {}, {}}}},
      {"clickatell", "clickatell/legacy_delivered_get.http",
       {{"996f364775e24b8432f45d77da8eca47", "delivered", "004", "+279995631564", "27833001171", {},
         "2008-08-06T07:30:14Z", {}, {}}}},
      {"clickatell", "clickatell/legacy_error_delivering_post.http",
       {{"a07e475886f35c9543f56e88eb9fdb58", "undelivered", "007", "+279995631565", "27833001171", "007",
         "2008-08-06T07:35:14Z", {}, {}}}},
      {"smspm", "smspm/form_undelivered.http",
       {{"smspm-7782", "undelivered", "undelivered", "+447700900124", "ACME", "34", "2024-05-01T12:05:00Z", "0.045",
         2}}},
      {"smspm", "smspm/get_delivered.http",
       {{"smspm-7781", "delivered", "DELIVERED", "+447700900123", {}, {}, "2024-05-01T12:00:00Z", {}, {}}}},
  };
  return cases;
}

/// The providers that have fixture directories, one per built-in profile.
inline const std::vector<std::string>& fixture_providers() {
  static const std::vector<std::string> p = {"smspm",  "twilio", "vonage", "sinch",       "infobip", "kannel", "jasmin",
                                             "smpp",   "telnyx", "bandwidth", "plivo", "messagebird", "routee", "clickatell"};
  return p;
}

}  // namespace dlrd::test
