// node_snapshot(): what one node gets from the control plane's state, and the JSON codec.
#include "nodeproxy/node_snapshot.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "core/event_codec.hpp"
#include "core/k8s_objects.hpp"

using namespace podid;
using namespace podid::nodeproxy;
using core::Phase;

namespace {

const std::string kRid =
    "/subscriptions/s/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/";

core::Pod make_pod(const std::string& ns, const std::string& name, const std::string& node,
                   const std::string& ip, core::Labels labels = {{"aadpodidbinding", "sel"}}) {
  core::Pod p;
  p.key = {ns, name};
  p.node = node;
  p.ip = ip;
  p.phase = "Running";
  p.labels = std::move(labels);
  return p;
}

core::AzureIdentity make_identity(const std::string& ns, const std::string& name, const std::string& client,
                                  core::IdentityType type = core::IdentityType::user_assigned_msi) {
  core::AzureIdentity id;
  id.key = {ns, name};
  id.type = type;
  id.raw_type = static_cast<std::int64_t>(type);
  id.client_id = client;
  id.resource_id = type == core::IdentityType::user_assigned_msi ? kRid + name : "";
  if (type == core::IdentityType::service_principal) {
    id.tenant_id = "t-1";
    id.secret_ref = {"sp-secret", ns};
  }
  return id;
}

void assign(core::State& s, const core::PodKey& pod, const core::IdentityKey& id, Phase phase,
            std::string reason = {}) {
  core::Assignment a;
  a.pod = pod;
  a.identity = id;
  a.binding = {id.ns, "b-" + id.name};
  a.client_id = s.identities.at(id).client_id;
  a.phase = phase;
  a.reason = std::move(reason);
  s.assignments[{pod, id}] = a;
}

core::State two_nodes() {
  core::State s;
  s.last_seq = 42;
  for (auto p : {make_pod("web", "a", "node-0", "10.0.0.5"), make_pod("web", "b", "node-0", "10.0.0.6"),
                 make_pod("jobs", "c", "node-1", "10.0.1.5")})
    s.pods[p.key] = p;
  for (auto id : {make_identity("web", "id-z", "cz"), make_identity("web", "id-a", "ca"),
                  make_identity("web", "sp", "csp", core::IdentityType::service_principal),
                  make_identity("web", "gone", "cg"), make_identity("jobs", "id-j", "cj")})
    s.identities[id.key] = id;
  assign(s, {"web", "a"}, {"web", "id-z"}, Phase::assigned);
  assign(s, {"web", "a"}, {"web", "id-a"}, Phase::created);
  assign(s, {"web", "a"}, {"web", "sp"}, Phase::quarantined, "secret missing");
  assign(s, {"web", "a"}, {"web", "gone"}, Phase::unassigned);
  assign(s, {"jobs", "c"}, {"jobs", "id-j"}, Phase::assigned);
  core::AssignedIdentity old;  // from a pre-1.5 controller: no status, no assignment
  old.key = {"default", "b-web-id-a"};
  old.pod = {"web", "b"};
  old.identity = {"web", "id-a"};
  old.node = "node-0";
  s.assigned[old.key] = old;
  s.exceptions[{"web", "ex"}] = {{"web", "ex"}, {{"app", "dns"}}, "7"};
  s.exceptions[{"other", "ex"}] = {{"other", "ex"}, {{"app", "x"}}, "8"};
  core::Node node;
  node.name = "node-0";
  node.vm = core::VmRef{core::VmKind::vm, "s", "nodes", "vm-0", ""};
  s.nodes["node-0"] = node;
  s.targets[core::target_of(*node.vm)].present[core::to_lower(kRid + "id-z")] = {kRid + "id-z", "cz", "pz"};
  core::rebuild_indexes(s);
  return s;
}

}  // namespace

