// The schema a fresh `migrate` gives, as pg_dump prints it, against the checked-in
// tests/pg/schema.sql: every schema change shows up in review as a diff of that file.
#include <dlrd/store/migrations.hpp>

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace {

constexpr const char* snapshot_path = DLRD_SOURCE_DIR "/tests/pg/schema.sql";
constexpr const char* regenerate =
    "if the change is intended, regenerate the snapshot and review its diff:\n"
    "  DLRD_UPDATE_SCHEMA_SNAPSHOT=1 ctest --test-dir <build dir> -R schema_snapshot\n"
    "(pg_dump is taken from DLRD_PG_DUMP, else /usr/lib/postgresql/15/bin/pg_dump, else PATH)";

std::string pg_dump_command() {
  if (const char* p = std::getenv("DLRD_PG_DUMP"); p != nullptr && *p != '\0') return p;
  const char* packaged = "/usr/lib/postgresql/15/bin/pg_dump";
  return std::ifstream(packaged).good() ? packaged : "pg_dump";
}

std::string run(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::string out;
  std::array<char, 4096> buf{};
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), pipe.get())) > 0;) out.append(buf.data(), n);
  if (pclose(pipe.release()) != 0) throw std::runtime_error("failed: " + command);
  return out;
}

// Without what varies between servers and runs: comments (the version header), session
// settings, psql's \restrict guard (a random key), and runs of blank lines.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t from = 0;
  while (from < text.size()) {
    auto end = text.find('\n', from);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(from, end - from));
    from = end + 1;
  }
  return lines;
}

std::string normalised(const std::string& dump) {
  std::string out;
  bool blank = true;  // no blank line at the start
  for (const auto& line : lines_of(dump)) {
    if (line.starts_with("--") || line.starts_with("SET ") || line.starts_with("SELECT pg_catalog.set_config(") ||
        line.starts_with("\\restrict") || line.starts_with("\\unrestrict")) {
      continue;
    }
    if (line.empty()) {
      if (!blank) out += '\n';
      blank = true;
      continue;
    }
    out += line + '\n';
    blank = false;
  }
  while (out.ends_with("\n\n")) out.pop_back();
  return out;
}

std::string first_difference(const std::string& want, const std::string& got) {
  const auto a = lines_of(want), b = lines_of(got);
  for (std::size_t n = 0; n < std::max(a.size(), b.size()); ++n) {
    if (n < a.size() && n < b.size() && a[n] == b[n]) continue;
    return "first difference at line " + std::to_string(n + 1) + ":\n  snapshot: " + (n < a.size() ? a[n] : "(end)") +
           "\n  migrated: " + (n < b.size() ? b[n] : "(end)");
  }
  return {};
}

class schema_snapshot_test : public dlrd::test::pg_test {};

TEST_F(schema_snapshot_test, a_fresh_migrate_gives_the_checked_in_schema) {
  const auto got =
      normalised(run(pg_dump_command() + " --schema-only --no-owner --no-privileges '" + url() + "'"));
  if (const char* update = std::getenv("DLRD_UPDATE_SCHEMA_SNAPSHOT"); update != nullptr && *update == '1') {
    std::ofstream(snapshot_path, std::ios::binary) << got;
    GTEST_SKIP() << "wrote " << snapshot_path;
  }
  std::ifstream file(snapshot_path, std::ios::binary);
  ASSERT_TRUE(file.good()) << snapshot_path << " is missing; " << regenerate;
  std::ostringstream want_text;
  want_text << file.rdbuf();
  const std::string want = want_text.str();
  EXPECT_TRUE(want == got) << "the schema a fresh migrate gives differs from tests/pg/schema.sql; "
                           << first_difference(want, got) << "\n" << regenerate;
}

}  // namespace
