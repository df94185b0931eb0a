// The one rule for what sms_logs.cost_eur (NUMERIC(10,6)) can hold, shared by the writer and
// POST /v1/messages.
#include <dlrd/report/report.hpp>

#include <gtest/gtest.h>

namespace {

using dlrd::report::fits_cost_eur;

TEST(cost_eur, four_digits_before_the_point_fit_and_five_do_not) {
  for (const char* ok : {"0", "0.045", "9999", "9999.1234567", "-12.5", "+3", "00009999.5", "0000"}) {
    EXPECT_TRUE(fits_cost_eur(ok)) << ok;
  }
  for (const char* no : {"10000", "10000.0", "999999999999.5", "-10000", "00010000"}) {
    EXPECT_FALSE(fits_cost_eur(no)) << no;
  }
}

TEST(cost_eur, anything_but_plain_decimal_text_does_not_fit) {
  for (const char* no : {"", ".5", "1e3", "1.2.3", "12a", "-", "1.5e-3", " 1"}) {
    EXPECT_FALSE(fits_cost_eur(no)) << '"' << no << '"';
  }
}

}  // namespace
