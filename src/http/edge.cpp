// Edge checks on what the parser produced: header rules, line folding, target length, chunk
// lines and trailers, and the answer for each parser error.
#include <dlrd/http/edge.hpp>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <iterator>

namespace dlrd::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

edge_error malformed(std::string message) {
  return {bhttp::status::bad_request, rejection::malformed, std::move(message)};
}

/// Length of the request-target of a request line still being received.
std::size_t partial_target_length(std::string_view head) {
  auto sp = head.find(' ');
  if (sp == std::string_view::npos) return 0;
  auto target = head.substr(sp + 1);
  return std::min(target.find_first_of(" \r\n"), target.size());
}

const std::string chunk_extension_refused = "chunk extensions are not accepted";
const std::string trailer_refused = "trailer fields after a chunked body are not accepted";

}  // namespace

std::optional<edge_error> check_header(const request& req, const listen_config& limits) {
  if (req.version() != 10 && req.version() != 11) {
    return edge_error{bhttp::status::http_version_not_supported, rejection::malformed,
                      "only HTTP/1.0 and HTTP/1.1 are supported"};
  }
  if (static_cast<std::size_t>(std::distance(req.begin(), req.end())) > limits.max_header_count) {
    return edge_error{bhttp::status::request_header_fields_too_large, rejection::header_too_large,
                      "more than " + std::to_string(limits.max_header_count) + " header fields"};
  }
  auto hosts = req.count(bhttp::field::host);
  if (hosts > 1 || (hosts == 0 && req.version() == 11)) {
    return malformed("an HTTP/1.1 request needs exactly one Host header");
  }
  // Beast refuses Content-Length with chunked, and differing Content-Lengths; it reads any
  // other Transfer-Encoding as "no body", which would make the body the next request.
  auto codings = req.count(bhttp::field::transfer_encoding);
  if (codings > 0 && (codings > 1 || req.version() != 11 ||
                      !beast::iequals(req[bhttp::field::transfer_encoding], "chunked"))) {
    return edge_error{bhttp::status::bad_request, rejection::smuggling,
                      "only Transfer-Encoding: chunked is accepted, on HTTP/1.1"};
  }
  return std::nullopt;
}

std::optional<edge_error> check_line_folding(std::string_view header_bytes) {
  if (header_bytes.find("\r\n ") == std::string_view::npos && header_bytes.find("\r\n\t") == std::string_view::npos) {
    return std::nullopt;
  }
  return malformed("obsolete line folding in a header field is not accepted");
}

std::optional<edge_error> check_target_length(std::string_view target, std::string_view received,
                                              const listen_config& limits) {
  if (target.size() <= limits.max_target_length && partial_target_length(received) <= limits.max_target_length) {
    return std::nullopt;
  }
  return edge_error{bhttp::status::uri_too_long, rejection::target_too_long,
                    "request target exceeds the limit of " + std::to_string(limits.max_target_length) + " bytes"};
}

std::optional<edge_error> check_unparsed_chunk_line(std::string_view unparsed) {
  auto line = unparsed.starts_with("\r\n") ? unparsed.substr(2) : unparsed;
  auto eol = line.find("\r\n");
  if (line.substr(0, eol).find(';') != std::string_view::npos) return malformed(chunk_extension_refused);
  if (eol != std::string_view::npos) {
    // A complete line left unparsed is the last chunk: only the final CRLF may follow it.
    auto rest = line.substr(eol + 2);
    if (!rest.empty() && !std::string_view("\r\n").starts_with(rest.substr(0, 2))) return malformed(trailer_refused);
  }
  if (unparsed.size() >= chunk_line_limit) {
    return malformed("chunk-size line exceeds the limit of " + std::to_string(chunk_line_limit) + " bytes");
  }
  return std::nullopt;
}

std::optional<edge_error> check_no_trailers(std::size_t fields_after_header, std::size_t fields_now) {
  if (fields_now == fields_after_header) return std::nullopt;
  return malformed(trailer_refused);
}

edge_error parse_failure(const boost::system::error_code& ec, const listen_config& limits) {
  if (ec == bhttp::error::header_limit) {
    return {bhttp::status::request_header_fields_too_large, rejection::header_too_large,
            "request header exceeds the limit of " + std::to_string(limits.header_limit) + " bytes"};
  }
  if (ec == bhttp::error::body_limit) {
    // Beast checks Content-Length against the body limit as soon as the header is in, and
    // each chunk's size before its data.
    return {bhttp::status::payload_too_large, rejection::body_too_large,
            "body exceeds the limit of " + std::to_string(limits.body_limit) + " bytes"};
  }
  if (ec == bhttp::error::bad_content_length || ec == bhttp::error::bad_transfer_encoding) {
    return {bhttp::status::bad_request, rejection::smuggling, "ambiguous message length: " + ec.message()};
  }
  if (ec == bhttp::error::bad_chunk_extension) return malformed(chunk_extension_refused);
  return malformed("malformed request: " + ec.message());
}

edge_error framing_too_large() { return malformed("request framing exceeds the read buffer"); }

}  // namespace dlrd::http
