// Content-Type values reduced to the media type the decoders compare.
#include <dlrd/text/media_type.hpp>

#include <dlrd/text/ascii.hpp>

#include <algorithm>

namespace dlrd::text {

std::string_view media_type_of(std::string_view content_type, std::string& storage) {
  auto t = trim(content_type.substr(0, content_type.find(';')), blanks);
  if (std::none_of(t.begin(), t.end(), is_upper)) return t;
  storage = lower(t);
  return storage;
}

}  // namespace dlrd::text
