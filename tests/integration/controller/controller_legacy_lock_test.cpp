// The original MIC's Endpoints lock against the real kube-apiserver (kubernetes-api.md §4.4 item 6): while
// another holder's record is fresh the controller does not lead (Not Active, nothing written, its Lease not
// even taken); once the record stops changing for its lease duration, it leads and, in hold mode, writes its
// own record there; a leader in honour mode yields as soon as the original MIC takes the lock.
#include <algorithm>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "integration/controller/startup_env.hpp"
#include "support/control_plane_catch.hpp"
#include "watch/legacy_endpoints_lock.hpp"

namespace cli = podid::cli;
namespace core = podid::core;
namespace emu = podid::emulator;
namespace json = boost::json;
namespace kinds = podid::watch::kinds;
namespace t = podid::testing;
namespace watch = podid::watch;

using namespace std::chrono_literals;

namespace {

const std::string kLock = "podid-controller";

cli::ControllerOptions electing(const std::string& ns, const std::string& identity,
                                watch::LegacyLockMode mode) {
  auto o = t::controller_options(ns);
  watch::LeaderElectionOptions le;
  le.ns = ns;
  le.name = kLock;
  le.identity = identity;
  le.lease_duration = 3s;
  le.renew_deadline = 2s;
  le.retry_period = 300ms;
  le.legacy_endpoints = {mode, ns, kLock};
  o.leader_election = le;
  return o;
}

// What client-go 0.23's Endpoints lock writes: the record as JSON in the annotation, times in seconds. The
// old MIC's clock is a year behind: freshness must come from our clock and the record changing, not from the
// record's renewTime (kubernetes-api.md §4.3).
std::string old_mic_record(const std::string& holder, int renewal) {
  core::SystemClock clock;
  const auto skewed = watch::rfc3339_seconds(clock.now_ms() - 365LL * 24 * 3600 * 1000 + renewal * 1000LL);
  return R"({"holderIdentity":")" + holder + R"(","leaseDurationSeconds":3,"acquireTime":")" + skewed +
         R"(","renewTime":")" + skewed + R"(","leaderTransitions":)" + std::to_string(renewal) + "}";
}

// The old MIC writing its record (a merge patch of the annotation; a new value each time).
void old_mic_writes(t::ControlPlane& cp, const std::string& ns, const std::string& record) {
  const json::object patch{{"metadata", {{"annotations", {{watch::kLeaderAnnotation, record}}}}}};
  const auto reply = cp.request("PATCH", "/api/v1/namespaces/" + ns + "/endpoints/" + kLock,
                                json::serialize(patch), "application/merge-patch+json");
  REQUIRE(reply.status == 200);
}

json::object endpoints(const std::string& record) {
  return json::object{{"apiVersion", "v1"},
                      {"kind", "Endpoints"},
                      {"metadata", {{"name", kLock}, {"annotations", {{watch::kLeaderAnnotation, record}}}}}};
}

watch::LegacyLockRecord record_in(t::ControlPlane& cp, const std::string& ns) {
  const auto e = t::get_json(cp, "/api/v1/namespaces/" + ns + "/endpoints/" + kLock);
  REQUIRE(e.is_object());
  const auto& raw = e.at("metadata").at("annotations").at(watch::kLeaderAnnotation).as_string();
  return watch::parse_legacy_record(std::string_view(raw)).value();
}

}  // namespace

