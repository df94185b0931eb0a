// The `decode` config section.
#pragma once

#include <dlrd/config/yaml.hpp>

namespace dlrd::decode {

struct decode_config {
  /// false: an undecodable callback is quarantined and answered 200 (the default);
  /// true (`on_invalid: reject`): answered 400 and not stored.
  bool reject_invalid = false;

  bool operator==(const decode_config&) const = default;
};

void parse(config::section& s, decode_config& out);

}  // namespace dlrd::decode
