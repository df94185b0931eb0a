// Reading YAML config sections: typed values, defaults kept when a key is absent,
// and errors that name the file, line and key path. Modules parse their own section.
#pragma once

#include <chrono>
#include <functional>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace YAML { class Node; }

namespace dlrd::config {

/// Thrown by the loader with every error found, one per line.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Collects errors while a whole file is read, so the operator sees all of them at once.
class diagnostics {
 public:
  explicit diagnostics(std::string file) : file_(std::move(file)) {}
  void add(int line, std::string_view path, std::string_view message);
  bool empty() const { return messages_.empty(); }
  const std::vector<std::string>& messages() const { return messages_; }
  const std::string& file() const { return file_; }
  /// Throws config_error when any error was recorded.
  void throw_if_any() const;

 private:
  std::string file_;
  std::vector<std::string> messages_;
};

/// One YAML mapping at a key path. Absent keys leave the caller's default untouched.
/// `finish()` reports every key that no read asked for as unknown.
class section {
 public:
  section(const YAML::Node& node, std::string path, diagnostics& diag);
  ~section();
  section(section&&) noexcept;
  section& operator=(section&&) = delete;

  bool has(std::string_view key) const;
  /// The keys of this mapping, in file order (for sections keyed by name, e.g. profiles).
  std::vector<std::string> keys() const;
  void read(std::string_view key, bool& out);
  void read(std::string_view key, std::string& out);  ///< ${ENV} expanded
  /// The scalar (${ENV} expanded) when `key` is present, std::nullopt when absent; either way
  /// the key counts as known. For values a module parses itself (shares, durations that may be off).
  std::optional<std::string> read_optional(std::string_view key);
  void read(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max);
  void read(std::string_view key, int& out, int min, int max);
  void read(std::string_view key, std::size_t& out, std::size_t min, std::size_t max);
  /// "250ms", "5s", "2m", "1h"; a bare number is seconds.
  void read_duration(std::string_view key, std::chrono::milliseconds& out,
                     std::chrono::milliseconds min = std::chrono::milliseconds{0});
  /// "64KiB", "8 MiB", "1GiB", "512"; bare numbers are bytes.
  void read_size(std::string_view key, std::size_t& out, std::size_t min = 0);
  /// One of `allowed`.
  void read_choice(std::string_view key, std::string& out, std::initializer_list<std::string_view> allowed);
  /// A secret: either `key` (${ENV} expanded) or `key_file` (file content, trailing newline removed).
  void read_secret(std::string_view key, std::string& out);
  void read_list(std::string_view key, std::vector<std::string>& out);
  /// A mapping of strings to strings (e.g. HTTP headers), in file order; replaces `out` when present.
  void read_map(std::string_view key, std::vector<std::pair<std::string, std::string>>& out);
  /// A list of mappings, one section per item at path `key[i]`; empty when absent.
  /// Returns std::nullopt (and records an error) when `key` is present but not such a list.
  std::optional<std::vector<section>> children(std::string_view key);

  /// A nested mapping; std::nullopt when absent (an error is recorded if it is not a mapping).
  std::optional<section> child(std::string_view key);

  void error(std::string_view key, std::string_view message);
  const std::string& path() const { return path_; }
  void finish();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::string path_;
  diagnostics* diag_;
};

/// Parses durations and sizes the way `section` does; exposed for CLI flags and tests.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::optional<std::size_t> parse_size(std::string_view text);
/// Replaces ${NAME} with the environment variable; returns an error message on a missing one.
std::optional<std::string> expand_env(std::string_view text, std::string& error);

/// Parses `file` and hands its root mapping to `fill`; throws config_error with every
/// problem found (syntax errors included).
void load_file(const std::string& file, const std::function<void(section&)>& fill);
void load_string(const std::string& text, const std::string& name, const std::function<void(section&)>& fill);

}  // namespace dlrd::config
