// The `decode` config section: what to do with an authenticated callback that does not decode.
#include <dlrd/decode/config.hpp>

#include <string>

namespace dlrd::decode {

void parse(config::section& s, decode_config& out) {
  std::string on_invalid = out.reject_invalid ? "reject" : "quarantine";
  s.read_choice("on_invalid", on_invalid, {"quarantine", "reject"});
  out.reject_invalid = on_invalid == "reject";
}

}  // namespace dlrd::decode
