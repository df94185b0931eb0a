// The /v1/messages routes: requests become jobs for a few PostgreSQL workers; long-polls
// become waiters (memory only) woken by the LISTEN thread or answered by the timer thread.
#include <dlrd/status/api.hpp>

#include "messages.hpp"

#include <dlrd/decode/decode.hpp>
#include <dlrd/decode/form.hpp>
#include <dlrd/report/country.hpp>
#include <dlrd/report/time.hpp>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

namespace dlrd::status {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using json = nlohmann::json;

constexpr std::string_view collection = "/v1/messages";
constexpr std::string_view batch_wait_path = "/v1/messages:wait";
constexpr std::size_t max_id_length = 128;  // the longest id the decoders accept
/// Registrations outlive their wait by this much, so that a slow registration is never
/// already expired when the writer looks at it.
constexpr milliseconds registration_slack{10'000};

answer error_answer(int status, std::string reason, std::string field = {}) {
  answer a;
  a.status = status;
  a.error = std::move(reason);
  a.field = std::move(field);
  return a;
}

answer unavailable(std::string reason) {
  auto a = error_answer(503, std::move(reason));
  a.retry_after = 1;
  return a;
}

answer json_answer(const nlohmann::ordered_json& j) {
  answer a;
  a.body = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return a;
}

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

bool valid_id(std::string_view id) { return !id.empty() && id.size() <= max_id_length; }

/// A statement parameter that is NULL when absent (libpqxx 6 has no std::optional parameters).
const char* param(const std::optional<std::string>& v) { return v ? v->c_str() : nullptr; }

}  // namespace

std::optional<milliseconds> parse_wait(std::string_view text, milliseconds max) {
  if (text.empty()) return std::nullopt;
  auto d = config::parse_duration(text);
  if (!d) return std::nullopt;
  return std::min(*d, max);
}

struct service::impl : std::enable_shared_from_this<impl> {
  /// One read of a message, shared by every waiter it is handed to (its history is not copied).
  using state_ptr = std::shared_ptr<const message_state>;
  using state_map = std::map<std::string, state_ptr>;

  struct waiter;
  using waiter_ptr = std::shared_ptr<waiter>;
  using id_waiters = std::list<waiter_ptr>;
  using deadline_index = std::multimap<clock::time_point, waiter_ptr>;

  /// One long-poll: a single message (GET) or a batch (POST :wait). Where it is indexed is
  /// kept with it, so that answering it removes it in O(ids) whatever else waits.
  struct waiter {
    std::vector<std::string> ids;      // in request order, unique
    std::vector<std::string> unknown;  // batch: ids with no row
    bool batch = false;
    clock::time_point deadline;
    once done;
    state_map states;                  // the latest read of each known id
    std::size_t finals = 0;            // how many of `states` are final
    // Guarded by impl::mutex:
    bool answered = false;
    std::vector<id_waiters::iterator> positions;  // in by_id, parallel to ids; empty: not indexed
    std::optional<deadline_index::iterator> deadline_position;

    explicit waiter(once d) : done(std::move(d)) {}
    bool all_final() const { return finals == states.size(); }
    void set_state(const std::string& id, const state_ptr& s) {
      auto& slot = states[id];
      if (slot && is_final(slot->status)) --finals;
      slot = s;
      if (is_final(s->status)) ++finals;
    }
  };

  /// Work for a PostgreSQL worker: a registration (batched with the others queued), or a job.
  struct job {
    waiter_ptr registration;
    std::function<void(pqxx::connection&)> run;
    once done;  // answered with 503 when the job cannot run
  };

  status_api_config config;
  std::string url;

  mutable std::mutex mutex;
  std::condition_variable jobs_cv, timer_cv;
  std::deque<job> jobs;
  std::unordered_map<std::string, id_waiters> by_id;  // no empty lists
  deadline_index deadlines;
  std::size_t waiting = 0;
  bool stopping = false;
  bool started = false;
  std::vector<std::thread> workers;
  std::thread listener, timer;

