// Replication of node snapshots against the real API server: pod-bound service-account tokens minted by
// TokenRequest and verified by TokenReview; a ReplicationServer over TLS; replicas publishing into a
// MemorySnapshotSource.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>

#include "integration/replication/replication_env.hpp"
#include "tests/emulator/jwt.hpp"

using namespace podid;
using namespace podid::testing;
using nodeproxy::MemorySnapshotSource;
using Millis = std::chrono::duration<double, std::milli>;

namespace {

std::function<core::Result<std::string>()> fixed(std::string token) {
  return [token = std::move(token)]() -> core::Result<std::string> { return token; };
}

std::vector<std::string> pods_upto(int n) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i) out.push_back("pod-" + std::to_string(i));
  return out;
}

// The same header and claims as `token`, signed by a fresh RSA key the API server never saw.
std::string resigned(const std::string& token) {
  auto jwt = emulator::jwt_parse(token);
  REQUIRE(jwt.has_value());
  auto key = emulator::Key::generate_rsa(2048);
  REQUIRE(key.has_value());
  auto forged = emulator::jwt_sign(*key, emulator::SignatureAlg::rs256, jwt->header, jwt->claims);
  REQUIRE(forged.has_value());
  return *forged;
}

}  // namespace

TEST_CASE("A replica on node A receives node A's snapshot and then its changes in order", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  ReplicationEnv env(*cp);
  env.start_server();
  MemorySnapshotSource source;
  std::vector<core::Seq> seen;
  const auto sub = source.subscribe([&] { seen.push_back(source.current()->seq); });
  auto replica = env.replica("node-a", source, fixed(env.token_for("nmi-a")));
  replica->start();

  REQUIRE(run_until(env.io, [&] { return source.current()->seq == 1; }));
  CHECK(*source.current() == env.snapshots.at("node-a"));

  for (core::Seq seq = 2; seq <= 6; ++seq) {
    env.publish(ReplicationEnv::snapshot("node-a", seq, pods_upto(static_cast<int>(seq))));
    REQUIRE(run_until(env.io, [&] { return source.current()->seq == seq; }));
    CHECK(*source.current() == env.snapshots.at("node-a"));
  }
  CHECK(seen == std::vector<core::Seq>{1, 2, 3, 4, 5, 6});

  // A burst: the replica may see fewer snapshots than were published, but never one out of order.
  for (core::Seq seq = 7; seq <= 10; ++seq)
    env.publish(ReplicationEnv::snapshot("node-a", seq, pods_upto(static_cast<int>(seq))));
  REQUIRE(run_until(env.io, [&] { return source.current()->seq == 10; }));
  CHECK(std::ranges::is_sorted(seen));
  CHECK(std::ranges::adjacent_find(seen) == seen.end());
  CHECK(*source.current() == env.snapshots.at("node-a"));
  CHECK(replica->counters().gaps == 0);

  SECTION("a change of another node alone sends node A nothing but heartbeats") {
    const auto before = replica->counters();
    env.publish(ReplicationEnv::snapshot("node-b", 11, {"b-pod-1", "b-pod-2"}));
    REQUIRE(run_until(env.io, [&] { return replica->counters().heartbeats >= before.heartbeats + 2; }));
    CHECK(replica->counters().changes == before.changes);
    CHECK(source.current()->seq == 10);
    CHECK(source.current()->node == "node-a");
    for (const auto& pod : source.current()->pods) CHECK_FALSE(pod.key.name.starts_with("b-"));
  }

  source.unsubscribe(sub);
  run_async(env.io, replica->stop());
  env.stop_server();
}

TEST_CASE("A token of a pod on node B asking for node A's snapshot gets 403", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  ReplicationEnv env(*cp);
  env.start_server();
  const auto token_b = env.token_for("nmi-b");

  CHECK(env.get("node-a", "Bearer " + token_b).status == 403);
  CHECK(env.get("node-b", "Bearer " + token_b).status == 200);  // its own node is fine

  MemorySnapshotSource source;
  auto replica = env.replica("node-a", source, fixed(token_b));
  replica->start();
  REQUIRE(run_until(env.io, [&] { return replica->counters().failures >= 2; }));
  CHECK_FALSE(replica->counters().synced);
  CHECK(source.current()->pods.empty());
  CHECK(source.publications() == 0);
  CHECK(env.server->counters().forbidden >= 3);

  run_async(env.io, replica->stop());
  env.stop_server();
}

