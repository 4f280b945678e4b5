// Start-up migrations against the real kube-apiserver and the emulator: a started controller rewrites
// objects stored with pre-1.6.0 keys (recording each rewrite) before it executes anything, then assigns
// normally; a second start finds the marker and does nothing; a failing migration keeps the leader from
// executing, says why on /readyz and is retried.
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "integration/controller/startup_env.hpp"
#include "store/event_log.hpp"
#include "support/control_plane_catch.hpp"

namespace cli = podid::cli;
namespace core = podid::core;
namespace emu = podid::emulator;
namespace json = boost::json;
namespace kinds = podid::watch::kinds;
namespace store = podid::store;
namespace t = podid::testing;

using namespace std::chrono_literals;

namespace {

// A type-0 identity and its binding as a pre-1.6.0 cluster stored them (our CRDs keep the keys readable).
json::object legacy_msi(const std::string& name, const std::string& resource_id,
                        const std::string& client_id) {
  return json::object{{"apiVersion", "aadpodidentity.k8s.io/v1"},
                      {"kind", "AzureIdentity"},
                      {"metadata", {{"name", name}}},
                      {"spec", {{"type", 0}, {"ClientID", client_id}, {"ResourceID", resource_id}}}};
}
json::object legacy_binding(const std::string& name, const std::string& identity,
                            const std::string& selector) {
  return json::object{{"apiVersion", "aadpodidentity.k8s.io/v1"},
                      {"kind", "AzureIdentityBinding"},
                      {"metadata", {{"name", name}}},
                      {"spec", {{"AzureIdentity", identity}, {"Selector", selector}}}};
}

struct Seen {
  std::vector<std::pair<std::string, std::string>> migrations;  // (object kind, object) per rewrite
  store::Seq last_migration{0};
  store::Seq first_action{0};  // the first ARM operation or AzureAssignedIdentity write
};

Seen scan(const store::EventStore& s) {
  Seen out;
  for (const auto& r : s.read(0, 100000).value()) {
    auto e = store::from_record(r).value();
    if (const auto* m = std::get_if<core::MigrationApplied>(&e)) {
      if (!m->object_kind.empty()) out.migrations.emplace_back(m->object_kind, m->object);
      out.last_migration = r.seq;
    }
    const bool action = std::holds_alternative<core::ArmOperationStarted>(e) ||
                        std::holds_alternative<core::AssignedIdentityWritten>(e);
    if (action && out.first_action == 0) out.first_action = r.seq;
  }
  return out;
}

cli::ControllerOptions migrating(const std::string& ns) {
  auto o = t::controller_options(ns);
  cli::MigrateOptions m;
  m.config_namespace = ns;  // the marker per test
  m.marker_value = "podid test";
  o.migrate = m;
  return o;
}

std::string spec_key(const json::value& v, const char* key) {
  const auto* spec = v.is_object() ? v.as_object().if_contains("spec") : nullptr;
  const auto* k = spec != nullptr ? spec->as_object().if_contains(key) : nullptr;
  return k != nullptr && k->is_string() ? std::string(k->as_string()) : std::string{};
}

}  // namespace

