// Recipient normalisation to E.164: separators, prefixes, and the plausibility limits.
#include <dlrd/decode/decode.hpp>

#include <gtest/gtest.h>

namespace dlrd::decode {
namespace {

TEST(recipient, separators_are_stripped_and_plus_is_kept) {
  EXPECT_EQ(normalize_recipient("+44 7700-900123"), "+447700900123");
  EXPECT_EQ(normalize_recipient("+1 (415) 555.0123"), "+14155550123");
  EXPECT_EQ(normalize_recipient("  +447700900123  "), "+447700900123");
}

TEST(recipient, double_zero_prefix_becomes_plus) {
  EXPECT_EQ(normalize_recipient("0044 7700 900123"), "+447700900123");
  EXPECT_EQ(normalize_recipient("00-1-415-555-0123"), "+14155550123");
}

TEST(recipient, bare_digits_get_a_plus) {
  EXPECT_EQ(normalize_recipient("447700900123"), "+447700900123");
}

TEST(recipient, length_limits_are_seven_to_fifteen_digits) {
  EXPECT_EQ(normalize_recipient("1234567"), "+1234567");
  EXPECT_FALSE(normalize_recipient("123456"));
  EXPECT_EQ(normalize_recipient("123456789012345"), "+123456789012345");
  EXPECT_FALSE(normalize_recipient("1234567890123456"));
  EXPECT_EQ(normalize_recipient("00123456789012345"), "+123456789012345");
  EXPECT_FALSE(normalize_recipient(std::string(1000, '9')));
}

TEST(recipient, implausible_numbers_are_rejected) {
  EXPECT_FALSE(normalize_recipient(""));
  EXPECT_FALSE(normalize_recipient("+"));
  EXPECT_FALSE(normalize_recipient("07700900123"));     // national trunk prefix, no country
  EXPECT_FALSE(normalize_recipient("+07700900123"));
  EXPECT_FALSE(normalize_recipient("000447700900123"));  // "00" then a leading 0
  EXPECT_FALSE(normalize_recipient("++447700900123"));
  EXPECT_FALSE(normalize_recipient("44+7700900123"));
  EXPECT_FALSE(normalize_recipient("+44 7700 9001 23x"));
  EXPECT_FALSE(normalize_recipient("+44/7700900123"));
  EXPECT_FALSE(normalize_recipient("tel:+447700900123"));
  EXPECT_FALSE(normalize_recipient("ACME"));
  EXPECT_FALSE(normalize_recipient("+４４7700900123"));  // full-width digits are not ASCII digits
}

}  // namespace
}  // namespace dlrd::decode
