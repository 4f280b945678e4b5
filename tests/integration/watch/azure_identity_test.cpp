// CRUD on our custom resources through HttpKubeClient: AzureIdentity with its status subresource.
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "integration/watch/kube_env.hpp"
#include "support/control_plane_catch.hpp"

using podid::core::ErrorCode;
using podid::testing::admin_client;
using podid::testing::run_async;
namespace watch = podid::watch;
namespace kinds = podid::watch::kinds;
namespace json = boost::json;

namespace {

json::object azure_identity(const std::string& name, const std::string& client_id) {
  return json::object{{"apiVersion", "aadpodidentity.k8s.io/v1"},
                      {"kind", "AzureIdentity"},
                      {"metadata", {{"name", name}}},
                      {"spec",
                       {{"type", 0},
                        {"resourceID",
                         "/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg/providers/"
                         "Microsoft.ManagedIdentity/userAssignedIdentities/" +
                             name},
                        {"clientID", client_id}}}};
}

}  // namespace

TEST_CASE("An AzureIdentity is created, read, updated, patched, given a status and deleted",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("azid");
  boost::asio::io_context io;
  auto client = admin_client(io, *cp);
  const auto& kind = kinds::azure_identities();

  auto created = run_async(io, client->create(kind, ns, azure_identity("web", "client-1")));
  REQUIRE(created.has_value());
  CHECK(created->at("spec").at("clientID").as_string() == "client-1");

  auto got = run_async(io, client->get(kind, ns, "web"));
  REQUIRE(got.has_value());
  CHECK(got->at("spec").at("resourceID").as_string().ends_with("/userAssignedIdentities/web"));

  auto changed = *got;
  changed["spec"].as_object()["clientID"] = "client-2";
  auto updated = run_async(io, client->update(kind, ns, changed));
  REQUIRE(updated.has_value());
  CHECK(updated->at("spec").at("clientID").as_string() == "client-2");

  SECTION("a custom resource refuses an unconditional PUT") {
    auto blind = changed;
    blind["metadata"].as_object().erase("resourceVersion");
    auto refused = run_async(io, client->update(kind, ns, blind));
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == ErrorCode::invalid);
  }

  SECTION("merge patch, status subresource and delete") {
    auto patched = run_async(io, client->patch(kind, ns, "web", watch::PatchType::merge,
                                               json::parse(R"({"spec":{"tenantID":"tenant-a"}})"), {}));
    REQUIRE(patched.has_value());
    CHECK(patched->at("spec").at("tenantID").as_string() == "tenant-a");
    CHECK(patched->at("spec").at("clientID").as_string() == "client-2");

    auto with_status = *patched;
    with_status["status"] = json::parse(R"({"conditions":[{"type":"Ready","status":"True"}]})");
    with_status["spec"].as_object()["clientID"] = "ignored-through-status";
    auto status = run_async(io, client->update_status(kind, ns, with_status));
    REQUIRE(status.has_value());
    CHECK(status->at("status").at("conditions").as_array().at(0).at("status").as_string() == "True");
    CHECK(status->at("spec").at("clientID").as_string() == "client-2");  // /status ignores spec

    auto applied = run_async(
        io, client->patch(kind, ns, "web", watch::PatchType::apply,
                          json::parse(R"({"apiVersion":"aadpodidentity.k8s.io/v1","kind":"AzureIdentity",)"
                                      R"("metadata":{"name":"web"},"spec":{"adResourceID":"api://x"}})"),
                          watch::PatchOptions{"", "podid-test", true}));
    REQUIRE(applied.has_value());
    CHECK(applied->at("spec").at("adResourceID").as_string() == "api://x");

    REQUIRE(run_async(io, client->remove(kind, ns, "web", {})).has_value());
    auto gone = run_async(io, client->get(kind, ns, "web"));
    REQUIRE_FALSE(gone.has_value());
    CHECK(gone.error().code == ErrorCode::not_found);
  }
}

TEST_CASE("The other three custom resource kinds are served at their paths", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("kinds");
  boost::asio::io_context io;
  auto client = admin_client(io, *cp);
  for (const auto* kind : {&kinds::azure_identity_bindings(), &kinds::azure_assigned_identities(),
                           &kinds::azure_pod_identity_exceptions()}) {
    auto listed = run_async(io, client->list(*kind, ns, {}));
    INFO(kind->plural);
    REQUIRE(listed.has_value());
    CHECK(listed->items.empty());
  }
}
