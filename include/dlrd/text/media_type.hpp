// The media type of a Content-Type header value, as the decoders compare it.
#pragma once

#include <string>
#include <string_view>

namespace dlrd::text {

/// The media type of a Content-Type value, without parameters and lower-cased:
/// "Application/JSON; charset=utf-8" → "application/json". A view of `content_type` when it
/// is already lower case (what gateways send); otherwise a lower-cased copy kept in `storage`.
std::string_view media_type_of(std::string_view content_type, std::string& storage);

}  // namespace dlrd::text