  std::atomic<std::uint64_t> woken{0}, timed_out{0}, notifications{0}, refused{0}, index_steps{0}, renders{0};

  impl(status_api_config c, std::string u) : config(std::move(c)), url(std::move(u)) {}

  // ---- answers -------------------------------------------------------------------------

  /// Renders answers for waiters answered together: each state read is turned into JSON
  /// once, and a single-id answer is shared by every waiter of that read.
  class renderer {
   public:
    explicit renderer(impl& owner) : owner_(owner) {}

    answer render(const waiter& w, bool timeout) {
      if (!w.batch) {
        auto it = w.states.find(w.ids.front());
        if (it == w.states.end()) return error_answer(404, "no message with id '" + w.ids.front() + "'");
        auto key = std::make_pair(it->second.get(), timeout);
        auto found = single_.find(key);
        if (found == single_.end()) {
          auto j = json_of(*it->second);
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
      j["unknown"] = w.unknown;
      j["all_final"] = w.all_final();
      j["timed_out"] = timeout;
      return json_answer(j);
    }

   private:
    const nlohmann::ordered_json& json_of(const message_state& m) {
      auto it = json_.find(&m);
      if (it == json_.end()) {
        ++owner_.renders;
        it = json_.emplace(&m, to_json(m)).first;
      }
      return it->second;
    }

    impl& owner_;
    std::map<const message_state*, nlohmann::ordered_json> json_;
    std::map<std::pair<const message_state*, bool>, answer> single_;
  };

  /// Shares each read among the waiters it is handed to.
  static state_map share(std::map<std::string, message_state> states) {
    state_map out;
    for (auto& [id, m] : states) out.emplace(id, std::make_shared<const message_state>(std::move(m)));
    return out;
  }

  /// Indexes a waiter under each of its ids and its deadline. Caller holds the mutex.
  void index(const waiter_ptr& w) {
    w->positions.reserve(w->ids.size());
    for (const auto& id : w->ids) {
      auto& list = by_id[id];
      w->positions.push_back(list.insert(list.end(), w));
      ++index_steps;
    }
    w->deadline_position = deadlines.emplace(w->deadline, w);
  }

  /// Marks a waiter answered and removes it from the indexes through the positions it keeps:
  /// O(ids of this waiter), whatever else waits on them. Caller holds the mutex.
  void forget(const waiter_ptr& w) {
    w->answered = true;
    --waiting;
    for (std::size_t i = 0; i < w->positions.size(); ++i) {
      auto it = by_id.find(w->ids[i]);
      it->second.erase(w->positions[i]);
      if (it->second.empty()) by_id.erase(it);
      ++index_steps;
    }
    w->positions.clear();
    if (w->deadline_position) deadlines.erase(*w->deadline_position);
    w->deadline_position.reset();
  }

  /// New states for some ids: every waiter whose messages are now all final is answered.
  void apply(const state_map& states) {
    std::vector<waiter_ptr> finished;
    {
      std::lock_guard lock(mutex);
      std::set<waiter*> seen;
      for (const auto& [id, state] : states) {
        auto found = by_id.find(id);
        if (found == by_id.end()) continue;
        for (const auto& w : found->second) {
          ++index_steps;
          w->set_state(id, state);
          if (w->all_final() && seen.insert(w.get()).second) finished.push_back(w);
        }
      }
      for (const auto& w : finished) forget(w);
    }
    renderer r(*this);
    for (const auto& w : finished) {
      ++woken;
      w->done(r.render(*w, false));
    }
  }

  /// Answers waiters whose time is up with `states` (or what they knew last).
  void expire(const std::vector<waiter_ptr>& due, const state_map& states) {
    std::vector<waiter_ptr> finished;
    {
      std::lock_guard lock(mutex);
      for (const auto& w : due) {
        if (w->answered) continue;
        for (const auto& id : w->ids) {
          if (auto it = states.find(id); it != states.end()) w->set_state(id, it->second);
        }
        forget(w);
        finished.push_back(w);
      }
    }
    renderer r(*this);
    for (const auto& w : finished) {
      bool final = w->all_final();
      ++(final ? woken : timed_out);
      w->done(r.render(*w, !final));
    }
  }

  // ---- requests ------------------------------------------------------------------------

  void submit(job j) {
    {
      std::lock_guard lock(mutex);
      if (!stopping && jobs.size() < config.max_queue) {
        jobs.push_back(std::move(j));
        jobs_cv.notify_one();
        return;
      }
    }
    ++refused;
    j.done(unavailable(stopping ? "shutting down, retry later" : "too many status requests, retry later"));
  }

  void lookup(std::string id, once done) {
    auto self = shared_from_this();
    submit(job{nullptr,
               [self, id, done](pqxx::connection& conn) {
                 pqxx::read_transaction tx(conn);
                 auto states = read_states(tx, {id}, self->config.history_limit);
                 tx.commit();
                 auto it = states.find(id);
                 if (it == states.end()) return done(error_answer(404, "no message with id '" + id + "'"));
                 done(json_answer(to_json(it->second)));
               },
               done});
  }

  void wait_for(std::vector<std::string> ids, bool batch, milliseconds wait, once done) {
    {
      std::lock_guard lock(mutex);
      if (waiting >= config.max_waiters) {
        ++refused;
        auto a = unavailable("too many waiting requests, retry later");
        done(std::move(a));
        return;
      }
      ++waiting;  // counted from now, so that the limit holds while registrations queue
    }
    auto w = std::make_shared<waiter>(done);
    w->ids = std::move(ids);
    w->batch = batch;
    w->deadline = clock::now() + wait;
    job j{w, nullptr, done};
    {
      std::lock_guard lock(mutex);
      if (!stopping && jobs.size() < config.max_queue) {
        jobs.push_back(std::move(j));
        jobs_cv.notify_one();
        return;
      }
      --waiting;
    }
    ++refused;
    done(unavailable(stopping ? "shutting down, retry later" : "too many status requests, retry later"));
  }

  void log_send(const std::string& body, once done) {
    auto in = json::parse(body, nullptr, false);
    if (!in.is_object()) return done(error_answer(400, "the body must be a JSON object"));
    auto str = [&](const char* key, std::optional<std::string>& out, std::size_t max) -> bool {
      if (!in.contains(key) || in[key].is_null()) return true;
      if (!in[key].is_string()) return done(error_answer(400, std::string(key) + " must be a string", key)), false;
      out = in[key].get<std::string>();
      if (out->size() > max) {
        return done(error_answer(400, std::string(key) + " is longer than " + std::to_string(max) + " bytes", key)),
               false;
      }
      return true;
    };
    // Fields are named after the article's sms_logs columns; the names of the first release
    // (to, from, text, country, cost) are still read when the new one is absent.
    auto name = [&](const char* current, const char* old) { return in.contains(current) ? current : old; };
    const char* to_key = name("to_number", "to");
    const char* from_key = name("from_number", "from");
    const char* text_key = name("text_preview", "text");
    const char* country_key = name("country_code", "country");
    const char* cost_key = name("cost_eur", "cost");
    std::optional<std::string> id, to, from, text, country, provider, cost, sent_at;
    if (!str("message_id", id, max_id_length) || !str(to_key, to, 64) || !str(from_key, from, 64) ||
        !str(text_key, text, 1'600) || !str(country_key, country, 2) || !str("provider", provider, 64) ||
        !str("sent_at", sent_at, 64)) {
      return;
    }
    if (!id || id->empty()) return done(error_answer(400, "message_id is required", "message_id"));
    if (to) {
      auto normal = decode::normalize_recipient(*to);
      if (!normal) return done(error_answer(400, std::string(to_key) + " is not a plausible E.164 number", to_key));
      to = normal;
      if (!country) country = report::country_of(*to);
    }
    if (country && (country->size() != 2 || !std::isupper(static_cast<unsigned char>((*country)[0])) ||
                    !std::isupper(static_cast<unsigned char>((*country)[1])))) {
      return done(error_answer(400, std::string(country_key) + " must be an ISO 3166 alpha-2 code such as GB",
                               country_key));
    }
    if (sent_at && !report::parse_timestamp(*sent_at)) {
      return done(error_answer(400, "sent_at must be an RFC 3339 timestamp", "sent_at"));
    }
    std::optional<std::string> parts;
    if (in.contains("parts") && !in["parts"].is_null()) {
      if (!in["parts"].is_number_integer() || in["parts"].get<std::int64_t>() < 1 ||
          in["parts"].get<std::int64_t>() > 255) {
        return done(error_answer(400, "parts must be an integer from 1 to 255", "parts"));
      }
      parts = std::to_string(in["parts"].get<int>());
    }
    if (in.contains(cost_key) && !in[cost_key].is_null()) {
      const auto& c = in[cost_key];
      std::string t = c.is_string() ? c.get<std::string>() : c.is_number() ? c.dump() : "";
      bool ok = !t.empty() && t.size() <= 32 &&
                std::all_of(t.begin(), t.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) || ch == '.'; }) &&
                std::count(t.begin(), t.end(), '.') <= 1 && std::isdigit(static_cast<unsigned char>(t.front()));
      ok = ok && report::fits_cost_eur(t);  // NUMERIC(10,6), as in the article
      if (!ok) {
        return done(error_answer(400, std::string(cost_key) + " must be a non-negative decimal number below 10000",
                                 cost_key));
      }
      cost = t;
    }
    std::optional<std::string> tags;  // a text[] literal
    if (in.contains("tags") && !in["tags"].is_null()) {
      const auto& t = in["tags"];
      if (!t.is_array() || t.size() > 32) {
        return done(error_answer(400, "tags must be a list of at most 32 strings", "tags"));
      }
      std::vector<std::string> list;
      for (const auto& v : t) {
        if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 64) {
          return done(error_answer(400, "each tag must be a string of 1 to 64 bytes", "tags"));
        }
        list.push_back(v.get<std::string>());
      }
      tags = pg_array(list);
    }
    // The ids the gateway gave each part of a long message, in order (sql/0010): its row then
    // follows its parts' reports.
    std::optional<std::string> part_ids;  // a text[] literal
    if (in.contains("part_ids") && !in["part_ids"].is_null()) {
      const auto& t = in["part_ids"];
      if (!t.is_array() || t.empty() || t.size() > 255) {
        return done(error_answer(400, "part_ids must be a list of 1 to 255 ids", "part_ids"));
      }
      std::vector<std::string> list;
      for (const auto& v : t) {
        if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 128 ||
            v.get<std::string>() == *id) {
          return done(error_answer(400, "each part id must be a string of 1 to 128 bytes, not the message id",
                                   "part_ids"));
        }
        list.push_back(v.get<std::string>());
      }
      if (!parts) parts = std::to_string(list.size());
      part_ids = pg_array(list);
    }
    auto self = shared_from_this();
    submit(job{nullptr,
               [self, id, to, from, text, country, provider, cost, sent_at, parts, tags, part_ids,
                done](pqxx::connection& conn) {
                 pqxx::work tx(conn);
                 tx.exec_params(
                     "SELECT dlr_log_send($1, $2, $3, $4, $5::timestamptz, $6::int, $7::numeric, $8, $9::text[], $10)",
                     *id, param(to), param(from), param(text), param(sent_at), param(parts), param(cost),
                     param(country), param(tags), param(provider));
                 if (part_ids) tx.exec_params("SELECT dlr_log_parts($1, $2::text[])", *id, *part_ids);
                 auto states = read_states(tx, {*id}, self->config.history_limit);
                 tx.commit();
                 done(json_answer(to_json(states.at(*id))));
               },
               done});
  }

