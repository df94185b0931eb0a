// Binary encoding of ingest records for the spool: compact, versioned, and strict on read.
#pragma once

#include <dlrd/report/report.hpp>

#include <string>
#include <string_view>

namespace dlrd::report {

/// Appends the encoding of `record` to `out`.
void encode(const ingest_record& record, std::string& out);
std::string encode(const ingest_record& record);

/// Decodes one record. Returns std::nullopt for any malformed, truncated or
/// trailing-garbage input (it never reads out of bounds: the spool reader and the
/// fuzzer feed it arbitrary bytes).
std::optional<ingest_record> decode(std::string_view bytes);

}  // namespace dlrd::report
