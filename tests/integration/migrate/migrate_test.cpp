// `podidctl migrate` (run in-process) against the real kube-apiserver: legacy-cased objects become
// canonical, a dry run changes nothing, an interrupted run finishes on the next one, conflicts are re-read,
// a bad object is reported without stopping the rest, and the marker is written last and only then.
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include "cli/migrate_support.hpp"
#include "integration/migrate/migrate_env.hpp"
#include "store/memory_event_store.hpp"
#include "support/control_plane_catch.hpp"

namespace asio = boost::asio;
namespace cli = podid::cli;
namespace core = podid::core;
namespace json = boost::json;
namespace kinds = podid::watch::kinds;
namespace store = podid::store;
namespace t = podid::testing;
namespace watch = podid::watch;
using cli::MigrateOutcome;

namespace {

json::object get(asio::io_context& io, watch::KubeClient& client, const watch::ResourceKind& kind,
                 const std::string& ns, const std::string& name) {
  auto got = t::run_async(io, client.get(kind, ns, name));
  if (!got) FAIL(got.error().describe());
  return *got;
}

void create(asio::io_context& io, watch::KubeClient& client, const watch::ResourceKind& kind,
            const std::string& ns, json::object object) {
  auto created = t::run_async(io, client.create(kind, ns, std::move(object)));
  if (!created) FAIL(created.error().describe());
}

bool has_marker(asio::io_context& io, watch::KubeClient& client, const std::string& ns) {
  auto cm = t::run_async(io, client.get(kinds::config_maps(), ns, std::string(cli::kConfigMapName)));
  if (!cm) return false;
  const auto* data = cm->if_contains("data");
  return data != nullptr && data->is_object() && data->get_object().contains(cli::kStatusKey);
}

// The MigrationApplied events of the log, as (object kind, object), in log order.
std::vector<std::pair<std::string, std::string>> migration_events(const store::EventStore& s) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : s.read(0, 100000).value()) {
    auto e = store::from_record(r).value();
    if (const auto* m = std::get_if<core::MigrationApplied>(&e)) out.emplace_back(m->object_kind, m->object);
  }
  return out;
}

std::string str(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

cli::MigrateOptions options_for(const std::string& ns) {
  cli::MigrateOptions options;
  options.config_namespace = ns;
  options.marker_value = "podid test";
  return options;
}

}  // namespace