  void handle(const api_request& req, once done) {
    auto path = decode::path_of(req.target);
    auto query = decode::query_of(req.target);
    if (path == collection) {
      if (req.method != "POST") {
        auto a = error_answer(405, "method " + std::string(req.method) + " is not allowed here");
        a.allow = "POST";
        return done(std::move(a));
      }
      return log_send(std::string(req.body), done);
    }
    if (path == batch_wait_path) {
      if (req.method != "POST") {
        auto a = error_answer(405, "method " + std::string(req.method) + " is not allowed here");
        a.allow = "POST";
        return done(std::move(a));
      }
      auto in = json::parse(req.body, nullptr, false);
      if (!in.is_object()) return done(error_answer(400, "the body must be a JSON object"));
      if (!in.contains("ids") || !in["ids"].is_array() || in["ids"].empty()) {
        return done(error_answer(400, "ids must be a non-empty list of message ids", "ids"));
      }
      if (in["ids"].size() > config.max_batch) {
        return done(error_answer(400, "at most " + std::to_string(config.max_batch) + " ids per request", "ids"));
      }
      std::vector<std::string> ids;
      std::set<std::string> seen;
      for (const auto& v : in["ids"]) {
        if (!v.is_string() || !valid_id(v.get<std::string>())) {
          return done(error_answer(400, "each id must be a string of 1 to 128 bytes", "ids"));
        }
        if (seen.insert(v.get<std::string>()).second) ids.push_back(v.get<std::string>());
      }
      milliseconds wait = config.max_wait;
      if (in.contains("wait")) {
        const auto& v = in["wait"];
        std::optional<milliseconds> parsed;
        if (v.is_string()) parsed = parse_wait(v.get<std::string>(), config.max_wait);
        else if (v.is_number() && v.get<double>() >= 0) parsed = parse_wait(v.dump(), config.max_wait);
        if (!parsed) return done(error_answer(400, "wait must be a duration such as 30s or 500ms", "wait"));
        wait = *parsed;
      }
      return wait_for(std::move(ids), true, wait, done);
    }
    if (path.starts_with(collection) && path.size() > collection.size() + 1 && path[collection.size()] == '/') {
      if (req.method != "GET" && req.method != "HEAD") {
        auto a = error_answer(405, "method " + std::string(req.method) + " is not allowed here");
        a.allow = "GET, HEAD";
        return done(std::move(a));
      }
      auto id = decode::percent_decode(path.substr(collection.size() + 1), false);
      if (!id || !valid_id(*id)) return done(error_answer(404, "not a valid message id"));
      std::optional<milliseconds> wait;
      auto fields = decode::parse_form(query);
      if (!fields) return done(error_answer(400, "malformed query string"));
      for (const auto& [k, v] : *fields) {
        if (k != "wait") continue;
        wait = parse_wait(v, config.max_wait);
        if (!wait) return done(error_answer(400, "wait must be a duration such as 30s or 500ms", "wait"));
      }
      if (!wait || wait->count() == 0) return lookup(std::move(*id), done);
      return wait_for({std::move(*id)}, false, *wait, done);
    }
    done(error_answer(404, "no route for " + std::string(path)));
  }

