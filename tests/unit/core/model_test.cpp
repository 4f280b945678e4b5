#include "core/model.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "core/k8s_objects.hpp"

using namespace podid::core;

TEST_CASE("Identity resource IDs are validated case-insensitively", "[unit]") {
  auto [id, valid] = GENERATE(table<std::string, bool>({
      {"/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id",
       true},
      {"/SUBSCRIPTIONS/s/resourceGroups/rg/providers/microsoft.managedidentity/USERASSIGNEDIDENTITIES/id",
       true},
      {"", false},
      {"/subscriptions//resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id",
       false},
      {"/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/",
       false},
      {"/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/other/id", false},
      {"/subscriptions/s/resourcegroups/rg/providers/Microsoft.Compute/userAssignedIdentities/id", false},
      {"subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id",
       false},
      {"/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id/x",
       false},
  }));
  CAPTURE(id);
  CHECK(is_valid_identity_resource_id(id) == valid);
}

TEST_CASE("Azure provider IDs parse into a VM or a scale-set instance", "[unit]") {
  auto vm = parse_provider_id(
      "azure:///subscriptions/S1/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/n0");
  REQUIRE(vm.has_value());
  CHECK(*vm == VmRef{VmKind::vm, "S1", "RG", "n0", ""});
  CHECK(target_of(*vm).to_string() == "vm/s1/rg/n0");

  auto ss = parse_provider_id(
      "azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/pool/"
      "virtualMachines/3");
  REQUIRE(ss.has_value());
  CHECK(*ss == VmRef{VmKind::vmss, "s", "rg", "pool", "3"});
  CHECK(target_of(*ss).to_string() == "vmss/s/rg/pool");
  CHECK(target_of(*ss).arm_id() ==
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/pool");

  auto bad = GENERATE(as<std::string>{}, "", "kind://node", "azure:///subscriptions/s/resourceGroups/rg",
                      "azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d",
                      "azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/"
                      "virtualMachineScaleSets/pool/virtualMachines/");
  CAPTURE(bad);
  auto r = parse_provider_id(bad);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::invalid);
}

TEST_CASE("An ARM target round-trips through its subject string", "[unit]") {
  ArmTarget t{VmKind::vmss, "s", "rg", "pool"};
  auto back = parse_target(t.to_string());
  REQUIRE(back.has_value());
  CHECK(*back == t);
  CHECK_FALSE(parse_target("disk/s/rg/x").has_value());
}

TEST_CASE("Assigned identity names differ for same-named identities in two namespaces", "[unit]") {
  const PodKey pod{"apps", "web"};
  const auto a = assigned_identity_name(pod, {"team-a", "reader"});
  const auto b = assigned_identity_name(pod, {"team-b", "reader"});
  CHECK(a != b);
  CHECK(a.rfind("web-apps-reader-", 0) == 0);
  CHECK(a == assigned_identity_name(pod, {"team-a", "reader"}));
  const auto long_name = assigned_identity_name({std::string(200, 'p'), "ns"}, {"ns", std::string(200, 'i')});
  CHECK(long_name.size() <= 253);
}

TEST_CASE("Keys order by namespace then name and print as ns/name", "[unit]") {
  CHECK(PodKey{"a", "z"} < PodKey{"b", "a"});
  CHECK(PodKey{"a", "a"} < PodKey{"a", "b"});
  CHECK(IdentityKey{"ns", "x"}.to_string() == "ns/x");
  CHECK(parse_key<PodKey>("ns/x").value() == PodKey{"ns", "x"});
  CHECK_FALSE(parse_key<PodKey>("nsx").has_value());
}

TEST_CASE("A Pod decodes from Kubernetes JSON", "[unit]") {
  auto v = boost::json::parse(R"({"metadata":{"namespace":"d","name":"p","uid":"u1","resourceVersion":"7",
    "labels":{"aadpodidbinding":"sel"}},"spec":{"nodeName":"n0","hostNetwork":true},
    "status":{"podIP":"10.0.0.4","phase":"Running"}})");
  auto pod = decode_pod(v);
  REQUIRE(pod.has_value());
  CHECK(pod->key == PodKey{"d", "p"});
  CHECK(pod->uid == "u1");
  CHECK(pod->node == "n0");
  CHECK(pod->ip == "10.0.0.4");
  CHECK(pod->phase == "Running");
  CHECK(pod->host_network);
  CHECK(pod->resource_version == "7");
  CHECK(pod->labels.at("aadpodidbinding") == "sel");
}

