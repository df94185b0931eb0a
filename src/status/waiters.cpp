// The waiter index (by id and by deadline) and the rendering of waiters' answers.
#include "waiters.hpp"

#include <set>

namespace dlrd::status {

state_map share(store::message_states states) {
  state_map out;
  for (auto& [id, m] : states) out.emplace(id, std::make_shared<const message_state>(std::move(m)));
  return out;
}

std::vector<std::string> waiter::unknown() const {
  std::vector<std::string> out;
  for (const auto& id : ids) {
    if (!states.contains(id)) out.push_back(id);
  }
  return out;
}

void waiter::set_state(const std::string& id, const state_ptr& s) {
  auto& slot = states[id];
  if (slot && is_final(slot->status)) --finals;
  slot = s;
  if (is_final(s->status)) ++finals;
}

void waiter_registry::add(const waiter_ptr& w) {
  w->positions.reserve(w->ids.size());
  for (const auto& id : w->ids) {
    auto& list = by_id_[id];
    w->positions.push_back(list.insert(list.end(), w));
    ++steps_;
  }
  w->deadline_position = deadlines_.emplace(w->deadline, w);
}

void waiter_registry::remove(const waiter_ptr& w) {
  w->answered = true;
  for (std::size_t i = 0; i < w->positions.size(); ++i) {
    auto it = by_id_.find(w->ids[i]);
    it->second.erase(w->positions[i]);
    if (it->second.empty()) by_id_.erase(it);
    ++steps_;
  }
  w->positions.clear();
  if (w->deadline_position) deadlines_.erase(*w->deadline_position);
  w->deadline_position.reset();
}

std::vector<waiter_ptr> waiter_registry::wake(const state_map& states) {
  std::vector<waiter_ptr> finished;
  std::set<waiter*> seen;
  for (const auto& [id, state] : states) {
    auto found = by_id_.find(id);
    if (found == by_id_.end()) continue;
    for (const auto& w : found->second) {
      ++steps_;
      w->set_state(id, state);
      if (w->all_final() && seen.insert(w.get()).second) finished.push_back(w);
    }
  }
  for (const auto& w : finished) remove(w);
  return finished;
}

std::vector<waiter_ptr> waiter_registry::hand(const std::vector<waiter_ptr>& batch, const state_map& states) {
  std::vector<waiter_ptr> finished;
  for (const auto& w : batch) {
    if (w->answered) continue;
    for (const auto& id : w->ids) {
      ++steps_;
      if (auto it = states.find(id); it != states.end()) w->set_state(id, it->second);
    }
    if (w->all_final()) {
      remove(w);
      finished.push_back(w);
    }
  }
  return finished;
}

std::vector<waiter_ptr> waiter_registry::settle(const std::vector<waiter_ptr>& due, const state_map& states) {
  std::vector<waiter_ptr> finished;
  for (const auto& w : due) {
    if (w->answered) continue;
    for (const auto& id : w->ids) {
      if (auto it = states.find(id); it != states.end()) w->set_state(id, it->second);
    }
    remove(w);
    finished.push_back(w);
  }
  return finished;
}

std::vector<waiter_ptr> waiter_registry::take_due(waiter_clock::time_point now) {
  std::vector<waiter_ptr> due;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    auto w = deadlines_.begin()->second;
    w->deadline_position.reset();
    deadlines_.erase(deadlines_.begin());
    due.push_back(std::move(w));
  }
  return due;
}

std::optional<waiter_clock::time_point> waiter_registry::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

std::vector<std::string> waiter_registry::ids() const {
  std::vector<std::string> out;
  out.reserve(by_id_.size());
  for (const auto& kv : by_id_) out.push_back(kv.first);
  return out;
}

std::vector<waiter_ptr> waiter_registry::all() const {
  std::vector<waiter_ptr> out;
  for (const auto& [deadline, w] : deadlines_) out.push_back(w);
  return out;
}

answer json_answer(const nlohmann::ordered_json& j) {
  answer a;
  a.body = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return a;
}

answer renderer::render(const waiter& w, bool timeout) {
  if (!w.batch) {
    auto it = w.states.find(w.ids.front());
    if (it == w.states.end()) return unknown_answer(w.ids.front(), timeout);
    auto key = std::make_pair(it->second.get(), timeout);
    auto found = single_.find(key);
    if (found == single_.end()) {
      auto j = json_of(*it->second);
      j["known"] = true;
      j["timed_out"] = timeout;
      found = single_.emplace(key, json_answer(j)).first;
    }
    return found->second;
  }
  nlohmann::ordered_json j;
  auto messages = nlohmann::ordered_json::array();
  for (const auto& id : w.ids) {
    auto it = w.states.find(id);
    if (it != w.states.end()) messages.push_back(json_of(*it->second));
  }
  j["messages"] = std::move(messages);
  j["unknown"] = w.unknown();
  j["all_final"] = w.all_final();
  j["timed_out"] = timeout;
  return json_answer(j);
}

answer renderer::unknown_answer(const std::string& id, bool timeout) {
  // Shaped like a pending message's answer (the first four keys are the ones scripts read),
  // with known: false: the wait ended before any send or report for the id reached dlrd.
  nlohmann::ordered_json j;
  j["message_id"] = id;
  j["status"] = nullptr;
  j["final"] = false;
  j["retryable"] = false;
  j["known"] = false;
  j["timed_out"] = timeout;
  return json_answer(j);
}

const nlohmann::ordered_json& renderer::json_of(const message_state& m) {
  auto it = json_.find(&m);
  if (it == json_.end()) {
    ++renders_;
    it = json_.emplace(&m, to_json(m)).first;
  }
  return it->second;
}

}  // namespace dlrd::status
