// Controller behaviours around batching, quarantine, recreated identities and leadership, against the real
// kube-apiserver and the Azure emulator: more than 150 identities on one scale set go out in several PATCHes
// of at most 150 each; the controller's own status write to a quarantined identity does not give it another
// ARM round; an identity deleted and re-created in Azure under the same name is detached and attached again
// at a drift check; a leader stopped while its PATCH is in flight (without releasing the Lease) is replaced
// by another replica that finishes the work without detaching anything or duplicating an
// AzureAssignedIdentity.
#include <catch2/catch.hpp>

#include "core/event_codec.hpp"
#include "integration/controller/behaviour_env.hpp"
#include "support/control_plane_catch.hpp"

using podid::testing::Cluster;
using podid::testing::get_json;
using podid::testing::json_str;
using podid::testing::RunningController;
namespace core = podid::core;
namespace emu = podid::emulator;
namespace kinds = podid::watch::kinds;
namespace t = podid::testing;
namespace watch = podid::watch;

using namespace std::chrono_literals;

namespace {

// Identity PATCHes in a store that detach something (none may: a failed or resumed batch never detaches).
int detaching_patches(const podid::store::EventStore& store) {
  int found = 0;
  const auto records = store.read(1, 1'000'000);
  REQUIRE(records.has_value());
  for (const auto& r : *records) {
    if (r.kind != "ArmOperationStarted") continue;
    const auto e = core::decode_line(r.payload);
    REQUIRE(e.has_value());
    const auto* started = std::get_if<core::ArmOperationStarted>(&*e);
    REQUIRE(started != nullptr);
    if (!started->remove.empty()) ++found;
  }
  return found;
}

// AzureAssignedIdentities in `ns` whose spec names `pod`.
int aais_of(t::ControlPlane& cp, const std::string& ns, const std::string& pod) {
  const auto list =
      get_json(cp, "/apis/aadpodidentity.k8s.io/v1/namespaces/" + ns + "/azureassignedidentities");
  REQUIRE(list.is_object());
  int n = 0;
  for (const auto& item : list.at("items").as_array()) n += json_str(item, {"spec", "pod"}) == pod ? 1 : 0;
  return n;
}

double sample(const core::MetricsRegistry& metrics, const std::string& series) {
  const auto page = metrics.expose();
  const auto at = page.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(page.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE(
    "More than 150 identities for one scale set go out in several PATCHes of at most 150 and all "
    "become Assigned",
    "[integration][behaviour][batch]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  std::vector<std::string> names;
  for (int i = 0; i < 160; ++i) names.push_back("many-" + std::to_string(i));
  Cluster c(*cp, names);
  const auto n0 = c.create_node("n0", 0);
  // One pod, 160 bindings with its selector: 160 identities for one scale set at once.
  for (const auto& name : names) c.create_identity(c.ns, name, "many");
  c.create_pod(c.ns, "wide", "many", n0, "10.2.7.1");

  RunningController replica(c.io, c.cp, c.emulator, t::controller_options(c.ns));
  const auto& ctl = replica.controller;
  REQUIRE(c.run_until(
      [&] {
        for (const auto& name : names)
          if (!Cluster::phase_is(ctl, c.ns, "wide", name, core::Phase::assigned)) return false;
        return true;
      },
      120s));
  for (const auto& name : names) CHECK(c.scale_set_has(name));
  // The emulator refuses a PATCH naming more than 150 identities, as ARM does: all Assigned means every
  // request stayed within the limit, and 160 need at least two.
  CHECK(c.emulator.counter("arm.vmss.patch") >= 2);
  CHECK(c.emulator.counter("arm.vmss.patch") <= 3);
  CHECK(ctl.actuator().counters().failed == 0);
  CHECK(detaching_patches(*replica.store) == 0);
}

TEST_CASE("The controller's status write to a quarantined identity does not give it another ARM round",
          "[integration][behaviour][quarantine]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Cluster c(*cp, {});
  const auto n0 = c.create_node("n0", 0);
  c.create_identity(c.ns, "demo", "demo");
  // A valid resource ID that Azure does not know: the PATCH is refused and the identity quarantined.
  c.create(
      kinds::azure_identities(), c.ns,
      t::msi_identity("ghost", emu::testing::identity_id("ghost"), "00000000-0000-0000-0000-00000000dead"));
  c.create(kinds::azure_identity_bindings(), c.ns, t::binding("ghost-binding", "ghost", "ghost"));
  c.create_pod(c.ns, "bad", "ghost", n0, "10.2.8.1");

  RunningController replica(c.io, c.cp, c.emulator, t::controller_options(c.ns));
  const auto& ctl = replica.controller;
  const core::IdentityKey ghost{c.ns, "ghost"};
  // Quarantined, its Ready=False condition written, and that write observed by the controller.
  REQUIRE(c.run_until(
      [&] {
        const auto id =
            get_json(c.cp, "/apis/aadpodidentity.k8s.io/v1/namespaces/" + c.ns + "/azureidentities/ghost");
        if (!id.is_object() || !id.as_object().contains("status")) return false;
        const auto seen = ctl.state().identities.find(ghost);
        return seen != ctl.state().identities.end() &&
               seen->second.resource_version == json_str(id, {"metadata", "resourceVersion"}) &&
               Cluster::phase_is(ctl, c.ns, "bad", "ghost", core::Phase::quarantined) &&
               ctl.state().operations.empty();
      },
      60s));
  // A barrier: a later assignment on the same scale set, planned in a later round than the status write.
  c.create_pod(c.ns, "good", "demo", n0, "10.2.8.2");
  REQUIRE(
      c.run_until([&] { return Cluster::phase_is(ctl, c.ns, "good", "demo", core::Phase::assigned); }, 60s));
  REQUIRE(c.run_until([&] { return ctl.state().operations.empty(); }, 20s));
  CHECK(Cluster::phase_is(ctl, c.ns, "bad", "ghost", core::Phase::quarantined));
  // Quarantined once: a status write taken for an edit would have sent it back to Created, through more
  // refused PATCHes, and into Quarantined a second time.
  CHECK(sample(replica.metrics, "aadpodidentity_quarantines_total") == 1);
}

TEST_CASE(
    "A leader stopped with a PATCH in flight is replaced; the new leader finishes without detaching "
    "or duplicating",
    "[integration][behaviour][resume]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Cluster c(*cp, {"id-c"});
  emu::Latencies latencies;
  latencies.vm = 100ms;
  latencies.vmss = 3s;  // long enough to stop the leader while its operation runs
  latencies.retry_after = 0s;
  c.emulator.set_latencies(latencies);
  const auto n0 = c.create_node("n0", 0);
  const auto n1 = c.create_node("n1", 1);
  c.create_identity(c.ns, "demo", "demo");
  c.create_identity(c.ns, "id-b", "idb");
  c.create_identity(c.ns, "id-c", "idc");
  c.create_pod(c.ns, "p1", "demo", n0, "10.2.6.1");
  c.create_pod(c.ns, "p2", "idb", n1, "10.2.6.2");
  auto options = [&](const std::string& identity) {
    auto o = t::controller_options(c.ns);
    watch::LeaderElectionOptions le;
    le.ns = c.ns;
    le.name = "podid-controller";
    le.identity = identity;
    le.lease_duration = 3s;
    le.renew_deadline = 2s;
    le.retry_period = 300ms;
    le.release_on_cancel = false;  // as if killed: the Lease runs out on its own
    o.leader_election = le;
    return o;
  };
  auto first = std::make_unique<RunningController>(c.io, c.cp, c.emulator, options("replica-a"));
  REQUIRE(c.run_until([&] { return first->controller.actuator().counters().in_flight > 0; }, 60s));
  first->stop();
  CHECK(detaching_patches(*first->store) == 0);
  first.reset();
  // Pods keep arriving while nobody leads.
  c.create_pod(c.ns, "p3", "idc", n0, "10.2.6.3");

  RunningController second(c.io, c.cp, c.emulator, options("replica-b"));
  const auto& ctl = second.controller;
  REQUIRE(c.run_until(
      [&] {
        return Cluster::phase_is(ctl, c.ns, "p1", "demo", core::Phase::assigned) &&
               Cluster::phase_is(ctl, c.ns, "p2", "id-b", core::Phase::assigned) &&
               Cluster::phase_is(ctl, c.ns, "p3", "id-c", core::Phase::assigned);
      },
      90s));
  CHECK(c.scale_set_has("demo"));
  CHECK(c.scale_set_has("id-b"));
  CHECK(c.scale_set_has("id-c"));
  CHECK(detaching_patches(*second.store) == 0);
  for (const auto* pod : {"p1", "p2", "p3"}) {
    CAPTURE(pod);
    CHECK(aais_of(c.cp, c.ns, pod) == 1);
  }
  const auto lease =
      get_json(c.cp, "/apis/coordination.k8s.io/v1/namespaces/" + c.ns + "/leases/podid-controller");
  CHECK(json_str(lease, {"spec", "holderIdentity"}) == "replica-b");
}

TEST_CASE(
    "An identity deleted and re-created in Azure with the same name is detached and attached again at "
    "the drift check",
    "[integration][behaviour][recreated]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Cluster c(*cp, {"phoenix"});
  const auto n0 = c.create_node("n0", 0);
  c.create_identity(c.ns, "phoenix", "phx");
  c.create_pod(c.ns, "p", "phx", n0, "10.2.5.1");
  auto options = t::controller_options(c.ns);
  options.drift_interval = 500ms;
  RunningController replica(c.io, c.cp, c.emulator, options);
  const auto& ctl = replica.controller;
  REQUIRE(
      c.run_until([&] { return Cluster::phase_is(ctl, c.ns, "p", "phoenix", core::Phase::assigned); }, 60s));
  const auto old_id = c.azure_identity("phoenix");
  const auto rid = core::to_lower(old_id.id);

  // Deleted through ARM and created again: same resource ID, new client and principal IDs.
  auto token = t::run_async(c.io, replica.arm.tokens->token());
  REQUIRE(token.has_value());
  podid::http::Request del;
  del.method = "DELETE";
  del.url = c.emulator.arm_endpoint() + old_id.id + "?api-version=2023-01-31";
  del.headers = {{"Authorization", "Bearer " + token->value.value()}};
  const auto deleted = t::run_async(c.io, replica.arm.http_->request(del));
  REQUIRE(deleted.has_value());
  REQUIRE(deleted->status == 200);
  const auto recreated =
      c.emulator.create_identity(emu::IdentityConfig{emu::testing::kSub, "ids", "phoenix", "eastus", {}});
  REQUIRE(recreated.has_value());
  REQUIRE(recreated->client_id != old_id.client_id);
  // The scale set still holds the old identity under that resource ID.
  const auto before = c.emulator.machine(emu::testing::vmss_id("ss-0"));
  REQUIRE(before);
  REQUIRE(before->user.at(rid).client_id == old_id.client_id);
  // The documented fix on the Kubernetes side: the AzureIdentity gets the new client ID.
  const auto patched = c.cp.request(
      "PATCH", "/apis/aadpodidentity.k8s.io/v1/namespaces/" + c.ns + "/azureidentities/phoenix",
      R"({"spec":{"clientID":")" + recreated->client_id + R"("}})", "application/merge-patch+json");
  REQUIRE(patched.status == 200);

  REQUIRE(c.run_until(
      [&] {
        const auto m = c.emulator.machine(emu::testing::vmss_id("ss-0"));
        const auto* a = Cluster::assignment(ctl, c.ns, "p", "phoenix");
        return m && m->user.contains(rid) && m->user.at(rid).client_id == recreated->client_id &&
               a != nullptr && a->client_id == recreated->client_id &&
               Cluster::phase_is(ctl, c.ns, "p", "phoenix", core::Phase::assigned);
      },
      60s));
  // Exactly one detach (of the stale entry), then an attach of the new identity.
  CHECK(detaching_patches(*replica.store) == 1);
  CHECK(sample(replica.metrics, "aadpodidentity_drift_repairs_total") >= 1);
}
