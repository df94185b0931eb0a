#include "cluster.hpp"

#include "support/pg_fixture.hpp"

#include <cstdio>
#include <stdexcept>
#include <unordered_set>

#include <sys/stat.h>
#include <unistd.h>

namespace dlrd::e2e {

namespace {

using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string script() { return std::string(DLRD_SOURCE_DIR) + "/scripts/pg.sh"; }
std::string as_owner() { return ::geteuid() == 0 ? "runuser -u postgres -- " : ""; }
constexpr const char* pg_bin = "/usr/lib/postgresql/15/bin/";

void shell(const std::string& command, bool must_succeed = false) {
  int code = 0;
  auto out = run_command(command + " 2>&1", code);
  if (must_succeed && code != 0) throw std::runtime_error(command + " failed: " + out);
}

std::string report_body(const std::string& id, int n, bool failed) {
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "2026-01-01T%02d:%02d:%02dZ", (n / 3600) % 24, (n / 60) % 60, n % 60);
  return R"({"messageId":")" + id + R"(","status":")" + (failed ? "undelivered" : "delivered") +
         R"(","timestamp":")" + stamp + R"("})";
}

}  // namespace

private_cluster::private_cluster(std::string data_dir, existing) : dir_(std::move(data_dir)), port_(free_port()) {
  url_ = "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/dlrd";
}

private_cluster::private_cluster(std::string data_dir) : private_cluster(std::move(data_dir), existing{}) { start(); }

private_cluster::~private_cluster() { shell(script() + " stop " + dir_); }

std::unique_ptr<private_cluster> private_cluster::standby_of(const private_cluster& primary, std::string data_dir) {
  std::unique_ptr<private_cluster> s(new private_cluster(std::move(data_dir), existing{}));
  const std::string owner = ::geteuid() == 0 ? " && chown postgres:postgres " + s->dir_ : "";
  shell("mkdir -p " + s->dir_ + owner + " && chmod 700 " + s->dir_, true);
  shell(as_owner() + pg_bin + "pg_basebackup -h 127.0.0.1 -p " + std::to_string(primary.port()) +
            " -U postgres -D " + s->dir_ + " -R -X stream -c fast",
        true);
  s->start();
  return s;
}

void private_cluster::start() { shell(script() + " start " + dir_ + " " + std::to_string(port_), true); }

void private_cluster::pg_ctl(const std::string& args) {
  shell(as_owner() + pg_bin + "pg_ctl -D " + dir_ + " " + args, true);
}

void private_cluster::crash() { pg_ctl("-m immediate -w stop"); }

void private_cluster::promote() {
  const auto admin = "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/postgres";
  for (auto until = steady::now() + 60s; steady::now() < until;) {
    try {
      if (test::query(admin, "SELECT pg_is_in_recovery()")[0][0].as<bool>()) break;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(100ms);
  }
  pg_ctl("-w promote");
}

int private_cluster::wal_receiver_pid() const {
  try {
    auto rows = test::query("postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/postgres",
                            "SELECT pid FROM pg_stat_wal_receiver");
    return rows.empty() ? 0 : rows[0][0].as<int>();
  } catch (const std::exception&) {
    return 0;
  }
}

load_generator::load_generator(int port, std::string prefix, int threads, int failed_every)
    : prefix_(std::move(prefix)), failed_every_(failed_every), acked_(static_cast<std::size_t>(threads)) {
  for (int t = 0; t < threads; ++t) threads_.emplace_back([this, port, t] { run(port, t); });
}

load_generator::~load_generator() { stop(); }

std::vector<std::string> load_generator::stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  std::vector<std::string> all;
  for (auto& v : acked_) all.insert(all.end(), v.begin(), v.end());
  return all;
}

bool load_generator::is_failure(const std::string& id, int failed_every) {
  if (failed_every <= 0) return false;
  return std::stoll(id.substr(id.rfind('-') + 1)) % failed_every == 0;
}

void load_generator::run(int port, int t) {
  std::unique_ptr<client> cl;
  for (int n = 0; !stop_; ++n) {
    std::string id = prefix_ + "-" + std::to_string(t) + "-" + std::to_string(n);
    try {
      if (!cl) cl = std::make_unique<client>(port);
      auto status = cl->post("/webhooks/smspm", report_body(id, n, is_failure(id, failed_every_))).status;
      if (status == 200) {
        acked_[static_cast<std::size_t>(t)].push_back(id);
        ++acked_count_;
      } else {
        ++refused_;
        std::this_thread::sleep_for(5ms);
      }
    } catch (const std::exception&) {
      cl.reset();  // no answer: not acked
      ++failed_exchanges_;
      std::this_thread::sleep_for(10ms);
    }
  }
}

std::vector<std::string> missing_after(const std::string& url, const std::vector<std::string>& acked,
                                       std::chrono::seconds timeout) {
  std::vector<std::string> missing;
  for (auto deadline = steady::now() + timeout;;) {
    missing.clear();
    try {
      std::unordered_set<std::string> stored;
      for (const auto& row : test::query(url, "SELECT message_id FROM sms_logs")) stored.insert(row[0].as<std::string>());
      for (const auto& id : acked) {
        if (!stored.count(id)) missing.push_back(id);
      }
    } catch (const std::exception&) {
      missing = acked;  // not reachable yet
    }
    if (missing.empty() || steady::now() >= deadline) return missing;
    std::this_thread::sleep_for(200ms);
  }
}

}  // namespace dlrd::e2e
