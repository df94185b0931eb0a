// The API routes the daemon serves besides the webhooks, filled into http's route adapter:
// /v1/messages (status API), /v1/stats/ (insights) and /dashboard.
#pragma once

#include <dlrd/http/route.hpp>
#include <dlrd/insights/api.hpp>
#include <dlrd/status/api.hpp>

namespace dlrd::app {

/// Answered without holding an I/O thread (long-polls wait in memory).
http::api_route status_route(status::service& api);

/// GET only; answered on the stats service's own threads and queue (bounded; 503 when full),
/// never on the server's blocking pool: a slow stats query holds up nothing else.
http::api_route stats_route(insights::stats_service& stats);

/// The dashboard page: everything inline and same-origin.
http::api_route dashboard_route();

}  // namespace dlrd::app
