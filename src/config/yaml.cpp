// YAML section reader: typed reads with key-path errors and unknown-key detection.
#include <dlrd/config/yaml.hpp>

#include <dlrd/text/ascii.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace dlrd::config {

void diagnostics::add(int line, std::string_view path, std::string_view message) {
  std::string m = file_;
  if (line > 0) m += ":" + std::to_string(line);
  m += ": ";
  if (!path.empty()) {
    m += path;
    m += ": ";
  }
  m += message;
  messages_.push_back(std::move(m));
}

void diagnostics::throw_if_any() const {
  if (messages_.empty()) return;
  std::string all;
  for (const auto& m : messages_) {
    if (!all.empty()) all += '\n';
    all += m;
  }
  throw config_error(all);
}

struct section::impl {
  YAML::Node node;
  std::set<std::string, std::less<>> used;
};

section::section(const YAML::Node& node, std::string path, diagnostics& diag)
    : impl_(std::make_unique<impl>()), path_(std::move(path)), diag_(&diag) {
  impl_->node = node;
}
section::~section() = default;
section::section(section&&) noexcept = default;

namespace {

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

int line_of(const YAML::Node& n) { return n.Mark().is_null() ? 0 : n.Mark().line + 1; }

/// A duration or size without surrounding white space, as std::isspace defines it.
constexpr std::string_view trim(std::string_view s) { return text::trim(s, text::c_space); }

}  // namespace

std::vector<std::string> section::keys() const {
  std::vector<std::string> out;
  if (!impl_->node.IsMap()) return out;
  for (const auto& kv : impl_->node) out.push_back(kv.first.as<std::string>());
  return out;
}

bool section::has(std::string_view key) const {
  return impl_->node.IsMap() && impl_->node[std::string(key)].IsDefined();
}

void section::error(std::string_view key, std::string_view message) {
  auto n = impl_->node.IsMap() ? impl_->node[std::string(key)] : YAML::Node();
  int line = n.IsDefined() ? line_of(n) : line_of(impl_->node);
  diag_->add(line, join(path_, key), message);
}

#define DLRD_SCALAR_OR_RETURN(key, var)                          \
  impl_->used.insert(std::string(key));                          \
  if (!impl_->node.IsMap()) return;                              \
  YAML::Node var = impl_->node[std::string(key)];                \
  if (!var.IsDefined() || var.IsNull()) return;                  \
  if (!var.IsScalar()) {                                         \
    error(key, "expected a scalar value");                       \
    return;                                                      \
  }

void section::read(std::string_view key, bool& out) {
  DLRD_SCALAR_OR_RETURN(key, n)
  auto s = n.Scalar();
  if (s == "true" || s == "yes" || s == "on") out = true;
  else if (s == "false" || s == "no" || s == "off") out = false;
  else error(key, "expected true or false, got '" + s + "'");
}

void section::read(std::string_view key, std::string& out) {
  DLRD_SCALAR_OR_RETURN(key, n)
  std::string err;
  auto v = expand_env(n.Scalar(), err);
  if (!v) error(key, err);
  else out = *v;
}

std::optional<std::string> section::read_optional(std::string_view key) {
  const bool present = has(key);
  std::string text;
  read(key, text);  // marks the key as known, present or not
  if (!present) return std::nullopt;
  return text;
}

void section::read(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max) {
  DLRD_SCALAR_OR_RETURN(key, n)
  const auto& s = n.Scalar();
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    error(key, "expected an integer, got '" + s + "'");
  } else if (v < min || v > max) {
    error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + s);
  } else {
    out = v;
  }
}

void section::read(std::string_view key, int& out, int min, int max) {
  std::int64_t v = out;
  read(key, v, min, max);
  out = static_cast<int>(v);
}

void section::read(std::string_view key, std::size_t& out, std::size_t min, std::size_t max) {
  std::int64_t v = static_cast<std::int64_t>(out);
  read(key, v, static_cast<std::int64_t>(min), static_cast<std::int64_t>(std::min<std::size_t>(max, INT64_MAX)));
  out = static_cast<std::size_t>(v);
}

void section::read_duration(std::string_view key, std::chrono::milliseconds& out, std::chrono::milliseconds min) {
  DLRD_SCALAR_OR_RETURN(key, n)
  auto v = parse_duration(n.Scalar());
  if (!v) error(key, "expected a duration such as 250ms, 5s, 2m or 1h, got '" + n.Scalar() + "'");
  else if (*v < min) error(key, "must be at least " + std::to_string(min.count()) + "ms");
  else out = *v;
}

void section::read_size(std::string_view key, std::size_t& out, std::size_t min) {
  DLRD_SCALAR_OR_RETURN(key, n)
  auto v = parse_size(n.Scalar());
  if (!v) error(key, "expected a size such as 512, 64KiB, 8MiB or 1GiB, got '" + n.Scalar() + "'");
  else if (*v < min) error(key, "must be at least " + std::to_string(min) + " bytes");
  else out = *v;
}

