#include "core/event_codec.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <set>

using namespace podid::core;

namespace {

// One event of every kind, each field set to something other than its default.
std::vector<Event> samples() {
  const ArmTarget vmss{VmKind::vmss, "s", "rg", "pool"};
  const std::string rid =
      "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a";
  Pod pod{{"d", "p"}, "uid", "n0", "10.0.0.4", "Running", {{"aadpodidbinding", "sel"}}, true, "11"};
  AzureIdentity id{{"d", "x"},
                   IdentityType::unknown,
                   9,
                   rid,
                   "cid",
                   "tid",
                   {"sec", "d"},
                   true,
                   "12",
                   3,
                   {"aux-t"},
                   "https://login.microsoftonline.us/"};
  AzureIdentityBinding b{{"d", "b"}, "x", "sel", "13"};
  AzurePodIdentityException ex{{"d", "e"}, {{"app", "mic"}}, "14"};
  Node node{"n0", "azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/n0",
            VmRef{VmKind::vm, "s", "rg", "n0", ""}, "15"};
  AssignedIdentity aai{{"default", "aai"}, {"d", "p"}, {"d", "x"}, {"d", "b"}, "n0",
                       "Quarantined",      "why",      "16"};
  aai.identity_copy = IdentityCopy{9, "cid", rid};
  Settings settings{true, Mode::managed, {"imm"}, {"cluster"}, RetryPolicy{10, 20, 3}};
  return {
      PodObserved{1, pod},
      PodDeleted{2, {"d", "p"}, "17"},
      IdentityObserved{3, id},
      IdentityDeleted{4, {"d", "x"}, "18"},
      BindingObserved{5, b},
      BindingDeleted{6, {"d", "b"}, "19"},
      ExceptionObserved{7, ex},
      ExceptionDeleted{8, {"d", "e"}, "20"},
      NodeObserved{9, node},
      NodeDeleted{10, "n0", "21"},
      AssignedIdentityObserved{11, aai},
      AssignedIdentityDeleted{12, {"default", "aai"}, "22"},
      SettingsObserved{13, settings},
      VmIdentitiesObserved{14, vmss, {{rid, "cid", "pid"}}},
      ArmOperationStarted{15, "op1", vmss, {rid}, {"/x"}, {3, 4}},
      ArmOperationSucceeded{16, "op1", vmss},
      ArmOperationFailed{17, "op2", vmss, ErrorCode::permission, "LinkedAuthorizationFailed", {rid}},
      ArmOperationThrottled{18, "op3", vmss, 5000},
      AssignedIdentityWritten{19, WriteAction::updated, aai},
      MigrationApplied{20, "m0001_crd_field_case", "AzureIdentity", "d/x", true},
  };
}

}  // namespace

TEST_CASE("Every event kind survives an encode/decode round trip", "[unit]") {
  const auto all = samples();
  std::set<std::string_view> kinds;
  for (const auto& e : all) kinds.insert(kind_of(e));
  REQUIRE(kinds.size() == std::variant_size_v<Event>);

  for (const auto& e : all) {
    CAPTURE(kind_of(e));
    const auto line = encode_line(e);
    auto back = decode_line(line);
    REQUIRE(back.has_value());
    CHECK(*back == e);
    CHECK(at_ms_of(*back) == at_ms_of(e));
    CHECK(encode_line(*back) == line);
  }
}

TEST_CASE("Decoding rejects unknown kinds, newer versions and bad payloads as corrupt", "[unit]") {
  auto [line, needle] = GENERATE(table<std::string, std::string>({
      {R"({"kind":"PodExploded","v":1,"atMs":1})", "unknown event kind \"PodExploded\""},
      {R"({"kind":"PodDeleted","v":2,"atMs":1,"key":"d/p"})", "unsupported version 2"},
      {R"({"kind":"PodDeleted","atMs":1,"key":"d/p"})", "v is missing"},
      {R"({"v":1})", "kind is missing"},
      {R"({"kind":"PodDeleted","v":1,"atMs":1,"key":"nokey"})",
       "event PodDeleted: key: expected <namespace>/<name>"},
      {R"({"kind":"PodDeleted","v":1,"key":"d/p"})", "atMs: required"},
      {R"({"kind":"PodObserved","v":1,"atMs":1,"pod":{"key":"d/p","labels":[1]}})", "pod.labels"},
      {R"({"kind":"ArmOperationFailed","v":1,"atMs":1,"operationID":"o","target":"vm/s/r/n","errorClass":"weird"})",
       "unknown error class"},
      {R"({"kind":"ArmOperationSucceeded","v":1,"atMs":1,"operationID":"o","target":"disk/s/r/n"})",
       "target"},
      {R"(not json)", "not JSON"},
  }));
  auto r = decode_line(line);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::corrupt);
  CAPTURE(r.error().message);
  CHECK(r.error().message.find(needle) != std::string::npos);
}

TEST_CASE("Subjects name the pods, identities, nodes and VMs an event concerns", "[unit]") {
  const auto all = samples();
  CHECK(subjects(all[0]) == std::vector<std::string>{"node/n0", "pod/d/p"});
  CHECK(subjects(all[4]) == std::vector<std::string>{"binding/d/b", "identity/d/x"});
  CHECK(subjects(all[8]) == std::vector<std::string>{"node/n0", "vm/s/rg/n0"});
  CHECK(subjects(all[13]) == std::vector<std::string>{"vmss/s/rg/pool"});
  CHECK(subjects(all[18]) ==
        std::vector<std::string>{"assigned/default/aai", "identity/d/x", "node/n0", "pod/d/p"});
  CHECK(subjects(all[12]) == std::vector<std::string>{"settings"});
}
