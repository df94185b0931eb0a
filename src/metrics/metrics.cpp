// The instruments and the Prometheus text format 0.0.4 renderer.
#include <dlrd/metrics/metrics.hpp>

#include <dlrd/text/ascii.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <mutex>
#include <stdexcept>

namespace dlrd::metrics {

namespace {

bool valid_name(std::string_view n, bool allow_colon) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = text::is_alpha(c) || c == '_' || (allow_colon && c == ':') || (i > 0 && text::is_digit(c));
    if (!ok) return false;
  }
  return true;
}

std::string escape_help(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

/// `{a="x",b="y"}` plus an optional extra label (the histogram's `le`); empty when no labels.
std::string render_labels(const labels& l, std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (l.empty() && extra_name.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : l) {
    if (!first) out.push_back(',');
    first = false;
    out += k;
    out += "=\"";
    out += escape_label_value(v);
    out.push_back('"');
  }
  if (!extra_name.empty()) {
    if (!first) out.push_back(',');
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

const char* type_name(kind k) {
  switch (k) {
    case kind::counter: return "counter";
    case kind::gauge: return "gauge";
    case kind::histogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
    return std::string(buf, r.ptr);
  }
  char buf[400];
  // Plain decimals where they stay short (bucket bounds read "0.0001", not "1e-04").
  auto fmt = std::fabs(v) >= 1e-6 && std::fabs(v) < 1e15 ? std::chars_format::fixed : std::chars_format::general;
  auto r = std::to_chars(buf, buf + sizeof buf, v, fmt);
  return std::string(buf, r.ptr);
}

histogram::histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  if (!bounds_.empty() && std::isinf(bounds_.back())) bounds_.pop_back();
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double v) noexcept {
  // Prometheus buckets are "less than or equal to the upper bound".
  auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> histogram::cumulative_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> size_buckets() { return {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}; }

registry::series& registry::find_or_create(std::string_view name, std::string_view help, kind k, const labels& l,
                                           const std::function<void(series&)>& init) {
  auto key = render_labels(l);
  {
    std::shared_lock lock(mutex_);
    auto f = families_.find(name);
    if (f != families_.end() && f->second->type == k) {
      auto s = f->second->by_key.find(key);
      if (s != f->second->by_key.end()) return *s->second;
    }
  }
  if (!valid_name(name, true)) throw std::invalid_argument("invalid metric name '" + std::string(name) + "'");
  for (const auto& [ln, lv] : l) {
    if (!valid_name(ln, false) || ln.rfind("__", 0) == 0 || ln == "le")
      throw std::invalid_argument("invalid label name '" + ln + "' on " + std::string(name));
  }
  std::unique_lock lock(mutex_);
  auto f = families_.find(name);
  if (f == families_.end()) {
    auto fam = std::make_unique<family>();
    fam->name = std::string(name);
    fam->help = std::string(help);
    fam->type = k;
    order_.push_back(fam.get());
    f = families_.emplace(std::string(name), std::move(fam)).first;
  } else if (f->second->type != k || f->second->help != help) {
    throw std::logic_error("metric " + std::string(name) + " registered twice with a different type or help");
  }
  auto& fam = *f->second;
  auto s = fam.by_key.find(key);
  if (s == fam.by_key.end()) {
    auto ser = std::make_unique<series>();
    ser->label_set = l;
    init(*ser);
    fam.in_order.push_back(ser.get());
    s = fam.by_key.emplace(key, std::move(ser)).first;
  }
  return *s->second;
}

counter& registry::get_counter(std::string_view name, std::string_view help, const labels& l) {
  return *find_or_create(name, help, kind::counter, l, [](series& s) { s.c = std::make_unique<counter>(); }).c;
}

gauge& registry::get_gauge(std::string_view name, std::string_view help, const labels& l) {
  return *find_or_create(name, help, kind::gauge, l, [](series& s) { s.g = std::make_unique<gauge>(); }).g;
}

histogram& registry::get_histogram(std::string_view name, std::string_view help, std::vector<double> upper_bounds,
                                   const labels& l) {
  return *find_or_create(name, help, kind::histogram, l, [&upper_bounds](series& s) {
            s.h = std::make_unique<histogram>(std::move(upper_bounds));
          }).h;
}

void registry::add_callback(std::string_view name, std::string_view help, kind k, std::function<double()> read,
                            const labels& l) {
  if (k == kind::histogram) throw std::invalid_argument("a callback series cannot be a histogram");
  auto& s = find_or_create(name, help, k, l, [](series&) {});
  std::unique_lock lock(mutex_);
  s.read = std::move(read);
}

void registry::before_render(std::function<void()> refresh) {
  std::unique_lock lock(mutex_);
  refreshes_.push_back(std::move(refresh));
}

std::string registry::render() const {
  std::vector<std::function<void()>> refreshes;
  {
    std::shared_lock lock(mutex_);
    refreshes = refreshes_;
  }
  for (const auto& refresh : refreshes) refresh();
  std::shared_lock lock(mutex_);
  std::string out;
  for (const auto* f : order_) {
    out += "# HELP " + f->name + " " + escape_help(f->help) + "\n";
    out += "# TYPE " + f->name + " " + type_name(f->type) + "\n";
    for (const auto* s : f->in_order) {
      if (f->type == kind::histogram) {
        auto counts = s->h->cumulative_counts();
        const auto& bounds = s->h->upper_bounds();
        for (std::size_t i = 0; i < counts.size(); ++i) {
          auto le = i < bounds.size() ? format_value(bounds[i]) : std::string("+Inf");
          out += f->name + "_bucket" + render_labels(s->label_set, "le", le) + " " + std::to_string(counts[i]) + "\n";
        }
        out += f->name + "_sum" + render_labels(s->label_set) + " " + format_value(s->h->sum()) + "\n";
        out += f->name + "_count" + render_labels(s->label_set) + " " + std::to_string(counts.back()) + "\n";
        continue;
      }
      std::string value;
      if (s->read) value = format_value(s->read());
      else if (s->c) value = std::to_string(s->c->value());
      else if (s->g) value = format_value(s->g->value());
      else continue;
      out += f->name + render_labels(s->label_set) + " " + value + "\n";
    }
  }
  return out;
}

}  // namespace dlrd::metrics
