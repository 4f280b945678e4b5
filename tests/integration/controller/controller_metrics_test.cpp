// The controller's /metrics against the real kube-apiserver and the Azure emulator: after an assignment,
// the page served over HTTP counts the ARM requests that made it and the assignment's state.
#include <catch2/catch.hpp>
#include <sstream>

#include "core/http/http_server.hpp"
#include "integration/controller/behaviour_env.hpp"
#include "support/control_plane_catch.hpp"

using podid::testing::Cluster;
using podid::testing::RunningController;
namespace asio = boost::asio;
namespace cli = podid::cli;
namespace core = podid::core;
namespace http = podid::http;
namespace t = podid::testing;

using namespace std::chrono_literals;

namespace {

asio::awaitable<http::Response> serve(const core::MetricsRegistry& metrics, http::Request request) {
  co_return cli::metrics_response(metrics, request);
}

// The sample value of the line that starts with `series` (name and labels exactly), or -1.
double sample(const std::string& page, const std::string& series) {
  std::istringstream lines(page);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  return -1;
}

}  // namespace

TEST_CASE("After an assignment, /metrics counts the ARM requests that made it and the Assigned state",
          "[integration][behaviour][metrics]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Cluster c(*cp, {});
  const auto n0 = c.create_node("n0", 0);
  c.create_identity(c.ns, "demo", "demo");
  c.create_pod(c.ns, "web", "demo", n0, "10.2.9.1");

  RunningController replica(c.io, c.cp, c.emulator, t::controller_options(c.ns));
  REQUIRE(c.run_until(
      [&] { return Cluster::phase_is(replica.controller, c.ns, "web", "demo", core::Phase::assigned); },
      60s));

  auto server = http::HttpServer::create(c.io.get_executor(), {}, [&replica](http::Request r) {
                  return serve(replica.metrics, std::move(r));
                }).value();
  server->start();
  auto client = http::HttpClient::create(c.io.get_executor(), {}).value();
  http::Request get;
  get.url = "http://127.0.0.1:" + std::to_string(server->port()) + "/metrics";
  const auto reply = t::run_async(c.io, client->request(get));
  http::Request other;
  other.url = "http://127.0.0.1:" + std::to_string(server->port()) + "/healthz";
  const auto missing = t::run_async(c.io, client->request(other));
  t::run_async(c.io, server->stop());

  REQUIRE(reply.has_value());
  CHECK(reply->status == 200);
  CHECK(reply->header("Content-Type").value_or("") == "text/plain; version=0.0.4; charset=utf-8");
  const auto& page = reply->body;
  INFO(page);
  // The PATCH that attached the identity, and the GET before it, as 2xx answers.
  CHECK(sample(
            page,
            R"(aadpodidentity_arm_requests_total{operation="vmss_update",result="ok",status_class="2xx"})") >=
        1);
  CHECK(sample(page,
               R"(aadpodidentity_arm_requests_total{operation="vmss_get",result="ok",status_class="2xx"})") >=
        1);
  CHECK(sample(page, R"(aadpodidentity_arm_request_duration_seconds_count{operation="vmss_update"})") >= 1);
  CHECK(sample(page, R"(aadpodidentity_assignments{state="Assigned"})") == 1);
  CHECK(sample(page, "aadpodidentity_leader") == 1);
  CHECK(sample(page, "aadpodidentity_mic_cycle_count") >= 1);
  CHECK(sample(page, "aadpodidentity_event_log_head_seq") > 0);
  CHECK(sample(page, R"(aadpodidentity_aai_writes_total{kind="create",result="ok"})") >= 1);
  REQUIRE(missing.has_value());
  CHECK(missing->status == 404);
}
