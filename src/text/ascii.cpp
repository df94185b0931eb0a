// ASCII lower-casing of whole strings.
#include <dlrd/text/ascii.hpp>

namespace dlrd::text {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

}  // namespace dlrd::text