  // ---- workers -------------------------------------------------------------------------

  /// Registers waiters in one transaction: those already final (or unknown) are answered
  /// from a plain read; the rest are indexed in memory first, then registered in
  /// dlr_status_waiters and read again FOR SHARE (see sql/0008 for why nothing is lost).
  void register_waiters(pqxx::connection& conn, const std::vector<waiter_ptr>& batch) {
    std::vector<std::string> ids;
    for (const auto& w : batch) ids.insert(ids.end(), w->ids.begin(), w->ids.end());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    state_map states;
    {
      pqxx::read_transaction tx(conn);
      states = share(read_states(tx, ids, config.history_limit));
    }
    std::vector<waiter_ptr> now, later;
    for (const auto& w : batch) {
      for (const auto& id : w->ids) {
        if (auto it = states.find(id); it != states.end()) w->set_state(id, it->second);
        else w->unknown.push_back(id);
      }
      if (w->batch) std::erase_if(w->ids, [&](const std::string& id) { return !w->states.contains(id); });
      bool answer_now = w->batch ? w->all_final() : (!w->unknown.empty() || w->all_final());
      (answer_now ? now : later).push_back(w);
    }
    bool shutting_down = false;
    {
      std::lock_guard lock(mutex);
      // stop() has answered the indexed waiters already; these it could not see.
      shutting_down = stopping;
      if (shutting_down) now.insert(now.end(), later.begin(), later.end());
      for (const auto& w : now) {
        w->answered = true;
        --waiting;
      }
      if (!shutting_down) {
        for (const auto& w : later) index(w);
      }
    }
    timer_cv.notify_all();  // the listener may sleep on it too
    renderer r(*this);
    for (const auto& w : now) {
      bool final = w->all_final() || (!w->batch && !w->unknown.empty());
      ++(final ? woken : timed_out);
      w->done(r.render(*w, !final));
    }
    if (shutting_down || later.empty()) return;

    std::vector<std::string> wait_ids;
    milliseconds longest{0};
    const auto t = clock::now();
    for (const auto& w : later) {
      wait_ids.insert(wait_ids.end(), w->ids.begin(), w->ids.end());
      longest = std::max(longest, std::chrono::duration_cast<milliseconds>(w->deadline - t));
    }
    std::sort(wait_ids.begin(), wait_ids.end());
    wait_ids.erase(std::unique(wait_ids.begin(), wait_ids.end()), wait_ids.end());
    try {
      pqxx::work tx(conn);
      tx.exec_params(
          "INSERT INTO dlr_status_waiters AS w (message_id, expires_at) "
          "SELECT id, clock_timestamp() + $2 * interval '1 millisecond' FROM unnest($1::text[]) AS i(id) "
          "ORDER BY id COLLATE \"C\" "
          "ON CONFLICT (message_id) DO UPDATE SET expires_at = excluded.expires_at "
          "WHERE w.expires_at < excluded.expires_at",
          pg_array(wait_ids), static_cast<std::int64_t>((longest + registration_slack).count()));
      states = share(read_states(tx, wait_ids, config.history_limit, true));
      tx.commit();
    } catch (...) {
      // Not registered: these waiters could miss their wake-up, so they are refused.
      refuse_unanswered(later);
      throw;
    }
    // Only this batch's waiters: those registered before got their own read and are woken by
    // NOTIFY; handing them this read too would cost every registration O(waiters on its ids).
    apply_to(later, states);
  }