void section::read_choice(std::string_view key, std::string& out, std::initializer_list<std::string_view> allowed) {
  DLRD_SCALAR_OR_RETURN(key, n)
  const auto& s = n.Scalar();
  std::string list;
  for (auto a : allowed) {
    if (a == s) {
      out = s;
      return;
    }
    if (!list.empty()) list += ", ";
    list += a;
  }
  error(key, "must be one of " + list + ", got '" + s + "'");
}

void section::read_secret(std::string_view key, std::string& out) {
  std::string file_key = std::string(key) + "_file";
  if (has(key) && has(file_key)) {
    error(file_key, "set either " + std::string(key) + " or " + file_key + ", not both");
  }
  read(key, out);
  std::string path;
  read(file_key, path);
  if (path.empty()) return;
  std::ifstream in(path);
  if (!in) {
    error(file_key, "cannot read '" + path + "'");
    return;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
}

void section::read_list(std::string_view key, std::vector<std::string>& out) {
  impl_->used.insert(std::string(key));
  if (!impl_->node.IsMap()) return;
  YAML::Node n = impl_->node[std::string(key)];
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsSequence()) {
    error(key, "expected a list");
    return;
  }
  out.clear();
  for (const auto& item : n) {
    if (!item.IsScalar()) {
      error(key, "expected a list of strings");
      return;
    }
    out.push_back(item.Scalar());
  }
}

void section::read_map(std::string_view key, std::vector<std::pair<std::string, std::string>>& out) {
  impl_->used.insert(std::string(key));
  if (!impl_->node.IsMap()) return;
  YAML::Node n = impl_->node[std::string(key)];
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsMap()) {
    error(key, "expected a mapping of names to strings");
    return;
  }
  out.clear();
  for (const auto& kv : n) {
    if (!kv.second.IsScalar()) {
      diag_->add(line_of(kv.second), join(join(path_, key), kv.first.Scalar()), "expected a string");
      continue;
    }
    std::string err;
    auto v = expand_env(kv.second.Scalar(), err);
    if (!v) {
      diag_->add(line_of(kv.second), join(join(path_, key), kv.first.Scalar()), err);
      continue;
    }
    out.emplace_back(kv.first.Scalar(), *v);
  }
}

std::optional<std::vector<section>> section::children(std::string_view key) {
  impl_->used.insert(std::string(key));
  std::vector<section> out;
  if (!impl_->node.IsMap()) return out;
  YAML::Node n = impl_->node[std::string(key)];
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsSequence()) {
    error(key, "expected a list of mappings");
    return std::nullopt;
  }
  std::size_t i = 0;
  for (const auto& item : n) {
    auto path = join(path_, key) + "[" + std::to_string(i++) + "]";
    if (!item.IsMap()) {
      diag_->add(line_of(item), path, "expected a mapping");
      return std::nullopt;
    }
    out.emplace_back(item, path, *diag_);
  }
  return out;
}

std::optional<section> section::child(std::string_view key) {
  impl_->used.insert(std::string(key));
  if (!impl_->node.IsMap()) return std::nullopt;
  YAML::Node n = impl_->node[std::string(key)];
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  if (!n.IsMap()) {
    error(key, "expected a mapping");
    return std::nullopt;
  }
  return section(n, join(path_, key), *diag_);
}

namespace {

/// Edits (insert, delete, substitute, swap two neighbours) between a and b: optimal string alignment.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t w = b.size() + 1;
  std::vector<std::size_t> d((a.size() + 1) * w);
  for (std::size_t i = 0; i <= a.size(); ++i) d[i * w] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      std::size_t v = std::min({d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1, d[(i - 1) * w + j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) v = std::min(v, d[(i - 2) * w + j - 2] + 1);
      d[i * w + j] = v;
    }
  }
  return d.back();
}

std::optional<std::string> closest_key(std::string_view unknown, const std::vector<std::string>& known) {
  // A typo is a few edits of a key, never most of it: "prot" -> "port", not "ab" -> "db".
  const std::size_t limit = std::clamp<std::size_t>(unknown.size() / 3, 1, 2);
  std::optional<std::string> best;
  std::size_t best_distance = limit + 1;
  for (const auto& k : known) {
    auto d = edit_distance(unknown, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  return best;
}

}  // namespace

void section::finish() {
  if (!impl_->node.IsMap()) return;
  // The keys some read asked for and that the file does not hold: the candidates for a typo.
  std::vector<std::string> unused;
  for (const auto& k : impl_->used) {
    if (!has(k)) unused.push_back(k);
  }
  for (const auto& kv : impl_->node) {
    auto k = kv.first.Scalar();
    if (impl_->used.contains(k)) continue;
    std::string message = "unknown key";
    if (auto near = closest_key(k, unused)) message += " (did you mean '" + *near + "'?)";
    diag_->add(line_of(kv.first), join(path_, k), message);
  }
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto s = trim(text);
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || v < 0) return std::nullopt;
  auto unit = trim(std::string_view(p, s.data() + s.size() - p));
  double ms = 0;
  if (unit == "ms") ms = v;
  else if (unit == "s" || unit.empty()) ms = v * 1000;
  else if (unit == "m" || unit == "min") ms = v * 60'000;
  else if (unit == "h") ms = v * 3'600'000;
  else if (unit == "d") ms = v * 86'400'000;
  else return std::nullopt;
  if (!(ms <= 1e13)) return std::nullopt;  // also rejects NaN ("nan" parses as a double)
  return std::chrono::milliseconds{static_cast<std::int64_t>(ms)};
}

