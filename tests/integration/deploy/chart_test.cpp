// The Helm chart (deploy/charts/aad-pod-identity), rendered by helm built from its Go module: the default
// render equals the golden files, and the renders of the important value sets are accepted by the real
// kube-apiserver as they are (strict field validation) and say what the values asked for.
// PODID_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <iostream>
#include <regex>
#include <string>
#include <vector>

#include "integration/deploy/deploy_support.hpp"
#include "integration/deploy/flags.hpp"
#include "support/control_plane_catch.hpp"

namespace json = boost::json;
using namespace podid::deploy_test;

namespace {

// Resolved once per binary: building helm cold takes minutes.
const std::string& helm() {
  static std::string reason;
  static const std::string path = [] {
    std::string p = helm_binary(reason);
    if (p.empty()) std::cout << "PODID-SKIP: helm unavailable: " << reason << std::endl;
    return p;
  }();
  if (path.empty()) WARN("SKIPPED: helm unavailable: " << reason);
  return path;
}

#define PODID_HELM_OR_SKIP() \
  if (helm().empty()) return

struct Render {
  std::string text;
  std::vector<json::object> docs;
};

// helm template <release> <chart> --namespace <ns> [extra...]; REQUIREs success.
Render render(const std::string& release, const std::string& ns, const std::vector<std::string>& extra) {
  std::vector<std::string> argv{
      helm(),        "template", release,          source_dir() + "/deploy/charts/aad-pod-identity",
      "--namespace", ns,         "--kube-version", "1.37.2"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  const auto r = run_command(argv);
  INFO("helm template " << release << ": exit " << r.exit_code << "\n" << r.err);
  REQUIRE(r.exit_code == 0);
  return {r.out, documents(r.out)};
}

std::vector<json::object> of_kind(const std::vector<json::object>& docs, const std::string& kind) {
  std::vector<json::object> out;
  std::copy_if(docs.begin(), docs.end(), std::back_inserter(out),
               [&](const json::object& d) { return d.at("kind").as_string() == kind; });
  return out;
}

bool has_arg(const std::vector<std::string>& args, const std::string& arg) {
  return std::find(args.begin(), args.end(), arg) != args.end();
}

void apply_all(podid::testing::ControlPlane& cp, const std::vector<json::object>& docs,
               const std::string& ns) {
  REQUIRE_FALSE(docs.empty());
  for (const auto& doc : docs) {
    INFO(describe(doc));
    const auto reply = strict_apply(cp, doc, ns);
    INFO("HTTP " << reply.status << ": " << reply.body);
    CHECK((reply.status == 200 || reply.status == 201));
  }
}

// Generated certificates differ on every render: the golden files hold a placeholder.
std::string mask_generated(const std::string& text) {
  static const std::regex generated(R"(^(  (tls\.crt|tls\.key|ca\.crt): )\S+$)", std::regex::multiline);
  return std::regex_replace(text, generated, "$1<generated>");
}

void check_golden(const std::string& name, const std::string& rendered) {
  const std::string path = source_dir() + "/tests/integration/deploy/golden/" + name;
  const std::string actual = mask_generated(rendered);
  if (const char* update = std::getenv("PODID_UPDATE_GOLDEN"); update != nullptr && *update == '1') {
    write_text(path, actual);
    WARN("rewrote " << path);
    return;
  }
  const std::string expected = read_text(path);
  if (actual == expected) return;
  std::size_t line = 1;
  std::size_t i = 0;
  for (; i < std::min(actual.size(), expected.size()) && actual[i] == expected[i]; ++i)
    line += actual[i] == '\n';
  FAIL(path << " differs from line " << line
            << " (PODID_UPDATE_GOLDEN=1 rewrites it after a deliberate change)\n"
            << "rendered:\n"
            << actual.substr(actual.rfind('\n', i) + 1, 400) << "\ngolden:\n"
            << expected.substr(expected.rfind('\n', i) + 1, 400));
}

void check_flags(const std::vector<json::object>& docs) {
  for (const auto& [container, accepted] :
       {std::pair{"mic", &controller_flags()}, std::pair{"nmi", &nodeproxy_flags()}}) {
    for (const auto& args : container_args(docs, container)) {
      for (const auto& arg : args) {
        INFO(container << " " << arg);
        CHECK(accepted->count(flag_name(arg)) == 1);
      }
    }
  }
}

}  // namespace

TEST_CASE("The chart's default render equals the golden files", "[integration]") {
  PODID_HELM_OR_SKIP();
  check_golden("default.yaml", render("aad-pod-identity", "kube-system", {}).text);
  check_golden("managed.yaml",
               render("aad-pod-identity", "kube-system", {"--set", "operationMode=managed"}).text);
}

TEST_CASE("The chart's default render installs the controller and the node proxy wired together",
          "[integration]") {
  PODID_HELM_OR_SKIP();
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const std::string ns = cp->create_namespace("chart-default");
  const auto r = render("podid", ns, {"--include-crds"});
  apply_all(*cp, r.docs, ns);
  check_flags(r.docs);
  const auto services = of_kind(r.docs, "Service");
  REQUIRE(services.size() == 1);
  const std::string service = std::string(services[0].at("metadata").at("name").as_string());
  const auto nmi = container_args(r.docs, "nmi");
  REQUIRE(nmi.size() == 1);
  CHECK(has_arg(nmi[0], "--controller-url=https://" + service + "." + ns + ".svc:8443"));
  CHECK(has_arg(nmi[0], "--operation-mode=standard"));
  const auto mic = container_args(r.docs, "mic");
  REQUIRE(mic.size() == 1);
  CHECK(has_arg(mic[0], "--leader-elect=true"));
  CHECK(has_arg(mic[0], "--replication-port=8443"));
  CHECK(has_arg(mic[0], "--operation-mode=standard"));
  CHECK(has_arg(mic[0], "--replication-token-audience=podid-controller"));
  CHECK(has_arg(mic[0],
                "--replication-allowed-users=system:serviceaccount:" + ns + ":podid-aad-pod-identity-nmi"));
  const auto secrets = of_kind(r.docs, "Secret");
  REQUIRE(secrets.size() == 1);
  const auto& data = secrets[0].at("data").as_object();
  for (const char* key : {"tls.crt", "tls.key", "ca.crt"}) CHECK(!data.at(key).as_string().empty());
  CHECK(of_kind(r.docs, "AzurePodIdentityException").size() == 2);
}

TEST_CASE("Managed mode installs the controller without Azure and the node proxy following it, namespaced",
          "[integration]") {
  PODID_HELM_OR_SKIP();
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const std::string ns = cp->create_namespace("chart-managed");
  const auto r = render("managed", ns, {"--set", "operationMode=managed"});
  apply_all(*cp, r.docs, ns);
  check_flags(r.docs);
  const auto services = of_kind(r.docs, "Service");
  REQUIRE(services.size() == 1);
  const std::string service = std::string(services[0].at("metadata").at("name").as_string());
  CHECK(of_kind(r.docs, "Secret").size() == 1);  // the replication TLS material, no azure.json
  const auto mic = container_args(r.docs, "mic");
  REQUIRE(mic.size() == 1);
  CHECK(has_arg(mic[0], "--operation-mode=managed"));
  CHECK(has_arg(mic[0], "--forceNamespaced"));
  CHECK(has_arg(mic[0], "--replication-token-audience=podid-controller"));
  CHECK(has_arg(mic[0],
                "--replication-allowed-users=system:serviceaccount:" + ns + ":managed-aad-pod-identity-nmi"));
  CHECK(std::none_of(mic[0].begin(), mic[0].end(),
                     [](const std::string& a) { return flag_name(a) == "--cloudconfig"; }));
  CHECK(render("managed", ns, {"--set", "operationMode=managed"}).text.find("k8s-azure-file") ==
        std::string::npos);
  const auto nmi = container_args(r.docs, "nmi");
  REQUIRE(nmi.size() == 1);
  CHECK(has_arg(nmi[0], "--operation-mode=managed"));
  CHECK(has_arg(nmi[0], "--forceNamespaced"));
  CHECK(has_arg(nmi[0], "--controller-url=https://" + service + "." + ns + ".svc:8443"));
  CHECK(of_kind(r.docs, "AzurePodIdentityException").size() == 1);  // AKS add-ons only: no MIC exception
}

TEST_CASE("Without RBAC the chart creates no service accounts or roles", "[integration]") {
  PODID_HELM_OR_SKIP();
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const std::string ns = cp->create_namespace("chart-norbac");
  const auto r = render("norbac", ns, {"--set", "rbac.enabled=false"});
  apply_all(*cp, r.docs, ns);
  for (const char* kind : {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"})
    CHECK(of_kind(r.docs, kind).empty());
  CHECK(r.text.find("serviceAccountName") == std::string::npos);
}

TEST_CASE(
    "The chart's controller may migrate at start-up and hold the original MIC's Endpoints lock where the "
    "original locked it",
    "[integration]") {
  PODID_HELM_OR_SKIP();
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const std::string ns = cp->create_namespace("chart-lock");
  const auto r = render("lock", ns, {});
  apply_all(*cp, r.docs, ns);
  check_flags(r.docs);
  const auto mic = container_args(r.docs, "mic");
  REQUIRE(mic.size() == 1);
  CHECK(has_arg(mic[0], "--migrate-on-start=true"));
  CHECK(has_arg(mic[0], "--legacy-endpoints-lock=hold"));
  // The original's --leader-election-namespace defaulted to default, whatever namespace it ran in.
  CHECK(has_arg(mic[0], "--legacy-endpoints-lock-namespace=default"));
  const std::string sa = "lock-aad-pod-identity-mic";
  const char* group = "aadpodidentity.k8s.io";
  CHECK(allowed(*cp, ns, sa, attrs("", "endpoints", "get", "default", "", "aad-pod-identity-mic")));
  CHECK(allowed(*cp, ns, sa, attrs("", "endpoints", "update", "default", "", "aad-pod-identity-mic")));
  CHECK(allowed(*cp, ns, sa, attrs("", "endpoints", "create", "default")));
  CHECK_FALSE(allowed(*cp, ns, sa, attrs("", "endpoints", "update", "default", "", "kubernetes")));
  CHECK(allowed(*cp, ns, sa, attrs("", "configmaps", "create", ns)));
  CHECK(allowed(*cp, ns, sa, attrs("", "configmaps", "update", ns, "", "aad-pod-identity-config")));
  CHECK_FALSE(allowed(*cp, ns, sa, attrs("", "configmaps", "update", ns, "", "other")));
  CHECK(allowed(*cp, ns, sa, attrs(group, "azureidentities", "update", "anywhere")));
  CHECK_FALSE(allowed(*cp, ns, sa, attrs(group, "azureidentities", "delete", "anywhere")));

  SECTION("with the lock off and no migration, neither the flags' grants nor the Roles are rendered") {
    const auto off = render(
        "lockoff", ns, {"--set", "mic.legacyEndpointsLock.mode=off", "--set", "mic.migrateOnStart=false"});
    apply_all(*cp, off.docs, ns);
    const auto args = container_args(off.docs, "mic");
    REQUIRE(args.size() == 1);
    CHECK(has_arg(args[0], "--legacy-endpoints-lock=off"));
    CHECK(has_arg(args[0], "--migrate-on-start=false"));
    CHECK(of_kind(off.docs, "Role").empty());
    const std::string off_sa = "lockoff-aad-pod-identity-mic";
    CHECK_FALSE(
        allowed(*cp, ns, off_sa, attrs("", "endpoints", "get", "default", "", "aad-pod-identity-mic")));
    CHECK_FALSE(allowed(*cp, ns, off_sa, attrs(group, "azureidentities", "update", "anywhere")));
  }
  SECTION("read only, in the namespace of the Lease when one is set") {
    const auto honour = render(
        "honour", ns,
        {"--set", "mic.legacyEndpointsLock.mode=honour", "--set", "mic.leaderElection.namespace=" + ns});
    apply_all(*cp, honour.docs, ns);
    const auto args = container_args(honour.docs, "mic");
    REQUIRE(args.size() == 1);
    CHECK(has_arg(args[0], "--legacy-endpoints-lock-namespace=" + ns));
    const std::string h_sa = "honour-aad-pod-identity-mic";
    CHECK(allowed(*cp, ns, h_sa, attrs("", "endpoints", "get", ns, "", "aad-pod-identity-mic")));
    CHECK_FALSE(allowed(*cp, ns, h_sa, attrs("", "endpoints", "update", ns, "", "aad-pod-identity-mic")));
  }
  SECTION("an unknown mode is refused at render time") {
    const auto bad = run_command({helm(), "template", "bad", source_dir() + "/deploy/charts/aad-pod-identity",
                                  "--set", "mic.legacyEndpointsLock.mode=steal"});
    CHECK(bad.exit_code != 0);
    CHECK(bad.err.find("mic.legacyEndpointsLock.mode must be hold, honour or off") != std::string::npos);
  }
}

TEST_CASE("Identities and bindings declared in values become the user's objects", "[integration]") {
  PODID_HELM_OR_SKIP();
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const std::string ns = cp->create_namespace("chart-ids");
  const std::string values = cp->info().dir + "/identities-values.yaml";
  write_text(
      values,
      "azureIdentities:\n"
      "  demo:\n"
      "    type: 0\n"
      "    resourceID: /subscriptions/8f9a2c1e-4b7d-4e2a-9c3f-1d2e3f4a5b6c/resourcegroups/demo-rg/providers/"
      "Microsoft.ManagedIdentity/userAssignedIdentities/demo\n"
      "    clientID: 3d6f1c2a-9b8e-4f7d-a6c5-b4e3d2c1f0a9\n"
      "    binding:\n"
      "      name: demo-binding\n"
      "      selector: demo\n");
  const auto r = render("ids", ns, {"-f", values});
  apply_all(*cp, r.docs, ns);
  const auto id =
      cp->request("GET", "/apis/aadpodidentity.k8s.io/v1/namespaces/" + ns + "/azureidentities/demo");
  REQUIRE(id.status == 200);
  const auto spec = json::parse(id.body).at("spec");
  CHECK(spec.at("type").as_int64() == 0);
  CHECK(spec.at("clientID").as_string() == "3d6f1c2a-9b8e-4f7d-a6c5-b4e3d2c1f0a9");
  const auto binding = cp->request(
      "GET", "/apis/aadpodidentity.k8s.io/v1/namespaces/" + ns + "/azureidentitybindings/demo-binding");
  REQUIRE(binding.status == 200);
  CHECK(json::parse(binding.body).at("spec").at("azureIdentity").as_string() == "demo");
  CHECK(json::parse(binding.body).at("spec").at("selector").as_string() == "demo");
}

TEST_CASE("A persistent event log, retention, immutable identities and namespaced mode are rendered as asked",
          "[integration]") {
  PODID_HELM_OR_SKIP();
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const std::string ns = cp->create_namespace("chart-pvc");
  const auto r =
      render("pvc", ns,
             {"--set", "eventLog.volume.type=persistentVolumeClaim", "--set", "eventLog.volume.size=5Gi",
              "--set", "eventLog.retention.maxAge=168h", "--set", "mic.immutableUserMSIs={aaa,bbb}", "--set",
              "forceNamespaced=true", "--set", "mic.podDisruptionBudget.minAvailable=1", "--set",
              "rbac.createUserFacingClusterRoles=true", "--set", "mic.leaderElection.name=my-lease"});
  apply_all(*cp, r.docs, ns);
  check_flags(r.docs);
  CHECK(of_kind(r.docs, "Deployment").empty());
  const auto sets = of_kind(r.docs, "StatefulSet");
  REQUIRE(sets.size() == 1);
  const auto& claim = sets[0].at("spec").at("volumeClaimTemplates").as_array().at(0);
  CHECK(claim.at("spec").at("resources").at("requests").at("storage").as_string() == "5Gi");
  const auto mic = container_args(r.docs, "mic");
  REQUIRE(mic.size() == 1);
  CHECK(has_arg(mic[0], "--immutable-user-msis=aaa,bbb"));
  CHECK(has_arg(mic[0], "--retention-max-age=168h"));
  CHECK(has_arg(mic[0], "--forceNamespaced"));
  CHECK(has_arg(mic[0], "--lease-name=my-lease"));
  CHECK(has_arg(container_args(r.docs, "nmi").at(0), "--forceNamespaced"));
  CHECK(of_kind(r.docs, "PodDisruptionBudget").size() == 1);
  CHECK(of_kind(r.docs, "ClusterRole").size() == 4);
}

TEST_CASE("An admin secret replaces the node's azure.json and root", "[integration]") {
  PODID_HELM_OR_SKIP();
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const std::string ns = cp->create_namespace("chart-admin");
  const auto r = render("admin", ns,
                        {"--set", "adminsecret.subscriptionID=8f9a2c1e-4b7d-4e2a-9c3f-1d2e3f4a5b6c", "--set",
                         "adminsecret.resourceGroup=nodes-rg", "--set", "adminsecret.tenantID=t", "--set",
                         "adminsecret.clientID=c", "--set", "adminsecret.clientSecret=s"});
  apply_all(*cp, r.docs, ns);
  const auto secret = cp->request("GET", "/api/v1/namespaces/" + ns + "/secrets/admin-aad-pod-identity-mic");
  REQUIRE(secret.status == 200);
  CHECK(json::parse(secret.body).at("data").as_object().contains("azure.json"));
  const auto deployments = of_kind(r.docs, "Deployment");
  REQUIRE(deployments.size() == 1);
  const std::string deployment = json::serialize(deployments[0]);
  CHECK(deployment.find("hostPath") == std::string::npos);
  CHECK(deployment.find("runAsUser") == std::string::npos);
  CHECK(deployment.find("checksum/config") != std::string::npos);
}