  /// Hands `states` to the given waiters only; those now all final are answered.
  void apply_to(const std::vector<waiter_ptr>& batch, const state_map& states) {
    std::vector<waiter_ptr> finished;
    {
      std::lock_guard lock(mutex);
      for (const auto& w : batch) {
        if (w->answered) continue;
        for (const auto& id : w->ids) {
          ++index_steps;
          if (auto it = states.find(id); it != states.end()) w->set_state(id, it->second);
        }
        if (w->all_final()) {
          forget(w);
          finished.push_back(w);
        }
      }
    }
    renderer r(*this);
    for (const auto& w : finished) {
      ++woken;
      w->done(r.render(*w, false));
    }
  }

  /// Answers 503 to every waiter of `batch` not answered yet, and forgets it (the waiting
  /// count and the index with it).
  void refuse_unanswered(const std::vector<waiter_ptr>& batch) {
    std::vector<waiter_ptr> failed;
    {
      std::lock_guard lock(mutex);
      for (const auto& w : batch) {
        if (w->answered) continue;
        forget(w);
        failed.push_back(w);
      }
    }
    for (const auto& w : failed) {
      ++refused;
      w->done(unavailable("database unavailable, retry later"));
    }
  }

  void worker() {
    std::unique_ptr<pqxx::connection> conn;
    std::unique_lock lock(mutex);
    for (;;) {
      jobs_cv.wait(lock, [this] { return stopping || !jobs.empty(); });
      if (stopping) return;
      std::vector<waiter_ptr> registrations;
      std::optional<job> single;
      if (jobs.front().registration) {
        // Every registration queued goes in one transaction, up to max_batch ids.
        std::size_t ids = 0;
        while (!jobs.empty() && jobs.front().registration && ids < config.max_batch) {
          ids += jobs.front().registration->ids.size();
          registrations.push_back(std::move(jobs.front().registration));
          jobs.pop_front();
        }
      } else {
        single = std::move(jobs.front());
        jobs.pop_front();
      }
      lock.unlock();
      try {
        if (!conn || !conn->is_open()) {
          conn.reset();
          conn = std::make_unique<pqxx::connection>(url);
        }
        if (single) single->run(*conn);
        else register_waiters(*conn, registrations);
      } catch (const std::exception& e) {
        spdlog::warn("status: request failed: {}", e.what());
        if (conn && !conn->is_open()) conn.reset();
        if (single) {
          ++refused;
          single->done(unavailable("database unavailable, retry later"));
        }
        // A connect or the first read failed before the waiters were answered or indexed:
        // without this they would hold their place under max_waiters and never be answered.
        refuse_unanswered(registrations);
      }
      lock.lock();
    }
  }

