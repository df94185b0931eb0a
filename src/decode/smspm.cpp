// SMSPM's JSON callback through the built-in `smspm` profile (kept as a function for the
// fuzzer and the tests that speak of SMSPM's documented format).
#include <dlrd/decode/decode.hpp>

#include <dlrd/decode/profile.hpp>

namespace dlrd::decode {

decode_result decode_smspm_json(std::string_view body, report::time_point received_at) {
  callback_input in;
  in.media_type = "application/json";
  in.body = body;
  auto r = decode(*find_builtin("smspm"), in, received_at);
  if (auto* e = std::get_if<profile_error>(&r)) return std::move(e->error);
  return std::move(std::get<decoded>(r).reports);
}

}  // namespace dlrd::decode
