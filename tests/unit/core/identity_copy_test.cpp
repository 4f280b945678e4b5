// The AzureIdentity copy embedded in an AzureAssignedIdentity: decoded from the object, carried by the
// events (v1 logs still replay), and rewritten by the planner when the identity changes.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "core/event_codec.hpp"
#include "core/k8s_objects.hpp"
#include "core/plan.hpp"
#include "fixtures.hpp"

using namespace podid::core;
using namespace podid::core::testing;

namespace {

IdentityCopy copy_of(const AzureIdentity& id) {
  return {id.raw_type, id.client_id, id.resource_id};
}

// A matched, attached pod whose AAI was written with a copy of msi("d", "x"); the plan is then empty.
Log settled() {
  Log log = matched_cluster();
  log.add(ArmOperationStarted{0, "op-a", vm_target("n0"), {rid("x")}, {}, {}});
  log.add(ArmOperationSucceeded{0, "op-a", vm_target("n0")});
  AssignedIdentity aai{log.find(kPod, kId)->aai, kPod, kId, {"d", "b"}, "n0", "Assigned", "", "5"};
  aai.identity_copy = copy_of(msi("d", "x"));
  log.add(AssignedIdentityWritten{0, WriteAction::created, aai});
  return log;
}

std::vector<AaiWrite> writes_of(const Log& log) {
  return plan(log.state, log.now_ms).aai_writes;
}

}  // namespace

TEST_CASE("Editing an identity's client ID, resource ID or type rewrites its AzureAssignedIdentities",
          "[unit]") {
  struct Edit {
    const char* what;
    std::string client_id;
    std::string resource_id;
    std::int64_t type;
  };
  const auto edit = GENERATE(
      Edit{"client ID", "client-new", rid("x"), 0}, Edit{"resource ID", "client-x", rid("x2"), 0},
      Edit{"client ID in another case", "CLIENT-X", rid("x"), 0}, Edit{"type", "client-x", rid("x"), 1});
  INFO(edit.what);
  auto log = settled();
  REQUIRE(writes_of(log).empty());
  auto id = msi("d", "x");
  id.client_id = edit.client_id;
  id.resource_id = edit.resource_id;
  id.raw_type = edit.type;
  id.type = identity_type_from(edit.type);
  id.resource_version = "2";
  id.generation = 2;
  const auto seq = log.add(IdentityObserved{0, id});
  const auto writes = writes_of(log);
  REQUIRE_FALSE(writes.empty());
  CHECK(writes[0].kind == AaiWriteKind::update);
  REQUIRE(writes[0].assigned.identity_copy.has_value());
  CHECK(*writes[0].assigned.identity_copy == copy_of(id));
  CHECK(writes[0].assigned.resource_version == "5");
  CHECK(std::find(writes[0].caused_by.begin(), writes[0].caused_by.end(), seq) != writes[0].caused_by.end());

  // Once the write is recorded with the new copy, nothing is left to do about the copy.
  auto written = writes[0].assigned;
  written.resource_version = "6";
  log.add(AssignedIdentityWritten{0, WriteAction::updated, written});
  for (const auto& w : writes_of(log)) CHECK(w.kind != AaiWriteKind::update);
}

TEST_CASE("An identity edit that leaves the copy as it is writes nothing", "[unit]") {
  auto log = settled();
  auto id = msi("d", "x");
  id.tenant_id = "another-tenant";  // not part of what is compared
  id.resource_version = "2";
  log.add(IdentityObserved{0, id});
  CHECK(writes_of(log).empty());
}

TEST_CASE("A copy-only update reports no binding again", "[unit]") {
  auto log = settled();
  log.add(IdentityObserved{0, msi("d", "x", "x", "client-new")});
  const auto p = plan(log.state, log.now_ms);
  REQUIRE(p.aai_writes.size() == 1);
  CHECK(p.aai_writes[0].kind == AaiWriteKind::update);
  CHECK(p.reports.empty());
}

