// Request framing at the edge: Beast's parser fed from a capped buffer, with every limit of the
// `listen` section checked on the raw bytes. The session and the HTTP framing fuzzer share it.
#pragma once

#include <dlrd/http/config.hpp>
#include <dlrd/http/edge.hpp>
#include <dlrd/http/handler.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dlrd::http {

/// Most bytes one read adds to a connection's buffer.
inline constexpr std::size_t read_chunk = 4096;

/// A connection's read buffer. Its cap (the header limit or a chunk line, plus one read) holds
/// every unparsed byte a request may need at once, so one connection's buffer never grows past it.
boost::beast::flat_buffer make_read_buffer(const listen_config& limits);

/// Reads one request from a connection's buffer: the header under header_limit,
/// max_header_count, max_target_length, without obs-fold, with one Host and a Transfer-Encoding
/// of chunked only; then the body under body_limit, with chunk lines under chunk_line_limit,
/// no chunk extensions and no trailer fields (Beast would merge those into the header after
/// the checks above). Parsing never needs more than make_read_buffer's cap.
/// Thread-safety: one per request, used by one session at a time; not copyable (the parser
/// calls back into it).
class request_reader {
 public:
  enum class progress {
    need_more,    ///< read more (at most room() bytes), then call again
    header_done,  ///< read_header: the header is in and passed every check
    complete,     ///< read_body: the whole request is in
    refused,      ///< error() says why; the connection ends
  };

  explicit request_reader(const listen_config& limits);
  request_reader(const request_reader&) = delete;
  request_reader& operator=(const request_reader&) = delete;

  /// Parses what `buffer` holds of the header, consuming it (and nothing past the header).
  progress read_header(boost::beast::flat_buffer& buffer);
  /// After header_done: parses what `buffer` holds of the body, consuming it (and nothing past
  /// the request: the rest is the next pipelined request).
  progress read_body(boost::beast::flat_buffer& buffer);

  /// How many bytes the next read may add to `buffer` (0 only if it is full, which the reader
  /// refuses before it happens).
  static std::size_t room(const boost::beast::flat_buffer& buffer);

  /// The refusal, once a call answered `refused`.
  const edge_error& error() const { return error_; }
  /// The request line and header fields were parsed (they may still have failed a check).
  bool header_parsed() const { return parser_.is_header_done(); }
  /// Header bytes the parser has taken (0 while the request line is incomplete).
  std::size_t header_bytes() const { return taken_; }
  /// The header asks for 100-continue and a body is still to come.
  bool expects_continue() const;
  /// The request parsed so far.
  const request& get() const { return parser_.get(); }
  /// The complete request (after `complete`).
  request release() { return parser_.release(); }

 private:
  using parser_type = boost::beast::http::request_parser<boost::beast::http::string_body>;
  progress refuse(edge_error e);
  std::optional<edge_error> check_target(const boost::beast::flat_buffer& buffer) const;
  void on_chunk_header(std::uint64_t size, std::string_view extensions, boost::system::error_code& ec);

  const listen_config& limits_;
  parser_type parser_;
  std::size_t taken_ = 0;          ///< header bytes consumed
  std::size_t header_fields_ = 0;  ///< fields in the header; more at the end means trailer fields
  edge_error error_;
  // The parser keeps a reference to this callback.
  std::function<void(std::uint64_t, std::string_view, boost::system::error_code&)> chunk_header_;
};

}  // namespace dlrd::http
