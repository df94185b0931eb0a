// Request framing at the edge: Beast's parser fed from a capped buffer, every limit checked.
#include <dlrd/http/framing.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <iterator>

namespace dlrd::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace {

std::string_view text_of(const beast::flat_buffer& buffer) {
  return {static_cast<const char*>(buffer.data().data()), buffer.size()};
}

/// Length of the request-target of a request line still being received.
std::size_t partial_target_length(std::string_view head) {
  auto sp = head.find(' ');
  if (sp == std::string_view::npos) return 0;
  auto target = head.substr(sp + 1);
  return std::min(target.find_first_of(" \r\n"), target.size());
}

/// RFC 9112 5.2: a line of the header that starts with whitespace continues the previous one.
/// Beast joins such lines; dlrd refuses them, as a proxy in front may read them differently.
bool has_obs_fold(std::string_view header_bytes) {
  return header_bytes.find("\r\n ") != std::string_view::npos ||
         header_bytes.find("\r\n\t") != std::string_view::npos;
}

std::size_t field_count(const request& req) { return static_cast<std::size_t>(std::distance(req.begin(), req.end())); }

edge_error malformed(std::string message) {
  return {bhttp::status::bad_request, rejection::malformed, std::move(message)};
}

const std::string chunk_extension_refused = "chunk extensions are not accepted";
const std::string trailer_refused = "trailer fields after a chunked body are not accepted";

}  // namespace

beast::flat_buffer make_read_buffer(const listen_config& limits) {
  return beast::flat_buffer(std::max(limits.header_limit, chunk_line_limit) + read_chunk);
}

request_reader::request_reader(const listen_config& limits) : limits_(limits) {
  parser_.eager(false);  // stop at the end of the header: `taken_` must hold no body bytes
  parser_.header_limit(static_cast<std::uint32_t>(limits_.header_limit));
  parser_.body_limit(limits_.body_limit);
  chunk_header_ = [this](std::uint64_t size, std::string_view extensions, error_code& ec) {
    on_chunk_header(size, extensions, ec);
  };
  parser_.on_chunk_header(chunk_header_);
}

void request_reader::on_chunk_header(std::uint64_t, std::string_view extensions, error_code& ec) {
  // RFC 9112 7.1.1 lets a recipient ignore extensions; no gateway sends them, and parsers
  // disagree on their syntax (a way to smuggle a request past a proxy): refuse them.
  if (!extensions.empty()) ec = bhttp::error::bad_chunk_extension;
}

request_reader::progress request_reader::refuse(edge_error e) {
  error_ = std::move(e);
  return progress::refused;
}

std::size_t request_reader::room(const beast::flat_buffer& buffer) {
  return std::min(read_chunk, buffer.max_size() - std::min(buffer.size(), buffer.max_size()));
}

bool request_reader::expects_continue() const {
  return !parser_.is_done() && parser_.get().version() == 11 &&
         beast::iequals(parser_.get()[bhttp::field::expect], "100-continue");
}

edge_error request_reader::parse_failure(const error_code& ec) const {
  if (ec == bhttp::error::header_limit) {
    return {bhttp::status::request_header_fields_too_large, rejection::header_too_large,
            "request header exceeds the limit of " + std::to_string(limits_.header_limit) + " bytes"};
  }
  if (ec == bhttp::error::body_limit) {
    // Beast checks Content-Length against the body limit as soon as the header is in, and
    // each chunk's size before its data.
    return {bhttp::status::payload_too_large, rejection::body_too_large,
            "body exceeds the limit of " + std::to_string(limits_.body_limit) + " bytes"};
  }
  if (ec == bhttp::error::bad_content_length || ec == bhttp::error::bad_transfer_encoding) {
    return {bhttp::status::bad_request, rejection::smuggling, "ambiguous message length: " + ec.message()};
  }
  if (ec == bhttp::error::bad_chunk_extension) return malformed(chunk_extension_refused);
  return malformed("malformed request: " + ec.message());
}

