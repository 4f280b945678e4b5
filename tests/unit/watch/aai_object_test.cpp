// The AzureAssignedIdentity object the writer builds decodes to the identity copy the planner wants: if they
// disagreed, every plan would rewrite the object again (core/plan.cpp, identity_copy_stale).
#include <catch2/catch.hpp>

#include "core/k8s_objects.hpp"
#include "core/plan.hpp"
#include "watch/aai_writer.hpp"

using namespace podid;

TEST_CASE("A written AzureAssignedIdentity reads back with the identity copy the planner wants", "[unit]") {
  core::AzureIdentity id;
  id.key = {"apps", "demo"};
  id.resource_version = "7";
  const auto kind = GENERATE(0, 1, 2, 9);
  id.raw_type = kind;
  id.type = core::identity_type_from(kind);
  id.client_id = "c-" + std::to_string(kind);
  if (kind == 0)
    id.resource_id =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/"
        "userAssignedIdentities/Demo";
  if (kind != 0) id.secret_ref = {"sp-secret", "apps"};
  id.namespaced = kind == 2;
  core::State state;
  state.identities[id.key] = id;
  core::AssignedIdentity a;
  a.key = {"default", "web-apps-demo-1234abcd"};
  a.pod = {"apps", "web"};
  a.identity = id.key;
  a.binding = {"apps", "demo-binding"};
  a.node = "n0";
  a.identity_copy = core::IdentityCopy{id.raw_type, id.client_id, id.resource_id};

  auto object = watch::aai_object(a, state);
  object["metadata"].as_object()["resourceVersion"] = "3";
  const auto back = core::decode_assigned_identity(object);
  REQUIRE(back.has_value());
  CHECK(back->identity_copy == a.identity_copy);
  CHECK(back->identity == a.identity);

  SECTION("an identity the state does not hold leaves the copy unknown, as the planner expects") {
    const auto bare = core::decode_assigned_identity(watch::aai_object(a, core::State{}));
    REQUIRE(bare.has_value());
    CHECK_FALSE(bare->identity_copy.has_value());
  }
}