TEST_CASE("Missing, garbage, re-signed and orphaned tokens get 401", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  ReplicationEnv env(*cp);
  env.start_server();
  const auto token_a = env.token_for("nmi-a");

  CHECK(env.get("node-a", "").status == 401);
  CHECK(env.get("node-a", "Bearer ").status == 401);
  CHECK(env.get("node-a", "Basic bm1pOnNlY3JldA==").status == 401);
  CHECK(env.get("node-a", "Bearer garbage").status == 401);
  CHECK(env.get("node-a", "Bearer " + resigned(token_a)).status == 401);
  CHECK(env.get("node-a", "Bearer " + token_a).status == 200);  // the genuine one passes

  SECTION("a token whose bound pod was deleted") {
    env.pod_uid["nmi-gone"] = env.create_pod("nmi-gone", "node-a");
    const auto orphan = env.token_for("nmi-gone");
    must(cp->request("DELETE", "/api/v1/namespaces/" + env.ns + "/pods/nmi-gone?gracePeriodSeconds=0"), 200,
         "delete pod");
    REQUIRE(run_until(env.io, [&] {
      return cp->request("GET", "/api/v1/namespaces/" + env.ns + "/pods/nmi-gone").status == 404;
    }));
    CHECK(env.get("node-a", "Bearer " + orphan).status == 401);
  }
  CHECK(env.server->counters().unauthenticated >= 5);
  env.stop_server();
}

TEST_CASE("Through a server restart the replica keeps its last snapshot and then resyncs", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  ReplicationEnv env(*cp);
  env.start_server();
  const auto port = env.port;
  MemorySnapshotSource source;
  int token_reads = 0;
  const auto token = env.token_for("nmi-a");
  auto replica = env.replica("node-a", source, [&]() -> core::Result<std::string> {
    ++token_reads;
    return token;
  });
  replica->start();
  env.publish(ReplicationEnv::snapshot("node-a", 3, pods_upto(3)));
  REQUIRE(run_until(env.io, [&] { return source.current()->seq == 3; }));
  const auto held = *source.current();

  env.stop_server();
  const auto failures = replica->counters().failures;
  REQUIRE(run_until(env.io, [&] { return replica->counters().failures >= failures + 3; }));
  CHECK(*source.current() == held);  // still served while the controller is down

  env.publish(ReplicationEnv::snapshot("node-a", 8, pods_upto(5)));
  const auto reads_before = token_reads;
  const auto resyncs = replica->counters().resyncs;
  env.start_server(port);
  REQUIRE(run_until(env.io, [&] { return source.current()->seq == 8; }));
  CHECK(*source.current() == env.snapshots.at("node-a"));
  CHECK(replica->counters().resyncs == resyncs + 1);
  CHECK(token_reads > reads_before);  // the token is read again for each connection

  run_async(env.io, replica->stop());
  env.stop_server();
}

TEST_CASE("Revocation latency: a removed identity reaches the replica's source", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  ReplicationEnv env(*cp);
  env.start_server();
  MemorySnapshotSource source;
  auto replica = env.replica("node-a", source, fixed(env.token_for("nmi-a")));
  replica->start();

  nodeproxy::SnapshotIdentity id;
  id.key = {"default", "id-1"};
  id.client_id = "00000000-0000-0000-0000-0000000000c1";
  id.phase = core::Phase::assigned;
  const auto has_identity = [&] { return !source.current()->pods.at(0).identities.empty(); };

  std::vector<double> latencies;
  core::Seq seq = 1;
  for (int round = 0; round < 20; ++round) {
    auto granted = ReplicationEnv::snapshot("node-a", ++seq, {"pod-1"});
    granted.pods[0].identities.push_back(id);
    env.publish(granted);
    REQUIRE(run_until(env.io, [&] { return source.current()->seq == seq && has_identity(); }));

    std::optional<std::chrono::steady_clock::time_point> seen;
    const auto sub = source.subscribe([&] {
      if (!seen && source.current()->pods.at(0).identities.empty()) seen = std::chrono::steady_clock::now();
    });
    const auto start = std::chrono::steady_clock::now();
    env.publish(ReplicationEnv::snapshot("node-a", ++seq, {"pod-1"}));
    REQUIRE(run_until(env.io, [&] { return seen.has_value(); }));
    source.unsubscribe(sub);
    latencies.push_back(Millis(*seen - start).count());
  }
  std::ranges::sort(latencies);
  const double p50 = latencies[latencies.size() / 2];
  const double worst = latencies.back();
  std::printf("replication revocation latency over %zu rounds: p50 %.2f ms, max %.2f ms\n", latencies.size(),
              p50, worst);
  CHECK(worst < 1000.0);  // a sanity bound only; the figure is printed above

  run_async(env.io, replica->stop());
  env.stop_server();
}
