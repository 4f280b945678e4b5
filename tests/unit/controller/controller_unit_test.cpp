// The pure parts of the controller's Kubernetes writes: the AzureAssignedIdentity object the original's
// users recognise, client-go compatible Lease records and MicroTime, and Event timestamps.
#include <boost/json/array.hpp>
#include <catch2/catch.hpp>

#include "watch/aai_writer.hpp"
#include "watch/event_recorder.hpp"
#include "watch/leader_election.hpp"

namespace core = podid::core;
namespace json = boost::json;
namespace watch = podid::watch;

namespace {

core::State state_with_identity() {
  core::State s;
  core::AzureIdentity id;
  id.key = {"apps", "demo"};
  id.raw_type = 0;
  id.resource_id =
      "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/demo";
  id.client_id = "c1";
  id.namespaced = true;
  id.resource_version = "42";
  s.identities[id.key] = id;
  core::AzureIdentityBinding b;
  b.key = {"apps", "demo-binding"};
  b.identity_name = "demo";
  b.selector = "demo";
  b.resource_version = "43";
  s.bindings[b.key] = b;
  return s;
}

}  // namespace

TEST_CASE("An AzureAssignedIdentity carries the original's labels, finalizer and embedded snapshots",
          "[unit]") {
  const auto s = state_with_identity();
  core::AssignedIdentity a{{"apps", "web-apps-demo-1234abcd"},
                           {"apps", "web"},
                           {"apps", "demo"},
                           {"apps", "demo-binding"},
                           "node-1",
                           "Created",
                           "",
                           ""};
  const auto o = watch::aai_object(a, s);
  CHECK(o.at("apiVersion") == "aadpodidentity.k8s.io/v1");
  CHECK(o.at("kind") == "AzureAssignedIdentity");
  const auto& md = o.at("metadata").as_object();
  CHECK(md.at("name") == "web-apps-demo-1234abcd");
  CHECK(md.at("namespace") == "apps");
  CHECK(md.at("labels").at("nodename") == "node-1");
  CHECK(md.at("finalizers").as_array() ==
        json::array{"azureassignedidentity.finalizers.aadpodidentity.k8s.io"});
  const auto& spec = o.at("spec").as_object();
  CHECK(spec.at("pod") == "web");
  CHECK(spec.at("podNamespace") == "apps");
  CHECK(spec.at("nodename") == "node-1");
  const auto& id = spec.at("azureIdentityRef").as_object();
  CHECK(id.at("apiVersion") == "aadpodidentity.k8s.io/v1");
  CHECK(id.at("kind") == "AzureIdentity");
  CHECK(id.at("metadata").at("resourceVersion") == "42");
  CHECK(id.at("metadata").at("annotations").at("aadpodidentity.k8s.io/Behavior") == "namespaced");
  CHECK(id.at("spec").at("clientID") == "c1");
  CHECK(id.at("spec").at("type") == 0);
  const auto& b = spec.at("azureBindingRef").as_object();
  CHECK(b.at("kind") == "AzureIdentityBinding");
  CHECK(b.at("spec").at("selector") == "demo");
  CHECK_FALSE(o.contains("status"));
}

TEST_CASE("A snapshot of an identity the state no longer holds still names it", "[unit]") {
  const core::State empty;
  const auto o = watch::identity_snapshot({"apps", "gone"}, empty);
  CHECK(o.at("kind") == "AzureIdentity");
  CHECK(o.at("metadata").at("name") == "gone");
  CHECK(o.at("metadata").at("namespace") == "apps");
}

TEST_CASE("MicroTime always has six fractional digits in UTC", "[unit]") {
  CHECK(watch::micro_time(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(watch::micro_time(1700000000123) == "2023-11-14T22:13:20.123000Z");
  CHECK(watch::rfc3339_seconds(1700000000123) == "2023-11-14T22:13:20Z");
}

TEST_CASE("A Lease record round-trips through the Lease spec with every field", "[unit]") {
  json::object lease{{"metadata", json::object{{"name", "l"}}}};
  const watch::LeaseRecord r{"me", 15, watch::micro_time(1000), watch::micro_time(2000), 3};
  watch::set_lease_record(lease, r);
  CHECK(watch::lease_record(lease) == r);
  const auto& spec = lease.at("spec").as_object();
  for (const auto* key :
       {"holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime", "leaseTransitions"})
    CHECK(spec.contains(key));
  CHECK(watch::lease_record(json::object{}) == watch::LeaseRecord{});
}

TEST_CASE("Leader election timings must satisfy client-go's constraints", "[unit]") {
  watch::LeaderElectionOptions o;
  o.identity = "me";
  CHECK(o.validate());
  o.renew_deadline = o.lease_duration;
  CHECK_FALSE(o.validate());
  o.renew_deadline = std::chrono::milliseconds(2400);  // exactly 1.2 x retry period is not enough
  CHECK_FALSE(o.validate());
  o.renew_deadline = std::chrono::milliseconds(2500);
  CHECK(o.validate());
  o.identity.clear();
  CHECK_FALSE(o.validate());
}
