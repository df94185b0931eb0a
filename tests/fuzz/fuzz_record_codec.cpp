// Fuzzes the spool record codec: arbitrary bytes never crash it, and whatever decodes
// survives an encode → decode round trip unchanged.
#include <dlrd/report/codec.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dlrd::report;
  auto record = decode(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!record) return 0;
  auto bytes = encode(*record);
  auto again = decode(bytes);
  if (!again || *again != *record) std::abort();
  // The encoding is canonical from here on: encoding the copy gives the same bytes.
  if (encode(*again) != bytes) std::abort();
  return 0;
}
