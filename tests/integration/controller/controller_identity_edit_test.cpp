// AzureAssignedIdentities follow their AzureIdentity, against the real kube-apiserver and the Azure
// emulator: the AAI embeds a copy of the identity (spec.azureIdentityRef), which NMI reads, so editing the
// identity to another managed identity (client ID and resource ID) rewrites the copy once the new identity
// is attached; the controller then goes quiet.
#include <catch2/catch.hpp>

#include "integration/controller/behaviour_env.hpp"
#include "support/control_plane_catch.hpp"

using podid::testing::Cluster;
using podid::testing::json_str;
using podid::testing::RunningController;
namespace core = podid::core;
namespace t = podid::testing;

using namespace std::chrono_literals;

TEST_CASE("Pointing an AzureIdentity at another client and resource ID rewrites the copy in its AAI",
          "[integration][behaviour]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  Cluster c(*cp, {"editable", "other"});
  const auto n0 = c.create_node("n0", 0);
  c.create_identity(c.ns, "editable", "edit");
  c.create_pod(c.ns, "p", "edit", n0, "10.2.7.1");
  RunningController replica(c.io, c.cp, c.emulator, t::controller_options(c.ns));
  const auto& ctl = replica.controller;
  REQUIRE(
      c.run_until([&] { return Cluster::phase_is(ctl, c.ns, "p", "editable", core::Phase::assigned); }, 60s));
  const auto old_client = c.azure_identity("editable").client_id;
  const auto copied_client = [&] {
    return json_str(c.aai(c.ns, "p", "editable"), {"spec", "azureIdentityRef", "spec", "clientID"});
  };
  REQUIRE(copied_client() == old_client);

  // Pointed at another managed identity, as users fix a wrong identity in place.
  const auto other = c.azure_identity("other");
  REQUIRE(other.client_id != old_client);
  const auto patched =
      c.cp.request("PATCH", "/apis/aadpodidentity.k8s.io/v1/namespaces/" + c.ns + "/azureidentities/editable",
                   R"({"spec":{"clientID":")" + other.client_id + R"(","resourceID":")" + other.id + R"("}})",
                   "application/merge-patch+json");
  REQUIRE(patched.status == 200);

  REQUIRE(c.run_until(
      [&] {
        return copied_client() == other.client_id && c.scale_set_has("other") &&
               Cluster::phase_is(ctl, c.ns, "p", "editable", core::Phase::assigned);
      },
      60s));
  const auto aai = c.aai(c.ns, "p", "editable");
  CHECK(json_str(aai, {"spec", "azureIdentityRef", "spec", "resourceID"}) == other.id);
  CHECK(json_str(aai, {"status", "status"}) == "Assigned");
  // The controller's own view (once it has caught up with its write) carries the new copy, so it plans no
  // further rewrite.
  CHECK(c.run_until(
      [&] {
        const auto* a = Cluster::assignment(ctl, c.ns, "p", "editable");
        const auto seen = a == nullptr ? ctl.state().assigned.end() : ctl.state().assigned.find(a->aai);
        return seen != ctl.state().assigned.end() && seen->second.identity_copy &&
               seen->second.identity_copy->client_id == other.client_id;
      },
      30s));
  const auto rv = json_str(c.aai(c.ns, "p", "editable"), {"metadata", "resourceVersion"});
  const auto writes = replica.controller.writer().counters().updated;
  static_cast<void>(c.run_until([] { return false; }, 2s));  // let a few planning rounds pass
  CHECK(json_str(c.aai(c.ns, "p", "editable"), {"metadata", "resourceVersion"}) == rv);
  CHECK(replica.controller.writer().counters().updated == writes);
}
