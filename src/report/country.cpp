// Recipient country from libphonenumber, cached by number prefix.
#include <dlrd/report/country.hpp>

#include <phonenumbers/phonenumberutil.h>

#include <unordered_map>

namespace dlrd::report {

namespace {

// "+" and eight digits decide the region in every numbering plan libphonenumber knows
// (NANP needs the area code, the Crown dependencies five digits after +44).
constexpr std::size_t prefix_length = 9;
constexpr std::size_t cache_limit = 200'000;

std::optional<std::string> lookup(std::string_view e164) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  auto* util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util->Parse(std::string(e164), "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR) return std::nullopt;
  std::string region;
  util->GetRegionCodeForNumber(number, &region);
  if (region.size() != 2 || region == "ZZ") return std::nullopt;
  return region;
}

}  // namespace

std::optional<std::string> country_of(std::string_view e164) {
  if (e164.size() < 8 || e164.front() != '+') return std::nullopt;
  thread_local std::unordered_map<std::string, std::optional<std::string>> cache;
  std::string key(e164.substr(0, std::min(prefix_length, e164.size())));
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  auto region = lookup(e164);
  if (cache.size() >= cache_limit) cache.clear();
  cache.emplace(std::move(key), region);
  return region;
}

}  // namespace dlrd::report