TEST_CASE("An AzureAssignedIdentity with an unknown copy is rewritten exactly once", "[unit]") {
  // Upgrade: a v1 log holds AAIs without a copy. One update each, then the written copy settles it.
  auto log = settled();
  const auto key = log.find(kPod, kId)->aai;
  const auto line =
      R"({"kind":"AssignedIdentityObserved","v":1,"atMs":5,"assigned":{"key":")" + key.to_string() +
      R"(","pod":"d/p","identity":"d/x","binding":"d/b","node":"n0","status":"Assigned","reason":"",)"
      R"("resourceVersion":"7"}})";
  auto old = decode_line(line);
  REQUIRE(old.has_value());
  const auto& observed = std::get<AssignedIdentityObserved>(*old);
  CHECK_FALSE(observed.assigned.identity_copy.has_value());
  log.add(observed);
  auto writes = writes_of(log);
  REQUIRE(writes.size() == 1);
  CHECK(writes[0].kind == AaiWriteKind::update);
  CHECK(writes[0].assigned.identity_copy == copy_of(msi("d", "x")));
  log.add(AssignedIdentityWritten{0, WriteAction::updated, writes[0].assigned});
  CHECK(writes_of(log).empty());
  // A later observation of the object as written (with its copy) changes nothing either.
  log.add(AssignedIdentityObserved{0, writes[0].assigned});
  CHECK(writes_of(log).empty());
}

TEST_CASE("The identity copy round-trips through the v2 event codec and v1 stays readable", "[unit]") {
  auto log = settled();
  const auto& aai = log.state.assigned.begin()->second;
  REQUIRE(aai.identity_copy.has_value());
  const Event e = AssignedIdentityObserved{3, aai};
  const auto line = encode_line(e);
  CHECK(line.find(R"("v":2)") != std::string::npos);
  auto back = decode_line(line);
  REQUIRE(back.has_value());
  CHECK(std::get<AssignedIdentityObserved>(*back).assigned == aai);

  auto without = aai;
  without.identity_copy.reset();
  const auto plain = encode_line(Event{AssignedIdentityWritten{4, WriteAction::updated, without}});
  CHECK(plain.find("identityCopy") == std::string::npos);
  auto v1 = std::string(plain);
  v1.replace(v1.find(R"("v":2)"), 5, R"("v":1)");
  auto old = decode_line(v1);
  REQUIRE(old.has_value());
  CHECK(std::get<AssignedIdentityWritten>(*old).assigned == without);
}

TEST_CASE("The identity copy is decoded from an AzureAssignedIdentity's azureIdentityRef", "[unit]") {
  auto object = [](const std::string& ref) {
    return boost::json::parse(R"({"apiVersion":"aadpodidentity.k8s.io/v1","kind":"AzureAssignedIdentity",)"
                              R"("metadata":{"name":"a","namespace":"default","resourceVersion":"3"},)"
                              R"("spec":{"pod":"p","podNamespace":"d","nodename":"n0","azureIdentityRef":)" +
                              ref + "}}");
  };
  SECTION("a full snapshot carries type, clientID and resourceID") {
    const auto a = decode_assigned_identity(object(
        R"({"metadata":{"name":"x","namespace":"d"},"spec":{"type":0,"clientID":"c1","resourceID":"/r"}})"));
    REQUIRE(a.has_value());
    CHECK(a->identity_copy == IdentityCopy{0, "c1", "/r"});
  }
  SECTION("pre-1.6 lower-case spec keys are read too") {
    const auto a = decode_assigned_identity(object(
        R"({"metadata":{"name":"x","namespace":"d"},"spec":{"type":1,"clientid":"c2","resourceid":""}})"));
    REQUIRE(a.has_value());
    CHECK(a->identity_copy == IdentityCopy{1, "c2", ""});
  }
  SECTION("a reference with metadata only leaves the copy unknown") {
    const auto a = decode_assigned_identity(object(R"({"metadata":{"name":"x","namespace":"d"}})"));
    REQUIRE(a.has_value());
    CHECK_FALSE(a->identity_copy.has_value());
    CHECK(a->identity == IdentityKey{"d", "x"});
  }
}
