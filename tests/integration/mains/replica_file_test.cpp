// The replica file with the real processes (issue 6: "keeps its replica in a local store"): podid-nodeproxy
// restarted while podid-controller is away serves its pod from --replica-file (token verified against the
// tenant's key), resyncs when the controller is back, and refuses a file older than --replica-max-age or
// altered on disk: then it starts empty, refuses the pod and is not ready, exactly as without a file.
#include "nodeproxy/replica_file.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>

#include "core/model.hpp"
#include "integration/mains/mains_env.hpp"
#include "support/control_plane_catch.hpp"

using namespace podid;
using namespace podid::mains_test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kPodIp = "127.0.0.23";
constexpr const char* kStrangerIp = "127.0.0.24";

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Waits (two minutes at most, failing early if the node proxy exits) until it serves the pod at kPodIp a
// token for `id`, signed by the tenant's published key.
void served(Mains& m, const emulator::ManagedIdentity& id) {
  Reply ok;
  const bool done = eventually(
      [&] {
        if (!m.nodeproxy->running()) FAIL(m.nodeproxy->exit_description() << "\n" << m.logs());
        ok = m.get_token(kPodIp);
        return ok.status == 200;
      },
      120s);
  INFO(ok.status << " " << ok.body << ok.error << "\n" << m.logs());
  REQUIRE(done);
  CHECK(ok.field("client_id") == id.client_id);
  const auto jwt = verified_jwt(*m.emu, emulator::testing::kTenant, ok.field("access_token"));
  REQUIRE(jwt.has_value());
  CHECK(core::to_lower(jwt->claim_string("xms_mirid")) == core::to_lower(id.id));
}

// The file as the node proxy would load it now, whatever its age; nullopt when it is refused.
std::optional<nodeproxy::ReplicaFileContents> read_file(const std::string& path, const std::string& node) {
  auto load = nodeproxy::load_replica_file(path, {node, wall_ms(), std::chrono::hours(24 * 365)});
  if (auto* c = std::get_if<nodeproxy::ReplicaFileContents>(&load)) return std::move(*c);
  return std::nullopt;
}

bool holds_assigned_pod(const std::string& path, const std::string& node) {
  const auto c = read_file(path, node);
  if (!c) return false;
  return std::ranges::any_of(c->snapshot.pods, [](const auto& p) {
    return p.ip == kPodIp && !p.identities.empty() && p.identities[0].phase == core::Phase::assigned;
  });
}

bool metrics_say(std::uint16_t port, const std::string& line) {
  const auto page = http_get(port, "/metrics", "", false);
  return page.status == 200 && page.body.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE(
    "A restarted podid-nodeproxy serves its pod from the replica file while podid-controller is away, and "
    "refuses a stale or altered file",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Mains m(*cp);
  const auto demo = m.emu->identity(emulator::testing::identity_id("demo"));
  REQUIRE(demo);
  m.create_node();
  m.create_identity(*demo);
  m.create_pod("demo", "demo", kPodIp);
  const auto token_file = m.nodeproxy_token_file();
  const auto replica = m.dir.path() + "/hostpath/replica.json";
  const auto metrics_port = free_port();
  int run = 0;
  const auto start_nodeproxy = [&] {
    m.start_nodeproxy_with(token_file, replica, {"--prometheus-port=" + std::to_string(metrics_port)},
                           "nodeproxy-" + std::to_string(++run) + ".log");
  };
  const auto log = [&] { return m.nodeproxy->log_tail(1 << 20); };

  // 1. Both running: the pod is served and its confirmed state lands in the file.
  m.start_controller();
  start_nodeproxy();
  served(m, *demo);
  CHECK(eventually([&] { return holds_assigned_pod(replica, m.node); }, 30s));

  // 2. The controller goes away, then the node proxy restarts (a rollout, an OOM kill).
  m.controller->stop();
  m.nodeproxy->stop();
  REQUIRE(m.nodeproxy->exit_description() == "podid-nodeproxy exited with status 0");
  start_nodeproxy();
  served(m, *demo);
  CHECK(m.get_token(kStrangerIp).status == 403);
  CHECK(eventually([&] { return http_get(m.probe_port, "/healthz", "", false).status == 200; }, 30s));
  CHECK(eventually([&] { return metrics_say(metrics_port, "aadpodidentity_nmi_replica_from_file 1"); }, 30s));
  CHECK(metrics_say(metrics_port, "aadpodidentity_nmi_replica_file_loads_total{result=\"loaded\"} 1"));
  CHECK_THAT(log(), Catch::Contains("Replica loaded from file."));

  // 3. The controller back: the replica resyncs from it and the file is no longer what is served.
  m.start_controller();
  CHECK(
      eventually([&] { return metrics_say(metrics_port, "aadpodidentity_nmi_replica_from_file 0"); }, 120s));
  served(m, *demo);
  m.controller->stop();
  m.nodeproxy->stop();

  // 4. Stale: the same file, confirmed 11 minutes ago (the default --replica-max-age is 10 minutes).
  auto contents = read_file(replica, m.node);
  REQUIRE(contents);
  contents->confirmed_at_ms = wall_ms() - std::chrono::milliseconds(11min).count();
  REQUIRE(nodeproxy::write_replica_file(replica, *contents));
  start_nodeproxy();
  REQUIRE(eventually(
      [&] {
        return metrics_say(metrics_port, "aadpodidentity_nmi_replica_file_loads_total{result=\"stale\"} 1");
      },
      30s));
  const auto stale = m.get_token(kPodIp);
  CHECK(stale.status == 403);
  CHECK(stale.field("error") == "access_denied");
  CHECK(stale.field("access_token").empty());
  CHECK(http_get(m.probe_port, "/healthz", "", false).status == 503);
  CHECK_THAT(log(), Catch::Contains("Replica file refused; waiting for the controller.") &&
                        Catch::Contains("\"reason\":\"stale\""));
  m.nodeproxy->stop();

  // 5. Altered: confirmed just now, but one byte of the snapshot flipped on disk.
  contents->confirmed_at_ms = wall_ms();
  REQUIRE(nodeproxy::write_replica_file(replica, *contents));
  std::string text;
  {
    std::ifstream in(replica, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto at = text.find(kPodIp);
  REQUIRE(at != std::string::npos);
  text[at + 8] = '9';  // 127.0.0.23 -> 127.0.0.93
  std::ofstream(replica, std::ios::binary | std::ios::trunc) << text;
  start_nodeproxy();
  REQUIRE(eventually(
      [&] {
        return metrics_say(metrics_port, "aadpodidentity_nmi_replica_file_loads_total{result=\"corrupt\"} 1");
      },
      30s));
  CHECK(m.get_token(kPodIp).status == 403);
  CHECK(m.get_token("127.0.0.93").status == 403);
  CHECK_THAT(log(), Catch::Contains("\"reason\":\"corrupt\""));
  m.nodeproxy->stop();
  CHECK(m.nodeproxy->exit_description() == "podid-nodeproxy exited with status 0");
}
