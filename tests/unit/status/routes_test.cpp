// The /v1/messages routes without a database: which command a request becomes, and the 400,
// 404 and 405 answers for what they refuse.
#include "routes.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace std::chrono_literals;
using dlrd::status::answer;
using dlrd::status::command;
using dlrd::status::lookup_command;
using dlrd::status::send_command;
using dlrd::status::wait_command;

command route(std::string_view method, std::string_view target, std::string_view body = {}) {
  dlrd::status::status_api_config config;
  config.max_wait = 60s;
  config.max_batch = 3;
  return dlrd::status::route({method, target, body}, config);
}

answer refused(const command& c) {
  const auto* a = std::get_if<answer>(&c);
  EXPECT_NE(a, nullptr) << "the request was accepted";
  return a ? *a : answer{};
}

dlrd::store::send_record sent(std::string_view body) {
  auto c = route("POST", "/v1/messages", body);
  const auto* s = std::get_if<send_command>(&c);
  EXPECT_NE(s, nullptr) << (std::holds_alternative<answer>(c) ? std::get<answer>(c).error : "");
  return s ? s->send : dlrd::store::send_record{};
}

TEST(status_routes, a_get_without_wait_is_a_lookup_of_the_decoded_id) {
  auto c = route("GET", "/v1/messages/a%2Fb");
  ASSERT_TRUE(std::holds_alternative<lookup_command>(c));
  EXPECT_EQ(std::get<lookup_command>(c).id, "a/b");
  EXPECT_TRUE(std::holds_alternative<lookup_command>(route("HEAD", "/v1/messages/x?wait=0")));
}

TEST(status_routes, a_get_with_wait_is_a_single_id_long_poll_capped_at_max_wait) {
  auto c = route("GET", "/v1/messages/x?wait=30s");
  ASSERT_TRUE(std::holds_alternative<wait_command>(c));
  const auto& w = std::get<wait_command>(c);
  EXPECT_EQ(w.ids, std::vector<std::string>{"x"});
  EXPECT_FALSE(w.batch);
  EXPECT_EQ(w.wait, 30s);
  EXPECT_EQ(std::get<wait_command>(route("GET", "/v1/messages/x?wait=10m")).wait, 60s);
}

TEST(status_routes, a_bad_wait_or_query_is_400_naming_wait) {
  auto a = refused(route("GET", "/v1/messages/x?wait=soon"));
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.field, "wait");
  EXPECT_EQ(refused(route("GET", "/v1/messages/x?wait=%zz")).status, 400);
}

TEST(status_routes, an_id_too_long_is_404_and_an_unknown_path_too) {
  EXPECT_EQ(refused(route("GET", "/v1/messages/" + std::string(129, 'a'))).status, 404);
  EXPECT_EQ(refused(route("GET", "/v1/other")).status, 404);
  EXPECT_EQ(refused(route("GET", "/v1/messages/")).status, 404);
}

TEST(status_routes, a_wrong_method_is_405_with_the_allowed_ones) {
  auto a = refused(route("DELETE", "/v1/messages/x"));
  EXPECT_EQ(a.status, 405);
  EXPECT_EQ(a.allow, "GET, HEAD");
  EXPECT_EQ(refused(route("GET", "/v1/messages")).allow, "POST");
  EXPECT_EQ(refused(route("GET", "/v1/messages:wait")).allow, "POST");
}

TEST(status_routes, a_batch_wait_keeps_the_first_of_each_id_in_order) {
  auto c = route("POST", "/v1/messages:wait", R"({"ids": ["b", "a", "b"], "wait": "5s"})");
  ASSERT_TRUE(std::holds_alternative<wait_command>(c));
  const auto& w = std::get<wait_command>(c);
  EXPECT_EQ(w.ids, (std::vector<std::string>{"b", "a"}));
  EXPECT_TRUE(w.batch);
  EXPECT_EQ(w.wait, 5s);
  EXPECT_EQ(std::get<wait_command>(route("POST", "/v1/messages:wait", R"({"ids": ["a"]})")).wait, 60s);
  EXPECT_EQ(std::get<wait_command>(route("POST", "/v1/messages:wait", R"({"ids": ["a"], "wait": 2})")).wait, 2s);
}

TEST(status_routes, a_batch_wait_refuses_too_many_ids_bad_ids_and_bad_waits) {
  EXPECT_EQ(refused(route("POST", "/v1/messages:wait", R"({"ids": ["a", "b", "c", "d"]})")).field, "ids");
  EXPECT_EQ(refused(route("POST", "/v1/messages:wait", R"({"ids": []})")).field, "ids");
  EXPECT_EQ(refused(route("POST", "/v1/messages:wait", R"({"ids": [1]})")).field, "ids");
  EXPECT_EQ(refused(route("POST", "/v1/messages:wait", R"({"ids": ["a"], "wait": -1})")).field, "wait");
  EXPECT_EQ(refused(route("POST", "/v1/messages:wait", "[]")).status, 400);
}

TEST(status_routes, a_send_is_read_under_the_articles_names_and_the_first_releases) {
  auto s = sent(R"({"message_id": "m1", "to_number": "+447700900123", "from": "Shop", "text": "hi",
                    "cost_eur": "0.042", "parts": 2, "tags": ["otp"], "sent_at": "2024-05-01T12:00:00Z"})");
  EXPECT_EQ(s.message_id, "m1");
  EXPECT_EQ(s.to, "+447700900123");
  EXPECT_EQ(s.from, "Shop");
  EXPECT_EQ(s.text, "hi");
  EXPECT_EQ(s.cost, "0.042");
  EXPECT_EQ(s.parts, "2");
  EXPECT_EQ(s.tags, std::vector<std::string>{"otp"});
  EXPECT_EQ(s.sent_at, "2024-05-01T12:00:00Z");
  EXPECT_FALSE(s.part_ids);
}

TEST(status_routes, part_ids_give_the_parts_count_when_none_is_given) {
  auto s = sent(R"({"message_id": "m1", "part_ids": ["p1", "p2", "p3"]})");
  ASSERT_TRUE(s.part_ids);
  EXPECT_EQ(s.part_ids->size(), 3u);
  EXPECT_EQ(s.parts, "3");
}

TEST(status_routes, a_bad_send_is_400_naming_the_field_under_the_name_it_was_given) {
  auto field = [](std::string_view body) { return refused(route("POST", "/v1/messages", body)).field; };
  EXPECT_EQ(field(R"({"to": "+44"})"), "message_id");
  EXPECT_EQ(field(R"({"message_id": "m", "to": "not a number"})"), "to");
  EXPECT_EQ(field(R"({"message_id": "m", "to_number": "not a number"})"), "to_number");
  EXPECT_EQ(field(R"({"message_id": "m", "country": "gb"})"), "country");
  EXPECT_EQ(field(R"({"message_id": "m", "parts": 0})"), "parts");
  EXPECT_EQ(field(R"({"message_id": "m", "cost_eur": 12345})"), "cost_eur");
  EXPECT_EQ(field(R"({"message_id": "m", "cost": "-1"})"), "cost");
  EXPECT_EQ(field(R"({"message_id": "m", "tags": [""]})"), "tags");
  EXPECT_EQ(field(R"({"message_id": "m", "part_ids": ["m"]})"), "part_ids");
  EXPECT_EQ(field(R"({"message_id": "m", "sent_at": "yesterday"})"), "sent_at");
  EXPECT_EQ(field(R"({"message_id": 7})"), "message_id");
  EXPECT_EQ(refused(route("POST", "/v1/messages", "not json")).status, 400);
}

}  // namespace
