// Unit tests of the edge checks on parsed requests and raw header bytes, without a socket.
#include <dlrd/http/edge.hpp>

#include <boost/beast/http/error.hpp>

#include <gtest/gtest.h>

#include <string>

namespace dlrd::http {
namespace {

namespace bhttp = boost::beast::http;

request header(unsigned version, std::string_view host = "dlrd.test") {
  request req{bhttp::verb::post, "/webhooks/smspm", version};
  if (!host.empty()) req.set(bhttp::field::host, host);
  return req;
}

TEST(edge_checks, a_plain_http_1_1_header_passes) {
  EXPECT_FALSE(check_header(header(11), listen_config{}));
  EXPECT_FALSE(check_header(header(10, {}), listen_config{}));  // HTTP/1.0 needs no Host
}

TEST(edge_checks, only_http_1_0_and_1_1_are_served) {
  auto e = check_header(header(20), listen_config{});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, bhttp::status::http_version_not_supported);
  EXPECT_EQ(e->reason, rejection::malformed);
}

TEST(edge_checks, an_http_1_1_request_needs_exactly_one_host) {
  auto none = check_header(header(11, {}), listen_config{});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->code, bhttp::status::bad_request);
  auto two = header(11);
  two.insert(bhttp::field::host, "other.test");
  EXPECT_TRUE(check_header(two, listen_config{}));
}

TEST(edge_checks, too_many_header_fields_are_431) {
  listen_config limits;
  limits.max_header_count = 2;
  auto req = header(11);
  req.set("X-One", "1");
  EXPECT_FALSE(check_header(req, limits));
  req.set("X-Two", "2");
  auto e = check_header(req, limits);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, bhttp::status::request_header_fields_too_large);
  EXPECT_EQ(e->reason, rejection::header_too_large);
}

TEST(edge_checks, a_transfer_encoding_other_than_chunked_is_smuggling) {
  auto gzip = header(11);
  gzip.set(bhttp::field::transfer_encoding, "gzip, chunked");
  auto e = check_header(gzip, listen_config{});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->reason, rejection::smuggling);
  auto chunked = header(11);
  chunked.set(bhttp::field::transfer_encoding, "Chunked");
  EXPECT_FALSE(check_header(chunked, listen_config{}));
  auto on_1_0 = header(10);
  on_1_0.set(bhttp::field::transfer_encoding, "chunked");
  EXPECT_TRUE(check_header(on_1_0, listen_config{}));
}

TEST(edge_checks, obsolete_line_folding_is_refused) {
  EXPECT_FALSE(check_line_folding("POST / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(check_line_folding("POST / HTTP/1.1\r\nX-A: 1\r\n 2\r\n\r\n"));
  EXPECT_TRUE(check_line_folding("POST / HTTP/1.1\r\nX-A: 1\r\n\t2\r\n\r\n"));
}

TEST(edge_checks, a_long_target_is_414_even_before_its_line_is_complete) {
  listen_config limits;
  limits.max_target_length = 8;
  EXPECT_FALSE(check_target_length("/1234567", {}, limits));  // 8 bytes
  auto parsed = check_target_length("/123456789", {}, limits);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->code, bhttp::status::uri_too_long);
  EXPECT_EQ(parsed->reason, rejection::target_too_long);
  EXPECT_TRUE(check_target_length({}, "GET /123456789", limits));  // no space after it yet
  EXPECT_FALSE(check_target_length({}, "GET /1234 HTTP/1.1\r\n", limits));
}

TEST(edge_checks, chunk_extensions_and_trailers_are_refused_as_they_start) {
  EXPECT_FALSE(check_unparsed_chunk_line("1"));
  EXPECT_TRUE(check_unparsed_chunk_line("5;name=value"));
  EXPECT_FALSE(check_unparsed_chunk_line("0\r\n\r"));
  EXPECT_TRUE(check_unparsed_chunk_line("0\r\nX-Trailer: 1"));
  EXPECT_TRUE(check_unparsed_chunk_line(std::string(chunk_line_limit, '0')));
  EXPECT_FALSE(check_no_trailers(3, 3));
  EXPECT_TRUE(check_no_trailers(3, 4));
}

TEST(edge_checks, parser_errors_map_to_their_answers) {
  listen_config limits;
  EXPECT_EQ(parse_failure(bhttp::error::header_limit, limits).code, bhttp::status::request_header_fields_too_large);
  EXPECT_EQ(parse_failure(bhttp::error::body_limit, limits).code, bhttp::status::payload_too_large);
  EXPECT_EQ(parse_failure(bhttp::error::bad_content_length, limits).reason, rejection::smuggling);
  EXPECT_EQ(parse_failure(bhttp::error::bad_chunk_extension, limits).message, "chunk extensions are not accepted");
  EXPECT_EQ(parse_failure(bhttp::error::bad_method, limits).reason, rejection::malformed);
}

}  // namespace
}  // namespace dlrd::http