TEST_CASE("A node's snapshot holds its own pods with the identities they may use", "[unit]") {
  const auto snap = node_snapshot(two_nodes(), "node-0");
  CHECK(snap.node == "node-0");
  CHECK(snap.seq == 42);
  REQUIRE(snap.pods.size() == 2);
  const auto& a = snap.pods[0];
  CHECK(a.key == core::PodKey{"web", "a"});
  CHECK(a.ip == "10.0.0.5");
  CHECK(a.phase == "Running");
  CHECK(a.labels.at("aadpodidbinding") == "sel");
  REQUIRE(a.identities.size() == 3);  // the Unassigned one is left out; (namespace, name) order
  CHECK(a.identities[0].key.name == "id-a");
  CHECK(a.identities[0].phase == Phase::created);
  CHECK(a.identities[1].key.name == "id-z");
  CHECK(a.identities[1].phase == Phase::assigned);
  CHECK(a.identities[1].principal_id == "pz");
  CHECK(a.identities[1].resource_id == kRid + "id-z");
  CHECK(a.identities[2].key.name == "sp");
  CHECK(a.identities[2].type == core::IdentityType::service_principal);
  CHECK(a.identities[2].phase == Phase::quarantined);
  CHECK(a.identities[2].reason == "secret missing");
  CHECK(a.identities[2].tenant_id == "t-1");
  CHECK(a.identities[2].secret_ref == core::SecretRef{"sp-secret", "web"});
  const auto& b = snap.pods[1];
  REQUIRE(b.identities.size() == 1);
  CHECK(b.identities[0].key.name == "id-a");
  CHECK_FALSE(b.identities[0].phase.has_value());  // empty status: served like Assigned
  REQUIRE(snap.exceptions.size() == 1);            // only the namespaces of the node's pods
  CHECK(snap.exceptions[0].key == core::ExceptionKey{"web", "ex"});

  const auto other = node_snapshot(two_nodes(), "node-1");
  REQUIRE(other.pods.size() == 1);
  CHECK(other.pods[0].key.name == "c");
  CHECK(other.exceptions.empty());
  CHECK(node_snapshot(two_nodes(), "node-9").pods.empty());
}

TEST_CASE("In managed mode pods may use the identities their bindings select", "[unit]") {
  core::State s = two_nodes();
  s.settings.mode = core::Mode::managed;
  s.assignments.clear();
  core::AzureIdentityBinding binding;
  binding.key = {"web", "bind"};
  binding.identity_name = "id-z";
  binding.selector = "sel";
  s.bindings[binding.key] = binding;
  core::rebuild_indexes(s);
  const auto snap = node_snapshot(s, "node-0");
  CHECK(snap.mode == core::Mode::managed);
  REQUIRE(snap.pods.size() == 2);
  for (const auto& p : snap.pods) {
    REQUIRE(p.identities.size() == 1);
    CHECK(p.identities[0].key == core::IdentityKey{"web", "id-z"});
    CHECK(p.identities[0].phase == Phase::assigned);
  }
}

TEST_CASE("Exceptions match a label key exactly and its value in any case", "[unit]") {
  auto snap = node_snapshot(two_nodes(), "node-0");
  auto pod = snap.pods[0];
  CHECK_FALSE(is_excepted(snap, pod));
  pod.labels["app"] = "DNS";
  CHECK(is_excepted(snap, pod));
  pod.labels.erase("app");
  pod.labels["App"] = "dns";
  CHECK_FALSE(is_excepted(snap, pod));
}

TEST_CASE("Snapshots survive a JSON round trip and bad JSON is corrupt", "[unit]") {
  auto snap = node_snapshot(two_nodes(), "node-0");
  snap.mode = core::Mode::managed;
  const auto text = encode_snapshot(snap);
  const auto back = decode_snapshot(text);
  REQUIRE(back.has_value());
  CHECK(*back == snap);
  CHECK(decode_snapshot("{").error().code == core::ErrorCode::corrupt);
  const auto bad_phase = decode_snapshot(
      R"({"node":"n","seq":1,"mode":"standard","pods":[{"namespace":"a","name":"b","ip":"1.2.3.4",
          "identities":[{"namespace":"a","name":"i","type":0,"phase":"Sideways"}]}],"exceptions":[]})");
  REQUIRE_FALSE(bad_phase.has_value());
  CHECK(bad_phase.error().code == core::ErrorCode::corrupt);
  CHECK(bad_phase.error().message.find("phase") != std::string::npos);
  CHECK_FALSE(decode_snapshot(R"({"node":"n","seq":1,"mode":"other"})").has_value());
}

