// Fuzzes the profile engine with every built-in profile and operator profiles that use every
// feature (event filters, error-code statuses, a permanent flag, plain-text receipts, id_match
// rewrites, batch elements quarantined alone, nested and dotted batch paths), in every
// encoding: never throws or crashes, and what it accepts obeys the contract the spool and the
// writers rely on.
#include <dlrd/config/yaml.hpp>
#include <dlrd/decode/profile.hpp>

#include "report_contract.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string_view>
#include <vector>

using dlrd::fuzz::check;

namespace {

dlrd::decode::profile operator_profile(const char* name, const char* yaml) {
  dlrd::decode::profile p;
  p.name = name;
  dlrd::config::load_string(yaml, "fuzz", [&p](dlrd::config::section& root) { dlrd::decode::parse_profile(root, p); });
  return p;
}

/// Every built-in profile, then operator profiles exercising what no built-in combines.
const std::vector<dlrd::decode::profile>& profiles() {
  static const std::vector<dlrd::decode::profile> all = [] {
    auto v = dlrd::decode::builtin_profiles();
    v.push_back(operator_profile("fuzzed", R"(
encodings: [json, form, query, text]
batch: "events[]"
batch_errors: element
id_match: decimal_to_hex_upper
max_batch: 8
fields: { message_id: [id], status: [status], error_code: [err, error.code], permanent: [error.permanent],
          carrier_time: [local], timestamp: [at], receipt: [receipt] }
events:
  accept: [ { field: type, values: [dlr, "status-*"] } ]
  ignore: [ { field: direction, values: [inbound], reason: inbound } ]
  empty_batch: summary
error_statuses: { "E1*": rejected, "E10": undelivered }
status_error_codes: ["esme_r*"]
timezone: "+02:00"
)"));
    // A dotted outer list and a scalar inner one: the set-aside element's request is rebuilt
    // through both.
    v.push_back(operator_profile("fuzzed_nested", R"(
encodings: [json]
batch: "data.groups[].ids[]"
batch_errors: element
id_match: hex_to_decimal
max_batch: 8
fields: { message_id: ["@"], status: [state], recipient: [to] }
)"));
    return v;
  }();
  return all;
}

}  // namespace

// Input: byte 0 picks the profile, byte 1 the encoding; the rest is split at the first
// '\n' into the query string and the body.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dlrd;
  if (size < 2) return 0;
  const auto& all = profiles();
  const auto& p = all[data[0] % all.size()];
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  auto nl = rest.find('\n');
  decode::callback_input in;
  in.query = nl == std::string_view::npos ? std::string_view{} : rest.substr(0, nl);
  in.body = nl == std::string_view::npos ? rest : rest.substr(nl + 1);
  static constexpr std::string_view media[] = {"application/json", "application/x-www-form-urlencoded", "",
                                               "text/plain"};
  in.get = (data[1] & 4) != 0;
  in.media_type = media[data[1] % 4];
  const report::time_point received{std::chrono::microseconds{1'714'557'600'000'000}};
  auto result = decode::decode(p, in, received);
  if (const auto* e = std::get_if<decode::profile_error>(&result)) {
    check(!e->error.reason.empty());
    return 0;
  }
  const auto& out = std::get<decode::decoded>(result);
  // Something was read: reports, events the profile ignores, or elements set aside; never
  // more than a batch.
  check(!out.reports.empty() || !out.ignored.empty() || !out.rejected.empty());
  check(out.reports.size() + out.ignored.size() + out.rejected.size() <= p.max_batch);
  check(out.rejected.empty() || p.quarantine_elements);
  for (const auto& why : out.ignored) check(!why.empty());
  // A set-aside element is quarantined as a JSON request of its own, which a replay decodes.
  for (const auto& q : out.rejected) {
    check(!q.reason.empty() && q.provider == p.name && q.received_at == received);
    check(q.content_type == "application/json" && nlohmann::json::accept(q.body));
  }
  for (const auto& r : out.reports) {
    dlrd::fuzz::check_report(r, p.name, received);
  }
  return 0;
}
