// Log lines: text or JSON lines, and journald's priority prefixes when running under systemd.
#include "logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>

namespace dlrd::app {

namespace {

/// %* : the message as the inside of a JSON string (quotes, backslashes, controls escaped).
class json_message_flag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr char hex[] = "0123456789abcdef";
    for (char ch : std::string_view(msg.payload.data(), msg.payload.size())) {
      auto c = static_cast<unsigned char>(ch);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(ch);
      } else if (c < 0x20) {
        const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        dest.append(esc, esc + sizeof esc);
      } else {
        dest.push_back(ch);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<json_message_flag>(); }
};

/// %& : journald's "<N>" priority prefix (sd-daemon(3)), so `journalctl -p` filters by level.
class journal_priority_flag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    int p = 6;
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug: p = 7; break;
      case spdlog::level::info: p = 6; break;
      case spdlog::level::warn: p = 4; break;
      case spdlog::level::err: p = 3; break;
      case spdlog::level::critical: p = 2; break;
      default: break;
    }
    const char text[] = {'<', static_cast<char>('0' + p), '>'};
    dest.append(text, text + sizeof text);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<journal_priority_flag>(); }
};

}  // namespace

void setup_logging(const log_config& c) {
  // Under systemd the journal stamps the time itself and reads the level from the prefix.
  const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  std::string pattern;
  if (c.format == "json") {
    pattern = journal ? R"(%&{"level":"%l","msg":"%*"})" : R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":"%*"})";
  } else {
    pattern = journal ? "%&%l %v" : "%Y-%m-%dT%H:%M:%S.%e%z %l %v";
  }
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  f->add_flag<json_message_flag>('*').add_flag<journal_priority_flag>('&').set_pattern(pattern);
  spdlog::set_formatter(std::move(f));
  spdlog::set_level(spdlog::level::from_str(c.level));
}

}  // namespace dlrd::app
