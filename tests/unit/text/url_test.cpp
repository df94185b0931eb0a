// Forms, query strings, targets and media types: the pieces of a request a profile reads.
#include <dlrd/text/url.hpp>

#include <dlrd/text/media_type.hpp>

#include <gtest/gtest.h>

namespace {

using dlrd::text::media_type_of;

TEST(text_media_type, a_media_type_loses_its_parameters_and_spaces_and_is_lower_cased) {
  std::string storage;
  EXPECT_EQ(media_type_of("application/json", storage), "application/json");
  EXPECT_TRUE(storage.empty());  // already lower case: a view, nothing copied
  EXPECT_EQ(media_type_of(" application/x-www-form-urlencoded ; charset=UTF-8", storage),
            "application/x-www-form-urlencoded");
  EXPECT_EQ(media_type_of("Application/JSON;charset=utf-8", storage), "application/json");
  EXPECT_EQ(media_type_of("", storage), "");
  EXPECT_EQ(media_type_of("; charset=utf-8", storage), "");
}

TEST(text_url, query_and_path_split_a_target_at_the_first_question_mark) {
  EXPECT_EQ(dlrd::text::query_of("/dlr/kannel?id=1&type=1"), "id=1&type=1");
  EXPECT_EQ(dlrd::text::path_of("/dlr/kannel?id=1&type=1"), "/dlr/kannel");
  EXPECT_EQ(dlrd::text::query_of("/dlr/kannel"), "");
  EXPECT_EQ(dlrd::text::query_of("/a?b?c"), "b?c");
}

TEST(text_url, percent_encoding_keeps_only_unreserved_characters_and_decodes_back) {
  EXPECT_EQ(dlrd::text::percent_encode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(dlrd::text::percent_encode("a/b+c%d&e f"), "a%2Fb%2Bc%25d%26e%20f");
  EXPECT_EQ(dlrd::text::percent_encode("\xC3\xA9"), "%C3%A9");  // bytes, not characters
  const std::string every_byte = [] {
    std::string s;
    for (int c = 0; c < 256; ++c) s += static_cast<char>(c);
    return s;
  }();
  EXPECT_EQ(dlrd::text::percent_decode(dlrd::text::percent_encode(every_byte), false), every_byte);
}

TEST(text_url, percent_decoding_reads_plus_as_space_only_in_forms_and_refuses_broken_escapes) {
  EXPECT_EQ(dlrd::text::percent_decode("%2B44+7700", true), "+44 7700");
  EXPECT_EQ(dlrd::text::percent_decode("%2B44+7700", false), "+44+7700");
  EXPECT_FALSE(dlrd::text::percent_decode("%2", true).has_value());
  EXPECT_FALSE(dlrd::text::percent_decode("%zz", true).has_value());
}

TEST(text_url, a_form_keeps_its_fields_in_order_with_duplicates_and_skips_empty_pairs) {
  auto fields = dlrd::text::parse_form("a=1&&b=x%20y&c&a=2&d=");
  ASSERT_TRUE(fields.has_value());
  dlrd::text::form_fields expected{{"a", "1"}, {"b", "x y"}, {"c", ""}, {"a", "2"}, {"d", ""}};
  EXPECT_EQ(*fields, expected);
  EXPECT_EQ(dlrd::text::parse_form("")->size(), 0u);
  EXPECT_EQ(dlrd::text::parse_form("to=%2B44+7700")->front().second, "+44 7700");
  EXPECT_FALSE(dlrd::text::parse_form("a=1&b=%G0").has_value());
  EXPECT_FALSE(dlrd::text::parse_form("%=1").has_value());
}

}  // namespace
