// Reading dlr_quarantine back: the payloads that were acked but could not be decoded, so an
// operator can list them and replay them through a fixed profile (`dlrd quarantine`).
#pragma once

#include <dlrd/report/report.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dlrd::store {

/// One dlr_quarantine row.
struct quarantined_row {
  std::int64_t id = 0;
  report::quarantined_payload payload;  ///< received_at falls back to stored_at when unknown
  std::string stored_at;                ///< RFC 3339 UTC
  std::string replayed_at;              ///< RFC 3339 UTC; empty while not replayed
};

struct quarantine_query {
  bool include_replayed = false;        ///< default: only rows not replayed yet
  std::optional<std::string> provider;  ///< the profile name the payload arrived for
  std::vector<std::int64_t> ids;        ///< only these rows (empty: any)
  std::int64_t after_id = 0;            ///< rows with a larger id, for paging
  std::size_t limit = 500;
};

/// Rows in id order. Opens its own connection; throws on database errors.
std::vector<quarantined_row> read_quarantine(const std::string& url, const quarantine_query& q);

/// Sets replayed_at on these rows (those not already replayed); returns how many changed.
std::size_t mark_replayed(const std::string& url, const std::vector<std::int64_t>& ids);

}  // namespace dlrd::store
