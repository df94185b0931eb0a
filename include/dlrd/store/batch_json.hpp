// The JSON text a batch of reports travels to PostgreSQL in: written directly, no DOM.
#pragma once

#include <dlrd/report/report.hpp>

#include <string>
#include <vector>

namespace dlrd::store {

/// Appends one report as a JSON object with the keys the write statement's
/// json_to_recordset reads (absent optionals are left out and read as NULL); adds the
/// recipient's country from its E.164 number. Thread-safety: safe from any thread.
void append_report_json(std::string& out, const report::delivery_report& r);

/// A JSON array of `reports`.
std::string reports_json(const std::vector<report::delivery_report>& reports);

}  // namespace dlrd::store