TEST_CASE(
    "Objects stored with pre-1.6.0 keys are rewritten with the canonical keys, each rewrite is "
    "recorded, the marker is written last, and a second run says already migrated",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("migrate-all");
  asio::io_context io;
  auto client = t::admin_client(io, *cp);
  create(io, *client, kinds::azure_identities(), ns, t::legacy_identity("id1", t::arm_id("id1")));
  create(io, *client, kinds::azure_identity_bindings(), ns, t::legacy_binding("b1", "id1"));
  create(io, *client, kinds::azure_pod_identity_exceptions(), ns, t::legacy_exception("ex1"));
  create(io, *client, kinds::azure_assigned_identities(), ns, t::legacy_assigned("aai1", ns));
  // Stored as an old cluster stored them: the API server serves the legacy keys back.
  CHECK(t::spec_of(get(io, *client, kinds::azure_identities(), ns, "id1")).contains("ClientID"));
  CHECK(
      t::spec_of(get(io, *client, kinds::azure_assigned_identities(), ns, "aai1")).contains("podnamespace"));

  store::MemoryEventStore events;
  store::EventLog log(events);
  core::FakeClock clock(7'000);
  auto run = t::migrate(io, *client, &log, clock, options_for(ns));
  REQUIRE(run.result.has_value());
  INFO(run.output);
  CHECK(run.result->outcome == MigrateOutcome::migrated);
  CHECK(cli::exit_code(*run.result) == 0);
  CHECK(run.result->failures.empty());
  CHECK(run.result->rewritten >= 4);

  const auto id = t::spec_of(get(io, *client, kinds::azure_identities(), ns, "id1"));
  CHECK(str(id.at("clientID")) == "client-id1");
  CHECK(str(id.at("resourceID")) == t::arm_id("id1"));
  CHECK(str(id.at("tenantID")) == "tenant-1");
  CHECK(str(id.at("clientPassword").at("name")) == "secret-id1");
  for (const auto* legacy : {"ClientID", "ResourceID", "TenantID", "ClientPassword"})
    CHECK_FALSE(id.contains(legacy));
  const auto b = t::spec_of(get(io, *client, kinds::azure_identity_bindings(), ns, "b1"));
  CHECK(str(b.at("azureIdentity")) == "id1");
  CHECK(str(b.at("selector")) == "sel-b1");
  CHECK_FALSE(b.contains("AzureIdentity"));
  CHECK_FALSE(b.contains("Selector"));
  const auto ex = t::spec_of(get(io, *client, kinds::azure_pod_identity_exceptions(), ns, "ex1"));
  CHECK(str(ex.at("podLabels").at("app")) == "mic");
  CHECK_FALSE(ex.contains("PodLabels"));
  const auto aai = t::spec_of(get(io, *client, kinds::azure_assigned_identities(), ns, "aai1"));
  CHECK(str(aai.at("podNamespace")) == ns);
  CHECK_FALSE(aai.contains("podnamespace"));
  CHECK_FALSE(aai.contains("azureidentityref"));
  CHECK_FALSE(aai.contains("azurebindingref"));
  CHECK(str(aai.at("azureIdentityRef").at("spec").at("clientID")) == "client-id1");
  CHECK(str(aai.at("azureIdentityRef").at("spec").at("resourceID")) == t::arm_id("id1"));
  CHECK_FALSE(aai.at("azureIdentityRef").at("spec").as_object().contains("clientid"));
  CHECK(str(aai.at("azureBindingRef").at("spec").at("azureIdentity")) == "id1");
  CHECK(run.output.find("rewrote AzureIdentity " + ns +
                        "/id1 (m0001_crd_field_case): spec.ClientID -> "
                        "spec.clientID") != std::string::npos);

  // Every rewrite is an event; the marker's events come last, after every object's.
  const auto recorded = migration_events(events);
  REQUIRE(!recorded.empty());
  CHECK(recorded.back() == std::make_pair(std::string(), ns + "/" + std::string(cli::kConfigMapName)));
  for (const auto& [kind, object] : {std::pair<std::string, std::string>{"AzureIdentity", ns + "/id1"},
                                     {"AzureIdentityBinding", ns + "/b1"},
                                     {"AzurePodIdentityException", ns + "/ex1"},
                                     {"AzureAssignedIdentity", ns + "/aai1"}})
    CHECK(std::count(recorded.begin(), recorded.end(), std::make_pair(kind, object)) == 1);
  CHECK(has_marker(io, *client, ns));
  CHECK(static_cast<std::size_t>(log.rebuild()->state.migrations.at("m0001_crd_field_case")) ==
        run.result->rewritten);

  const auto rv = watch::resource_version_of(get(io, *client, kinds::azure_identities(), ns, "id1"));
  auto again = t::migrate(io, *client, &log, clock, options_for(ns));
  REQUIRE(again.result.has_value());
  CHECK(again.result->outcome == MigrateOutcome::already_migrated);
  CHECK(again.output.find("already migrated") != std::string::npos);
  CHECK(watch::resource_version_of(get(io, *client, kinds::azure_identities(), ns, "id1")) == rv);
  CHECK(migration_events(events).size() == recorded.size());
}

TEST_CASE("A dry run prints each rewrite with the keys renamed and writes nothing", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("migrate-dry");
  asio::io_context io;
  auto client = t::admin_client(io, *cp);
  create(io, *client, kinds::azure_identities(), ns, t::legacy_identity("id1", t::arm_id("id1")));
  create(io, *client, kinds::azure_identity_bindings(), ns, t::legacy_binding("b1", "id1"));
  const auto rv_id = watch::resource_version_of(get(io, *client, kinds::azure_identities(), ns, "id1"));
  const auto rv_b = watch::resource_version_of(get(io, *client, kinds::azure_identity_bindings(), ns, "b1"));

  store::MemoryEventStore events;
  store::EventLog log(events);
  core::FakeClock clock;
  auto options = options_for(ns);
  options.dry_run = true;
  auto run = t::migrate(io, *client, &log, clock, options);
  REQUIRE(run.result.has_value());
  INFO(run.output);
  CHECK(run.result->outcome == MigrateOutcome::dry_run);
  CHECK(run.output.find("would rewrite AzureIdentity " + ns + "/id1 (m0001_crd_field_case): ") !=
        std::string::npos);
  CHECK(run.output.find("spec.ResourceID -> spec.resourceID") != std::string::npos);
  CHECK(run.output.find("would rewrite AzureIdentityBinding " + ns + "/b1") != std::string::npos);
  CHECK(run.output.find("spec.Selector -> spec.selector") != std::string::npos);
  CHECK(run.output.find("nothing was written") != std::string::npos);
  CHECK(watch::resource_version_of(get(io, *client, kinds::azure_identities(), ns, "id1")) == rv_id);
  CHECK(watch::resource_version_of(get(io, *client, kinds::azure_identity_bindings(), ns, "b1")) == rv_b);
  CHECK(t::spec_of(get(io, *client, kinds::azure_identities(), ns, "id1")).contains("ClientID"));
  CHECK_FALSE(has_marker(io, *client, ns));
  CHECK(events.last_seq() == 0);

  // Leave nothing legacy behind for the other tests of this binary.
  REQUIRE(t::migrate(io, *client, nullptr, clock, options_for(ns)).result->outcome ==
          MigrateOutcome::migrated);
}

TEST_CASE(
    "An interrupted migration finishes on the next run with nothing lost or repeated, and the marker "
    "appears only at the end",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("migrate-interrupt");
  asio::io_context io;
  auto client = t::admin_client(io, *cp);
  const std::vector<std::string> names{"id1", "id2", "id3", "id4", "id5"};
  for (const auto& n : names)
    create(io, *client, kinds::azure_identities(), ns, t::legacy_identity(n, t::arm_id(n)));
  create(io, *client, kinds::azure_identity_bindings(), ns, t::legacy_binding("b1", "id1"));
  const auto canonical = [&] {
    std::size_t n = 0;
    for (const auto& name : names)
      n += t::spec_of(get(io, *client, kinds::azure_identities(), ns, name)).contains("clientID") ? 1U : 0U;
    n += t::spec_of(get(io, *client, kinds::azure_identity_bindings(), ns, "b1")).contains("selector") ? 1U
                                                                                                       : 0U;
    return n;
  };

  store::MemoryEventStore events;
  store::EventLog log(events);
  core::FakeClock clock;
  auto options = options_for(ns);
  options.stop_after_writes = 2;
  auto first = t::migrate(io, *client, &log, clock, options);
  REQUIRE(first.result.has_value());
  INFO(first.output);
  CHECK(first.result->outcome == MigrateOutcome::interrupted);
  CHECK(cli::exit_code(*first.result) == 3);
  CHECK(first.output.find("run podidctl migrate again") != std::string::npos);
  CHECK(canonical() == 2);
  CHECK(migration_events(events).size() == 2);
  CHECK_FALSE(has_marker(io, *client, ns));

  auto second = t::migrate(io, *client, &log, clock, options_for(ns));
  REQUIRE(second.result.has_value());
  INFO(second.output);
  CHECK(second.result->outcome == MigrateOutcome::migrated);
  CHECK(canonical() == names.size() + 1);
  CHECK(has_marker(io, *client, ns));
  auto recorded = migration_events(events);
  REQUIRE(recorded.size() == names.size() + 1 + 1);  // each object once, then the marker
  std::sort(recorded.begin(), recorded.end());
  CHECK(std::adjacent_find(recorded.begin(), recorded.end()) == recorded.end());
}

TEST_CASE(
    "A conflict is re-read and retried; an object the server rejects is reported, the rest are "
    "migrated, and no marker is written",
    "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("migrate-bad");
  asio::io_context io;
  auto client = t::admin_client(io, *cp);
  // Type 0 with an invalid resource ID under the legacy key: once it moves to resourceID the CRD's CEL rule
  // rejects the write.
  auto bad = t::legacy_identity("bad", "not-an-arm-id");
  bad["spec"].as_object()["type"] = 0;
  create(io, *client, kinds::azure_identities(), ns, bad);
  create(io, *client, kinds::azure_identities(), ns, t::legacy_identity("contended", t::arm_id("c")));
  create(io, *client, kinds::azure_identities(), ns, t::legacy_identity("fine", t::arm_id("f")));

  int interfered = 0;
  auto options = options_for(ns);
  options.before_write = [&](std::string_view, const json::object& object) {
    if (str(object.at("metadata").at("name")) != "contended" || interfered++ > 0) return;
    const auto reply =
        cp->request("PATCH", "/apis/aadpodidentity.k8s.io/v1/namespaces/" + ns + "/azureidentities/contended",
                    R"({"metadata":{"labels":{"touched":"yes"}}})", "application/merge-patch+json");
    REQUIRE(reply.status == 200);
  };
  core::FakeClock clock;
  auto run = t::migrate(io, *client, nullptr, clock, options);
  REQUIRE(run.result.has_value());
  INFO(run.output);
  CHECK(run.result->outcome == MigrateOutcome::failed);
  CHECK(cli::exit_code(*run.result) == 1);
  REQUIRE(run.result->failures.size() == 1);
  CHECK(run.result->failures.front().find("AzureIdentity " + ns + "/bad") == 0);
  CHECK(run.result->conflicts == 1);
  CHECK(interfered == 2);
  const auto contended = get(io, *client, kinds::azure_identities(), ns, "contended");
  CHECK(str(t::spec_of(contended).at("clientID")) == "client-contended");
  CHECK(str(contended.at("metadata").at("labels").at("touched")) ==
        "yes");  // the re-read kept the other write
  CHECK(t::spec_of(get(io, *client, kinds::azure_identities(), ns, "fine")).contains("clientID"));
  CHECK(t::spec_of(get(io, *client, kinds::azure_identities(), ns, "bad")).contains("ResourceID"));
  CHECK_FALSE(has_marker(io, *client, ns));
  CHECK(run.output.find("the marker type-upgrade-status was not written") != std::string::npos);

  watch::DeleteOptions now;
  REQUIRE(t::run_async(io, client->remove(kinds::azure_identities(), ns, "bad", now)).has_value());
}

TEST_CASE("The CRDs we ship keep every legacy key readable; a CRD that would prune them is named",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  asio::io_context io;
  auto client = t::admin_client(io, *cp);
  const watch::ResourceKind crds{"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                 "CustomResourceDefinition", false};
  for (const auto& kind : cli::migrated_kinds()) {
    auto crd = get(io, *client, crds, "", kind.crd_name);
    CHECK_FALSE(cli::legacy_keys_problem(crd, kind).has_value());
    // The same CRD without the legacy declarations, as upstream's strict schema is.
    auto& props = crd["spec"]
                      .as_object()["versions"]
                      .as_array()[0]
                      .as_object()["schema"]
                      .as_object()["openAPIV3Schema"]
                      .as_object()["properties"]
                      .as_object()["spec"]
                      .as_object()["properties"]
                      .as_object();
    for (const auto key : kind.legacy_keys) props.erase(key);
    const auto problem = cli::legacy_keys_problem(crd, kind);
    REQUIRE(problem.has_value());
    CHECK(problem->find(std::string(kind.legacy_keys.front())) != std::string::npos);
  }
}
