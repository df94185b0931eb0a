// The waiter registry without threads or a database: who is woken by which states, who is
// due when, and that the work per waiter stays O(its ids) however many share them.
#include "waiters.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using dlrd::status::answer;
using dlrd::status::state_map;
using dlrd::status::waiter;
using dlrd::status::waiter_clock;
using dlrd::status::waiter_ptr;
using dlrd::status::waiter_registry;

const waiter_clock::time_point t0{};

state_map states(std::initializer_list<std::pair<std::string, std::string>> id_status) {
  dlrd::store::message_states read;
  for (const auto& [id, status] : id_status) {
    dlrd::store::message_state m;
    m.message_id = id;
    m.status = status;
    read.emplace(id, std::move(m));
  }
  return dlrd::status::share(std::move(read));
}

// A waiter as registration leaves it before indexing: every id read once, still pending.
waiter_ptr make(std::vector<std::string> ids, waiter_clock::time_point deadline, bool batch = false) {
  auto w = std::make_shared<waiter>(dlrd::status::once([](answer) {}));
  w->ids = std::move(ids);
  w->batch = batch;
  w->deadline = deadline;
  for (const auto& id : w->ids) w->set_state(id, states({{id, "enroute"}}).at(id));
  return w;
}

TEST(waiter_registry, a_waiter_is_woken_only_when_every_id_is_final) {
  waiter_registry r;
  auto w = make({"a", "b"}, t0 + 30s, true);
  r.add(w);
  EXPECT_TRUE(r.wake(states({{"a", "delivered"}})).empty());
  EXPECT_TRUE(r.wake(states({{"b", "enroute"}})).empty());
  auto woken = r.wake(states({{"b", "undelivered"}}));
  ASSERT_EQ(woken.size(), 1u);
  EXPECT_EQ(woken[0], w);
  EXPECT_TRUE(w->answered);
  EXPECT_FALSE(r.waits_for("a"));
  EXPECT_FALSE(r.next_deadline());
}

TEST(waiter_registry, the_same_final_state_read_twice_is_counted_once) {
  waiter_registry r;
  auto w = make({"a", "b"}, t0 + 30s, true);
  r.add(w);
  r.wake(states({{"a", "delivered"}}));
  r.wake(states({{"a", "delivered"}}));
  EXPECT_EQ(w->finals, 1u);
  EXPECT_FALSE(w->all_final());
}

TEST(waiter_registry, due_waiters_leave_the_deadline_index_in_order_and_are_settled_once) {
  waiter_registry r;
  auto late = make({"a"}, t0 + 20s);
  auto early = make({"a"}, t0 + 10s);
  r.add(late);
  r.add(early);
  EXPECT_EQ(r.next_deadline(), t0 + 10s);
  EXPECT_TRUE(r.take_due(t0 + 5s).empty());
  auto due = r.take_due(t0 + 10s);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0], early);
  EXPECT_TRUE(r.waits_for("a"));  // under its id until settled
  auto settled = r.settle(due, states({{"a", "accepted"}}));
  ASSERT_EQ(settled.size(), 1u);
  EXPECT_EQ(early->states.at("a")->status, "accepted");
  EXPECT_TRUE(r.settle(due, {}).empty());  // answered already
  EXPECT_EQ(r.all(), std::vector<waiter_ptr>{late});
}

TEST(waiter_registry, hand_gives_a_read_to_the_given_waiters_only) {
  waiter_registry r;
  auto mine = make({"a"}, t0 + 10s);
  auto other = make({"a"}, t0 + 10s);
  r.add(mine);
  r.add(other);
  auto finished = r.hand({mine}, states({{"a", "delivered"}}));
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0], mine);
  EXPECT_EQ(other->states.at("a")->status, "enroute");
  EXPECT_EQ(r.ids(), std::vector<std::string>{"a"});
}

TEST(waiter_registry, removing_one_of_many_waiters_on_an_id_costs_its_own_ids_only) {
  waiter_registry r;
  std::vector<waiter_ptr> many;
  for (int i = 0; i < 1000; ++i) {
    many.push_back(make({"shared"}, t0 + 10s));
    r.add(many.back());
  }
  const auto before = r.steps();
  r.remove(many[500]);
  EXPECT_EQ(r.steps() - before, 1u);
  EXPECT_TRUE(many[500]->answered);
  EXPECT_EQ(r.all().size(), 999u);
}

TEST(waiter_registry, one_read_is_rendered_once_for_every_single_id_waiter) {
  waiter_registry r;
  std::vector<waiter_ptr> many;
  for (int i = 0; i < 3; ++i) {
    many.push_back(make({"m"}, t0 + 10s));
    r.add(many.back());
  }
  auto woken = r.wake(states({{"m", "delivered"}}));
  ASSERT_EQ(woken.size(), 3u);
  std::atomic<std::uint64_t> renders{0};
  dlrd::status::renderer render(renders);
  auto first = render.render(*woken[0], false);
  for (const auto& w : woken) EXPECT_EQ(render.render(*w, false).body, first.body);
  EXPECT_EQ(renders, 1u);
  EXPECT_NE(first.body.find("\"timed_out\":false"), std::string::npos) << first.body;
}

TEST(waiter_registry, an_id_with_no_row_yet_is_waited_for_until_its_row_is_final) {
  waiter_registry r;
  auto w = std::make_shared<waiter>(dlrd::status::once([](answer) {}));
  w->ids = {"new", "old"};
  w->batch = true;
  w->deadline = t0 + 30s;
  w->set_state("old", states({{"old", "delivered"}}).at("old"));
  EXPECT_FALSE(w->all_final()) << "\"new\" has no row: not final";
  EXPECT_EQ(w->unknown(), std::vector<std::string>{"new"});
  r.add(w);
  EXPECT_TRUE(r.wake(states({{"new", "enroute"}})).empty());
  EXPECT_TRUE(w->unknown().empty());
  EXPECT_EQ(r.wake(states({{"new", "delivered"}})).size(), 1u);
}

TEST(waiter_registry, a_single_wait_on_an_id_with_no_row_times_out_as_not_known) {
  auto w = std::make_shared<waiter>(dlrd::status::once([](answer) {}));
  w->ids = {"never"};
  std::atomic<std::uint64_t> renders{0};
  dlrd::status::renderer render(renders);
  auto a = render.render(*w, true);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, R"({"message_id":"never","status":null,"final":false,"retryable":false,"known":false,)"
                    R"("timed_out":true})");
}

}  // namespace