std::optional<std::size_t> parse_size(std::string_view text) {
  auto s = trim(text);
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc()) return std::nullopt;
  auto unit = trim(std::string_view(p, s.data() + s.size() - p));
  std::uint64_t mul = 1;
  if (unit.empty() || unit == "B") mul = 1;
  else if (unit == "KiB" || unit == "K" || unit == "KB" || unit == "k") mul = 1ull << 10;
  else if (unit == "MiB" || unit == "M" || unit == "MB") mul = 1ull << 20;
  else if (unit == "GiB" || unit == "G" || unit == "GB") mul = 1ull << 30;
  else if (unit == "TiB" || unit == "T" || unit == "TB") mul = 1ull << 40;
  else return std::nullopt;
  if (v > (UINT64_MAX >> 1) / mul) return std::nullopt;
  return static_cast<std::size_t>(v * mul);
}

std::optional<std::string> expand_env(std::string_view text, std::string& error) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      auto end = text.find('}', i + 2);
      if (end == std::string_view::npos) {
        error = "unterminated ${ in value";
        return std::nullopt;
      }
      std::string name(text.substr(i + 2, end - i - 2));
      if (name.empty()) {
        error = "empty ${} in value";
        return std::nullopt;
      }
      const char* v = std::getenv(name.c_str());
      if (!v) {
        error = "environment variable " + name + " is not set";
        return std::nullopt;
      }
      out += v;
      i = end;
    } else {
      out += text[i];
    }
  }
  return out;
}

namespace {

/// yaml-cpp keeps every pair of a mapping, and a lookup finds the first: a key written twice
/// would silently lose one of its values, so each repeat is an error at its line.
void find_duplicate_keys(const YAML::Node& node, const std::string& path, diagnostics& diag) {
  if (node.IsSequence()) {
    std::size_t i = 0;
    for (const auto& item : node) find_duplicate_keys(item, path + "[" + std::to_string(i++) + "]", diag);
    return;
  }
  if (!node.IsMap()) return;
  std::set<std::string, std::less<>> seen;
  for (const auto& kv : node) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
    if (kv.first.IsScalar() && !seen.insert(key).second) {
      diag.add(line_of(kv.first), join(path, key), "duplicate key (already set above; remove one of them)");
    }
    find_duplicate_keys(kv.second, join(path, key), diag);
  }
}

/// The whole file, or the OS's reason it cannot be read ("Permission denied", "Is a directory").
std::optional<std::string> read_file(const std::string& file, std::string& out) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!f) return std::string(std::strerror(errno));
  char buffer[65536];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, f.get())) > 0) out.append(buffer, n);
  if (std::ferror(f.get())) return std::string(std::strerror(errno));
  return std::nullopt;
}

void load_node(const YAML::Node& root, diagnostics& diag, const std::function<void(section&)>& fill) {
  if (!root.IsNull() && root.IsDefined() && !root.IsMap()) {
    diag.add(line_of(root), "", "the top level must be a mapping");
    diag.throw_if_any();
  }
  find_duplicate_keys(root, "", diag);
  diag.throw_if_any();
  section top(root, "", diag);
  fill(top);
  top.finish();
  diag.throw_if_any();
}
}  // namespace

void load_file(const std::string& file, const std::function<void(section&)>& fill) {
  diagnostics diag(file);
  YAML::Node root;
  try {
    std::string text;
    if (auto err = read_file(file, text)) {
      diag.add(0, "", "cannot read config file: " + *err);
      diag.throw_if_any();
    }
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    diag.add(e.mark.is_null() ? 0 : e.mark.line + 1, "", e.msg);
    diag.throw_if_any();
  }
  load_node(root, diag, fill);
}

void load_string(const std::string& text, const std::string& name, const std::function<void(section&)>& fill) {
  diagnostics diag(name);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    diag.add(e.mark.is_null() ? 0 : e.mark.line + 1, "", e.msg);
    diag.throw_if_any();
  }
  load_node(root, diag, fill);
}

}  // namespace dlrd::config
