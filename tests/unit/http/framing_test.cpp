// Unit tests of the request framing the sessions use: limits hold however the bytes are split
// into reads, trailers and chunk extensions are refused, and the read buffer never grows.
#include <dlrd/http/framing.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace dlrd::http {
namespace {

constexpr std::string_view chunked_head =
    "POST /webhooks/smspm HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

struct outcome {
  std::vector<std::string> bodies;      ///< of the requests read whole, in order
  std::optional<edge_error> refusal;
  std::size_t largest_buffer = 0;       ///< the most bytes the buffer held
};

/// Reads requests from `wire` as a session would, in reads of at most `read_size` bytes.
outcome read_all(std::string_view wire, std::size_t read_size, const listen_config& limits = {}) {
  outcome out;
  auto buffer = make_read_buffer(limits);
  auto read = [&]() -> bool {
    auto n = std::min({read_size, request_reader::room(buffer), wire.size()});
    if (n == 0) return false;
    auto into = buffer.prepare(n);
    std::copy_n(wire.data(), n, static_cast<char*>(into.data()));
    buffer.commit(n);
    wire.remove_prefix(n);
    out.largest_buffer = std::max(out.largest_buffer, buffer.size());
    return true;
  };
  while (buffer.size() > 0 || read()) {
    request_reader reader(limits);
    auto p = request_reader::progress::need_more;
    while ((p = reader.read_header(buffer)) == request_reader::progress::need_more) {
      if (!read()) return out;
    }
    if (p == request_reader::progress::header_done) {
      while ((p = reader.read_body(buffer)) == request_reader::progress::need_more) {
        if (!read()) return out;
      }
    }
    if (p == request_reader::progress::refused) {
      out.refusal = reader.error();
      return out;
    }
    out.bodies.push_back(reader.release().body());
  }
  return out;
}

const std::vector<std::size_t> splits = {1, 3, 64, 4096};

TEST(request_framing, a_chunked_body_is_read_whole_however_it_is_split) {
  const std::string wire = std::string(chunked_head) + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  for (auto n : splits) {
    auto out = read_all(wire, n);
    EXPECT_FALSE(out.refusal) << n << ": " << out.refusal->message;
    EXPECT_EQ(out.bodies, std::vector<std::string>{"hello world"}) << n;
  }
}

TEST(request_framing, a_trailer_field_is_refused_however_it_is_split) {
  const std::string wire = std::string(chunked_head) + "2\r\n{}\r\n0\r\nX-Forwarded-For: 10.1.2.3\r\n\r\n";
  for (auto n : splits) {
    auto out = read_all(wire, n);
    ASSERT_TRUE(out.refusal) << n;
    EXPECT_EQ(out.refusal->code, boost::beast::http::status::bad_request);
    EXPECT_NE(out.refusal->message.find("trailer"), std::string::npos) << out.refusal->message;
    EXPECT_TRUE(out.bodies.empty());
  }
}

TEST(request_framing, a_chunk_extension_is_refused_on_any_chunk) {
  for (std::string tail : {"2;a=b\r\n{}\r\n0\r\n\r\n", "2\r\n{}\r\n0;a=b\r\n\r\n"}) {
    for (auto n : splits) {
      auto out = read_all(std::string(chunked_head) + tail, n);
      ASSERT_TRUE(out.refusal) << n << tail;
      EXPECT_EQ(out.refusal->message, "chunk extensions are not accepted");
    }
  }
}

TEST(request_framing, a_chunk_size_line_past_the_limit_is_refused_however_it_is_split) {
  const std::string wire = std::string(chunked_head) + std::string(chunk_line_limit, '0') + "\r\n\r\n";
  for (auto n : splits) {
    auto out = read_all(wire, n);
    ASSERT_TRUE(out.refusal) << n;
    EXPECT_EQ(out.refusal->code, boost::beast::http::status::bad_request);
  }
  // Leading zeros within the limit are still a valid last chunk.
  auto ok = read_all(std::string(chunked_head) + "2\r\n{}\r\n" + std::string(100, '0') + "\r\n\r\n", 4096);
  EXPECT_FALSE(ok.refusal);
  EXPECT_EQ(ok.bodies, std::vector<std::string>{"{}"});
}

TEST(request_framing, endless_framings_never_grow_the_buffer_past_its_cap) {
  const listen_config limits;
  const auto cap = make_read_buffer(limits).max_size();
  const std::string endless(1 << 20, 'a');
  const std::vector<std::string> floods = {
      "GET /" + endless,
      "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + endless,
      std::string(chunked_head) + std::string(1 << 20, '0'),
      std::string(chunked_head) + "1;ext=" + endless,
      std::string(chunked_head) + "0\r\nX-Trailer: " + endless,
  };
  for (const auto& wire : floods) {
    auto out = read_all(wire, 4096, limits);
    EXPECT_TRUE(out.refusal) << wire.substr(0, 80);
    EXPECT_LE(out.largest_buffer, cap);
  }
}

TEST(request_framing, each_pipelined_request_gets_the_whole_header_and_body_limits) {
  listen_config limits;
  limits.header_limit = 256;
  limits.body_limit = 100;
  const std::string near = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(200, 'p') + "\r\n\r\n";
  const std::string body = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 90\r\n\r\n" + std::string(90, 'b');
  auto out = read_all(near + body + near + body + body, 4096, limits);
  EXPECT_FALSE(out.refusal);
  EXPECT_EQ(out.bodies.size(), 5u);
  auto over = read_all(body + body + "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n", 4096, limits);
  ASSERT_TRUE(over.refusal);
  EXPECT_EQ(over.refusal->code, boost::beast::http::status::payload_too_large);
  EXPECT_EQ(over.bodies.size(), 2u);
}

}  // namespace
}  // namespace dlrd::http
