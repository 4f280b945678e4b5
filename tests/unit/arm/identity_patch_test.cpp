#include "arm/identity_patch.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace podid::arm;

namespace {

std::string id(const std::string& name) {
  return "/subscriptions/s/resourcegroups/ids/providers/microsoft.managedidentity/userassignedidentities/" +
         name;
}

VmIdentities with(bool system, std::vector<std::string> names) {
  VmIdentities v;
  v.system_assigned = system;
  for (const auto& n : names) v.user.push_back(podid::core::VmIdentity{id(n), "c-" + n, "p-" + n});
  return v;
}

}  // namespace

TEST_CASE("The identity PATCH attaches only what is absent and detaches only what is present", "[unit]") {
  auto p = make_identity_patch(with(false, {"a", "b"}), {id("b"), id("c")}, {id("a"), id("z")});
  REQUIRE(p.has_value());
  CHECK(p->type == "UserAssigned");
  CHECK(p->user == std::map<std::string, bool>{{id("a"), false}, {id("c"), true}});
  const auto body = boost::json::parse(encode_identity_patch(*p));
  CHECK(body == boost::json::parse(R"({"identity":{"type":"UserAssigned","userAssignedIdentities":{")" +
                                   id("a") + R"(":null,")" + id("c") + R"(":{}}}})"));
}

TEST_CASE("The PATCH never detaches identities the change does not name, whatever their case", "[unit]") {
  const std::string upper_b =
      "/SUBSCRIPTIONS/s/resourceGroups/IDS/providers/Microsoft.ManagedIdentity/userAssignedIdentities/B";
  auto p = make_identity_patch(with(false, {"a", "b", "c"}), {}, {upper_b});
  REQUIRE(p.has_value());
  CHECK(p->user == std::map<std::string, bool>{{id("b"), false}});
}

TEST_CASE("An identity both added and removed is attached", "[unit]") {
  auto p = make_identity_patch(with(false, {}), {id("a")}, {id("a")});
  REQUIRE(p.has_value());
  CHECK(p->user == std::map<std::string, bool>{{id("a"), true}});
  CHECK_FALSE(make_identity_patch(with(false, {"a"}), {id("a")}, {id("a")}));
}

TEST_CASE("A system-assigned identity is kept by the PATCH's type", "[unit]") {
  auto p = make_identity_patch(with(true, {}), {id("a")}, {});
  REQUIRE(p.has_value());
  CHECK(p->type == "SystemAssigned, UserAssigned");
  auto last = make_identity_patch(with(true, {"a"}), {}, {id("a")});
  REQUIRE(last.has_value());
  CHECK(last->type == "SystemAssigned");
  CHECK(last->user.empty());
  CHECK(boost::json::parse(encode_identity_patch(*last)) ==
        boost::json::parse(R"({"identity":{"type":"SystemAssigned"}})"));
  auto none = make_identity_patch(with(false, {"a"}), {}, {id("a")});
  REQUIRE(none.has_value());
  CHECK(none->type == "None");
}

TEST_CASE("Nothing to change means no PATCH", "[unit]") {
  CHECK_FALSE(make_identity_patch(with(false, {"a"}), {id("a")}, {id("b")}));
  CHECK_FALSE(make_identity_patch(with(false, {}), {}, {}));
}

TEST_CASE("An ARM resource body gives its identity block", "[unit]") {
  auto v =
      decode_vm_identities(R"({"id":"x","identity":{"type":"SystemAssigned, UserAssigned","principalId":"p",
      "userAssignedIdentities":{"/subscriptions/s/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/B":
      {"principalId":"pb","clientId":"cb"},")" +
                           id("a") + R"(":{"principalId":"pa","clientId":"ca"}}},
      "properties":{"provisioningState":"Updating"}})");
  REQUIRE(v.has_value());
  CHECK(v->system_assigned);
  CHECK(v->provisioning_state == "Updating");
  REQUIRE(v->user.size() == 2);
  CHECK(v->user[0] == podid::core::VmIdentity{id("a"), "ca", "pa"});
  CHECK(v->user[1] == podid::core::VmIdentity{id("b"), "cb", "pb"});
  auto bare = decode_vm_identities(R"({"id":"x","properties":{}})");
  REQUIRE(bare.has_value());
  CHECK_FALSE(bare->system_assigned);
  CHECK(bare->user.empty());
  CHECK_FALSE(decode_vm_identities("[]").has_value());
  CHECK_FALSE(decode_vm_identities(R"({"identity":{"userAssignedIdentities":[1]}})").has_value());
}
