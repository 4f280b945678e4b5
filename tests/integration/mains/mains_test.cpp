// The two mains as processes (issue 6): podid-controller serving replication over TLS and podid-nodeproxy
// following it with --interception=none, against the real API server and the Azure emulator. A pod's IP is
// a loopback address; the test connects to the node proxy from that address, so the proxy sees that pod as
// the caller. It also measures the end-to-end revocation latency: AzureIdentityBinding deleted in
// Kubernetes -> the node proxy refuses the pod (printed, not asserted).
#include <algorithm>
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <cstdio>

#include "core/model.hpp"
#include "integration/mains/mains_env.hpp"
#include "support/control_plane_catch.hpp"

using namespace podid;
using namespace podid::mains_test;
using namespace std::chrono_literals;
using Millis = std::chrono::duration<double, std::milli>;

namespace {

constexpr const char* kPodIp = "127.0.0.23";
constexpr const char* kStrangerIp = "127.0.0.24";

std::string field(const Reply& r, const char* name) {
  try {
    const auto v = boost::json::parse(r.body);
    const auto* f = v.as_object().if_contains(name);
    return f != nullptr && f->is_string() ? std::string(f->as_string()) : std::string{};
  } catch (const std::exception&) {
    return {};
  }
}

bool refused(const Reply& r) {
  return (r.status == 400 || r.status == 403) && !field(r, "error").empty() &&
         field(r, "access_token").empty();
}

// Waits (two minutes at most, failing early if a main exits) until the node proxy serves the pod at kPodIp,
// then checks the answer is `id`'s token, signed by the tenant's published key.
Reply served_token(Mains& m, const emulator::ManagedIdentity& id) {
  Reply ok;
  const bool served = eventually(
      [&] {
        if (!m.controller->running() || !m.nodeproxy->running())
          FAIL(m.controller->exit_description() << m.nodeproxy->exit_description() << "\n" << m.logs());
        ok = m.get_token(kPodIp);
        return ok.status == 200;
      },
      120s);
  INFO(ok.status << " " << ok.body << ok.error << "\n" << m.logs());
  REQUIRE(served);
  CHECK(field(ok, "client_id") == id.client_id);
  const auto jwt = verified_jwt(*m.emu, emulator::testing::kTenant, field(ok, "access_token"));
  REQUIRE(jwt.has_value());
  CHECK(core::to_lower(jwt->claim_string("xms_mirid")) == core::to_lower(id.id));
  CHECK(jwt->claim_string("oid") == id.principal_id);
  return ok;
}

// "<cmd> 2>&1" -> (exit status, output).
std::pair<int, std::string> run_command(const std::string& cmd) {
  std::string out;
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, {}};
  char buf[512];
  while (fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

TEST_CASE("Bad replication flags are refused with a clear message and exit code 2", "[integration]") {
  const auto [controller_rc, controller_out] =
      run_command(std::string(PODID_CONTROLLER_BIN) +
                  " --cloudconfig=/nonexistent --store=/nonexistent --replication-port=8443");
  CHECK(controller_rc == 2);
  CHECK_THAT(controller_out, Catch::Contains("--tls-cert-file"));

  const auto [proxy_rc, proxy_out] = run_command(std::string(PODID_NODEPROXY_BIN) +
                                                 " --node-name=n1 --controller-url=http://controller:8443");
  CHECK(proxy_rc == 2);
  CHECK_THAT(proxy_out, Catch::Contains("--controller-url"));

  const auto [mode_rc, mode_out] =
      run_command(std::string(PODID_NODEPROXY_BIN) +
                  " --node-name=n1 --controller-url=https://c:8443 --interception=maybe");
  CHECK(mode_rc == 2);
  CHECK_THAT(mode_out, Catch::Contains("--interception"));

  const auto [cloud_rc, cloud_out] =
      run_command(std::string(PODID_CONTROLLER_BIN) + " --store=/nonexistent --replication-port=0");
  CHECK(cloud_rc == 2);
  CHECK_THAT(cloud_out, Catch::Contains("--cloudconfig is required in standard mode"));

  const auto [op_rc, op_out] =
      run_command(std::string(PODID_CONTROLLER_BIN) +
                  " --store=/nonexistent --replication-port=0 --operation-mode=maybe");
  CHECK(op_rc == 2);
  CHECK_THAT(op_out, Catch::Contains("--operation-mode"));
}

// Managed mode (the user attached the identity to the scale set): the controller has no azure.json at all,
// yet serves the node proxy a snapshot carrying the namespace's binding; no ARM request, no assignment.
TEST_CASE("A managed-mode podid-controller without azure.json feeds podid-nodeproxy, never calling ARM",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Mains m(*cp);
  const auto demo = m.emu->identity(emulator::testing::identity_id("demo"));
  REQUIRE(demo);
  REQUIRE(m.emu->attach(emulator::testing::vmss_id("ss-0"), demo->id));
  m.create_node();
  m.create_identity(*demo);
  m.create_pod("demo", "demo", kPodIp);
  const auto token_file = m.nodeproxy_token_file();
  m.start_controller(true);
  m.start_nodeproxy(token_file, true);

  const Reply ok = served_token(m, *demo);
  CHECK(m.get_token(kStrangerIp).status == 403);

  CHECK(m.emu->counter("arm.requests") == 0);
  const auto aais =
      cp->request("GET", "/apis/aadpodidentity.k8s.io/v1/namespaces/" + m.ns + "/azureassignedidentities");
  REQUIRE(aais.status == 200);
  CHECK(boost::json::parse(aais.body).at("items").as_array().empty());
  CHECK_THAT(m.controller->log_tail(1 << 20), Catch::Contains("\"mode\":\"managed\""));

  // The binding deleted: the replicated snapshot drops it and the pod is refused.
  must_status(cp->request("DELETE", "/apis/aadpodidentity.k8s.io/v1/namespaces/" + m.ns +
                                        "/azureidentitybindings/demo-binding"),
              200, "delete binding");
  Reply last;
  CHECK(eventually(
      [&] {
        last = m.get_token(kPodIp);
        return refused(last);
      },
      30s));
  CHECK(m.emu->counter("arm.requests") == 0);
  m.nodeproxy->stop();
  m.controller->stop();
  CHECK(m.controller->exit_description() == "podid-controller exited with status 0");
}

TEST_CASE(
    "podid-nodeproxy serves its pod's identity from the controller's replicated state, refuses others, "
    "removes its ready taint, and stops cleanly on SIGTERM",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Mains m(*cp);
  const auto demo = m.emu->identity(emulator::testing::identity_id("demo"));
  REQUIRE(demo);
  m.create_node();
  m.create_identity(*demo);
  m.create_pod("demo", "demo", kPodIp);
  const auto token_file = m.nodeproxy_token_file();
  m.start_controller();
  m.start_nodeproxy(token_file);

  // A token for the bound identity, once the controller assigned it and the replica carried it over.
  const Reply ok = served_token(m, *demo);

  // Another source address is no pod of this node: refused, IMDS-style.
  const auto stranger = m.get_token(kStrangerIp);
  CHECK(stranger.status == 403);
  CHECK(field(stranger, "error") == "access_denied");
  CHECK(field(stranger, "access_token").empty());

  // Ready: the probe says so and the ready taint is gone from the Node; the other taint stays.
  const auto health = http_get(m.probe_port, "/healthz", "", false);
  CHECK(health.status == 200);
  CHECK(eventually([&] { return !m.node_has_taint(kReadyTaint); }, 30s));
  CHECK(m.node_has_taint(kOtherTaint));

  // Revocation, end to end: the binding deleted in Kubernetes -> the node proxy refuses the pod.
  std::vector<double> latencies;
  Reply last;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      m.create_binding();
      REQUIRE(eventually([&] { return m.get_token(kPodIp).status == 200; }, 60s));
    }
    const auto start = std::chrono::steady_clock::now();
    must_status(cp->request("DELETE", "/apis/aadpodidentity.k8s.io/v1/namespaces/" + m.ns +
                                          "/azureidentitybindings/demo-binding"),
                200, "delete binding");
    // Polled back to back (one loopback request is well under a millisecond), so the figure is not
    // rounded up to a polling period.
    bool revoked = false;
    while (!revoked && std::chrono::steady_clock::now() - start < 30s) {
      last = m.get_token(kPodIp);
      revoked = last.status != 200;
      if (!revoked) std::this_thread::sleep_for(1ms);
    }
    INFO(last.status << " " << last.body << "\n" << m.logs());
    REQUIRE(revoked);
    latencies.push_back(Millis(std::chrono::steady_clock::now() - start).count());
    CHECK(refused(last));
  }
  std::ranges::sort(latencies);
  std::printf(
      "end-to-end revocation latency (AzureIdentityBinding DELETE -> node proxy refuses the pod), %zu "
      "rounds: "
      "p50 %.0f ms, min %.0f ms, max %.0f ms\n",
      latencies.size(), latencies[latencies.size() / 2], latencies.front(), latencies.back());
  CHECK(refused(m.get_token(kPodIp)));  // and it stays refused

  // SIGTERM: a clean stop, exit code 0; no token ever reached the log.
  m.nodeproxy->stop();
  CHECK(m.nodeproxy->exit_description() == "podid-nodeproxy exited with status 0");
  const auto proxy_log = m.nodeproxy->log_tail(1 << 20);
  CHECK_THAT(proxy_log, Catch::Contains("Node proxy stopped."));
  CHECK_THAT(proxy_log, !Catch::Contains(field(ok, "access_token")));
  CHECK(m.get_token(kPodIp).status == 0);  // nothing listens any more
  m.controller->stop();
  CHECK(m.controller->exit_description() == "podid-controller exited with status 0");
}
