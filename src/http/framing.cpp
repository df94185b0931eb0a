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

std::size_t field_count(const request& req) { return static_cast<std::size_t>(std::distance(req.begin(), req.end())); }

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

std::optional<edge_error> request_reader::check_target(const beast::flat_buffer& buffer) const {
  // While the request line is incomplete, the target received so far may already be too long.
  return check_target_length(parser_.get().target(), taken_ == 0 ? text_of(buffer) : std::string_view(), limits_);
}

request_reader::progress request_reader::read_header(beast::flat_buffer& buffer) {
  while (buffer.size() > 0) {
    error_code ec;
    auto n = parser_.put(buffer.data(), ec);
    if (n > 0) {
      if (auto e = check_line_folding(text_of(buffer).substr(0, n))) return refuse(std::move(*e));
      buffer.consume(n);
      taken_ += n;
      if (auto e = check_target(buffer)) return refuse(std::move(*e));
      // The request line counts towards header_limit.
      parser_.header_limit(
          static_cast<std::uint32_t>(limits_.header_limit - std::min(taken_, limits_.header_limit - 1)));
    }
    if (!ec && parser_.is_header_done()) {
      if (auto e = check_header(parser_.get(), limits_)) return refuse(std::move(*e));
      header_fields_ = field_count(parser_.get());
      parser_.eager(true);
      return progress::header_done;
    }
    if (ec && ec != bhttp::error::need_more) {
      // A request line still incomplete may already be too long (414 rather than 431).
      if (auto e = check_target(buffer)) return refuse(std::move(*e));
      return refuse(parse_failure(ec, limits_));
    }
    if (n == 0) break;
  }
  if (auto e = check_target(buffer)) return refuse(std::move(*e));
  // Beast refuses a header past header_limit before the buffer can fill; this is the backstop.
  if (room(buffer) == 0) return refuse(parse_failure(bhttp::error::header_limit, limits_));
  return progress::need_more;
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
    if (ec && ec != bhttp::error::need_more) return refuse(parse_failure(ec, limits_));
    if (n > 0) continue;
    // No progress: what is left needs more bytes than the buffer (or the window) holds.
    if (chunked) {
      if (auto e = check_unparsed_chunk_line(text_of(buffer))) return refuse(std::move(*e));
    }
    if (room(buffer) == 0) return refuse(framing_too_large());
    return progress::need_more;
  }
  // Beast merges trailer fields into the header; the checks above ran without them, and
  // no header lookup may ever see them.
  if (auto e = check_no_trailers(header_fields_, field_count(parser_.get()))) return refuse(std::move(*e));
  return progress::complete;
}

}  // namespace dlrd::http