TEST_CASE("Decoding errors name the object and the field", "[unit]") {
  auto [text, needle] = GENERATE(table<std::string, std::string>({
      {R"({"metadata":{"namespace":"d","name":"x"},"spec":{"type":"zero"}})", "AzureIdentity d/x: spec.type"},
      {R"({"metadata":{"namespace":"d"},"spec":{}})", "metadata.name: required"},
      {R"({"metadata":{"namespace":"d","name":"x"}})", "spec: required"},
      {R"({"metadata":{"namespace":"d","name":"x","labels":{"a":1}},"spec":{}})", "metadata.labels.a"},
      {R"([1])", "expected a JSON object"},
  }));
  auto r = decode_identity(boost::json::parse(text));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::invalid);
  CAPTURE(r.error().message);
  CHECK(r.error().message.find(needle) != std::string::npos);
}

TEST_CASE("An AzureIdentity decodes canonical and pre-1.6.0 keys", "[unit]") {
  auto legacy = GENERATE(false, true);
  auto v = boost::json::parse(
      legacy ? R"({"metadata":{"namespace":"d","name":"x","resourceVersion":"3","generation":2,
        "annotations":{"aadpodidentity.k8s.io/Behavior":"namespaced"}},
        "spec":{"type":1,"ClientID":"c","TenantID":"t","ResourceID":"r","ClientPassword":{"name":"s","namespace":"d"}}})"
             : R"({"metadata":{"namespace":"d","name":"x","resourceVersion":"3","generation":2,
        "annotations":{"aadpodidentity.k8s.io/Behavior":"namespaced"}},
        "spec":{"type":1,"clientID":"c","tenantID":"t","resourceID":"r","clientPassword":{"name":"s","namespace":"d"}}})");
  auto id = decode_identity(v);
  REQUIRE(id.has_value());
  CHECK(id->type == IdentityType::service_principal);
  CHECK(id->client_id == "c");
  CHECK(id->tenant_id == "t");
  CHECK(id->resource_id == "r");
  CHECK(id->secret_ref == SecretRef{"s", "d"});
  CHECK(id->namespaced);
  CHECK(id->generation == 2);
}

TEST_CASE("An unknown identity type keeps its raw value", "[unit]") {
  auto id =
      decode_identity(boost::json::parse(R"({"metadata":{"namespace":"d","name":"x"},"spec":{"type":7}})"));
  REQUIRE(id.has_value());
  CHECK(id->type == IdentityType::unknown);
  CHECK(id->raw_type == 7);
}

TEST_CASE("Nodes, bindings, exceptions and assigned identities decode", "[unit]") {
  auto node = decode_node(boost::json::parse(
      R"({"metadata":{"name":"n0"},"spec":{"providerID":"azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/n0"}})"));
  REQUIRE(node.has_value());
  REQUIRE(node->vm);
  CHECK(node->vm->name == "n0");
  auto kind =
      decode_node(boost::json::parse(R"({"metadata":{"name":"k"},"spec":{"providerID":"kind://x"}})"));
  REQUIRE(kind.has_value());
  CHECK_FALSE(kind->vm);

  auto b = decode_binding(boost::json::parse(
      R"({"metadata":{"namespace":"d","name":"b"},"spec":{"AzureIdentity":"x","Selector":"sel"}})"));
  REQUIRE(b.has_value());
  CHECK(b->identity_name == "x");
  CHECK(b->selector == "sel");

  auto e = decode_exception(boost::json::parse(
      R"({"metadata":{"namespace":"kube-system","name":"e"},"spec":{"podLabels":{"app":"mic"}}})"));
  REQUIRE(e.has_value());
  CHECK(e->pod_labels == Labels{{"app", "mic"}});

  auto a = decode_assigned_identity(boost::json::parse(
      R"({"metadata":{"namespace":"default","name":"aai"},"spec":{"pod":"p","podNamespace":"d","nodename":"n0",
      "azureIdentityRef":{"metadata":{"namespace":"d","name":"x"}},
      "azureBindingRef":{"metadata":{"namespace":"d","name":"b"}}},"status":{"status":"Assigned"}})"));
  REQUIRE(a.has_value());
  CHECK(a->pod == PodKey{"d", "p"});
  CHECK(a->identity == IdentityKey{"d", "x"});
  CHECK(a->binding == BindingKey{"d", "b"});
  CHECK(a->node == "n0");
  CHECK(a->status == "Assigned");
}
