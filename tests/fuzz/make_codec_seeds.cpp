// Writes spool record encodings of the SMSPM fixtures (reports and quarantined payloads)
// into a directory, as the seed corpus of fuzz_record_codec. Usage: make_codec_seeds FIXTURE_DIR OUT_DIR
#include <dlrd/decode/decode.hpp>

#include <dlrd/report/codec.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  using namespace dlrd;
  if (argc != 3) {
    std::cerr << "usage: make_codec_seeds FIXTURE_DIR OUT_DIR\n";
    return 2;
  }
  fs::create_directories(argv[2]);
  const report::time_point received{std::chrono::microseconds{1'714'557'600'000'000}};
  int n = 0;
  auto write = [&](const report::ingest_record& rec) {
    std::ofstream(fs::path(argv[2]) / ("seed-" + std::to_string(n++)), std::ios::binary) << report::encode(rec);
  };
  for (const auto& entry : fs::directory_iterator(argv[1])) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream body;
    body << in.rdbuf();
    auto result = decode::decode_smspm_json(body.str(), received);
    if (const auto* e = std::get_if<decode::decode_error>(&result)) {
      write(report::quarantined_payload{"smspm", e->reason, e->field, "application/json", body.str(), received});
    } else {
      for (const auto& r : std::get<std::vector<report::delivery_report>>(result)) write(r);
    }
  }
  std::cout << "wrote " << n << " codec seeds to " << argv[2] << "\n";
  return n > 0 ? 0 : 1;
}
