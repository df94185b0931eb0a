// The text of the writer's two statements, built once here for the writer and the benchmarks.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace dlrd::store {

/// One column of a batch source: its name in the statement and its PostgreSQL type.
struct batch_column {
  std::string_view name;
  std::string_view type;
};

/// The columns the write statement reads from each batch source, in order: the merged
/// winners (`w`), every report for the history (`e`), and quarantined payloads (`q`).
std::span<const batch_column> winners_columns();
std::span<const batch_column> events_columns();
std::span<const batch_column> quarantine_columns();

/// "alias(name type, ...)": a column definition list for json_to_recordset and the like.
std::string column_definitions(std::string_view alias, std::span<const batch_column> columns);

/// Where the write statement reads its batch from: a FROM item per source, aliased w, e and
/// q with the columns above, and a text[] expression of the statuses that are noticed. The
/// defaults are the writer's: JSON text in $1 (winners), $2 (events), $3 (quarantine), and $4.
struct batch_sources {
  std::string winners;
  std::string events;
  std::string quarantine;
  std::string notice_statuses = "$4::text[]";
  /// A text[] expression of the raw statuses ("dlrd:expired:<rule>") whose policy expiry
  /// writes no notice (expiry rules with `notify: false`); none by default.
  std::string quiet_expiries = "'{}'::text[]";
};
batch_sources json_batch_sources();

/// The batch statement: events (deduplicated by their UNIQUE key), the parts' states, the
/// messages' upsert under the convergence rule (dlr_report_wins; a policy expiry keeps the
/// row's provider and sets expired_by), failure and policy-expiry notices,
/// quarantine rows and wake-ups, in one round trip. Returns one row: events added, rows
/// changed, quarantined, notices, waiters woken, and a JSON array of the messages whose
/// parts moved (for parts_statement).
std::string write_statement(const batch_sources& from = json_batch_sources());

/// Recomputes the rows of the messages whose parts moved: $1 a JSON array of message ids,
/// $2 the noticed statuses (text[]). Returns rows changed, notices, waiters woken.
const char* parts_statement();

}  // namespace dlrd::store
