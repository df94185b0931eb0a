// Transitional: the form, query-string and media-type helpers live in dlrd/text
// (url.hpp, media_type.hpp). These names remain for the callers not yet moved to them.
#pragma once

#include <dlrd/text/media_type.hpp>
#include <dlrd/text/url.hpp>

namespace dlrd::decode {

using text::form_fields;
using text::media_type_of;
using text::parse_form;
using text::path_of;
using text::percent_decode;
using text::query_of;

}  // namespace dlrd::decode
