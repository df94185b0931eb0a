// The instruments and the Prometheus text format they render to.
#include <dlrd/metrics/metrics.hpp>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace dlrd::metrics {
namespace {

TEST(metrics, a_counter_renders_with_help_type_and_labels) {
  registry r;
  r.get_counter("dlrd_http_requests_total", "HTTP requests answered.", {{"route", "/healthz"}, {"code", "200"}}).inc(3);
  EXPECT_EQ(r.render(),
            "# HELP dlrd_http_requests_total HTTP requests answered.\n"
            "# TYPE dlrd_http_requests_total counter\n"
            "dlrd_http_requests_total{route=\"/healthz\",code=\"200\"} 3\n");
}

TEST(metrics, the_same_name_and_labels_give_the_same_counter) {
  registry r;
  auto& a = r.get_counter("x_total", "h", {{"k", "v"}});
  auto& b = r.get_counter("x_total", "h", {{"k", "v"}});
  auto& c = r.get_counter("x_total", "h", {{"k", "w"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
}

TEST(metrics, label_values_are_escaped) {
  registry r;
  r.get_counter("x_total", "a \\ help\nline", {{"v", "a\"b\\c\nd"}}).inc();
  auto text = r.render();
  EXPECT_NE(text.find("# HELP x_total a \\\\ help\\nline\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
}

TEST(metrics, a_histogram_renders_cumulative_buckets_sum_and_count) {
  registry r;
  auto& h = r.get_histogram("lat_seconds", "Latency.", {0.1, 1});
  h.observe(0.05);
  h.observe(0.1);  // on the bound: counts in le="0.1"
  h.observe(0.5);
  h.observe(7);
  EXPECT_EQ(r.render(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{le=\"0.1\"} 2\n"
            "lat_seconds_bucket{le=\"1\"} 3\n"
            "lat_seconds_bucket{le=\"+Inf\"} 4\n"
            "lat_seconds_sum 7.65\n"
            "lat_seconds_count 4\n");
}

TEST(metrics, callbacks_are_read_when_rendering) {
  registry r;
  double backlog = 5;
  r.add_callback("backlog_records", "Backlog.", kind::gauge, [&backlog] { return backlog; });
  backlog = 42;
  EXPECT_NE(r.render().find("backlog_records 42\n"), std::string::npos);
}

TEST(metrics, a_name_reused_with_another_type_is_refused) {
  registry r;
  r.get_counter("x_total", "h");
  EXPECT_THROW(r.get_gauge("x_total", "h"), std::logic_error);
  EXPECT_THROW(r.get_counter("bad-name", "h"), std::invalid_argument);
  EXPECT_THROW(r.get_counter("y_total", "h", {{"le", "1"}}), std::invalid_argument);
}

TEST(metrics, counters_and_histograms_lose_nothing_under_concurrent_updates) {
  registry r;
  auto& c = r.get_counter("c_total", "h");
  auto& h = r.get_histogram("h_seconds", "h", latency_buckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) {
        c.inc();
        h.observe(0.001);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 400000u);
  EXPECT_EQ(h.count(), 400000u);
  EXPECT_EQ(h.cumulative_counts().back(), 400000u);
}

TEST(metrics, values_are_formatted_without_exponents_for_integers) {
  EXPECT_EQ(format_value(1073741824), "1073741824");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(0.0001), "0.0001");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
}

}  // namespace
}  // namespace dlrd::metrics