  // ---- wake-ups and timeouts -----------------------------------------------------------

  class receiver final : public pqxx::notification_receiver {
   public:
    receiver(pqxx::connection_base& c, std::vector<std::string>& out)
        : pqxx::notification_receiver(c, "dlrd_status"), out_(out) {}
    void operator()(const std::string& payload, int) override { out_.push_back(payload); }

   private:
    std::vector<std::string>& out_;
  };

  /// Reads the given ids (those still waited for) on `conn` and wakes their waiters.
  void refresh(pqxx::connection& conn, std::vector<std::string> ids) {
    {
      std::lock_guard lock(mutex);
      std::erase_if(ids, [this](const std::string& id) { return !by_id.contains(id); });
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    if (ids.empty()) return;
    state_map states;
    {
      pqxx::read_transaction tx(conn);
      states = share(read_states(tx, ids, config.history_limit));
    }
    apply(states);
  }

  std::vector<std::string> all_waited_ids() {
    std::lock_guard lock(mutex);
    std::vector<std::string> ids;
    ids.reserve(by_id.size());
    for (const auto& kv : by_id) ids.push_back(kv.first);
    return ids;
  }

  bool sleep_unless_stopping(milliseconds d) {
    std::unique_lock lock(mutex);
    return !timer_cv.wait_for(lock, d, [this] { return stopping; });
  }

  void listen() {
    bool failing = false;
    while (sleep_unless_stopping(milliseconds(0))) {
      try {
        pqxx::connection conn(url);
        std::vector<std::string> payloads;
        receiver r(conn, payloads);
        if (failing) spdlog::info("status: LISTEN connection restored");
        failing = false;
        // Wake-ups sent while this instance was not listening were lost: read every waiter.
        refresh(conn, all_waited_ids());
        auto next_purge = clock::now();
        for (;;) {
          {
            std::lock_guard lock(mutex);
            if (stopping) return;
          }
          conn.await_notification(0, 200'000);
          if (!payloads.empty()) {
            notifications += payloads.size();
            auto ids = std::move(payloads);
            payloads.clear();
            refresh(conn, std::move(ids));
          }
          if (clock::now() >= next_purge) {
            pqxx::work tx(conn);
            tx.exec0("DELETE FROM dlr_status_waiters WHERE expires_at < clock_timestamp()");
            tx.commit();
            next_purge = clock::now() + std::chrono::minutes(1);
          }
        }
      } catch (const std::exception& e) {
        if (!failing) spdlog::warn("status: LISTEN connection failed: {}; reconnecting", e.what());
        failing = true;
        if (!sleep_unless_stopping(milliseconds(1000))) return;
      }
    }
  }

  void run_timer() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      auto now = clock::now();
      std::vector<waiter_ptr> due;
      while (!deadlines.empty() && deadlines.begin()->first <= now) {
        auto w = deadlines.begin()->second;
        w->deadline_position.reset();
        deadlines.erase(deadlines.begin());
        due.push_back(std::move(w));
      }
      if (!due.empty()) {
        lock.unlock();
        answer_due(std::move(due));
        lock.lock();
        continue;
      }
      if (deadlines.empty()) {
        timer_cv.wait(lock);
      } else {
        // A copy: wait_until reads it again after waking, when another thread may have
        // erased the waiter it came from.
        const auto next = deadlines.begin()->first;
        timer_cv.wait_until(lock, next);
      }
    }
  }