TEST_CASE(
    "While the original MIC's Endpoints lock is fresh the controller does not lead; once it expires the "
    "controller leads and holds it",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  t::StartupScenario s(*cp);
  const auto demo = s.emulator.identity(emu::testing::identity_id("demo"));
  REQUIRE(demo);
  s.create(kinds::azure_identities(), s.ns, t::msi_identity("demo", demo->id, demo->client_id));
  s.create(kinds::azure_identity_bindings(), s.ns, t::binding("demo-binding", "demo", "demo"));
  s.create_pod("web", "demo", "10.1.0.7");
  s.create(watch::ResourceKind{"", "v1", "endpoints", "Endpoints", true}, s.ns,
           endpoints(old_mic_record("mic-7d9f-old", 0)));

  t::RunningController replica(s.io, s.cp, s.emulator,
                               electing(s.ns, "replica-a", watch::LegacyLockMode::hold));
  REQUIRE(t::run_until(
      s.io, [&] { return replica.controller.synced(); }, 30s));
  // The old MIC keeps renewing for three of its lease durations.
  for (int renewal = 1; renewal <= 9; ++renewal) {
    static_cast<void>(t::run_until(
        s.io, [] { return false; }, 1s));
    old_mic_writes(*cp, s.ns, old_mic_record("mic-7d9f-old", renewal));
  }
  CHECK_FALSE(replica.controller.leading());
  CHECK(t::probe(replica.controller, "/healthz").body == "Not Active");
  CHECK(replica.controller.counters().plans == 0);
  CHECK(replica.controller.writer().counters().created == 0);
  CHECK(replica.controller.actuator().counters().started == 0);
  CHECK(t::get_json(*cp, "/apis/aadpodidentity.k8s.io/v1/namespaces/" + s.ns + "/azureassignedidentities")
            .at("items")
            .as_array()
            .empty());
  CHECK(t::get_json(*cp, "/apis/coordination.k8s.io/v1/namespaces/" + s.ns + "/leases/" + kLock).is_null());
  CHECK(record_in(*cp, s.ns).holder == "mic-7d9f-old");

  // The old MIC is gone: its record stops changing and expires after its 3 s on our clock.
  REQUIRE(t::run_until(
      s.io, [&] { return replica.controller.leading(); }, 30s));
  REQUIRE(t::run_until(
      s.io, [&] { return s.assigned(replica.controller, "web", "demo"); }, 60s));
  CHECK(t::probe(replica.controller, "/healthz").body == "Active");
  const auto held = record_in(*cp, s.ns);
  CHECK(held.holder == "replica-a");
  CHECK(held.duration_seconds == 3);
  CHECK(held.transitions == 10);  // the old MIC's 9, plus one
  CHECK(held.renew_time.size() == std::string("2006-01-02T15:04:05Z").size());
  // Renewed while leading, so an old MIC started now would see it change and stand by.
  REQUIRE(t::run_until(
      s.io, [&] { return record_in(*cp, s.ns).renew_time != held.renew_time; }, 10s));
  CHECK(record_in(*cp, s.ns).acquire_time == held.acquire_time);

  // Stopping releases both locks, as client-go's release does.
  replica.stop();
  CHECK(record_in(*cp, s.ns).holder.empty());
  const auto lease = t::get_json(*cp, "/apis/coordination.k8s.io/v1/namespaces/" + s.ns + "/leases/" + kLock);
  CHECK(lease.at("spec").at("holderIdentity").as_string() == "");
}

TEST_CASE("A leader honouring the Endpoints lock yields as soon as the original MIC takes it",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  t::StartupScenario s(*cp);
  t::RunningController replica(s.io, s.cp, s.emulator,
                               electing(s.ns, "replica-h", watch::LegacyLockMode::honour));
  REQUIRE(t::run_until(
      s.io, [&] { return replica.controller.executing(); }, 30s));
  // honour mode reads the lock but never writes it.
  CHECK(t::get_json(*cp, "/api/v1/namespaces/" + s.ns + "/endpoints/" + kLock).is_null());

  s.create(watch::ResourceKind{"", "v1", "endpoints", "Endpoints", true}, s.ns,
           endpoints(old_mic_record("mic-7d9f-old", 0)));
  REQUIRE(t::run_until(
      s.io, [&] { return replica.result.has_value(); }, 20s));
  CHECK_FALSE(replica.controller.leading());
  REQUIRE_FALSE(*replica.result);
  CHECK(replica.result->error().code == core::ErrorCode::transient);
  // The log names the holder it yielded to.
  const auto& lines = replica.sink.lines();
  CHECK(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("Leadership yielded to the original MIC.") != std::string::npos &&
           l.find("mic-7d9f-old") != std::string::npos;
  }));
  // It gave its Lease up on the way out, and left the old MIC's record alone.
  const auto lease = t::get_json(*cp, "/apis/coordination.k8s.io/v1/namespaces/" + s.ns + "/leases/" + kLock);
  CHECK(lease.at("spec").at("holderIdentity").as_string() == "");
  CHECK(record_in(*cp, s.ns).holder == "mic-7d9f-old");
}
