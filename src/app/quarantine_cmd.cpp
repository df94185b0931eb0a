#include "quarantine_cmd.hpp"

#include <dlrd/decode/profile.hpp>
#include <dlrd/report/time.hpp>
#include <dlrd/store/quarantine.hpp>
#include <dlrd/store/writer.hpp>
#include <dlrd/text/media_type.hpp>
#include <dlrd/text/url.hpp>

#include <atomic>
#include <cstdio>
#include <map>

namespace dlrd::app {

namespace {

/// The first `max` bytes of a body on one line: control bytes and non-ASCII as \xNN.
std::string preview(std::string_view body, std::size_t max) {
  std::string out;
  for (unsigned char c : body.substr(0, max)) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02x", c);
      out += esc;
    }
  }
  if (body.size() > max) out += "...";
  return out;
}

/// GET callbacks are kept as their target with no content type (see http::handler).
bool arrived_as_get(const report::quarantined_payload& q) {
  return q.content_type.empty() && !q.body.empty() && q.body.front() == '/';
}

store::quarantine_query query_of(const quarantine_options& o) {
  store::quarantine_query q;
  q.include_replayed = o.all;
  q.provider = o.provider;
  q.ids = o.ids;
  return q;
}

}  // namespace

int quarantine_list(const daemon_config& config, const quarantine_options& options) {
  auto q = query_of(options);
  q.limit = options.limit;
  std::vector<store::quarantined_row> rows;
  try {
    rows = store::read_quarantine(store::connection_string(config.database), q);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dlrd quarantine list: %s\n", e.what());
    return 1;
  }
  std::printf("%-8s %-27s %-10s %-8s %-40s %s\n", "id", "received (UTC)", "provider", "bytes", "reason", "body");
  for (const auto& r : rows) {
    auto reason = r.payload.reason + (r.payload.field.empty() ? "" : " [" + r.payload.field + "]");
    if (!r.replayed_at.empty()) reason += " (replayed " + r.replayed_at + ")";
    std::printf("%-8lld %-27s %-10s %-8zu %-40s %s\n", static_cast<long long>(r.id),
                report::format_timestamp(r.payload.received_at).c_str(), r.payload.provider.c_str(),
                r.payload.body.size(), reason.c_str(), preview(r.payload.body, 60).c_str());
  }
  std::printf("%zu payload(s)%s%s\n", rows.size(), options.all ? "" : " waiting for a replay",
              rows.size() == options.limit ? " (more not shown: --limit)" : "");
  return 0;
}

int quarantine_replay(const daemon_config& config, const quarantine_options& options) {
  const auto url = store::connection_string(config.database);
  auto q = query_of(options);
  q.include_replayed = false;  // a replayed payload is in sms_logs already
  q.limit = 200;
  std::optional<store::writer> writer;
  if (!options.dry_run) writer.emplace(config.database, config.store);
  const std::atomic<bool> never_stop{false};
  std::size_t replayed = 0, reports = 0, still = 0;
  std::map<std::string, std::size_t> reasons;
  try {
    for (;;) {
      auto rows = store::read_quarantine(url, q);
      if (rows.empty()) break;
      q.after_id = rows.back().id;
      std::vector<report::ingest_record> batch;
      std::vector<std::int64_t> ids;
      for (const auto& row : rows) {
        const auto& payload = row.payload;
        if (payload.reason.rfind("store: ", 0) == 0) {
          // Refused by PostgreSQL itself (a poison record, kept as the writer's JSON): a profile fix
          // does not change that, and its body is not a callback.
          ++still;
          ++reasons["refused by PostgreSQL, not by a profile (not replayed)"];
          continue;
        }
        const auto* profile = decode::find_profile(payload.provider, config.profiles);
        if (!profile) {
          ++still;
          ++reasons["no profile named '" + payload.provider + "' in this configuration"];
          continue;
        }
        decode::callback_input in;
        std::string lowered;
        in.get = arrived_as_get(payload);
        if (in.get) {
          in.query = text::query_of(payload.body);
        } else {
          in.media_type = text::media_type_of(payload.content_type, lowered);
          in.body = payload.body;
        }
        auto result = decode::decode(*profile, in, payload.received_at);
        auto* ok = std::get_if<decode::decoded>(&result);
        // An element a profile still sets aside (batch_errors: element) keeps its payload here.
        if (ok && ok->rejected.empty()) {
          std::printf("id %lld: %zu report(s)\n", static_cast<long long>(row.id), ok->reports.size());
          reports += ok->reports.size();
          for (auto& r : ok->reports) batch.emplace_back(std::move(r));
          ids.push_back(row.id);
          ++replayed;
        } else {
          const auto err = ok ? decode::decode_error{ok->rejected.front().reason, ok->rejected.front().field}
                              : std::get<decode::profile_error>(result).error;
          auto why = err.reason + (err.field.empty() ? "" : " [" + err.field + "]");
          std::printf("id %lld: still undecodable: %s\n", static_cast<long long>(row.id), why.c_str());
          ++reasons[why];
          ++still;
        }
      }
      if (writer && !batch.empty()) {
        writer->write(batch, never_stop);
        store::mark_replayed(url, ids);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dlrd quarantine replay: %s\n", e.what());
    return 1;
  }
  std::printf("%s %zu payload(s) into %zu report(s); %zu still undecodable\n",
              options.dry_run ? "would replay" : "replayed", replayed, reports, still);
  for (const auto& [why, n] : reasons) std::printf("  %zu x %s\n", n, why.c_str());
  return still > 0 ? 3 : 0;
}

}  // namespace dlrd::app
