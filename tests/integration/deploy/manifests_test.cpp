// deploy/infra (the original's install manifests, with our images and flags) against the real kube-apiserver:
// every object is accepted as it is under strict field validation, the embedded CRDs are deploy/crds
// unchanged, the containers use only agreed flags, and the RBAC grants what each component does.
#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "integration/deploy/deploy_support.hpp"
#include "integration/deploy/flags.hpp"
#include "support/control_plane_catch.hpp"

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace podid::deploy_test;

namespace {

const std::vector<std::string> kInfraFiles{"deployment-rbac.yaml", "deployment.yaml",
                                           "managed-mode-deployment.yaml", "mic-exception.yaml"};

std::vector<json::object> infra(const std::string& file) {
  return documents(read_text(source_dir() + "/deploy/infra/" + file));
}

std::vector<json::object> crds_in(const std::vector<json::object>& docs) {
  std::vector<json::object> out;
  for (const auto& d : docs) {
    if (d.at("kind").as_string() == "CustomResourceDefinition") out.push_back(d);
  }
  return out;
}

// Whether `help` (CLI11's --help text) lists `flag` as an option name.
bool lists_flag(const std::string& help, const std::string& flag) {
  for (auto pos = help.find(flag); pos != std::string::npos; pos = help.find(flag, pos + 1)) {
    const char before = pos == 0 ? ' ' : help[pos - 1];
    const char after = pos + flag.size() < help.size() ? help[pos + flag.size()] : ' ';
    const bool starts = before == ' ' || before == ',';
    const bool ends = after == ' ' || after == ',' || after == '=' || after == '\n';
    if (starts && ends) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("Every deploy/infra manifest is accepted by the API server as it is", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto file = GENERATE(from_range(kInfraFiles));
  INFO(file);
  const auto docs = infra(file);
  REQUIRE_FALSE(docs.empty());
  for (const auto& doc : docs) {
    INFO(describe(doc));
    const auto reply = strict_apply(*cp, doc, "default");
    INFO("HTTP " << reply.status << ": " << reply.body);
    CHECK((reply.status == 200 || reply.status == 201));
    CHECK(get_object(*cp, doc, "default").status == 200);
  }
}

TEST_CASE("The CRDs inside the all-in-one manifests and the chart are deploy/crds unchanged",
          "[integration]") {
  std::vector<json::object> originals;
  for (const auto& entry : fs::directory_iterator(source_dir() + "/deploy/crds")) {
    for (auto& d : documents(read_text(entry.path().string()))) originals.push_back(std::move(d));
  }
  REQUIRE(originals.size() == 4);
  const auto same_set = [&](const std::vector<json::object>& copies) {
    if (copies.size() != originals.size()) return false;
    for (const auto& c : copies) {
      if (std::find(originals.begin(), originals.end(), c) == originals.end()) return false;
    }
    return true;
  };
  for (const char* file : {"deployment-rbac.yaml", "deployment.yaml", "managed-mode-deployment.yaml"}) {
    INFO(file << ": copy deploy/crds/*.yaml into it again");
    CHECK(same_set(crds_in(infra(file))));
  }
  std::vector<json::object> chart;
  for (const auto& entry : fs::directory_iterator(source_dir() + "/deploy/charts/aad-pod-identity/crds")) {
    for (auto& d : documents(read_text(entry.path().string()))) chart.push_back(std::move(d));
  }
  INFO("deploy/charts/aad-pod-identity/crds: cp deploy/crds/*.yaml deploy/charts/aad-pod-identity/crds/");
  CHECK(same_set(chart));
}

TEST_CASE("The controller and the node proxy in deploy/infra get only the flags they accept",
          "[integration]") {
  const auto file = GENERATE(from_range(kInfraFiles));
  INFO(file);
  const auto docs = infra(file);
  for (const auto& [container, accepted] :
       {std::pair{"mic", &controller_flags()}, std::pair{"nmi", &nodeproxy_flags()}}) {
    for (const auto& args : container_args(docs, container)) {
      CHECK_FALSE(args.empty());
      for (const auto& arg : args) {
        INFO(container << " " << arg);
        CHECK(accepted->count(flag_name(arg)) == 1);
      }
    }
  }
  // Every node proxy follows a controller (managed mode too: its snapshot is its only source), which names
  // the node proxies' token audience and service account; both run in the same operation mode.
  const auto nmi = container_args(docs, "nmi");
  const auto mic = container_args(docs, "mic");
  const bool managed = file == "managed-mode-deployment.yaml";
  const auto has = [](const std::vector<std::string>& args, const std::string& arg) {
    return std::find(args.begin(), args.end(), arg) != args.end();
  };
  for (const auto& args : nmi) {
    CHECK(has(args, "--operation-mode=managed") == managed);
    CHECK(std::any_of(args.begin(), args.end(),
                      [](const std::string& a) { return flag_name(a) == "--controller-url"; }));
  }
  if (!nmi.empty()) REQUIRE(mic.size() == 1);
  for (const auto& args : mic) {
    CHECK(has(args, "--operation-mode=managed") == managed);
    CHECK(std::any_of(args.begin(), args.end(),
                      [](const std::string& a) { return flag_name(a) == "--cloudconfig"; }) == !managed);
    CHECK(has(args, "--replication-token-audience=podid-controller"));
    const std::string ns = managed ? "kube-system" : "default";
    const std::string sa = file == "deployment.yaml" ? "default" : "aad-pod-id-nmi-service-account";
    CHECK(has(args, "--replication-allowed-users=system:serviceaccount:" + ns + ":" + sa));
  }
}

TEST_CASE("The RBAC manifest grants each component what it does and no more", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  for (const auto& doc : infra("deployment-rbac.yaml")) {
    INFO(describe(doc));
    const auto reply = strict_apply(*cp, doc, "default");
    REQUIRE((reply.status == 200 || reply.status == 201));
  }
  const std::string mic = "aad-pod-id-mic-service-account";
  const std::string nmi = "aad-pod-id-nmi-service-account";
  const char* group = "aadpodidentity.k8s.io";

  SECTION("the controller authenticates node proxies and writes assignments, conditions, Events, its Lease") {
    json::object review{{"group", "authentication.k8s.io"}, {"resource", "tokenreviews"}, {"verb", "create"}};
    CHECK(allowed(*cp, "default", mic, review));
    CHECK(allowed(*cp, "default", mic, attrs("", "pods", "watch")));
    CHECK(allowed(*cp, "default", mic, attrs("", "nodes", "list")));
    CHECK(allowed(*cp, "default", mic, attrs(group, "azureassignedidentities", "create")));
    CHECK(
        allowed(*cp, "default", mic, attrs(group, "azureassignedidentities", "update", "default", "status")));
    CHECK(allowed(*cp, "default", mic, attrs(group, "azureidentities", "patch", "default", "status")));
    CHECK(allowed(*cp, "default", mic, attrs(group, "azurepodidentityexceptions", "watch")));
    CHECK(allowed(*cp, "default", mic, attrs("", "events", "create")));
    CHECK(allowed(*cp, "default", mic, attrs("coordination.k8s.io", "leases", "update")));
  }
  SECTION("the controller migrates: rewrites the user's objects, reads our CRDs, writes the marker") {
    CHECK(allowed(*cp, "default", mic, attrs(group, "azureidentities", "update", "other")));
    CHECK(allowed(*cp, "default", mic, attrs(group, "azureidentitybindings", "update", "other")));
    CHECK(allowed(*cp, "default", mic, attrs(group, "azurepodidentityexceptions", "update", "other")));
    json::object crd{{"group", "apiextensions.k8s.io"},
                     {"resource", "customresourcedefinitions"},
                     {"verb", "get"},
                     {"name", "azureidentities.aadpodidentity.k8s.io"}};
    CHECK(allowed(*cp, "default", mic, crd));
    crd["name"] = "widgets.example.com";
    CHECK_FALSE(allowed(*cp, "default", mic, crd));
    CHECK(allowed(*cp, "default", mic, attrs("", "configmaps", "create")));
    CHECK(allowed(*cp, "default", mic,
                  attrs("", "configmaps", "update", "default", "", "aad-pod-identity-config")));
    CHECK_FALSE(allowed(*cp, "default", mic, attrs("", "configmaps", "update", "default", "", "other")));
    CHECK_FALSE(allowed(*cp, "default", mic, attrs("", "configmaps", "create", "kube-system")));
  }
  SECTION("the controller honours and holds the original MIC's Endpoints lock, and only that one") {
    CHECK(allowed(*cp, "default", mic, attrs("", "endpoints", "get", "default", "", "aad-pod-identity-mic")));
    CHECK(allowed(*cp, "default", mic,
                  attrs("", "endpoints", "update", "default", "", "aad-pod-identity-mic")));
    CHECK(allowed(*cp, "default", mic, attrs("", "endpoints", "create")));
    CHECK_FALSE(allowed(*cp, "default", mic, attrs("", "endpoints", "update", "default", "", "kubernetes")));
    CHECK_FALSE(allowed(*cp, "default", mic,
                        attrs("", "endpoints", "update", "kube-system", "", "aad-pod-identity-mic")));
  }
  SECTION("the controller cannot read Secrets nor create or delete the user's identities") {
    CHECK_FALSE(allowed(*cp, "default", mic, attrs("", "secrets", "get")));
    CHECK_FALSE(allowed(*cp, "default", mic, attrs(group, "azureidentities", "create")));
    CHECK_FALSE(allowed(*cp, "default", mic, attrs(group, "azureidentitybindings", "delete")));
  }
  SECTION("the node proxy reads Secrets and patches nodes (its ready taint)") {
    CHECK(allowed(*cp, "default", nmi, attrs("", "secrets", "get")));
    json::object node{{"resource", "nodes"}, {"verb", "patch"}};
    CHECK(allowed(*cp, "default", nmi, node));
  }
  SECTION("the node proxy cannot list Secrets, write assignments or review tokens") {
    CHECK_FALSE(allowed(*cp, "default", nmi, attrs("", "secrets", "list")));
    CHECK_FALSE(allowed(*cp, "default", nmi, attrs(group, "azureassignedidentities", "create")));
    json::object review{{"group", "authentication.k8s.io"}, {"resource", "tokenreviews"}, {"verb", "create"}};
    CHECK_FALSE(allowed(*cp, "default", nmi, review));
  }
}

TEST_CASE("The flags the manifests may use are flags the built binaries accept", "[integration]") {
  const std::vector<std::pair<std::string, const std::set<std::string>*>> binaries{
      {PODID_CONTROLLER_BIN, &controller_flags()}, {PODID_NODEPROXY_BIN, &nodeproxy_flags()}};
  for (const auto& [binary, flags] : binaries) {
    INFO(binary);
    if (binary.empty() || !fs::exists(binary)) {
      WARN("not checked: " << (binary.empty() ? "the target is not defined" : binary + " is not built"));
      continue;
    }
    const auto help = run_command({binary, "--help"});
    REQUIRE(help.exit_code == 0);
    for (const auto& flag : *flags) {
      INFO(flag);
      if (flag.rfind("--retention-", 0) == 0) {
        if (!lists_flag(help.out, flag)) WARN(binary << " lacks " << flag << " (rendered only when set)");
        continue;
      }
      CHECK(lists_flag(help.out, flag));
    }
  }
}

// The node proxy presents a token whose audience is the one in its projected volume; the controller's
// TokenReview must name that audience (spec.audiences), or a real API server refuses the token.
TEST_CASE("The node proxy's projected token is authenticated only by a TokenReview naming its audience",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto docs = infra("deployment-rbac.yaml");
  for (const auto& doc : docs) REQUIRE(strict_apply(*cp, doc, "default").status < 300);
  const std::string manifest = read_text(source_dir() + "/deploy/infra/deployment-rbac.yaml");
  const auto at = manifest.find("audience: ");
  REQUIRE(at != std::string::npos);
  const std::string audience = manifest.substr(at + 10, manifest.find('\n', at) - at - 10);
  CHECK(audience == "podid-controller");

  const json::object request{
      {"apiVersion", "authentication.k8s.io/v1"},
      {"kind", "TokenRequest"},
      {"spec", {{"audiences", json::array{json::string(audience)}}, {"expirationSeconds", 3600}}}};
  const auto issued =
      cp->request("POST", "/api/v1/namespaces/default/serviceaccounts/aad-pod-id-nmi-service-account/token",
                  json::serialize(request));
  INFO("TokenRequest: HTTP " << issued.status << " " << issued.body);
  REQUIRE(issued.status == 201);
  const json::value issued_json = json::parse(issued.body);
  const std::string token(issued_json.at("status").at("token").as_string());

  const auto review = [&](const json::array& audiences) {
    json::object spec{{"token", token}};
    if (!audiences.empty()) spec["audiences"] = audiences;
    const json::object body{
        {"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenReview"}, {"spec", std::move(spec)}};
    const auto reply =
        cp->request("POST", "/apis/authentication.k8s.io/v1/tokenreviews", json::serialize(body));
    INFO("TokenReview: HTTP " << reply.status << " " << reply.body);
    REQUIRE(reply.status == 201);
    const json::value answer = json::parse(reply.body);
    const auto* ok = answer.at("status").as_object().if_contains("authenticated");
    return ok != nullptr && ok->as_bool();
  };
  CHECK_FALSE(review({}));  // the API server's own audience: refused
  CHECK(review({json::string(audience)}));
}
