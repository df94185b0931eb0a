// Fuzzes the HTTP request framing the sessions use (dlrd::http::request_reader over a capped
// read buffer): raw bytes arrive in reads of fuzzer-chosen sizes, requests are read one after
// another as on a keep-alive connection, and every request that comes out obeys the edge limits.
#include <dlrd/http/framing.hpp>

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <string_view>

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

/// Small limits (so that the fuzzer reaches them) and the defaults.
dlrd::http::listen_config limits_for(std::uint8_t pick) {
  dlrd::http::listen_config c;
  if (pick & 1) {
    c.header_limit = 512;
    c.max_header_count = 8;
    c.max_target_length = 64;
    c.body_limit = 1024;
  }
  return c;
}

}  // namespace

// Input: byte 0 picks the limits and the read pattern; the rest is what the peer sends.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dlrd::http;
  namespace bhttp = boost::beast::http;
  if (size < 1) return 0;
  const auto limits = limits_for(data[0]);
  // Reads of 1, 7, 64 or up to room() bytes: the same bytes split differently must frame alike.
  static constexpr std::size_t read_sizes[] = {1, 7, 64, read_chunk};
  const std::size_t read_size = read_sizes[(data[0] >> 1) % 4];
  std::string_view wire(reinterpret_cast<const char*>(data + 1), size - 1);

  auto buffer = make_read_buffer(limits);
  const std::size_t cap = buffer.max_size();
  auto read = [&]() -> bool {
    auto n = std::min({read_size, request_reader::room(buffer), wire.size()});
    if (n == 0) return false;
    auto into = buffer.prepare(n);
    std::copy_n(wire.data(), n, static_cast<char*>(into.data()));
    buffer.commit(n);
    wire.remove_prefix(n);
    return true;
  };
  if (!read()) return 0;
  for (int requests = 0; requests < 64; ++requests) {
    request_reader reader(limits);
    auto p = request_reader::progress::need_more;
    while ((p = reader.read_header(buffer)) == request_reader::progress::need_more) {
      check(buffer.size() <= cap);
      if (!read()) return 0;
    }
    if (p == request_reader::progress::refused) {
      check(reader.error().code != bhttp::status::unknown && !reader.error().message.empty());
      return 0;
    }
    check(p == request_reader::progress::header_done);
    while ((p = reader.read_body(buffer)) == request_reader::progress::need_more) {
      check(buffer.size() <= cap);
      if (!read()) return 0;
    }
    if (p == request_reader::progress::refused) {
      check(reader.error().code != bhttp::status::unknown && !reader.error().message.empty());
      return 0;
    }
    check(p == request_reader::progress::complete);
    // What reaches the handler: within every limit, one Host on HTTP/1.1, chunked the only coding.
    auto req = reader.release();
    check(req.version() == 10 || req.version() == 11);
    check(req.target().size() <= limits.max_target_length);
    check(static_cast<std::size_t>(std::distance(req.begin(), req.end())) <= limits.max_header_count);
    check(req.body().size() <= limits.body_limit);
    check(req.version() == 10 || req.count(bhttp::field::host) == 1);
    auto codings = req.count(bhttp::field::transfer_encoding);
    check(codings == 0 || (codings == 1 && boost::beast::iequals(req[bhttp::field::transfer_encoding], "chunked")));
    if (buffer.size() == 0 && !read()) return 0;
  }
  return 0;
}
