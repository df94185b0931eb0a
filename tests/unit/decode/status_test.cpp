// Gateway status words: the whole mapping table, case and whitespace, and unknown words.
#include <dlrd/decode/decode.hpp>

#include <gtest/gtest.h>

namespace dlrd::decode {
namespace {

using report::status;

struct word_case {
  std::string_view word;
  status expected;
};

class status_word : public testing::TestWithParam<word_case> {};

TEST_P(status_word, maps_to_its_canonical_status) {
  EXPECT_EQ(map_status_word(GetParam().word), GetParam().expected) << GetParam().word;
}

INSTANTIATE_TEST_SUITE_P(
    table, status_word,
    testing::Values(word_case{"delivered", status::delivered}, word_case{"delivrd", status::delivered},
                    word_case{"success", status::delivered}, word_case{"successful", status::delivered},
                    word_case{"undelivered", status::undelivered}, word_case{"undeliv", status::undelivered},
                    word_case{"undeliverable", status::undelivered}, word_case{"failed", status::undelivered},
                    word_case{"failure", status::undelivered}, word_case{"error", status::undelivered},
                    word_case{"rejected", status::rejected}, word_case{"rejectd", status::rejected},
                    word_case{"blocked", status::rejected}, word_case{"expired", status::expired},
                    word_case{"pending", status::pending}, word_case{"queued", status::pending},
                    word_case{"submitted", status::pending}, word_case{"sent", status::pending},
                    word_case{"accepted", status::pending}, word_case{"acceptd", status::pending},
                    word_case{"enroute", status::pending}, word_case{"buffered", status::pending},
                    word_case{"scheduled", status::pending}, word_case{"processing", status::pending},
                    word_case{"unknown", status::pending},
                    // SMPP receipts shout; people type mixed case; some pad the field.
                    word_case{"DELIVRD", status::delivered}, word_case{"UNDELIV", status::undelivered},
                    word_case{"Rejected", status::rejected}, word_case{"  expired\t", status::expired},
                    word_case{"\nENROUTE ", status::pending}));

TEST(status_word, unknown_words_map_to_nothing) {
  for (std::string_view w : {"", " ", "deliver", "delivered!", "deleted", "ok", "d e l i v e r e d", "delivered_x",
                             "xyz", "délivré"}) {
    EXPECT_FALSE(map_status_word(w)) << w;
  }
  EXPECT_FALSE(map_status_word(std::string_view("sent\0", 5)));
}

}  // namespace
}  // namespace dlrd::decode
