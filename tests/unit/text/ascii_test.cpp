// ASCII helpers: only ASCII letters change case, trimming takes a set, hex digits either case.
#include <dlrd/text/ascii.hpp>

#include <gtest/gtest.h>

namespace {

using namespace dlrd::text;

TEST(text_ascii, character_classes_are_ascii_only) {
  for (char c : {'a', 'z', 'A', 'Z'}) EXPECT_TRUE(is_alpha(c) && is_alnum(c) && !is_digit(c)) << c;
  for (char c : {'0', '9'}) EXPECT_TRUE(is_digit(c) && is_alnum(c) && !is_alpha(c)) << c;
  for (char c : {'@', '[', '`', '{', '/', ':', '-', '_', ' ', '\xC3', '\xA9'}) EXPECT_FALSE(is_alnum(c)) << c;
  EXPECT_TRUE(is_upper('A') && is_upper('Z') && !is_upper('a') && !is_upper('@') && !is_upper('['));
}

TEST(text_ascii, lower_changes_ascii_letters_only) {
  EXPECT_EQ(lower("HTTPS://Example.COM/Path?Q=1"), "https://example.com/path?q=1");
  EXPECT_EQ(lower("DELIVRD-09_@[`{"), "delivrd-09_@[`{");
  EXPECT_EQ(lower("\xC3\x89T\xC3\x89"), "\xC3\x89t\xC3\x89");  // UTF-8 bytes are left alone
  EXPECT_EQ(lower(""), "");
  static_assert(lower('Z') == 'z' && lower('a') == 'a' && lower('@') == '@' && lower('[') == '[');
}

TEST(text_ascii, iequals_ignores_ascii_case_and_nothing_else) {
  EXPECT_TRUE(iequals("Bearer", "bEARER"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("Bearer", "Bearer "));
  EXPECT_FALSE(iequals("token", "tokens"));
  EXPECT_FALSE(iequals("@", "`"));  // 0x40 and 0x60 differ by the case bit but are not letters
  EXPECT_FALSE(iequals("\xC3\x89", "\xC3\xA9"));
  static_assert(iequals("Stat:", "stat:"));
}

TEST(text_ascii, trim_removes_only_the_given_characters_at_both_ends) {
  EXPECT_EQ(trim(" \tBearer abc \t"), "Bearer abc");
  EXPECT_EQ(trim("\r\n value\r\n"), "\r\n value\r\n");  // blanks by default: header values
  EXPECT_EQ(trim("\r\n value \r\n", blanks_and_line_ends), "value");
  EXPECT_EQ(trim("\v10 s\f", blanks_and_line_ends), "\v10 s\f");
  EXPECT_EQ(trim("\v10 s\f", c_space), "10 s");
  EXPECT_EQ(trim(" \t "), "");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("a"), "a");
  static_assert(trim("  x y  ") == "x y");
}

TEST(text_ascii, hex_digits_read_in_either_case) {
  EXPECT_EQ(hex_value('0'), 0);
  EXPECT_EQ(hex_value('9'), 9);
  EXPECT_EQ(hex_value('a'), 10);
  EXPECT_EQ(hex_value('F'), 15);
  for (char c : {'g', 'G', '/', ':', '@', '`', ' ', '\0'}) EXPECT_EQ(hex_value(c), -1) << c;
}

}  // namespace