TEST_CASE("auxiliaryTenantIDs travel from the AzureIdentity to the snapshot and back; absent is empty",
          "[unit]") {
  core::State s = two_nodes();
  s.identities.at({"web", "sp"}).auxiliary_tenant_ids = {"aux-1", "aux-2"};
  const auto snap = node_snapshot(s, "node-0");
  CHECK(snap.pods[0].identities[2].auxiliary_tenant_ids == std::vector<std::string>{"aux-1", "aux-2"});
  CHECK(snap.pods[0].identities[0].auxiliary_tenant_ids.empty());
  const auto text = encode_snapshot(snap);
  CHECK(text.find(R"("auxiliaryTenantIDs":["aux-1","aux-2"])") != std::string::npos);
  const auto back = decode_snapshot(text);
  REQUIRE(back.has_value());
  CHECK(*back == snap);
  // Written only when set: a snapshot without any reads the same in an older node proxy.
  CHECK(encode_snapshot(node_snapshot(two_nodes(), "node-0")).find("auxiliaryTenantIDs") ==
        std::string::npos);
  const auto old = decode_snapshot(
      R"({"node":"n","seq":1,"mode":"standard","pods":[{"namespace":"a","name":"b","ip":"1.2.3.4",
          "identities":[{"namespace":"a","name":"i","type":1,"tenantID":"t"}]}],"exceptions":[]})");
  REQUIRE(old.has_value());
  CHECK(old->pods[0].identities[0].auxiliary_tenant_ids.empty());
  const auto wrong = decode_snapshot(
      R"({"node":"n","seq":1,"mode":"standard","pods":[{"namespace":"a","name":"b","ip":"1.2.3.4",
          "identities":[{"namespace":"a","name":"i","type":1,"auxiliaryTenantIDs":"t"}]}],"exceptions":[]})");
  REQUIRE_FALSE(wrong.has_value());
  CHECK(wrong.error().code == core::ErrorCode::corrupt);
}

TEST_CASE("auxiliaryTenantIDs are read from the AzureIdentity and kept by its event; old events have none",
          "[unit]") {
  const auto id = core::decode_identity(boost::json::parse(
      R"({"apiVersion":"aadpodidentity.k8s.io/v1","kind":"AzureIdentity",
          "metadata":{"namespace":"web","name":"sp","resourceVersion":"5"},
          "spec":{"type":1,"clientID":"c","tenantID":"t","auxiliaryTenantIDs":["aux-1","aux-2"],
                  "clientPassword":{"name":"s","namespace":"web"}}})"));
  REQUIRE(id.has_value());
  CHECK(id->auxiliary_tenant_ids == std::vector<std::string>{"aux-1", "aux-2"});

  core::IdentityObserved observed;
  observed.identity = *id;
  const auto line = core::encode_line(observed);
  const auto back = core::decode_line(line);
  REQUIRE(back.has_value());
  CHECK(std::get<core::IdentityObserved>(*back).identity == *id);

  // An event written before the field existed (no key) decodes with an empty list, and an identity
  // without auxiliary tenants is written exactly as before.
  observed.identity.auxiliary_tenant_ids.clear();
  const auto plain = core::encode_line(observed);
  CHECK(plain.find("auxiliaryTenantIDs") == std::string::npos);
  const auto old = core::decode_line(plain);
  REQUIRE(old.has_value());
  CHECK(std::get<core::IdentityObserved>(*old).identity.auxiliary_tenant_ids.empty());
}
