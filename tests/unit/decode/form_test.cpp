// Forms, query strings, targets and media types: the pieces of a request a profile reads.
#include <dlrd/decode/form.hpp>

#include <gtest/gtest.h>

namespace {

using dlrd::decode::media_type_of;

TEST(decode_form, a_media_type_loses_its_parameters_and_spaces_and_is_lower_cased) {
  std::string storage;
  EXPECT_EQ(media_type_of("application/json", storage), "application/json");
  EXPECT_TRUE(storage.empty());  // already lower case: a view, nothing copied
  EXPECT_EQ(media_type_of(" application/x-www-form-urlencoded ; charset=UTF-8", storage),
            "application/x-www-form-urlencoded");
  EXPECT_EQ(media_type_of("Application/JSON;charset=utf-8", storage), "application/json");
  EXPECT_EQ(media_type_of("", storage), "");
  EXPECT_EQ(media_type_of("; charset=utf-8", storage), "");
}

TEST(decode_form, query_and_path_split_a_target_at_the_first_question_mark) {
  EXPECT_EQ(dlrd::decode::query_of("/dlr/kannel?id=1&type=1"), "id=1&type=1");
  EXPECT_EQ(dlrd::decode::path_of("/dlr/kannel?id=1&type=1"), "/dlr/kannel");
  EXPECT_EQ(dlrd::decode::query_of("/dlr/kannel"), "");
  EXPECT_EQ(dlrd::decode::query_of("/a?b?c"), "b?c");
}

TEST(decode_form, percent_decoding_reads_plus_as_space_only_in_forms_and_refuses_broken_escapes) {
  EXPECT_EQ(dlrd::decode::percent_decode("%2B44+7700", true), "+44 7700");
  EXPECT_EQ(dlrd::decode::percent_decode("%2B44+7700", false), "+44+7700");
  EXPECT_FALSE(dlrd::decode::percent_decode("%2", true).has_value());
  EXPECT_FALSE(dlrd::decode::percent_decode("%zz", true).has_value());
}

}  // namespace