  /// Timed-out waiters are answered with a fresh read (by a worker); if that cannot run,
  /// with what they knew.
  void answer_due(std::vector<waiter_ptr> due) {
    std::vector<std::string> ids;
    for (const auto& w : due) ids.insert(ids.end(), w->ids.begin(), w->ids.end());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    auto self = shared_from_this();
    auto fallback = [self, due](answer) { self->expire(due, {}); };
    job j{nullptr,
          [self, due, ids](pqxx::connection& conn) {
            state_map states;
            try {
              pqxx::read_transaction tx(conn);
              states = share(read_states(tx, ids, self->config.history_limit));
            } catch (const std::exception& e) {
              spdlog::warn("status: reading timed-out messages failed: {}", e.what());
            }
            self->expire(due, states);
          },
          once(fallback)};
    {
      std::lock_guard lock(mutex);
      if (!stopping) {
        // Ahead of new requests: these clients have waited long enough.
        jobs.push_front(std::move(j));
        jobs_cv.notify_one();
        return;
      }
    }
    expire(due, {});
  }

  void start() {
    std::lock_guard lock(mutex);
    if (started) return;
    started = true;
    for (int i = 0; i < config.connections; ++i) workers.emplace_back([this] { worker(); });
    listener = std::thread([this] { listen(); });
    timer = std::thread([this] { run_timer(); });
  }

