// The JSON text a batch of reports is sent to PostgreSQL as (read by json_to_recordset).
#include <dlrd/store/batch_json.hpp>

#include <dlrd/report/country.hpp>
#include <dlrd/report/time.hpp>

namespace dlrd::store {

namespace {

// The batch is serialised straight into the statement's JSON text: building a JSON DOM per
// report cost more than the rest of the writer together.
void append_json_string(std::string& out, std::string_view v) {
  static constexpr char hexdigits[] = "0123456789abcdef";
  out.push_back('"');
  for (unsigned char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(hexdigits[c >> 4]);
          out.push_back(hexdigits[c & 0xf]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void append_field(std::string& out, std::string_view key, std::string_view value) {
  out.push_back(',');
  append_json_string(out, key);
  out.push_back(':');
  append_json_string(out, value);
}

void append_optional(std::string& out, std::string_view key, const std::optional<std::string>& value) {
  if (!value) return;  // absent keys read as NULL in json_to_recordset
  append_field(out, key, std::string_view(*value));
}

}  // namespace

void append_report_json(std::string& out, const report::delivery_report& r) {
  out += "{\"message_id\":";
  append_json_string(out, r.message_id);
  append_field(out, "status", report::to_string(r.canonical));
  append_field(out, "raw_status", r.raw_status);
  append_field(out, "event_at", report::format_timestamp(r.event_at));
  out += r.event_time_from_gateway ? ",\"from_gateway\":true" : ",\"from_gateway\":false";
  append_field(out, "received_at", report::format_timestamp(r.received_at));
  append_field(out, "provider", r.provider);
  append_optional(out, "recipient", r.recipient);
  if (r.recipient) append_optional(out, "country", report::country_of(*r.recipient));
  append_optional(out, "sender", r.sender);
  append_optional(out, "error_code", r.error_code);
  if (r.parts) {
    out += ",\"parts\":";
    out += std::to_string(*r.parts);
  }
  // A "cost" of 10,000 or more is no SMS price; left out (NULL) so the table never refuses the report.
  if (r.cost && report::fits_cost_eur(*r.cost)) append_field(out, "cost", *r.cost);
  append_optional(out, "carrier_time", r.carrier_time);
  out.push_back('}');
}

std::string reports_json(const std::vector<report::delivery_report>& reports) {
  std::string out;
  out.reserve(reports.size() * 320);
  out.push_back('[');
  for (const auto& r : reports) {
    if (out.size() > 1) out.push_back(',');
    append_report_json(out, r);
  }
  out.push_back(']');
  return out;
}

}  // namespace dlrd::store
