#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "migrations/m0001_crd_field_case.hpp"
#include "migrations/registry.hpp"

using namespace podid::migrations;
namespace json = boost::json;

namespace {

json::object parse(const std::string& text) {
  return json::parse(text).as_object();
}

}  // namespace

TEST_CASE("Legacy spec keys are rewritten to the canonical keys", "[unit]") {
  struct Case {
    ObjectKind kind;
    std::string before;
    std::string after;
  };
  auto c = GENERATE(values<Case>({
      {ObjectKind::azure_identity,
       R"({"spec":{"type":0,"ClientID":"c","ResourceID":"r","TenantID":"t","ClientPassword":{"name":"s"}}})",
       R"({"spec":{"type":0,"clientID":"c","resourceID":"r","tenantID":"t","clientPassword":{"name":"s"}}})"},
      {ObjectKind::azure_identity, R"({"spec":{"clientid":"c","Type":1}})",
       R"({"spec":{"clientID":"c","type":1}})"},
      {ObjectKind::azure_identity_binding, R"({"spec":{"AzureIdentity":"x","Selector":"sel"}})",
       R"({"spec":{"azureIdentity":"x","selector":"sel"}})"},
      {ObjectKind::azure_pod_identity_exception, R"({"spec":{"PodLabels":{"app":"mic"}}})",
       R"({"spec":{"podLabels":{"app":"mic"}}})"},
      {ObjectKind::azure_assigned_identity,
       R"({"spec":{"azureidentityref":{"metadata":{"name":"x"},"spec":{"clientid":"c","resourceid":"r"}},
          "azurebindingref":{"metadata":{"name":"b"},"spec":{"azureidentity":"x","selector":"s"}},
          "pod":"p","podnamespace":"d","nodename":"n"}})",
       R"({"spec":{"azureIdentityRef":{"metadata":{"name":"x"},"spec":{"clientID":"c","resourceID":"r"},
          "apiVersion":"aadpodidentity.k8s.io/v1","kind":"AzureIdentity"},
          "azureBindingRef":{"metadata":{"name":"b"},"spec":{"azureIdentity":"x","selector":"s"},
          "apiVersion":"aadpodidentity.k8s.io/v1","kind":"AzureIdentityBinding"},
          "pod":"p","podNamespace":"d","nodename":"n"}})"},
  }));
  CAPTURE(c.before);
  auto o = parse(c.before);
  const CrdFieldCase step;
  auto changed = step.apply(c.kind, o);
  REQUIRE(changed.has_value());
  CHECK(*changed);
  CHECK(o == parse(c.after));
  // Idempotent: a second run changes nothing.
  auto again = step.apply(c.kind, o);
  REQUIRE(again.has_value());
  CHECK_FALSE(*again);
  CHECK(o == parse(c.after));
}

TEST_CASE("The exact canonical key wins over a legacy spelling", "[unit]") {
  auto o = parse(R"({"spec":{"ClientID":"old","clientID":"new","CLIENTID":"older"}})");
  auto changed = CrdFieldCase{}.apply(ObjectKind::azure_identity, o);
  REQUIRE(changed.has_value());
  CHECK(*changed);
  CHECK(o == parse(R"({"spec":{"clientID":"new"}})"));
}

TEST_CASE("Canonical objects and objects without spec are unchanged", "[unit]") {
  auto text = GENERATE(as<std::string>{}, R"({"spec":{"clientID":"c","unrelated":"u"}})",
                       R"({"metadata":{}})", R"({"spec":null})");
  auto o = parse(text);
  auto changed = CrdFieldCase{}.apply(ObjectKind::azure_identity, o);
  REQUIRE(changed.has_value());
  CHECK_FALSE(*changed);
  CHECK(o == parse(text));
}

TEST_CASE("An object that cannot be migrated is reported as invalid", "[unit]") {
  auto o = parse(R"({"spec":"oops"})");
  auto r = CrdFieldCase{}.apply(ObjectKind::azure_identity_binding, o);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == podid::core::ErrorCode::invalid);
  CHECK(r.error().message.find("AzureIdentityBinding") != std::string::npos);
  auto aai = parse(R"({"spec":{"azureIdentityRef":7}})");
  CHECK_FALSE(CrdFieldCase{}.apply(ObjectKind::azure_assigned_identity, aai).has_value());
}

TEST_CASE("The registry lists the steps in order and applies them all", "[unit]") {
  const auto steps = all_migrations();
  REQUIRE(steps.size() == 1);
  CHECK(steps[0]->id() == "m0001_crd_field_case");
  CHECK_FALSE(steps[0]->description().empty());
  auto o = parse(R"({"spec":{"Selector":"s"}})");
  auto changed = apply_all(steps, ObjectKind::azure_identity_binding, o);
  REQUIRE(changed.has_value());
  CHECK(*changed == std::vector<std::string>{"m0001_crd_field_case"});
  auto none = apply_all(steps, ObjectKind::azure_identity_binding, o);
  REQUIRE(none.has_value());
  CHECK(none->empty());
}
