// The status API, the stats API and the dashboard as plain callbacks of http::api_route.
#include "routes.hpp"

namespace dlrd::app {

http::api_route status_route(status::service& api) {
  http::api_route route;
  route.prefix = "/v1/messages";
  route.serve_async = [&api](const http::route_request& req, std::function<void(http::route_answer)> done) {
    api.handle(status::api_request{req.method, req.target, req.body}, [done = std::move(done)](status::answer a) {
      http::route_answer out;
      out.status = static_cast<unsigned>(a.status);
      out.body = std::move(a.body);
      out.error = std::move(a.error);
      out.field = std::move(a.field);
      out.allow = std::move(a.allow);
      out.retry_after = a.retry_after;
      done(std::move(out));
    });
  };
  return route;
}

http::api_route stats_route(insights::stats_service& stats) {
  http::api_route route;
  route.prefix = "/v1/stats/";
  route.allow = "GET";
  route.serve_async = [&stats](const http::route_request& req, std::function<void(http::route_answer)> done) {
    auto answered = [done = std::move(done)](insights::stats_answer a) {
      http::route_answer out;
      out.status = static_cast<unsigned>(a.status);
      out.body = std::move(a.body);
      out.retry_after = a.retry_after;
      done(std::move(out));
    };
    stats.answer_async(std::string(req.path), std::string(req.query), std::move(answered));
  };
  return route;
}

http::api_route dashboard_route() {
  http::api_route route;
  route.prefix = "/dashboard";
  route.serve = [](const http::route_request&) {
    http::route_answer out;
    out.content_type = "text/html; charset=utf-8";
    out.cache_control = "no-cache";
    // The page may not load anything from elsewhere.
    out.headers = {{"Content-Security-Policy",
                    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
                    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"}};
    out.body = std::string(insights::dashboard_html());
    return out;
  };
  return route;
}

}  // namespace dlrd::app
