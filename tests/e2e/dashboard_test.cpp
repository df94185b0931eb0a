// The dashboard in a real browser: headless Chromium loads /dashboard from the running daemon
// over a crafted data set; the test reads the rendered DOM, keeps screenshots as artifacts and
// reads the browser's net log to show that nothing left 127.0.0.1.
#include "harness.hpp"

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlrd::e2e {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;

// Screenshots and DOM dumps stay in the build tree for people (and CI) to look at.
const fs::path artifact_dir = DLRD_ARTIFACT_DIR;

// t(d, s): noon (UTC) d days before today, plus s seconds: every message stays on its day and
// is at least 36 hours old at D-2, so the 24 h coverage window holds all of it.
//
// The crafted data set (sent on D-3 and D-2; D-1 and every other day of the week are empty):
//   country  D-3                               D-2                                  sender
//   DE       20 delivered after 2 s            19 delivered after 4 s, 1 undelivered '27'   Acme
//   FR        5 delivered after 3 s, 1 rejected '11'   4 delivered after 3 s               Promo
//   GB        -                                 3 delivered after 6 s, 2 undelivered '27'   Acme
//   VN        2 sent, never reported            2 sent, never reported                     Acme
// VN's messages went through the provider quietgw, every other one through smspm; one rate
// rule group firing: country-delivery for GB.
constexpr const char* crafted_data = R"sql(
CREATE FUNCTION t(d int, s float8) RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT (date_trunc('day', now() AT TIME ZONE 'UTC') - d * interval '1 day' + interval '12 hours'
          + s * interval '1 second') AT TIME ZONE 'UTC'
$$;
INSERT INTO sms_logs (message_id, to_number, country_code, from_number, provider, status, error_code,
                      sent_at, created_at, status_at, delivered_at)
SELECT m.country || '-' || m.d || '-' || m.status || '-' || i, '+100', m.country, m.sender,
       CASE m.country WHEN 'VN' THEN 'quietgw' ELSE 'smspm' END,
       m.status, m.code, t(m.d, 0), t(m.d, 0), t(m.d, m.latency),
       CASE WHEN m.status = 'delivered' THEN t(m.d, m.latency) END
  FROM (VALUES
    (3, 'DE', 'Acme',  'delivered',   NULL, 20, 2.0),
    (2, 'DE', 'Acme',  'delivered',   NULL, 19, 4.0),
    (2, 'DE', 'Acme',  'undelivered', '27',  1, 30.0),
    (3, 'FR', 'Promo', 'delivered',   NULL,  5, 3.0),
    (3, 'FR', 'Promo', 'rejected',    '11',  1, 1.0),
    (2, 'FR', 'Promo', 'delivered',   NULL,  4, 3.0),
    (2, 'GB', 'Acme',  'delivered',   NULL,  3, 6.0),
    (2, 'GB', 'Acme',  'undelivered', '27',  2, 30.0),
    (3, 'VN', 'Acme',  'sent',        NULL,  2, 1.0),
    (2, 'VN', 'Acme',  'sent',        NULL,  2, 1.0)
  ) AS m(d, country, sender, status, code, n, latency),
  generate_series(1, m.n) AS i;
INSERT INTO dlr_rule_state (rule, group_key, firing, since, last_share, last_failed, last_total)
VALUES ('country-delivery', 'GB', true, t(2, 60), 0.4, 2, 5);
)sql";

// The daemon evaluates no rules of its own, so the crafted rule state is what it serves.
constexpr const char* no_rules_yaml = "alerts:\n  rules: []\n";

// The only absolute URL the page may contain: the SVG namespace name, an identifier for
// createElementNS that is never fetched.
constexpr std::string_view svg_namespace = "http://www.w3.org/2000/svg";

// ---- a small reader for the DOM Chromium serializes (double-quoted attributes, no nesting
// ---- questions beyond what the dashboard produces)

