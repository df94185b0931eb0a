// id_match: a receipt's id rewritten into the id the send logged (case, leading zeros, the
// hex submit_sm_resp id against the decimal receipt id), and ids it cannot convert.
#include <dlrd/decode/profile.hpp>

#include "decode_helpers.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dlrd::decode {
namespace {

using namespace test_helpers;

TEST(id_match, each_rule_rewrites_an_id_into_the_form_the_send_logged) {
  EXPECT_EQ(match_id(id_match::exact, "0A1b"), "0A1b");
  EXPECT_EQ(match_id(id_match::lower, "3F2504E0-4F89-11D3-9A0C-0305E82C3301"), "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
  EXPECT_EQ(match_id(id_match::upper, "33e95179"), "33E95179");
  EXPECT_EQ(match_id(id_match::unpadded, "0000029095"), "29095");
  EXPECT_EQ(match_id(id_match::unpadded, "000"), "0");
  // The receipt of a message Kannel could not match ("got DLR but could not find message",
  // jsmpp issue 56): submit_sm_resp said 33E95179, the receipt id:0870928761.
  EXPECT_EQ(match_id(id_match::decimal_to_hex_upper, "0870928761"), "33E95179");
  EXPECT_EQ(match_id(id_match::decimal_to_hex, "870928761"), "33e95179");
  EXPECT_EQ(match_id(id_match::hex_to_decimal, "33e95179"), "870928761");
  EXPECT_EQ(match_id(id_match::hex_to_decimal, "0033E95179"), "870928761");
  EXPECT_EQ(match_id(id_match::decimal_to_hex, "18446744073709551615"), "ffffffffffffffff");
}

TEST(id_match, an_id_that_is_not_a_number_of_the_base_or_too_big_is_not_converted) {
  EXPECT_EQ(match_id(id_match::decimal_to_hex, "33E95179"), std::nullopt);
  EXPECT_EQ(match_id(id_match::decimal_to_hex, "18446744073709551616"), std::nullopt);
  EXPECT_EQ(match_id(id_match::decimal_to_hex, "-1"), std::nullopt);
  EXPECT_EQ(match_id(id_match::hex_to_decimal, "0x33E95179"), std::nullopt);
  EXPECT_EQ(match_id(id_match::hex_to_decimal, "msg-1"), std::nullopt);
}

TEST(id_match, a_profile_writes_the_converted_id_and_refuses_one_it_cannot_convert) {
  constexpr std::string_view receipt =
      "id:0870928761 sub:001 dlvrd:001 submit date:2305011200 done date:2305011201 "
      "stat:DELIVRD err:000 text:hello";
  auto p = from_yaml("id_match: decimal_to_hex_upper\n", "smpp");
  EXPECT_EQ(one(p, post("text/plain", receipt)).message_id, "33E95179");
  EXPECT_EQ(one(builtin("smpp"), post("text/plain", receipt)).message_id, "0870928761");  // exact by default
  // A message_id field is rewritten the same way as a receipt's id.
  EXPECT_EQ(one(p, get("message_id=0870928761&receipt=stat%3ADELIVRD")).message_id, "33E95179");
  auto e = err(p, post("text/plain", "id:33E95179 stat:DELIVRD"));
  EXPECT_EQ(e.error.field, "body");
  EXPECT_NE(e.error.reason.find("'33E95179' is not a number of the base id_match converts from"), std::string::npos)
      << e.error.reason;

  auto lower = from_yaml("id_match: lower\n", "jasmin");
  EXPECT_EQ(one(lower, get("id=3F2504E0-4F89-11D3-9A0C-0305E82C3301&message_status=DELIVRD")).message_id,
            "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
}

TEST(id_match, an_unknown_rule_is_a_configuration_error_listing_the_rules) {
  try {
    from_yaml("id_match: case_insensitive\n", "smpp");
    FAIL() << "case_insensitive accepted";
  } catch (const config::config_error& e) {
    EXPECT_NE(std::string(e.what()).find("id_match: 'case_insensitive' is not one of exact, lower, upper, unpadded, "
                                         "decimal_to_hex, decimal_to_hex_upper, hex_to_decimal"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace dlrd::decode
