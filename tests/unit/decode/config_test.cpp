// The decode config section: on_invalid choices, its default, and its errors.
#include <dlrd/decode/config.hpp>

#include <gtest/gtest.h>

namespace dlrd::decode {
namespace {

decode_config load(const std::string& yaml) {
  decode_config cfg;
  config::load_string(yaml, "dlrd.yaml", [&](config::section& root) {
    // As the root loader does: the module reads its keys, the loader reports the rest.
    if (auto s = root.child("decode")) {
      parse(*s, cfg);
      s->finish();
    }
  });
  return cfg;
}

TEST(decode_config, quarantine_is_the_default) {
  EXPECT_FALSE(load("").reject_invalid);
  EXPECT_FALSE(load("decode: {}\n").reject_invalid);
}

TEST(decode_config, on_invalid_selects_reject_or_quarantine) {
  EXPECT_TRUE(load("decode:\n  on_invalid: reject\n").reject_invalid);
  EXPECT_FALSE(load("decode:\n  on_invalid: quarantine\n").reject_invalid);
}

TEST(decode_config, a_bad_choice_names_the_key_and_the_choices) {
  try {
    load("decode:\n  on_invalid: drop\n");
    FAIL() << "expected a config_error";
  } catch (const config::config_error& e) {
    EXPECT_STREQ(e.what(), "dlrd.yaml:2: decode.on_invalid: must be one of quarantine, reject, got 'drop'");
  }
}

TEST(decode_config, an_unknown_key_in_the_section_is_reported) {
  try {
    load("decode:\n  on_invalid: reject\n  on_valid: accept\n");
    FAIL() << "expected a config_error";
  } catch (const config::config_error& e) {
    // on_invalid is set already, so it is no candidate for the typo.
    EXPECT_STREQ(e.what(), "dlrd.yaml:3: decode.on_valid: unknown key");
  }
  try {
    load("decode:\n  on_valid: reject\n");
    FAIL() << "expected a config_error";
  } catch (const config::config_error& e) {
    EXPECT_STREQ(e.what(), "dlrd.yaml:2: decode.on_valid: unknown key (did you mean 'on_invalid'?)");
  }
}

}  // namespace
}  // namespace dlrd::decode
