// The webhook client's deadline holds while a name lookup hangs: this test binary replaces
// getaddrinfo with one that blocks on one chosen name until the test lets it go.
#include <dlrd/net/client.hpp>

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <netdb.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string_view>
#include <thread>

namespace {

constexpr std::string_view hanging_name = "dlrd-hanging-lookup.test";

struct hanging_lookups {
  std::mutex mutex;
  std::condition_variable changed;
  bool released = false;
  int blocked = 0;  // calls inside getaddrinfo for hanging_name right now
};

hanging_lookups& lookups() {
  static auto* l = new hanging_lookups;  // never destroyed: a lookup may outlive the tests
  return *l;
}

/// Lets every hanging lookup return (EAI_AGAIN) and waits until none is inside getaddrinfo.
void release_and_drain() {
  auto& l = lookups();
  std::unique_lock lock(l.mutex);
  l.released = true;
  l.changed.notify_all();
  l.changed.wait_for(lock, std::chrono::seconds(10), [&] { return l.blocked == 0; });
  l.released = false;
}

}  // namespace

// Blocks on hanging_name until released, at most 3 s (so that a client that waits for the
// lookup shows up as slow rather than hanging the suite); every other name resolves normally.
extern "C" int getaddrinfo(const char* __restrict name, const char* __restrict service,
                           const struct addrinfo* __restrict hints, struct addrinfo** __restrict out) {
  if (name != nullptr && std::string_view(name) == hanging_name) {
    auto& l = lookups();
    std::unique_lock lock(l.mutex);
    ++l.blocked;
    l.changed.wait_for(lock, std::chrono::seconds(3), [&] { return l.released; });
    --l.blocked;
    l.changed.notify_all();
    return EAI_AGAIN;
  }
  using real_t = int (*)(const char*, const char*, const struct addrinfo*, struct addrinfo**);
  static auto real = reinterpret_cast<real_t>(dlsym(RTLD_NEXT, "getaddrinfo"));
  return real(name, service, hints, out);
}

namespace {

using clock_type = std::chrono::steady_clock;

dlrd::net::post_request hanging_request() {
  dlrd::net::post_request r;
  r.url = "http://" + std::string(hanging_name) + ":9/hook";
  r.body = "{}";
  r.connect_timeout = std::chrono::milliseconds(200);
  r.timeout = std::chrono::milliseconds(400);
  return r;
}

TEST(net_client, a_hanging_name_lookup_ends_at_the_callers_deadline) {
  dlrd::net::client client;
  auto start = clock_type::now();
  auto result = client.post(hanging_request());
  auto took = clock_type::now() - start;
  EXPECT_FALSE(result.ok());
  EXPECT_NE(result.error.find("timeout"), std::string::npos) << result.error;
  EXPECT_LT(took, std::chrono::milliseconds(900)) << "the lookup held the caller past its deadline";
  // The abandoned lookup finishes on its own later, touching nothing the caller owned.
  release_and_drain();
}

TEST(net_client, a_cancel_ends_a_hanging_name_lookup) {
  dlrd::net::client client;
  std::atomic<bool> cancel{true};
  auto start = clock_type::now();
  auto result = client.post(hanging_request(), &cancel);
  EXPECT_EQ(result.error, "cancelled");
  EXPECT_LT(clock_type::now() - start, std::chrono::milliseconds(900));
  release_and_drain();
}

TEST(net_client, hanging_lookups_are_bounded_and_later_posts_fail_at_once) {
  dlrd::net::client client;
  auto request = hanging_request();
  request.connect_timeout = std::chrono::milliseconds(20);
  std::string last;
  for (int i = 0; i < 40 && last.find("still running") == std::string::npos; ++i) last = client.post(request).error;
  EXPECT_NE(last.find("earlier lookups still running"), std::string::npos) << last;
  release_and_drain();
  // Once they have returned, lookups run again (each thread leaves just after its return).
  std::string after = "still running";
  for (int i = 0; i < 100 && after.find("still running") != std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    after = client.post(request).error;
  }
  EXPECT_EQ(after.find("still running"), std::string::npos) << after;
  release_and_drain();
}

}  // namespace
