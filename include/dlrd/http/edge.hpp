// Edge checks: the rules a request must pass before the handler sees it, as free functions on
// what the parser has produced (a header set, unparsed bytes, a parse error). No sockets here.
#pragma once

#include <dlrd/http/config.hpp>
#include <dlrd/http/handler.hpp>

#include <boost/beast/http/status.hpp>
#include <boost/system/error_code.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dlrd::http {

/// Why a connection or request was refused at the edge: the label of dlrd_http_rejected_total.
enum class rejection : std::size_t {
  header_timeout,
  body_timeout,
  too_many_connections,
  too_many_connections_per_ip,
  header_too_large,
  target_too_long,
  body_too_large,
  malformed,
  smuggling,
  tls_handshake,
};
inline constexpr std::array<std::string_view, 10> rejection_names = {
    "header_timeout",   "body_timeout",    "too_many_connections", "too_many_connections_per_ip",
    "header_too_large", "target_too_long", "body_too_large",       "malformed",
    "smuggling",        "tls_handshake",
};

/// A request that ends its connection before reaching the handler: the answer to send, or
/// none (`code` unknown) when the peer went away or never started a request.
struct edge_error {
  boost::beast::http::status code = boost::beast::http::status::unknown;
  std::optional<rejection> reason;
  std::string message;
};

/// Longest chunk-size line. Chunk extensions and trailer fields are refused, so only leading
/// zeros can make a valid line long; this bounds what a chunked body keeps unparsed.
inline constexpr std::size_t chunk_line_limit = 256;

/// A complete header: HTTP/1.0 or 1.1, at most max_header_count fields, one Host (none only on
/// HTTP/1.0), and a Transfer-Encoding of chunked only (on HTTP/1.1).
std::optional<edge_error> check_header(const request& header, const listen_config& limits);

/// RFC 9112 5.2: a header line that starts with whitespace continues the previous one. Beast
/// joins such lines; dlrd refuses them, as a proxy in front may read them differently.
std::optional<edge_error> check_line_folding(std::string_view header_bytes);

/// The request-target against max_target_length: `target` as parsed, or, while the request line
/// is still incomplete (`received` is what has arrived of it), as far as it goes.
std::optional<edge_error> check_target_length(std::string_view target, std::string_view received,
                                              const listen_config& limits);

/// Bytes of a chunked body the parser left unparsed (a chunk-size line or the last chunk's end
/// still incomplete): an extension or a trailer field is refused as soon as it starts, and a
/// line once it reaches chunk_line_limit.
std::optional<edge_error> check_unparsed_chunk_line(std::string_view unparsed);

/// Trailer fields: Beast merges them into the header after the checks above ran, so a request
/// whose field count grew while its body was read is refused.
std::optional<edge_error> check_no_trailers(std::size_t fields_after_header, std::size_t fields_now);

/// The answer for a parser error (Beast's header and body limits, ambiguous lengths, bad chunk
/// extensions, anything else malformed).
edge_error parse_failure(const boost::system::error_code& ec, const listen_config& limits);

/// What a read buffer cannot hold: the framing needs more unparsed bytes than the cap allows.
edge_error framing_too_large();

}  // namespace dlrd::http
