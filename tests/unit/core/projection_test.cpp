#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "core/state_codec.hpp"
#include "fixtures.hpp"

using namespace podid::core;
using namespace podid::core::testing;

TEST_CASE("A pod whose label equals a binding selector gets the binding's identity", "[unit]") {
  auto log = matched_cluster();
  const auto* a = log.find(kPod, kId);
  REQUIRE(a != nullptr);
  CHECK(a->phase == Phase::created);
  CHECK(a->binding == BindingKey{"d", "b"});
  CHECK(a->target == vm_target("n0"));
  CHECK(a->aai.ns == "default");
  CHECK(a->resource_id == rid("x"));
}

TEST_CASE("Matching rules decide which pods get an identity", "[unit]") {
  struct Case {
    std::string name;
    std::function<void(Log&)> change;
    bool assigned;
  };
  auto c = GENERATE(values<Case>({
      {"selector is compared exactly",
       [](Log& l) {
         l.add(PodObserved{0, pod("d", "p", "Sel")});
       },
       false},
      {"pod without node",
       [](Log& l) {
         l.add(PodObserved{0, pod("d", "p", "sel", "")});
       },
       false},
      {"pod without IP",
       [](Log& l) {
         l.add(PodObserved{0, pod("d", "p", "sel", "n0", "")});
       },
       false},
      {"finished pod",
       [](Log& l) {
         auto p = pod("d", "p", "sel");
         p.phase = "Succeeded";
         l.add(PodObserved{0, p});
       },
       false},
      {"pod deleted",
       [](Log& l) {
         l.add(PodDeleted{0, {"d", "p"}, "9"});
       },
       false},
      {"binding deleted",
       [](Log& l) {
         l.add(BindingDeleted{0, {"d", "b"}, "9"});
       },
       false},
      {"identity deleted",
       [](Log& l) {
         l.add(IdentityDeleted{0, {"d", "x"}, "9"});
       },
       false},
      {"binding selector changed",
       [](Log& l) {
         l.add(BindingObserved{0, binding("d", "b", "x", "other")});
       },
       false},
      {"exception matches a label, value case-insensitively",
       [](Log& l) {
         auto p = pod("d", "p", "sel");
         p.labels["app"] = "Batch";
         l.add(PodObserved{0, p});
         l.add(ExceptionObserved{0, {{"d", "e"}, {{"app", "batch"}}, "1"}});
       },
       false},
      {"exception in another namespace does not apply",
       [](Log& l) {
         auto p = pod("d", "p", "sel");
         p.labels["app"] = "batch";
         l.add(PodObserved{0, p});
         l.add(ExceptionObserved{0, {{"other", "e"}, {{"app", "batch"}}, "1"}});
       },
       true},
      {"exception deleted restores the identity",
       [](Log& l) {
         auto p = pod("d", "p", "sel");
         p.labels["app"] = "batch";
         l.add(PodObserved{0, p});
         l.add(ExceptionObserved{0, {{"d", "e"}, {{"app", "batch"}}, "1"}});
         l.add(ExceptionDeleted{0, {"d", "e"}, "2"});
       },
       true},
      {"pod in another namespace, not namespaced",
       [](Log& l) {
         l.add(PodDeleted{0, {"d", "p"}, "9"});
         l.add(PodObserved{0, pod("d", "p", "sel")});
       },
       true},
  }));
  CAPTURE(c.name);
  auto log = matched_cluster();
  c.change(log);
  CHECK((log.identities_of(kPod) == std::vector<IdentityKey>{kId}) == c.assigned);
}

TEST_CASE("Identities are looked up in the binding's namespace", "[unit]") {
  Log log;
  log.add(IdentityObserved{0, msi("a", "x")});
  log.add(BindingObserved{0, binding("b", "bind", "x", "sel")});  // points at b/x, which does not exist
  log.add(PodObserved{0, pod("b", "p", "sel")});
  CHECK(log.identities_of({"b", "p"}).empty());
  log.add(IdentityObserved{0, msi("b", "x")});
  CHECK(log.identities_of({"b", "p"}) == std::vector<IdentityKey>{{"b", "x"}});
}

TEST_CASE("Namespaced identities match only within one namespace", "[unit]") {
  auto mode = GENERATE(as<std::string>{}, "global", "annotation", "managed");
  Log log;
  auto id = msi("a", "x");
  id.namespaced = mode == "annotation";
  Settings settings;
  settings.force_namespaced = mode == "global";
  settings.mode = mode == "managed" ? Mode::managed : Mode::standard;
  log.add(SettingsObserved{0, settings});
  log.add(IdentityObserved{0, id});
  log.add(BindingObserved{0, binding("a", "b", "x", "sel")});
  log.add(PodObserved{0, pod("other", "p", "sel")});
  log.add(PodObserved{0, pod("a", "p", "sel")});
  CAPTURE(mode);
  CHECK(log.identities_of({"other", "p"}).empty());
  REQUIRE(log.identities_of({"a", "p"}) == std::vector<IdentityKey>{{"a", "x"}});
  CHECK(log.find({"a", "p"}, {"a", "x"})->aai.ns == "a");
}

TEST_CASE("Same-named identities in two namespaces get distinct assigned identities", "[unit]") {
  Log log;
  log.add(IdentityObserved{0, msi("a", "x")});
  log.add(IdentityObserved{0, msi("b", "x", "other")});
  log.add(BindingObserved{0, binding("b", "b2", "x", "sel")});
  log.add(BindingObserved{0, binding("a", "b1", "x", "sel")});
  log.add(PodObserved{0, pod("c", "p", "sel")});
  const auto ids = log.identities_of({"c", "p"});
  REQUIRE(ids == std::vector<IdentityKey>{{"a", "x"}, {"b", "x"}});
  CHECK(log.find({"c", "p"}, {"a", "x"})->aai != log.find({"c", "p"}, {"b", "x"})->aai);
}

TEST_CASE("Identities that cannot be applied are quarantined with a reason", "[unit]") {
  struct Case {
    std::string name;
    AzureIdentity identity;
    std::string reason_part;
  };
  auto bad_rid = msi("d", "x");
  bad_rid.resource_id = "not-an-id";
  auto c = GENERATE_COPY(values<Case>({
      {"invalid resource ID", bad_rid, "invalid resource ID"},
      {"unknown type", sp("d", "x", 7), "unsupported identity type 7"},
  }));
  CAPTURE(c.name);
  auto log = matched_cluster();
  log.add(IdentityObserved{0, c.identity});
  const auto* a = log.find(kPod, kId);
  REQUIRE(a != nullptr);
  CHECK(a->phase == Phase::quarantined);
  CHECK(a->reason.find(c.reason_part) != std::string::npos);
  // Fixing the identity releases it.
  log.add(IdentityObserved{0, msi("d", "x")});
  CHECK(log.find(kPod, kId)->phase == Phase::created);
}

TEST_CASE("A node that is not an Azure VM quarantines its type-0 assignments", "[unit]") {
  auto log = matched_cluster();
  Node kind;
  kind.name = "n0";
  kind.provider_id = "kind://docker/n0";
  log.add(NodeObserved{0, kind});
  CHECK(log.find(kPod, kId)->phase == Phase::quarantined);
  log.add(NodeObserved{0, vm_node("n0")});
  CHECK(log.find(kPod, kId)->phase == Phase::created);
}