struct element {
  std::string tag;
  std::map<std::string, std::string> attrs;
  std::size_t begin = 0;  ///< offset of '<'
  std::size_t end = 0;    ///< offset just past '>'

  bool has(const std::string& name) const { return attrs.contains(name); }
  /// The attribute's value, or "(absent)".
  std::string operator[](const std::string& name) const {
    auto it = attrs.find(name);
    return it == attrs.end() ? "(absent)" : it->second;
  }
};

std::string decode_entities(std::string_view s) {
  static const std::array<std::pair<std::string_view, char>, 5> entities{
      {{"&amp;", '&'}, {"&quot;", '"'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&#39;", '\''}}};
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    bool replaced = false;
    if (s[i] == '&') {
      for (const auto& [name, c] : entities) {
        if (s.substr(i, name.size()) == name) {
          out += c;
          i += name.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += s[i++];
  }
  return out;
}

class dom {
 public:
  explicit dom(std::string html) : html_(std::move(html)) {
    auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f'; };
    std::size_t i = 0;
    while ((i = html_.find('<', i)) != std::string::npos) {
      if (i + 1 >= html_.size() || std::isalpha(static_cast<unsigned char>(html_[i + 1])) == 0) {
        ++i;
        continue;
      }
      element e;
      e.begin = i++;
      while (i < html_.size() && !is_space(html_[i]) && html_[i] != '>' && html_[i] != '/') e.tag += html_[i++];
      while (i < html_.size() && html_[i] != '>') {
        if (is_space(html_[i]) || html_[i] == '/') {
          ++i;
          continue;
        }
        std::string name;
        while (i < html_.size() && !is_space(html_[i]) && html_[i] != '=' && html_[i] != '>') name += html_[i++];
        std::string value;
        if (i < html_.size() && html_[i] == '=') {
          ++i;
          char quote = html_[i] == '"' || html_[i] == '\'' ? html_[i++] : '\0';
          auto stop = quote != '\0' ? html_.find(quote, i) : html_.find_first_of(" \n\t>", i);
          if (stop == std::string::npos) stop = html_.size();
          value = decode_entities(std::string_view(html_).substr(i, stop - i));
          i = quote != '\0' ? stop + 1 : stop;
        }
        e.attrs.emplace(std::move(name), std::move(value));
      }
      e.end = i < html_.size() ? i + 1 : i;
      i = e.end;
      // Script and style bodies are raw text: skip them whole.
      if (e.tag == "script" || e.tag == "style") {
        auto close = html_.find("</" + e.tag, i);
        i = close == std::string::npos ? html_.size() : close;
      }
      elements_.push_back(std::move(e));
    }
  }

  const std::string& html() const { return html_; }

  /// The element with this id, or nullptr.
  const element* by_id(std::string_view id) const {
    for (const auto& e : elements_) {
      auto it = e.attrs.find("id");
      if (it != e.attrs.end() && it->second == id) return &e;
    }
    return nullptr;
  }

  /// The `tag` elements inside `parent`, in document order. `parent` ends at the first closing
  /// tag of its kind: the dashboard never nests a tbody, tr, g or ul in one of its own kind.
  std::vector<const element*> inside(const element& parent, std::string_view tag) const {
    auto close = html_.find("</" + parent.tag + ">", parent.end);
    std::vector<const element*> out;
    for (const auto& e : elements_) {
      if (e.begin >= parent.end && e.begin < close && e.tag == tag) out.push_back(&e);
    }
    return out;
  }

  /// The text right after the element's start tag, up to the next tag.
  std::string text(const element& e) const {
    auto next = html_.find('<', e.end);
    return decode_entities(std::string_view(html_).substr(e.end, next - e.end));
  }

  /// Everything between the element's start tag and its closing tag (see `inside`).
  std::string inner(const element& e) const {
    auto close = html_.find("</" + e.tag + ">", e.end);
    return html_.substr(e.end, close == std::string::npos ? std::string::npos : close - e.end);
  }

 private:
  std::string html_;
  std::vector<element> elements_;
};

/// The rows of tbody#`id`, in document order.
std::vector<const element*> rows_of(const dom& d, std::string_view id) {
  const element* body = d.by_id(id);
  if (body == nullptr) return {};
  return d.inside(*body, "tr");
}

/// The row of tbody#`id` whose `key` attribute is `value`, or nullptr.
const element* row(const dom& d, std::string_view id, const std::string& key, const std::string& value) {
  for (const element* r : rows_of(d, id)) {
    if ((*r)[key] == value) return r;
  }
  return nullptr;
}

/// The attribute as a number; NaN when it is absent or not a number (so EXPECT_NEAR fails).
double number(const element& e, const std::string& name) {
  try {
    return std::stod(e[name]);
  } catch (const std::exception&) {
    return std::nan("");
  }
}

// ---- the browser

bool chromium_installed() {
  int code = -1;
  run_command("command -v chromium >/dev/null 2>&1", code);
  return code == 0;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct page {
  std::string name;
  dom rendered{""};
  fs::path screenshot;
  json net_log;
  std::string browser_log;
  int exit_code = -1;
};

/// Loads `url` in headless Chromium at `width`x`height` CSS pixels and returns the DOM once the
/// page went idle, its screenshot and the browser's net log. Other hosts cannot be reached:
/// the resolver maps every name but 127.0.0.1 to nothing and no proxy is used; background
/// services are switched off as far as flags allow (the net log shows what remains).
page browse(const std::string& url, const std::string& name, int width, int height, const fs::path& scratch) {
  page p;
  p.name = name;
  fs::create_directories(artifact_dir);
  p.screenshot = artifact_dir / ("dashboard-" + name + ".png");
  fs::remove(p.screenshot);
  fs::path profile = scratch / ("chromium-" + name);
  fs::path net_log = scratch / ("net-log-" + name + ".json");
  fs::path log = scratch / ("chromium-" + name + ".log");
  std::string command = "timeout -k 5 25 chromium --headless=new --no-sandbox --disable-gpu --no-first-run"
                        " --no-default-browser-check --disable-background-networking --disable-component-update"
                        " --disable-sync --disable-default-apps --disable-extensions --no-proxy-server"
                        " --hide-scrollbars --force-device-scale-factor=1"
                        " '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1'"
                        // Virtual time: the seven API calls finish first, the 30 s refresh never comes.
                        " --virtual-time-budget=5000"
                        " --user-data-dir=" + shell_quote(profile.string()) +
                        " --log-net-log=" + shell_quote(net_log.string()) +
                        " --window-size=" + std::to_string(width) + "," + std::to_string(height) +
                        " --screenshot=" + shell_quote(p.screenshot.string()) +
                        " --dump-dom " + shell_quote(url) + " 2>" + shell_quote(log.string());
  std::string out = run_command(command, p.exit_code);
  std::ofstream(artifact_dir / ("dashboard-" + name + ".dom.html")) << out;
  p.rendered = dom(std::move(out));
  std::ifstream log_in(log);
  std::ostringstream log_text;
  log_text << log_in.rdbuf();
  p.browser_log = log_text.str();
  std::ifstream net_in(net_log);
  p.net_log = json::parse(net_in, nullptr, false);
  return p;
}

/// A PNG's pixel size from its IHDR chunk (0 x 0 when the file is not a PNG), and its bytes.
struct png_info {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::uintmax_t bytes = 0;
};

png_info read_png(const fs::path& path) {
  png_info info;
  std::error_code ec;
  info.bytes = fs::file_size(path, ec);
  if (ec) return {};
  std::ifstream in(path, std::ios::binary);
  std::array<unsigned char, 24> head{};
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  constexpr std::array<unsigned char, 8> signature{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (!in || !std::equal(signature.begin(), signature.end(), head.begin()) ||
      std::string_view(reinterpret_cast<const char*>(head.data()) + 12, 4) != "IHDR") {
    return info;
  }
  auto be32 = [&](std::size_t at) {
    return static_cast<std::uint32_t>(head[at]) << 24 | static_cast<std::uint32_t>(head[at + 1]) << 16 |
           static_cast<std::uint32_t>(head[at + 2]) << 8 | static_cast<std::uint32_t>(head[at + 3]);
  };
  info.width = be32(16);
  info.height = be32(20);
  return info;
}

/// What the browser did on the network, from its net log.
struct net_activity {
  std::set<std::string> tcp_peers;       ///< every address a TCP connection was attempted to
  std::set<std::string> udp_peers_sent;  ///< every address a UDP datagram was sent to
  std::set<std::string> resolved_hosts;  ///< every host name given to the resolver (after its rules)
  std::set<std::string> urls;            ///< every URL request started
};

net_activity activity_of(const json& net_log) {
  net_activity a;
  std::map<int, std::string> type_names;
  for (const auto& type : net_log.at("constants").at("logEventTypes").items()) {
    type_names[type.value().get<int>()] = type.key();
  }
  std::map<std::int64_t, std::string> udp_peer;  // socket source id → connected address
  std::set<std::int64_t> udp_sent;
  for (const auto& event : net_log.at("events")) {
    const std::string& type = type_names[event.at("type").get<int>()];
    const json params = event.value("params", json::object());
    auto source = event.at("source").at("id").get<std::int64_t>();
    if (type == "TCP_CONNECT_ATTEMPT" || type == "TCP_CONNECT_JOB_CONNECTOR_CONNECT_START") {
      if (params.contains("address")) a.tcp_peers.insert(params["address"].get<std::string>());
    } else if (type == "TCP_CONNECT") {
      if (params.contains("remote_address")) a.tcp_peers.insert(params["remote_address"].get<std::string>());
      for (const auto& address : params.value("address_list", json::array())) a.tcp_peers.insert(address.get<std::string>());
    } else if (type == "UDP_CONNECT") {
      if (params.contains("address")) udp_peer[source] = params["address"].get<std::string>();
    } else if (type == "UDP_BYTES_SENT" || type == "UDP_SEND_ERROR") {
      udp_sent.insert(source);
    } else if (type == "HOST_RESOLVER_MANAGER_REQUEST" && params.contains("host")) {
      // "http://127.0.0.1:8080" → "127.0.0.1"
      std::string host = params["host"].get<std::string>();
      if (auto scheme = host.find("://"); scheme != std::string::npos) host.erase(0, scheme + 3);
      if (auto port = host.rfind(':'); port != std::string::npos && host.find(']') == std::string::npos) {
        host.erase(port);
      }
      a.resolved_hosts.insert(host);
    } else if (type == "URL_REQUEST_START_JOB" && params.contains("url")) {
      a.urls.insert(params["url"].get<std::string>());
    }
  }
  // Address probes connect a UDP socket without sending anything; only a datagram leaves.
  for (auto id : udp_sent) a.udp_peers_sent.insert(udp_peer.contains(id) ? udp_peer[id] : "(unknown)");
  return a;
}

std::string joined(const std::set<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

class dashboard_in_a_browser : public ::testing::Test {
 protected:
  void SetUp() override {
    test::query(db_.url(), crafted_data);
    daemon_ = std::make_unique<daemon>(dir_.path(), db_.url(), no_rules_yaml);
    daemon_->start();
    ASSERT_TRUE(daemon_->wait_ready()) << daemon_->log();
    for (int i = 0; i < 7; ++i) days_[static_cast<std::size_t>(i)] = day(6 - i);
  }

  void TearDown() override {
    if (!daemon_) return;
    daemon_->signal(SIGTERM);
    EXPECT_EQ(daemon_->wait_exit(15s), 0) << daemon_->log();
  }

  std::string origin() const { return "http://127.0.0.1:" + std::to_string(daemon_->port()); }

  /// The UTC date `days_ago` days before today, as the API writes it.
  std::string day(int days_ago) {
    return test::query(db_.url(), "SELECT ((now() AT TIME ZONE 'UTC')::date - " + std::to_string(days_ago) + ")::text")
        [0][0].as<std::string>();
  }

  /// Loads /dashboard and checks everything a screen size does not change.
  page load(const std::string& name, int width, int height) {
    auto p = browse(origin() + "/dashboard", name, width, height, dir_.path());
    EXPECT_EQ(p.exit_code, 0) << p.browser_log;
    auto png = read_png(p.screenshot);
    EXPECT_EQ(png.width, static_cast<std::uint32_t>(width)) << p.screenshot;
    EXPECT_EQ(png.height, static_cast<std::uint32_t>(height)) << p.screenshot;
    EXPECT_GT(png.bytes, 20000u) << p.screenshot << " is too small to show the charts";
    std::printf("[ browser ] %s: %s (%ju bytes, %ux%u), DOM in %s\n", name.c_str(), p.screenshot.c_str(), png.bytes,
                png.width, png.height, (artifact_dir / ("dashboard-" + name + ".dom.html")).c_str());
    expect_local_only(p);
    expect_crafted_data(p.rendered);
    return p;
  }

  /// From the net log: the page's requests went to the daemon, every connection went to
  /// 127.0.0.1 and the resolver answered nothing else.
  void expect_local_only(const page& p) {
    ASSERT_FALSE(p.net_log.is_discarded()) << "no complete net log from chromium: " << p.browser_log;
    auto a = activity_of(p.net_log);
    auto port = ":" + std::to_string(daemon_->port());
    EXPECT_TRUE(a.tcp_peers.contains("127.0.0.1" + port)) << joined(a.tcp_peers);
    for (const auto& peer : a.tcp_peers) EXPECT_TRUE(peer.starts_with("127.0.0.1:")) << "TCP to " << peer;
    for (const auto& peer : a.udp_peers_sent) EXPECT_TRUE(peer.starts_with("127.0.0.1:")) << "UDP to " << peer;
    for (const auto& host : a.resolved_hosts) {
      EXPECT_TRUE(host == "127.0.0.1" || host == "~notfound") << "resolved " << host;
    }
    std::set<std::string> page_requests, blocked;
    for (const auto& url : a.urls) {
      if (url.starts_with(origin() + "/")) {
        page_requests.insert(url);
      } else {
        blocked.insert(url.substr(0, url.find('?')));
      }
    }
    for (const char* path : {"/dashboard", "/v1/stats/daily?days=7", "/v1/stats/countries?since=7d",
                             "/v1/stats/coverage?after=24h&since=7d",
                             "/v1/stats/coverage?after=24h&by=provider&since=7d", "/v1/stats/latency?since=7d",
                             "/v1/stats/senders?since=7d", "/v1/stats/errors?top=3&since=7d", "/v1/stats/rules"}) {
      EXPECT_TRUE(page_requests.contains(origin() + path)) << path << " not requested; requests: " << joined(page_requests);
    }
    if (!blocked.empty()) {
      std::printf("[ browser ] %s: %zu background requests of chromium itself, stopped by the resolver rule: %s\n",
                  p.name.c_str(), blocked.size(), joined(blocked).c_str());
    }
  }

  void expect_crafted_data(const dom& d) {
    // Loaded once, every API call answered.
    ASSERT_NE(d.html().find("<body"), std::string::npos) << "no DOM at all";
    const element* status = d.by_id("status");
    ASSERT_NE(status, nullptr);
    EXPECT_EQ(d.inner(*status), "") << "the page could not load part of the API";
    EXPECT_NE(d.html().find("<body data-loaded=\"1\">"), std::string::npos) << "the page did not finish loading";

    // KPIs: 59 sent, 51 delivered of 55 final, 4 failed, 4 pending.
    auto kpi = [&](const char* id) {
      const element* e = d.by_id(id);
      EXPECT_NE(e, nullptr) << id;
      return e != nullptr ? *e : element{};
    };
    EXPECT_EQ(kpi("kpi-total")["data-value"], "59");
    EXPECT_EQ(d.text(kpi("kpi-total")), "59");
    EXPECT_NEAR(number(kpi("kpi-delivery"), "data-value"), 51.0 / 55, 1e-9);
    EXPECT_EQ(d.text(kpi("kpi-delivery")), "92.7%");
    EXPECT_EQ(kpi("kpi-delivery")["class"], "degraded-text");
    EXPECT_EQ(kpi("kpi-failed")["data-value"], "4");
    EXPECT_EQ(kpi("kpi-pending")["data-value"], "4");

    // Countries, worst failure rate first; each row's bar drawn at its rate in its band's colour.
    struct country_case {
      std::string code;
      double rate;
      std::string band, bar_width, bar_fill;
      int total;
    };
    const std::vector<country_case> countries{{"GB", 0.6, "investigate", "60.00", "var(--bad)", 5},
                                              {"FR", 0.9, "degraded", "90.00", "var(--warn)", 10},
                                              {"DE", 0.975, "healthy", "97.50", "var(--good)", 40},
                                              {"VN", std::nan(""), "no_finals", "", "", 4}};
    auto rows = rows_of(d, "countries-body");
    ASSERT_EQ(rows.size(), countries.size());
    for (std::size_t i = 0; i < countries.size(); ++i) {
      const auto& want = countries[i];
      const element& r = *rows[i];
      SCOPED_TRACE("country " + want.code);
      EXPECT_EQ(r["data-country"], want.code);
      EXPECT_EQ(r["data-band"], want.band);
      EXPECT_EQ(r["class"], want.band);
      EXPECT_EQ(r["data-total"], std::to_string(want.total));
      auto rects = d.inside(r, "rect");
      if (want.band == "no_finals") {
        EXPECT_EQ(r["data-rate"], "");
        EXPECT_EQ(rects.size(), 1u) << "a market without finals has no rate bar, only its track";
      } else {
        EXPECT_NEAR(number(r, "data-rate"), want.rate, 1e-9);
        ASSERT_EQ(rects.size(), 2u);
        EXPECT_EQ((*rects[1])["width"], want.bar_width);
        EXPECT_EQ((*rects[1])["fill"], want.bar_fill);
      }
    }

    // Coverage: VN never reports and is marked so; DE reports everything.
    const element* vn = row(d, "coverage-body", "data-country", "VN");
    ASSERT_NE(vn, nullptr);
    EXPECT_EQ((*vn)["data-all-pending"], "true");
    EXPECT_EQ((*vn)["data-pending-share"], "1");
    EXPECT_NE(d.inner(*vn).find("<span class=\"badge\">all pending</span>"), std::string::npos) << d.inner(*vn);
    const element* de = row(d, "coverage-body", "data-country", "DE");
    ASSERT_NE(de, nullptr);
    EXPECT_EQ((*de)["data-all-pending"], "false");
    // By provider: the gateway that never reports first and marked, the one that does after it.
    auto providers = rows_of(d, "coverage-providers-body");
    ASSERT_EQ(providers.size(), 2u);
    EXPECT_EQ((*providers[0])["data-provider"], "quietgw");
    EXPECT_EQ((*providers[0])["data-all-pending"], "true");
    EXPECT_NE(d.inner(*providers[0]).find("<span class=\"badge\">all pending</span>"), std::string::npos)
        << d.inner(*providers[0]);
    EXPECT_EQ((*providers[1])["data-provider"], "smspm");
    EXPECT_EQ((*providers[1])["data-pending-share"], "0");

    // Daily chart: one group per day of the week; bars and points only where messages were.
    const element* chart = d.by_id("daily-chart");
    ASSERT_NE(chart, nullptr);
    auto groups = d.inside(*chart, "g");
    ASSERT_EQ(groups.size(), 7u) << d.inner(*chart);
    struct day_case {
      int total, delivered, failed, pending;
      double rate;
      std::string point;
    };
    const std::map<std::string, day_case> busy{{days_[3], {28, 25, 1, 2, 25.0 / 26, "var(--good)"}},
                                               {days_[4], {31, 26, 3, 2, 26.0 / 29, "var(--warn)"}}};
    std::map<std::string, double> bar_height;
    for (std::size_t i = 0; i < groups.size(); ++i) {
      const element& g = *groups[i];
      SCOPED_TRACE("day " + days_[i]);
      EXPECT_EQ(g["data-day"], days_[i]);
      auto bars = d.inside(g, "rect");
      auto points = d.inside(g, "circle");
      ASSERT_EQ(bars.size(), 1u);
      bar_height[days_[i]] = number(*bars[0], "height");
      auto it = busy.find(days_[i]);
      if (it == busy.end()) {
        EXPECT_EQ(g["data-total"], "0");
        EXPECT_EQ(g["data-rate"], "");
        EXPECT_EQ(bar_height[days_[i]], 0.0);
        EXPECT_TRUE(points.empty()) << "a day without finals has no point";
        continue;
      }
      const day_case& want = it->second;
      EXPECT_EQ(g["data-total"], std::to_string(want.total));
      EXPECT_EQ(g["data-delivered"], std::to_string(want.delivered));
      EXPECT_EQ(g["data-failed"], std::to_string(want.failed));
      EXPECT_EQ(g["data-pending"], std::to_string(want.pending));
      EXPECT_NEAR(number(g, "data-rate"), want.rate, 1e-9);
      ASSERT_EQ(points.size(), 1u);
      EXPECT_EQ((*points[0])["fill"], want.point);
    }
    EXPECT_GT(bar_height[days_[4]], bar_height[days_[3]]) << "31 messages draw a taller bar than 28";
    EXPECT_GT(bar_height[days_[3]], 0.0);
    // The rate line joins the two days with points: one move, one line segment.
    auto lines = d.inside(*chart, "path");
    ASSERT_EQ(lines.size(), 1u);
    const std::string path = (*lines[0])["d"];
    EXPECT_TRUE(path.starts_with("M")) << path;
    EXPECT_EQ(std::count(path.begin(), path.end(), 'L'), 1) << path;

    // Latency: three countries delivered; VN did not.
    for (const auto& [code, p50] : std::vector<std::pair<std::string, double>>{{"DE", 2.0}, {"FR", 3.0}, {"GB", 6.0}}) {
      const element* r = row(d, "latency-body", "data-country", code);
      ASSERT_NE(r, nullptr) << code;
      EXPECT_NEAR(number(*r, "data-p50"), p50, 1e-6) << code;
    }
    EXPECT_EQ(row(d, "latency-body", "data-country", "VN"), nullptr);

    // Senders: Promo's 1 reject of 10 finals puts it first and in red.
    auto senders = rows_of(d, "senders-body");
    ASSERT_EQ(senders.size(), 2u);
    EXPECT_EQ((*senders[0])["data-sender"], "Promo");
    EXPECT_NEAR(number(*senders[0], "data-reject-share"), 0.1, 1e-9);
    EXPECT_NE(d.inner(*senders[0]).find("<td class=\"investigate-text\">10.0%</td>"), std::string::npos)
        << d.inner(*senders[0]);
    EXPECT_EQ((*senders[1])["data-sender"], "Acme");
    EXPECT_EQ((*senders[1])["data-reject-share"], "0");

    // Error codes, top three per country and status.
    std::set<std::string> errors;
    for (const element* r : rows_of(d, "errors-body")) {
      errors.insert((*r)["data-country"] + " " + (*r)["data-status"] + " " + (*r)["data-code"] + " x" +
                    (*r)["data-messages"]);
    }
    EXPECT_EQ(errors, (std::set<std::string>{"GB undelivered 27 x2", "DE undelivered 27 x1", "FR rejected 11 x1"}));

    // The firing rule is shown.
    const element* rules = d.by_id("rules");
    ASSERT_NE(rules, nullptr);
    EXPECT_FALSE(rules->has("hidden"));
    const element* rules_list = d.by_id("rules-list");
    ASSERT_NE(rules_list, nullptr);
    auto firing = d.inside(*rules_list, "li");
    ASSERT_EQ(firing.size(), 1u);
    EXPECT_EQ((*firing[0])["data-rule"], "country-delivery");
    EXPECT_EQ((*firing[0])["data-group"], "GB");
    EXPECT_NEAR(number(*firing[0], "data-share"), 0.4, 1e-9);
  }

  /// The daily chart's drawing width (its viewBox), in CSS pixels.
  static double chart_width(const dom& d) {
    const element* chart = d.by_id("daily-chart");
    if (chart == nullptr) return 0;
    std::string box = (*chart)["viewBox"];  // "0 0 W H"
    auto parts = box.find(' ', box.find(' ') + 1);
    return parts == std::string::npos ? 0 : std::stod(box.substr(parts + 1));
  }

  test::pg_database db_;
  temp_dir dir_;
  std::unique_ptr<daemon> daemon_;
  std::array<std::string, 7> days_;  // D-6 .. today
};

TEST_F(dashboard_in_a_browser, the_page_is_served_self_contained_under_a_content_security_policy) {
  client c(daemon_->port());
  auto r = c.get("/dashboard");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
  const std::string& csp = r.headers["content-security-policy"];
  for (const char* directive : {"default-src 'none'", "connect-src 'self'", "script-src 'unsafe-inline'",
                                "img-src 'self' data:", "base-uri 'none'", "form-action 'none'"}) {
    EXPECT_NE(csp.find(directive), std::string::npos) << directive << " missing from: " << csp;
  }
  // No absolute URL to anywhere (the SVG namespace is a name, not a request), no
  // protocol-relative one, and nothing the browser would fetch by itself.
  const std::string& html = r.body;
  for (std::string_view scheme : {"http://", "https://"}) {
    for (auto at = html.find(scheme); at != std::string::npos; at = html.find(scheme, at + 1)) {
      std::string_view url(html.data() + at, std::min<std::size_t>(60, html.size() - at));
      EXPECT_TRUE(url.starts_with(svg_namespace) || url.starts_with("http://127.0.0.1")) << url;
    }
  }
  for (const char* fetching : {"src=", "href=", "url(", "@import", "\"//", "'//", "srcset", "<link", "<iframe"}) {
    EXPECT_EQ(html.find(fetching), std::string::npos) << fetching;
  }
  EXPECT_NE(html.find("v1/stats/"), std::string::npos) << "the page reads the API next to it";
}

TEST_F(dashboard_in_a_browser, a_desktop_browser_draws_every_chart_with_the_crafted_data) {
  if (!chromium_installed()) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh --test installs it)";
  auto p = load("desktop", 1280, 900);
  EXPECT_GE(chart_width(p.rendered), 900) << "the daily chart spans the wide layout";
}

TEST_F(dashboard_in_a_browser, a_phone_sized_browser_draws_the_same_data_in_one_narrow_column) {
  if (!chromium_installed()) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh --test installs it)";
  auto p = load("phone", 390, 844);
  // Drawn at its own pixel width: labels keep their size on a phone.
  EXPECT_LT(chart_width(p.rendered), 500);
  EXPECT_GE(chart_width(p.rendered), 300);
}

}  // namespace
}  // namespace dlrd::e2e