request_reader::progress request_reader::read_header(beast::flat_buffer& buffer) {
  while (buffer.size() > 0) {
    error_code ec;
    auto n = parser_.put(buffer.data(), ec);
    if (n > 0) {
      if (has_obs_fold(text_of(buffer).substr(0, n))) {
        return refuse(malformed("obsolete line folding in a header field is not accepted"));
      }
      buffer.consume(n);
      taken_ += n;
      if (parser_.get().target().size() > limits_.max_target_length) break;
      // The request line counts towards header_limit.
      parser_.header_limit(
          static_cast<std::uint32_t>(limits_.header_limit - std::min(taken_, limits_.header_limit - 1)));
    }
    if (!ec && parser_.is_header_done()) {
      if (auto e = check_header()) return refuse(std::move(*e));
      header_fields_ = field_count(parser_.get());
      parser_.eager(true);
      return progress::header_done;
    }
    if (ec && ec != bhttp::error::need_more) {
      // A request line still incomplete may already be too long (414 rather than 431).
      if (taken_ == 0 && partial_target_length(text_of(buffer)) > limits_.max_target_length) break;
      return refuse(parse_failure(ec));
    }
    if (n == 0) break;
  }
  if (parser_.get().target().size() > limits_.max_target_length ||
      (taken_ == 0 && partial_target_length(text_of(buffer)) > limits_.max_target_length)) {
    return refuse({bhttp::status::uri_too_long, rejection::target_too_long,
                   "request target exceeds the limit of " + std::to_string(limits_.max_target_length) + " bytes"});
  }
  // Beast refuses a header past header_limit before the buffer can fill; this is the backstop.
  if (room(buffer) == 0) return refuse(parse_failure(bhttp::error::header_limit));
  return progress::need_more;
}

std::optional<edge_error> request_reader::check_header() const {
  const auto& req = parser_.get();
  if (req.version() != 10 && req.version() != 11) {
    return edge_error{bhttp::status::http_version_not_supported, rejection::malformed,
                      "only HTTP/1.0 and HTTP/1.1 are supported"};
  }
  if (field_count(req) > limits_.max_header_count) {
    return edge_error{bhttp::status::request_header_fields_too_large, rejection::header_too_large,
                      "more than " + std::to_string(limits_.max_header_count) + " header fields"};
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

/// In a chunked body Beast leaves bytes unparsed only while a chunk-size line, or the last
/// chunk's trailer section, is incomplete: Beast 1.74 waits for its end without a limit. Decide
/// what can be decided now: an extension or a trailer field is refused as soon as it starts,
/// and a line is refused once it fills the window read_body feeds.
std::optional<edge_error> request_reader::check_unparsed_chunk_line(std::string_view unparsed) const {
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

request_reader::progress request_reader::read_body(beast::flat_buffer& buffer) {
  while (!parser_.is_done()) {
    if (buffer.size() == 0) return progress::need_more;
    // A chunked body is fed chunk_line_limit bytes at a time, so a chunk-size line (and the
    // last chunk's end) longer than that never completes, however the bytes were split.
    const bool chunked = parser_.chunked();
    const auto window = chunked ? std::min(buffer.size(), chunk_line_limit) : buffer.size();
    error_code ec;
    auto n = parser_.put(boost::asio::const_buffer(buffer.data().data(), window), ec);
    buffer.consume(n);
    if (ec && ec != bhttp::error::need_more) return refuse(parse_failure(ec));
    if (n > 0) continue;
    // No progress: what is left needs more bytes than the buffer (or the window) holds.
    if (chunked) {
      if (auto e = check_unparsed_chunk_line(text_of(buffer))) return refuse(std::move(*e));
    }
    if (room(buffer) == 0) return refuse(malformed("request framing exceeds the read buffer"));
    return progress::need_more;
  }
  // Beast merges trailer fields into the header; the checks above ran without them, and
  // no header lookup may ever see them.
  if (field_count(parser_.get()) != header_fields_) return refuse(malformed(trailer_refused));
  return progress::complete;
}

}  // namespace dlrd::http
