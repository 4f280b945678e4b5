// deploy/admission against the real kube-apiserver: malformed AzureIdentity and AzureIdentityBinding objects
// are refused at admission with a message that says what to fix, well-formed ones are accepted, and the
// CRDs' own CEL rules (unknown type, malformed resourceID with type 0 written) still apply alongside.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "support/control_plane_catch.hpp"

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

const std::string kGroup = "/apis/aadpodidentity.k8s.io/v1/namespaces/";
const std::string kRid =
    "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/ids/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/web";

json::object identity(const std::string& name, json::object spec) {
  return {{"apiVersion", "aadpodidentity.k8s.io/v1"},
          {"kind", "AzureIdentity"},
          {"metadata", {{"name", name}}},
          {"spec", std::move(spec)}};
}

json::object binding(const std::string& name, json::object spec) {
  return {{"apiVersion", "aadpodidentity.k8s.io/v1"},
          {"kind", "AzureIdentityBinding"},
          {"metadata", {{"name", name}}},
          {"spec", std::move(spec)}};
}

struct Case {
  const char* what;
  json::object object;
  long status;          // 201 accepted; 422 Invalid; 403 Forbidden
  const char* message;  // part of the refusal the user reads
};

std::string plural(const json::object& o) {
  return o.at("kind").as_string() == "AzureIdentity" ? "azureidentities" : "azureidentitybindings";
}

podid::testing::HttpReply post(podid::testing::ControlPlane& cp, const std::string& ns,
                               const json::object& o) {
  return cp.request("POST", kGroup + ns + "/" + plural(o), json::serialize(o));
}

}  // namespace

TEST_CASE("Malformed identities and bindings are refused at admission with a clear message",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("admission");
  const auto other = cp->create_namespace("admission-other");
  cp->apply_yaml_file(std::string(PODID_TEST_SOURCE_DIR) + "/deploy/admission/azureidentity-policy.yaml");
  cp->apply_yaml_file(std::string(PODID_TEST_SOURCE_DIR) + "/deploy/admission/secret-namespace-policy.yaml");

  // Policies take effect asynchronously: wait until a probe that only the policy refuses is refused.
  bool active = false;
  for (int i = 0; i < 150 && !active; ++i) {
    const auto probe = identity("probe-" + std::to_string(i), {{"clientID", "c"}});  // type 0, no resourceID
    const auto r = post(*cp, ns, probe);
    active = r.status == 422;
    if (!active) std::this_thread::sleep_for(200ms);
  }
  REQUIRE(active);

  const json::object secret{{"name", "sp-secret"}};
  const std::vector<Case> cases = {
      {"a managed identity", identity("good-msi", {{"type", 0}, {"clientID", "c1"}, {"resourceID", kRid}}),
       201, ""},
      {"a service principal",
       identity("good-sp", {{"type", 1}, {"clientID", "c2"}, {"tenantID", "t"}, {"clientPassword", secret}}),
       201, ""},
      {"a service principal with its Secret in its own namespace",
       identity("good-sp-ns", {{"type", 1},
                               {"clientID", "c2"},
                               {"tenantID", "t"},
                               {"clientPassword", {{"name", "s"}, {"namespace", ns}}}}),
       201, ""},
      {"a pre-1.6.0 spelled managed identity", identity("legacy", {{"ClientID", "c3"}, {"ResourceID", kRid}}),
       201, ""},
      {"type 0 with a malformed resourceID (CRD rule)",
       identity("bad-rid", {{"type", 0}, {"clientID", "c"}, {"resourceID", "/subscriptions/x/identity"}}),
       422, "resourceID must look like"},
      {"type omitted with a malformed resourceID (the CRD rule skips it; the policy defaults to 0)",
       identity("bad-rid-notype", {{"clientID", "c"}, {"resourceID", "/subscriptions/x/identity"}}), 422,
       "type 0 (also when spec.type is omitted) needs spec.resourceID"},
      {"type 0 without resourceID", identity("no-rid", {{"type", 0}, {"clientID", "c"}}), 422,
       "type 0 (also when spec.type is omitted) needs spec.resourceID"},
      {"a resourceID of another resource type",
       identity("vm-rid", {{"type", 0},
                           {"clientID", "c"},
                           {"resourceID",
                            "/subscriptions/s/resourcegroups/r/providers/Microsoft.Compute/"
                            "virtualMachines/vm"}}),
       422, "resourceID"},
      {"an unknown type (CRD rule)", identity("type-7", {{"type", 7}, {"clientID", "c"}}), 422,
       "type must be 0 (managed identity), 1"},
      {"no clientID", identity("no-client", {{"type", 0}, {"resourceID", kRid}}), 422,
       "spec.clientID is required"},
      {"type 1 without clientPassword",
       identity("sp-nosecret", {{"type", 1}, {"clientID", "c"}, {"tenantID", "t"}}), 422,
       "types 1 and 2 need spec.clientPassword.name"},
      {"type 2 with an empty clientPassword name",
       identity("cert-nosecret",
                {{"type", 2}, {"clientID", "c"}, {"tenantID", "t"}, {"clientPassword", {{"name", ""}}}}),
       422, "types 1 and 2 need spec.clientPassword.name"},
      {"type 1 without tenantID",
       identity("sp-notenant", {{"type", 1}, {"clientID", "c"}, {"clientPassword", secret}}), 422,
       "types 1 and 2 need spec.tenantID"},
      {"type 1 whose Secret is in another namespace",
       identity("sp-foreign", {{"type", 1},
                               {"clientID", "c"},
                               {"tenantID", "t"},
                               {"clientPassword", {{"name", "s"}, {"namespace", other}}}}),
       403, "spec.clientPassword.namespace must be the identity's own namespace"},
      {"a binding", binding("good-binding", {{"azureIdentity", "good-msi"}, {"selector", "web"}}), 201, ""},
      {"a pre-1.6.0 spelled binding",
       binding("legacy-binding", {{"AzureIdentity", "good-msi"}, {"Selector", "web"}}), 201, ""},
      {"a binding with an empty selector",
       binding("empty-selector", {{"azureIdentity", "good-msi"}, {"selector", ""}}), 422,
       "spec.selector must not be empty"},
      {"a binding without selector", binding("no-selector", {{"azureIdentity", "good-msi"}}), 422,
       "spec.selector must not be empty"},
      {"a binding without azureIdentity", binding("no-identity", {{"selector", "web"}}), 422,
       "spec.azureIdentity must name an AzureIdentity"},
  };
  for (const auto& c : cases) {
    const auto r = post(*cp, ns, c.object);
    INFO(c.what << ": " << r.status << " " << r.body.substr(0, 400));
    CHECK(r.status == c.status);
    if (c.status != 201) CHECK(r.body.find(c.message) != std::string::npos);
  }

  // An update may not make a valid object invalid; a status or label update never trips the policy.
  const std::string path = kGroup + ns + "/azureidentities/good-sp";
  const auto spec_patch =
      cp->request("PATCH", path, R"({"spec":{"tenantID":""}})", "application/merge-patch+json");
  INFO(spec_patch.body.substr(0, 300));
  CHECK(spec_patch.status == 422);
  CHECK(spec_patch.body.find("types 1 and 2 need spec.tenantID") != std::string::npos);
  const auto label_patch =
      cp->request("PATCH", path, R"({"metadata":{"labels":{"team":"a"}}})", "application/merge-patch+json");
  CHECK(label_patch.status == 200);
}
