// The real kube-apiserver with our CRDs (deploy/crds): served, printable, validating, pruning, and the
// Pod status writes the node agent tests rely on. Each test case works in its own namespace.
#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/control_plane.hpp"
#include "support/control_plane_catch.hpp"
#include "support/control_plane_certs.hpp"
#include "support/curl_client.hpp"
#include "support/yaml_json.hpp"

namespace json = boost::json;
using podid::testing::ControlPlane;
using podid::testing::HttpReply;

namespace {

constexpr const char* kGroupPath = "/apis/aadpodidentity.k8s.io/v1";
constexpr const char* kTableAccept = "Accept: application/json;as=Table;g=meta.k8s.io;v=v1";
constexpr const char* kResourceId =
    "/subscriptions/8f9a2c1e-4b7d-4e2a-9c3f-1d2e3f4a5b6c/resourcegroups/demo-rg/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/demo";
constexpr const char* kClientId = "3d6f1c2a-9b8e-4f7d-a6c5-b4e3d2c1f0a9";

std::string source_dir() {
  const char* dir = std::getenv("PODID_SOURCE_DIR");
  return dir != nullptr ? dir : PODID_TEST_SOURCE_DIR;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

json::value parse(const HttpReply& reply) {
  INFO("HTTP " << reply.status << ": " << reply.body);
  json::error_code ec;
  json::value v = json::parse(reply.body, ec);
  REQUIRE_FALSE(ec);
  return v;
}

// The message of a Status reply (JSON-escaped characters such as < > decoded).
std::string status_message(const HttpReply& reply) {
  json::value status = parse(reply);
  const auto* message = status.as_object().if_contains("message");
  return message != nullptr && message->is_string() ? std::string(message->get_string()) : std::string();
}

std::string identities_path(const std::string& ns) {
  return std::string(kGroupPath) + "/namespaces/" + ns + "/azureidentities";
}

// The user's AzureIdentity and binding from the original README, with real-looking values filled in.
std::string user_manifests() {
  return std::string(
             "apiVersion: \"aadpodidentity.k8s.io/v1\"\nkind: AzureIdentity\nmetadata:\n  name: demo\n"
             "spec:\n  type: 0\n  resourceID: ") +
         kResourceId + "\n  clientID: " + kClientId +
         "\n---\napiVersion: \"aadpodidentity.k8s.io/v1\"\nkind: AzureIdentityBinding\nmetadata:\n"
         "  name: demo-binding\nspec:\n  azureIdentity: demo\n  selector: demo\n";
}

HttpReply create_identity(ControlPlane& cp, const std::string& ns, const std::string& name,
                          const json::object& spec) {
  json::object obj{{"apiVersion", "aadpodidentity.k8s.io/v1"},
                   {"kind", "AzureIdentity"},
                   {"metadata", json::object{{"name", name}}},
                   {"spec", spec}};
  return cp.request("POST", identities_path(ns), json::serialize(obj));
}

}  // namespace

TEST_CASE("The control plane serves the four CRDs to the admin certificate and the bearer token",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto& info = cp->info();
  INFO("control plane started in " << cp->start_seconds() << " s");

  json::value version = parse(cp->request("GET", "/version"));
  CHECK(version.at("gitVersion").as_string() == "v1.37.2");

  json::value group = parse(cp->request("GET", kGroupPath));
  std::vector<std::string> plurals;
  for (const auto& res : group.at("resources").as_array()) {
    const std::string name(res.at("name").as_string());
    if (name.find('/') == std::string::npos) plurals.push_back(name);
  }
  std::sort(plurals.begin(), plurals.end());
  CHECK(plurals == std::vector<std::string>{"azureassignedidentities", "azureidentities",
                                            "azureidentitybindings", "azurepodidentityexceptions"});

  podid::testing::CurlRequest who;
  who.method = "POST";
  who.url = info.server + "/apis/authentication.k8s.io/v1/selfsubjectreviews";
  who.ca_file = info.ca_file;
  who.headers = {"Authorization: Bearer " + info.token, "Content-Type: application/json"};
  who.body = R"({"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"})";
  auto reply = podid::testing::curl_perform(who);
  json::value review = parse(HttpReply{reply.status, reply.body});
  CHECK(review.at("status").at("userInfo").at("username").as_string() == "tester");
  CHECK(json::serialize(review.at("status").at("userInfo").at("groups")).find("system:masters") !=
        std::string::npos);

  json::value me = parse(cp->request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", who.body));
  CHECK(me.at("status").at("userInfo").at("username").as_string() == "admin");

  // The kubeconfig embeds exactly the files the fixture itself uses, and names the server.
  std::vector<json::value> kubeconfig =
      podid::testing::yaml_documents_to_json(read_file(info.kubeconfig_path));
  REQUIRE(kubeconfig.size() == 1);
  const auto& cluster = kubeconfig[0].at("clusters").at(0).at("cluster");
  CHECK(cluster.at("server").as_string() == info.server);
  CHECK(cluster.at("certificate-authority-data").as_string() == podid::testing::base64_file(info.ca_file));
  const auto& user = kubeconfig[0].at("users").at(0).at("user");
  CHECK(user.at("client-certificate-data").as_string() == podid::testing::base64_file(info.client_cert_file));
  CHECK(user.at("client-key-data").as_string() == podid::testing::base64_file(info.client_key_file));

  podid::testing::CurlRequest health;
  health.url = info.etcd_url + "/health";
  CHECK(podid::testing::curl_perform(health).status == 200);
}

TEST_CASE("Each CRD lists the printer columns of its manifest when asked for a Table", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const std::string ns = cp->create_namespace("printer-columns");
  const std::string file = GENERATE(as<std::string>{}, "azureidentity", "azureidentitybinding",
                                    "azureassignedidentity", "azurepodidentityexception");
  const auto docs =
      podid::testing::yaml_documents_to_json(read_file(source_dir() + "/deploy/crds/" + file + ".yaml"));
  REQUIRE(docs.size() == 1);
  const auto& spec = docs[0].at("spec");
  std::vector<std::string> expected{"Name"};
  for (const auto& column : spec.at("versions").at(0).at("additionalPrinterColumns").as_array()) {
    expected.emplace_back(column.at("name").as_string());
  }
  const std::string plural(spec.at("names").at("plural").as_string());
  json::value table = parse(cp->request("GET", std::string(kGroupPath) + "/namespaces/" + ns + "/" + plural,
                                        {}, "application/json", {kTableAccept}));
  INFO(json::serialize(table));
  REQUIRE(table.at("kind").as_string() == "Table");
  std::vector<std::string> names;
  for (const auto& column : table.at("columnDefinitions").as_array())
    names.emplace_back(column.at("name").as_string());
  CHECK(names == expected);
}

TEST_CASE("AzureIdentity rows show the type and client ID columns", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const std::string ns = cp->create_namespace("identity-rows");
  cp->apply_yaml(user_manifests(), ns);
  json::value table = parse(cp->request("GET", identities_path(ns), {}, "application/json", {kTableAccept}));
  REQUIRE(table.at("rows").as_array().size() == 1);
  const auto& cells = table.at("rows").at(0).at("cells").as_array();
  REQUIRE(cells.size() == 5);  // Name, Type, ClientID, Ready, Age
  CHECK(cells[0].as_string() == "demo");
  CHECK(cells[1].to_number<std::int64_t>() == 0);
  CHECK(cells[2].as_string() == kClientId);
}

TEST_CASE("The user's AzureIdentity and binding apply unchanged and read back with the same fields",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const std::string ns = cp->create_namespace("user-manifests");
  REQUIRE_NOTHROW(cp->apply_yaml(user_manifests(), ns));

  json::value identity = parse(cp->request("GET", identities_path(ns) + "/demo"));
  CHECK(identity.at("spec") ==
        json::object{{"type", 0}, {"resourceID", kResourceId}, {"clientID", kClientId}});
  CHECK(identity.at("metadata").at("namespace").as_string() == ns);

  json::value binding = parse(cp->request(
      "GET", std::string(kGroupPath) + "/namespaces/" + ns + "/azureidentitybindings/demo-binding"));
  CHECK(binding.at("spec") == json::object{{"azureIdentity", "demo"}, {"selector", "demo"}});

  SECTION("applying again with a changed selector updates the binding in place") {
    std::string changed = user_manifests();
    changed.replace(changed.rfind("selector: demo"), 14, "selector: demo-v2");
    REQUIRE_NOTHROW(cp->apply_yaml(changed, ns));
    json::value updated = parse(cp->request(
        "GET", std::string(kGroupPath) + "/namespaces/" + ns + "/azureidentitybindings/demo-binding"));
    CHECK(updated.at("spec").at("selector").as_string() == "demo-v2");
    CHECK(updated.at("metadata").at("uid") == binding.at("metadata").at("uid"));
  }
}

TEST_CASE("Invalid AzureIdentities are refused with a message naming the problem", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const std::string ns = cp->create_namespace("invalid-identities");

  HttpReply type7 = create_identity(*cp, ns, "type-seven", {{"type", 7}, {"clientID", kClientId}});
  CHECK(type7.status == 422);
  CHECK_THAT(type7.body,
             Catch::Contains("type must be 0 (managed identity), 1 (service principal + secret) or 2"));
  CHECK_THAT(type7.body, Catch::Contains("spec.type"));

  HttpReply bad_id =
      create_identity(*cp, ns, "bad-resource-id",
                      {{"type", 0}, {"resourceID", "/subscriptions/x/demo"}, {"clientID", kClientId}});
  CHECK(bad_id.status == 422);
  CHECK_THAT(status_message(bad_id),
             Catch::Contains("resourceID must look like /subscriptions/<sub>/resourcegroups/"
                             "<rg>/providers/Microsoft.ManagedIdentity/"));

  HttpReply listed = cp->request("GET", identities_path(ns));
  CHECK(parse(listed).at("items").as_array().empty());
}

TEST_CASE("A Pod bound to a node takes its status through /status and deletes at once with grace 0",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const std::string ns = cp->create_namespace("pod-status");
  const std::string pods = "/api/v1/namespaces/" + ns + "/pods";
  json::object pod{
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", json::object{{"name", "demo"}, {"labels", json::object{{"aadpodidbinding", "demo"}}}}},
      {"spec",
       json::object{{"nodeName", "node-a"},
                    {"containers", json::array{json::object{{"name", "demo"}, {"image", "demo:1"}}}}}}};
  HttpReply created = cp->request("POST", pods, json::serialize(pod));
  REQUIRE(created.status == 201);

  json::value current = parse(cp->request("GET", pods + "/demo"));
  CHECK(current.at("spec").at("nodeName").as_string() == "node-a");
  current.as_object()["status"] = json::object{{"phase", "Running"},
                                               {"podIP", "127.0.0.23"},
                                               {"podIPs", json::array{json::object{{"ip", "127.0.0.23"}}}},
                                               {"hostIP", "127.0.0.1"},
                                               {"hostIPs", json::array{json::object{{"ip", "127.0.0.1"}}}}};
  HttpReply status = cp->request("PUT", pods + "/demo/status", json::serialize(current));
  REQUIRE(status.status == 200);

  json::value reread = parse(cp->request("GET", pods + "/demo"));
  CHECK(reread.at("status").at("phase").as_string() == "Running");
  CHECK(reread.at("status").at("podIP").as_string() == "127.0.0.23");

  HttpReply deleted = cp->request("DELETE", pods + "/demo",
                                  R"({"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0})");
  CHECK(deleted.status == 200);
  CHECK(cp->request("GET", pods + "/demo").status == 404);
}

TEST_CASE("Pre-1.6.0 AzureIdentity keys stay readable while unknown keys are pruned", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const std::string ns = cp->create_namespace("legacy-keys");
  HttpReply created = create_identity(*cp, ns, "legacy",
                                      {{"type", 0},
                                       {"ClientID", kClientId},
                                       {"ResourceID", kResourceId},
                                       {"TenantID", "72f988bf-86f1-41af-91ab-2d7cd011db47"},
                                       {"Bogus", "dropped"}});
  REQUIRE(created.status == 201);

  json::value legacy = parse(cp->request("GET", identities_path(ns) + "/legacy"));
  const auto& spec = legacy.at("spec").as_object();
  CHECK(spec.at("ClientID").as_string() == kClientId);
  CHECK(spec.at("ResourceID").as_string() == kResourceId);
  CHECK(spec.at("TenantID").as_string() == "72f988bf-86f1-41af-91ab-2d7cd011db47");
  CHECK_FALSE(spec.contains("Bogus"));
  CHECK_FALSE(spec.contains("clientID"));  // nothing is renamed by the server

  SECTION("a strict write names the unknown field instead of dropping it") {
    json::object obj{{"apiVersion", "aadpodidentity.k8s.io/v1"},
                     {"kind", "AzureIdentity"},
                     {"metadata", json::object{{"name", "strict"}}},
                     {"spec", json::object{{"type", 0}, {"Bogus", "x"}}}};
    HttpReply strict =
        cp->request("POST", identities_path(ns) + "?fieldValidation=Strict", json::serialize(obj));
    CHECK(strict.status == 400);
    CHECK_THAT(status_message(strict), Catch::Contains("unknown field \"spec.Bogus\""));
  }
}