TEST_CASE(
    "A started controller migrates objects with pre-1.6.0 keys before it executes, then assigns them; a "
    "second start does nothing",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  t::StartupScenario s(*cp);
  const auto demo = s.emulator.identity(emu::testing::identity_id("demo"));
  REQUIRE(demo);
  s.create(kinds::azure_identities(), s.ns, legacy_msi("demo", demo->id, demo->client_id));
  s.create(kinds::azure_identity_bindings(), s.ns, legacy_binding("demo-binding", "demo", "demo"));
  s.create_pod("web", "demo", "10.1.0.5");

  std::int64_t generation = 0;  // spec writes only: the Ready condition goes through the status subresource
  {
    t::RunningController replica(s.io, s.cp, s.emulator, migrating(s.ns));
    REQUIRE(t::run_until(
        s.io, [&] { return s.assigned(replica.controller, "web", "demo"); }, 60s));
    CHECK(s.scale_set_has(demo->id));
    CHECK(replica.controller.counters().migration_runs == 1);
    CHECK(replica.controller.counters().migration_failures == 0);
    CHECK(t::probe(replica.controller, "/healthz").body == "Active");
    CHECK(t::probe(replica.controller, "/readyz").status == 200);

    const auto identity = t::get_json(*cp, s.path("azureidentities", "demo"));
    CHECK(spec_key(identity, "clientID") == demo->client_id);
    CHECK(spec_key(identity, "resourceID") == demo->id);
    CHECK(spec_key(identity, "ResourceID").empty());
    CHECK(spec_key(t::get_json(*cp, s.path("azureidentitybindings", "demo-binding")), "azureIdentity") ==
          "demo");
    generation = identity.at("metadata").at("generation").as_int64();

    // Each rewrite is in the log, and all of them come before the first action.
    const auto seen = scan(*replica.store);
    const std::pair<std::string, std::string> id{"AzureIdentity", s.ns + "/demo"};
    const std::pair<std::string, std::string> binding{"AzureIdentityBinding", s.ns + "/demo-binding"};
    CHECK(std::count(seen.migrations.begin(), seen.migrations.end(), id) == 1);
    CHECK(std::count(seen.migrations.begin(), seen.migrations.end(), binding) == 1);
    REQUIRE(seen.first_action != 0);
    CHECK(seen.last_migration < seen.first_action);
    const auto marker =
        t::get_json(*cp, "/api/v1/namespaces/" + s.ns + "/configmaps/aad-pod-identity-config");
    CHECK(marker.at("data").at("type-upgrade-status").as_string() == "podid test");
  }

  // A second start (a new replica with an empty log): the marker says done; nothing is rewritten.
  t::RunningController again(s.io, s.cp, s.emulator, migrating(s.ns));
  REQUIRE(t::run_until(
      s.io, [&] { return again.controller.executing(); }, 60s));
  CHECK(again.controller.counters().migration_runs == 1);
  CHECK(scan(*again.store).migrations.empty());
  CHECK(scan(*again.store).last_migration == 0);
  const auto identity = t::get_json(*cp, s.path("azureidentities", "demo"));
  CHECK(identity.at("metadata").at("generation").as_int64() == generation);
}

TEST_CASE(
    "A failing start-up migration keeps the leader from executing, is reported on /readyz and is retried",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  t::StartupScenario s(*cp);
  const auto demo = s.emulator.identity(emu::testing::identity_id("demo"));
  REQUIRE(demo);
  s.create(kinds::azure_identities(), s.ns, t::msi_identity("demo", demo->id, demo->client_id));
  s.create(kinds::azure_identity_bindings(), s.ns, t::binding("demo-binding", "demo", "demo"));
  s.create(kinds::azure_identity_bindings(), s.ns, legacy_binding("old-binding", "nothing", "nothing"));
  s.create_pod("web", "demo", "10.1.0.6");

  // Someone else writes the legacy binding just before each of our first two PUTs: with one attempt per
  // object, each of those runs fails (409) and writes no marker.
  auto options = migrating(s.ns);
  options.migrate->max_attempts = 1;
  int interfered = 0;
  options.migrate->before_write = [&](std::string_view, const json::object& o) {
    if (interfered >= 2 || o.at("metadata").at("name").as_string() != "old-binding") return;
    ++interfered;
    const auto reply =
        cp->request("PATCH", s.path("azureidentitybindings", "old-binding"),
                    R"({"metadata":{"labels":{"touched":")" + std::to_string(interfered) + R"("}}})",
                    "application/merge-patch+json");
    REQUIRE(reply.status == 200);
  };
  t::RunningController replica(s.io, s.cp, s.emulator, options);
  REQUIRE(t::run_until(
      s.io, [&] { return replica.controller.counters().migration_failures >= 1; }, 60s));
  CHECK(replica.controller.leading());
  CHECK_FALSE(replica.controller.executing());
  const auto ready = t::probe(replica.controller, "/readyz");
  CHECK(ready.status == 503);
  CHECK(ready.body.find("migration failed") != std::string::npos);
  CHECK(ready.body.find("old-binding") != std::string::npos);
  CHECK(t::probe(replica.controller, "/healthz").status == 200);
  CHECK(t::probe(replica.controller, "/healthz").body == "Not Active");
  CHECK(replica.controller.counters().plans == 0);
  CHECK(replica.controller.writer().counters().created == 0);
  CHECK(replica.controller.actuator().counters().started == 0);
  CHECK(t::get_json(*cp, "/api/v1/namespaces/" + s.ns + "/configmaps/aad-pod-identity-config").is_null());

  // The third run goes through; then the controller executes as usual.
  REQUIRE(t::run_until(
      s.io, [&] { return s.assigned(replica.controller, "web", "demo"); }, 60s));
  CHECK(replica.controller.counters().migration_failures == 2);
  CHECK(replica.controller.counters().migration_runs == 3);
  CHECK(replica.controller.startup_problem().empty());
  CHECK(t::probe(replica.controller, "/readyz").status == 200);
  CHECK(spec_key(t::get_json(*cp, s.path("azureidentitybindings", "old-binding")), "azureIdentity") ==
        "nothing");
}