  void stop() {
    std::vector<waiter_ptr> left;
    std::deque<job> queued;
    {
      std::lock_guard lock(mutex);
      if (stopping) return;
      stopping = true;
      queued.swap(jobs);
      for (const auto& [deadline, w] : deadlines) left.push_back(w);
    }
    jobs_cv.notify_all();
    timer_cv.notify_all();
    for (auto& j : queued) {
      if (j.registration) {
        std::lock_guard lock(mutex);
        --waiting;
      }
      j.done(unavailable("shutting down, retry later"));
    }
    expire(left, {});
    for (auto& t : workers) t.join();
    workers.clear();
    if (listener.joinable()) listener.join();
    if (timer.joinable()) timer.join();
  }
};

service::service(status_api_config config, std::string url)
    : impl_(std::make_shared<impl>(std::move(config), std::move(url))) {}

service::~service() { stop(); }

void service::start() { impl_->start(); }

void service::stop() { impl_->stop(); }

void service::handle(const api_request& req, completion done) { impl_->handle(req, once(std::move(done))); }

service_counters service::counters() const {
  service_counters c;
  {
    std::lock_guard lock(impl_->mutex);
    c.waiting = impl_->waiting;
  }
  c.woken = impl_->woken;
  c.timed_out = impl_->timed_out;
  c.notifications = impl_->notifications;
  c.refused = impl_->refused;
  c.index_steps = impl_->index_steps;
  c.renders = impl_->renders;
  return c;
}

}  // namespace dlrd::status
