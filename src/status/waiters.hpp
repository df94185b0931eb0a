// The long-polls waiting in memory: each indexed under its ids and its deadline, handed new
// message states, answered once. No threads and no SQL: the owner holds one lock around every
// call to a waiter_registry.
#pragma once

#include "messages.hpp"

#include <dlrd/status/api.hpp>

#include <atomic>
#include <chrono>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace dlrd::status {

using waiter_clock = std::chrono::steady_clock;

/// Calls the wrapped completion at most once, whichever thread gets there first.
class once {
 public:
  explicit once(completion done) : state_(std::make_shared<state>(std::move(done))) {}
  void operator()(answer a) const {
    if (state_->called.exchange(true)) return;
    auto done = std::move(state_->done);
    done(std::move(a));
  }

 private:
  struct state {
    explicit state(completion d) : done(std::move(d)) {}
    std::atomic<bool> called{false};
    completion done;
  };
  std::shared_ptr<state> state_;
};

/// One read of a message, shared by every waiter it is handed to (its history is not copied).
using state_ptr = std::shared_ptr<const message_state>;
using state_map = std::map<std::string, state_ptr>;

/// Shares each read among the waiters it is handed to.
state_map share(store::message_states states);

struct waiter;
using waiter_ptr = std::shared_ptr<waiter>;

/// One long-poll: a single message (GET) or a batch (POST :wait), over ids dlrd may not have
/// a row for yet (the send not logged, no report yet). Where it is indexed is kept with it,
/// so that answering it removes it in O(ids) whatever else waits.
struct waiter {
  std::vector<std::string> ids;      // in request order, unique
  bool batch = false;
  waiter_clock::time_point deadline;
  once done;
  state_map states;                  // the latest read of each id with a row
  std::size_t finals = 0;            // how many of `states` are final
  // Guarded by the registry owner's lock:
  bool answered = false;
  std::vector<std::list<waiter_ptr>::iterator> positions;  // parallel to ids; empty: not indexed
  std::optional<std::multimap<waiter_clock::time_point, waiter_ptr>::iterator> deadline_position;

  explicit waiter(once d) : done(std::move(d)) {}
  /// Every id has a row and its status is final.
  bool all_final() const { return finals == ids.size(); }
  /// The ids with no row in the latest reads, in request order.
  std::vector<std::string> unknown() const;
  void set_state(const std::string& id, const state_ptr& s);
};

/// The index of waiting long-polls. Work is O(ids of the waiters touched), whatever else
/// waits on the same ids. Not thread-safe: the owner locks.
class waiter_registry {
 public:
  /// Indexes `w` under each of its ids and its deadline.
  void add(const waiter_ptr& w);
  /// Marks `w` answered and removes it from the indexes.
  void remove(const waiter_ptr& w);
  /// Hands new states to every waiter of their ids; removes and returns those now all final.
  std::vector<waiter_ptr> wake(const state_map& states);
  /// Hands `states` to the given waiters only; removes and returns those now all final.
  std::vector<waiter_ptr> hand(const std::vector<waiter_ptr>& batch, const state_map& states);
  /// Hands `states` to the given waiters not answered yet, removes and returns them all.
  std::vector<waiter_ptr> settle(const std::vector<waiter_ptr>& due, const state_map& states);
  /// Takes the waiters whose deadline is `now` or earlier off the deadline index (they stay
  /// under their ids until settled).
  std::vector<waiter_ptr> take_due(waiter_clock::time_point now);
  std::optional<waiter_clock::time_point> next_deadline() const;
  bool waits_for(const std::string& id) const { return by_id_.contains(id); }
  /// Every id some waiter waits for.
  std::vector<std::string> ids() const;
  /// Every waiter on the deadline index.
  std::vector<waiter_ptr> all() const;
  /// Index entries visited so far (a measure of work, for tests).
  std::uint64_t steps() const { return steps_; }

 private:
  std::unordered_map<std::string, std::list<waiter_ptr>> by_id_;  // no empty lists
  std::multimap<waiter_clock::time_point, waiter_ptr> deadlines_;
  std::uint64_t steps_ = 0;
};

/// Renders answers for waiters answered together: each state read is turned into JSON once
/// (counted in `renders`), and a single-id answer is shared by every waiter of that read.
class renderer {
 public:
  explicit renderer(std::atomic<std::uint64_t>& renders) : renders_(renders) {}
  /// A single wait's answer (200) with the message's state, or with known: false when the
  /// id has no row; a batch's with the messages found and the ids not.
  answer render(const waiter& w, bool timeout);

 private:
  static answer unknown_answer(const std::string& id, bool timeout);
  const nlohmann::ordered_json& json_of(const message_state& m);

  std::atomic<std::uint64_t>& renders_;
  std::map<const message_state*, nlohmann::ordered_json> json_;
  std::map<std::pair<const message_state*, bool>, answer> single_;
};

answer json_answer(const nlohmann::ordered_json& j);

}  // namespace dlrd::status
