// The API server down for longer than the lease (issue 8, "Faults"): podid-controller and podid-nodeproxy
// run as processes with their default timings (a 15 s Lease, a 10 s renew deadline); kube-apiserver is
// stopped (etcd keeps the objects) and started again after the outage. Shown:
//  - the node proxy keeps serving the pod it already serves, from its replica (fail-static);
//  - the controller gives leadership up and exits (as client-go's MIC does), and no ARM write happens from
//    then until it leads again; restarted during the outage (as the kubelet would), it stays a standby that
//    serves no snapshot;
//  - once the API server is back, the restarted controller takes the Lease only after the old one expired,
//    writes nothing before, and a change made after the return reaches the node proxy.
#include <catch2/catch.hpp>
#include <cstdio>

#include "integration/faults/process_world.hpp"
#include "support/control_plane_catch.hpp"
#include "tests/emulator/tests/test_client.hpp"

using namespace podid;
using namespace podid::faults_test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kPodIp = "127.0.0.41";
constexpr const char* kLatePodIp = "127.0.0.42";
// The controller's default Lease duration (watch::LeaderElectionOptions; no flag changes it).
constexpr auto kLeaseDuration = 15s;

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

bool refused(const Reply& r) {
  return (r.status == 400 || r.status == 403) && r.field("access_token").empty();
}

// What happened while the API server was down, checked once it is back (an assertion failing inside the
// outage would leave the server down for the rest of the binary).
struct Outage {
  bool served_at_once{false};
  bool controller_exited{false};
  std::string exit_description;
  std::string first_controller_log;
  std::uint64_t arm_writes_at_exit{0};
  std::uint64_t arm_writes_at_end{0};
  bool standby_refused{false};
  int tokens_served{0};
  int tokens_refused{0};
  bool processes_running{false};
};

}  // namespace

TEST_CASE(
    "With the API server down longer than the lease, the node proxy serves from its replica, the controller "
    "steps down without writing, and everything resumes",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  ProcessWorld w(*cp);
  const auto demo = w.emu->identity(emulator::testing::identity_id("demo"));
  REQUIRE(demo);
  w.create_node();
  w.create_identity("demo");
  w.create_pod("app", "demo", kPodIp);
  const auto token_file = w.nodeproxy_token_file();
  w.start_controller();
  w.start_nodeproxy(token_file);

  Reply first;
  const bool served = eventually(
      [&] {
        if (!w.controller->running() || !w.nodeproxy->running())
          FAIL(w.controller->exit_description() << w.nodeproxy->exit_description() << "\n" << w.logs());
        first = w.get_token(kPodIp);
        return first.status == 200;
      },
      120s);
  INFO(first.status << " " << first.body << first.error << "\n" << w.logs());
  REQUIRE(served);
  CHECK(first.field("client_id") == demo->client_id);
  const auto first_holder = w.lease_holder();
  REQUIRE(first_holder == w.controller_instance);
  REQUIRE(eventually([&] { return w.assigned_identity_exists("app", "demo"); }, 30s));
  const auto standby_marker = std::string("Replication server answered 503");
  const auto refusals_before = occurrences(w.nodeproxy->log_tail(1 << 22), standby_marker);

  Outage o;
  const auto down_for = kLeaseDuration + 5s;
  cp->restart_apiserver([&] {
    const auto down_at = std::chrono::steady_clock::now();
    o.served_at_once = w.get_token(kPodIp).status == 200;
    o.controller_exited = eventually([&] { return !w.controller->running(); }, 60s);
    o.exit_description = w.controller->exit_description();
    o.first_controller_log = w.controller->log_tail(1 << 20);
    o.arm_writes_at_exit = w.emu->counter("arm.writes");
    // Restarted as the kubelet restarts an exited container: no API server, so it must stay a standby.
    w.start_controller();
    o.standby_refused = eventually(
        [&] { return occurrences(w.nodeproxy->log_tail(1 << 22), standby_marker) > refusals_before; }, 60s);
    // The outage outlasts the Lease (a fixed length by nature); the pod keeps being asked meanwhile.
    while (std::chrono::steady_clock::now() - down_at < down_for || o.tokens_served + o.tokens_refused < 10) {
      const auto r = w.get_token(kPodIp);
      ++(r.status == 200 && r.field("client_id") == demo->client_id ? o.tokens_served : o.tokens_refused);
      std::this_thread::sleep_for(500ms);
    }
    o.arm_writes_at_end = w.emu->counter("arm.writes");
    o.processes_running = w.controller->running() && w.nodeproxy->running();
  });
  CHECK(o.served_at_once);
  REQUIRE(o.controller_exited);
  CHECK(o.exit_description == "podid-controller exited with status 1");
  CHECK_THAT(o.first_controller_log, Catch::Contains("leadership lost"));
  CHECK(o.tokens_served >= 10);
  CHECK(o.tokens_refused == 0);
  CHECK(o.standby_refused);  // the restarted controller answered the replica 503, not an empty snapshot
  if (!o.standby_refused) FAIL_CHECK(w.logs());
  CHECK(o.processes_running);
  CHECK(o.arm_writes_at_end == o.arm_writes_at_exit);
  std::printf("API server down for %lld s: %d token requests served from the replica, %d refused\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(down_for).count()),
              o.tokens_served, o.tokens_refused);

  // Back: a pod created now is not written for while the old holder's Lease runs (the AzureAssignedIdentity
  // is read first, so one that exists was written after the Lease changed hands).
  w.create_pod("late", "demo", kLatePodIp);
  bool written_while_standby = false;
  const bool resumed = eventually(
      [&] {
        const bool written = w.assigned_identity_exists("late", "demo");
        const auto holder = w.lease_holder();
        if (written && holder == first_holder) written_while_standby = true;
        return written && holder == w.controller_instance;
      },
      120s);
  if (!resumed)
    FAIL("Not resumed; lease holder \"" << w.lease_holder() << "\"\n"
                                        << cp->request("GET", "/apis/aadpodidentity.k8s.io/v1/namespaces/" +
                                                                  w.ns + "/azureassignedidentities")
                                               .body
                                        << "\n"
                                        << w.controller->log_tail(20000));
  CHECK_FALSE(written_while_standby);
  CHECK(w.emu->counter("arm.writes") == o.arm_writes_at_end);  // the identity is attached already

  // The change reaches the node proxy through the new leader: the late pod is served, then a revocation.
  REQUIRE(eventually([&] { return w.get_token(kLatePodIp).status == 200; }, 60s));
  w.delete_binding("demo");
  REQUIRE(eventually([&] { return refused(w.get_token(kPodIp)) && refused(w.get_token(kLatePodIp)); }, 60s));

  w.nodeproxy->stop();
  CHECK(w.nodeproxy->exit_description() == "podid-nodeproxy exited with status 0");
  w.controller->stop();
  CHECK(w.controller->exit_description() == "podid-controller exited with status 0");
}
