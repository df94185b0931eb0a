// The /v1/messages routes as plain functions: a request becomes a command value (what to
// read or write, already checked) or an error answer. No threads, no SQL.
#pragma once

#include <dlrd/status/api.hpp>
#include <dlrd/store/status_db.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dlrd::status {

/// The longest message id the routes accept (the decoders' limit).
inline constexpr std::size_t max_id_length = 128;

/// GET /v1/messages/{id} without a wait: read the message once.
struct lookup_command {
  std::string id;
};

/// A long-poll: GET /v1/messages/{id}?wait=... (one id) or POST /v1/messages:wait (a batch).
struct wait_command {
  std::vector<std::string> ids;  ///< in request order, unique
  bool batch = false;
  std::chrono::milliseconds wait{0};
};

/// POST /v1/messages: log a send.
struct send_command {
  store::send_record send;
};

/// What a request asks for; an `answer` when it can be answered without the database (an
/// error: 400, 404 or 405).
using command = std::variant<answer, lookup_command, wait_command, send_command>;

/// Routes and checks one request against `config`'s limits (max_wait, max_batch).
command route(const api_request& req, const status_api_config& config);

/// The body of POST /v1/messages as a send, or the 400 answer that names the bad field.
std::variant<answer, store::send_record> parse_send(std::string_view body);

answer error_answer(int status, std::string reason, std::string field = {});
/// 503 with Retry-After: 1.
answer unavailable(std::string reason);

}  // namespace dlrd::status
