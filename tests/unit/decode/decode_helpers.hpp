// Helpers the profile tests share: built-in profiles by name, a YAML profile (optionally
// extending a built-in), callback inputs, and decoding that fails the test on the wrong outcome.
#pragma once

#include <dlrd/config/yaml.hpp>
#include <dlrd/decode/profile.hpp>
#include <dlrd/report/time.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

namespace dlrd::decode::test_helpers {

/// When the callbacks of these tests arrive.
inline const report::time_point received = *report::parse_timestamp("2026-03-01T09:00:00Z");

inline const profile& builtin(std::string_view name) {
  const auto* p = find_builtin(name);
  if (!p) throw std::runtime_error("no built-in profile " + std::string(name));
  return *p;
}

/// A profile named "custom" read from `yaml`, starting from built-in `base` when given
/// (as `extends: <base>` does).
inline profile from_yaml(const std::string& yaml, std::string_view base = {}) {
  profile p;
  if (!base.empty()) p = builtin(base);
  p.name = "custom";
  config::load_string(yaml, "test", [&p](config::section& root) { parse_profile(root, p); });
  return p;
}

inline decoded ok(const profile& p, const callback_input& in) {
  auto r = decode(p, in, received);
  if (auto* e = std::get_if<profile_error>(&r)) {
    ADD_FAILURE() << p.name << ": unexpected error: " << e->error.reason << " (field '" << e->error.field << "')";
    return {};
  }
  return std::get<decoded>(r);
}

inline profile_error err(const profile& p, const callback_input& in) {
  auto r = decode(p, in, received);
  if (!std::holds_alternative<profile_error>(r)) {
    ADD_FAILURE() << p.name << ": decoded although it should not: " << in.query << in.body;
    return {};
  }
  return std::get<profile_error>(r);
}

inline callback_input get(std::string_view query) {
  callback_input in;
  in.get = true;
  in.query = query;
  return in;
}

inline callback_input post(std::string_view media, std::string_view body, std::string_view query = {}) {
  callback_input in;
  in.media_type = media;
  in.body = body;
  in.query = query;
  return in;
}

/// The one report `in` decodes to (a test failure when it is not exactly one).
inline report::delivery_report one(const profile& p, const callback_input& in) {
  auto d = ok(p, in);
  EXPECT_EQ(d.reports.size(), 1u);
  return d.reports.empty() ? report::delivery_report{} : d.reports.front();
}

}  // namespace dlrd::decode::test_helpers
