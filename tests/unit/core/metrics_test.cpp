#include "core/metrics.hpp"

#include <catch2/catch.hpp>
#include <limits>
#include <stdexcept>
#include <thread>

using namespace podid::core;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}

}  // namespace

TEST_CASE("A counter family is exposed with HELP, TYPE and one line per label set in label order", "[unit]") {
  MetricsRegistry r;
  auto& requests = r.counter("podid_requests_total", "Requests by result.", {"operation", "result"});
  requests.with({"vmss_get", "ok"}).inc();
  requests.with({"vmss_get", "ok"}).inc(2);
  requests.with({"vm_update", "throttled"}).inc();
  requests.with({"vm_update", "throttled"}).inc(-5);  // ignored: counters only go up
  const auto text = r.expose();
  CHECK(text ==
        "# HELP podid_requests_total Requests by result.\n"
        "# TYPE podid_requests_total counter\n"
        "podid_requests_total{operation=\"vm_update\",result=\"throttled\"} 1\n"
        "podid_requests_total{operation=\"vmss_get\",result=\"ok\"} 3\n");
}

TEST_CASE("Label values escape backslash, double quote and newline; help escapes backslash and newline",
          "[unit]") {
  MetricsRegistry r;
  r.gauge("podid_g", "line one\nback\\slash \"quoted\"", {"path"}).with({"a\\b\"c\nd"}).set(1.5);
  const auto text = r.expose();
  CHECK(has_line(text, R"(# HELP podid_g line one\nback\\slash "quoted")"));
  CHECK(has_line(text, R"(podid_g{path="a\\b\"c\nd"} 1.5)"));
  CHECK(escape_label_value("plain") == "plain");
}

TEST_CASE("A family without labels is exposed as 0 before its first use", "[unit]") {
  MetricsRegistry r;
  r.gauge("podid_leader", "1 on the leader.");
  r.counter("podid_rounds_total", "Rounds.");
  const auto text = r.expose();
  CHECK(has_line(text, "podid_leader 0"));
  CHECK(has_line(text, "podid_rounds_total 0"));
}

TEST_CASE("A histogram has cumulative le buckets, +Inf equal to the count, _sum and _count", "[unit]") {
  MetricsRegistry r;
  auto& h = r.histogram("podid_latency_seconds", "Latency.", {0.1, 1, 0.5}, {"operation"});
  auto& get = h.with({"vmss_get"});
  get.observe(0.05);
  get.observe(0.1);  // a bound is inclusive
  get.observe(0.7);
  get.observe(3);
  const auto text = r.expose();
  CHECK(has_line(text, "# TYPE podid_latency_seconds histogram"));
  CHECK(has_line(text, R"(podid_latency_seconds_bucket{operation="vmss_get",le="0.1"} 2)"));
  CHECK(has_line(text, R"(podid_latency_seconds_bucket{operation="vmss_get",le="0.5"} 2)"));
  CHECK(has_line(text, R"(podid_latency_seconds_bucket{operation="vmss_get",le="1"} 3)"));
  CHECK(has_line(text, R"(podid_latency_seconds_bucket{operation="vmss_get",le="+Inf"} 4)"));
  CHECK(has_line(text, R"(podid_latency_seconds_sum{operation="vmss_get"} 3.85)"));
  CHECK(has_line(text, R"(podid_latency_seconds_count{operation="vmss_get"} 4)"));
  // Buckets in ascending order, whatever order they were given in.
  CHECK(text.find("le=\"0.5\"") < text.find("le=\"1\""));
}

TEST_CASE("A histogram without labels has only le on its buckets", "[unit]") {
  MetricsRegistry r;
  r.histogram("podid_round_seconds", "Round.", {1}).with({}).observe(2);
  const auto text = r.expose();
  CHECK(has_line(text, R"(podid_round_seconds_bucket{le="1"} 0)"));
  CHECK(has_line(text, R"(podid_round_seconds_bucket{le="+Inf"} 1)"));
  CHECK(has_line(text, "podid_round_seconds_sum 2"));
  CHECK(has_line(text, "podid_round_seconds_count 1"));
}

TEST_CASE("Numbers are printed as Prometheus parses them", "[unit]") {
  CHECK(format_number(0) == "0");
  CHECK(format_number(42) == "42");
  CHECK(format_number(0.25) == "0.25");
  CHECK(format_number(1e21) == "1e+21");
  CHECK(format_number(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_number(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(format_number(std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

TEST_CASE("Registering a name again returns the same family, or throws for another kind or labels",
          "[unit]") {
  MetricsRegistry r;
  auto& a = r.counter("podid_x_total", "X.", {"kind"});
  auto& b = r.counter("podid_x_total", "X.", {"kind"});
  CHECK(&a == &b);
  CHECK_THROWS_AS(r.gauge("podid_x_total", "X."), std::logic_error);
  CHECK_THROWS_AS(r.counter("podid_x_total", "X.", {"other"}), std::logic_error);
}

TEST_CASE("Counters and histograms lose no update under concurrent writers", "[unit]") {
  MetricsRegistry r;
  auto& c = r.counter("podid_c_total", "C.", {"t"});
  auto& h = r.histogram("podid_h", "H.", {1}, {});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.with({"same"}).inc();
        h.with({}).observe(0.5);
      }
    });
  for (auto& t : threads) t.join();
  CHECK(c.with({"same"}).value() == 40000);
  CHECK(h.with({}).snapshot().count == 40000);
  CHECK(has_line(r.expose(), R"(podid_h_bucket{le="1"} 40000)"));
}
