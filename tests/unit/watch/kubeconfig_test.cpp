// kubeconfig and in-cluster configuration loading, token rotation, resource paths.
#include "watch/kubeconfig.hpp"

#include <catch2/catch.hpp>

#include "unit/watch/temp_dir.hpp"
#include "watch/resource.hpp"
#include "watch/token_source.hpp"

using podid::core::ErrorCode;
using podid::testing::TempDir;
namespace watch = podid::watch;

namespace {

// "-----BEGIN CERTIFICATE-----\nCA\n" and friends, base64-encoded.
constexpr const char* kCaB64 = "Q0EtUEVN";        // "CA-PEM"
constexpr const char* kCertB64 = "Q0VSVC1QRU0=";  // "CERT-PEM"
constexpr const char* kKeyB64 = "S0VZLVBFTQ==";   // "KEY-PEM"

std::string kubeconfig(const std::string& cluster_extra, const std::string& user) {
  return "apiVersion: v1\nkind: Config\ncurrent-context: main\n"
         "contexts:\n"
         "- name: main\n  context: {cluster: c1, user: u1, namespace: team}\n"
         "- name: other\n  context: {cluster: c2, user: u2}\n"
         "clusters:\n"
         "- name: c1\n  cluster:\n    server: https://127.0.0.1:6443\n" +
         cluster_extra +
         "- name: c2\n  cluster:\n    server: https://other:443\n    certificate-authority: /abs/ca.crt\n"
         "users:\n"
         "- name: u1\n  user:\n" +
         user + "- name: u2\n  user:\n    token: other-token\n";
}

}  // namespace

TEST_CASE("A kubeconfig with embedded certificate data yields the cluster, CA and client identity",
          "[unit]") {
  const auto cfg =
      watch::parse_kubeconfig(kubeconfig(std::string{"    certificate-authority-data: "} + kCaB64 +
                                             "\n    tls-server-name: kubernetes\n",
                                         std::string{"    client-certificate-data: "} + kCertB64 +
                                             "\n    client-key-data: " + kKeyB64 + "\n"),
                              "/base");
  REQUIRE(cfg.has_value());
  CHECK(cfg->server == "https://127.0.0.1:6443");
  CHECK(cfg->default_namespace == "team");
  CHECK(cfg->tls.ca.data == "CA-PEM");
  CHECK(cfg->tls.client_cert.data == "CERT-PEM");
  CHECK(cfg->tls.client_key.data == "KEY-PEM");
  CHECK(cfg->tls.server_name == "kubernetes");
  CHECK_FALSE(cfg->tls.insecure_skip_verify);
  CHECK(cfg->token.empty());
}

TEST_CASE("Relative certificate paths and tokenFile resolve against the kubeconfig's directory", "[unit]") {
  TempDir dir;
  const auto path =
      dir.write("config", kubeconfig("    certificate-authority: pki/ca.crt\n",
                                     "    client-certificate: pki/admin.crt\n    client-key: /etc/admin.key\n"
                                     "    tokenFile: token\n"));
  const auto cfg = watch::load_kubeconfig(path);
  REQUIRE(cfg.has_value());
  CHECK(cfg->tls.ca.file == dir.path() + "/pki/ca.crt");
  CHECK(cfg->tls.client_cert.file == dir.path() + "/pki/admin.crt");
  CHECK(cfg->tls.client_key.file == "/etc/admin.key");
  CHECK(cfg->token_file == dir.path() + "/token");
}

TEST_CASE("A named context overrides current-context", "[unit]") {
  watch::KubeconfigOptions options;
  options.context = "other";
  const auto cfg = watch::parse_kubeconfig(kubeconfig("", "    token: t1\n"), "/base", options);
  REQUIRE(cfg.has_value());
  CHECK(cfg->server == "https://other:443");
  CHECK(cfg->token == "other-token");
  CHECK(cfg->tls.ca.file == "/abs/ca.crt");
  CHECK(cfg->default_namespace == "default");
}

TEST_CASE("insecure-skip-tls-verify is refused unless explicitly allowed", "[unit]") {
  const auto text = kubeconfig("    insecure-skip-tls-verify: true\n", "    token: t1\n");
  const auto refused = watch::parse_kubeconfig(text, "/base");
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == ErrorCode::invalid);
  watch::KubeconfigOptions options;
  options.allow_insecure = true;
  const auto allowed = watch::parse_kubeconfig(text, "/base", options);
  REQUIRE(allowed.has_value());
  CHECK(allowed->tls.insecure_skip_verify);
  CHECK(allowed->token == "t1");
}

TEST_CASE("Broken kubeconfigs are refused as invalid", "[unit]") {
  const auto text = GENERATE(as<std::string>{}, "{{{{", "current-context: nope\ncontexts: []\n",
                             "apiVersion: v1\n", kubeconfig("", "    exec: {command: az}\n"),
                             kubeconfig("    certificate-authority-data: '!!!'\n", "    token: t\n"));
  const auto cfg = watch::parse_kubeconfig(text, "/base");
  REQUIRE_FALSE(cfg.has_value());
  CHECK(cfg.error().code == ErrorCode::invalid);
}

TEST_CASE("A missing kubeconfig file is an io error", "[unit]") {
  const auto cfg = watch::load_kubeconfig("/nonexistent/kubeconfig");
  REQUIRE_FALSE(cfg.has_value());
  CHECK(cfg.error().code == ErrorCode::io);
}

TEST_CASE("In-cluster configuration reads the service-account directory", "[unit]") {
  TempDir dir;
  dir.write("token", "sa-token\n");
  dir.write("ca.crt", "CA");
  dir.write("namespace", "kube-system");
  SECTION("IPv4 service host") {
    const auto cfg = watch::in_cluster_config("10.0.0.1", "443", dir.path());
    REQUIRE(cfg.has_value());
    CHECK(cfg->server == "https://10.0.0.1:443");
    CHECK(cfg->token_file == dir.path() + "/token");
    CHECK(cfg->tls.ca.file == dir.path() + "/ca.crt");
    CHECK(cfg->default_namespace == "kube-system");
  }
  SECTION("IPv6 service host is bracketed") {
    const auto cfg = watch::in_cluster_config("fd00::1", "443", dir.path());
    REQUIRE(cfg.has_value());
    CHECK(cfg->server == "https://[fd00::1]:443");
  }
  SECTION("outside a cluster") {
    const auto cfg = watch::in_cluster_config("", "443", dir.path());
    REQUIRE_FALSE(cfg.has_value());
    CHECK(cfg.error().code == ErrorCode::invalid);
  }
  SECTION("without a token") {
    TempDir empty;
    const auto cfg = watch::in_cluster_config("10.0.0.1", "443", empty.path());
    REQUIRE_FALSE(cfg.has_value());
    CHECK(cfg.error().code == ErrorCode::io);
  }
}

TEST_CASE("A token file is re-read after the refresh period and after a 401", "[unit]") {
  TempDir dir;
  const auto file = dir.write("token", "first\n");
  auto now = std::chrono::steady_clock::time_point{};
  watch::TokenSource tokens{"", file, std::chrono::seconds(60), [&now] { return now; }};
  CHECK(tokens.token().value() == "first");
  dir.write("token", "second");
  now += std::chrono::seconds(59);
  CHECK(tokens.token().value() == "first");  // cached within the period
  now += std::chrono::seconds(1);
  CHECK(tokens.token().value() == "second");  // re-read when due
  dir.write("token", "third");
  CHECK(tokens.invalidate());
  CHECK(tokens.token().value() == "third");  // re-read at once after a 401
  CHECK(tokens.reads() == 3);
}

TEST_CASE("A static token never changes and cannot be refreshed", "[unit]") {
  watch::TokenSource tokens{"static", ""};
  CHECK(tokens.token().value() == "static");
  CHECK_FALSE(tokens.invalidate());
}

TEST_CASE("base64 decoding accepts padding and line breaks and refuses junk", "[unit]") {
  CHECK(watch::base64_decode("aGVs\nbG8=").value() == "hello");
  CHECK(watch::base64_decode("").value().empty());
  CHECK_FALSE(watch::base64_decode("a$b").has_value());
}

TEST_CASE("Resource paths follow the API groups", "[unit]") {
  namespace kinds = watch::kinds;
  CHECK(watch::collection_path(kinds::pods(), "ns1") == "/api/v1/namespaces/ns1/pods");
  CHECK(watch::collection_path(kinds::pods(), "") == "/api/v1/pods");
  CHECK(watch::object_path(kinds::nodes(), "ignored", "n1") == "/api/v1/nodes/n1");
  CHECK(watch::object_path(kinds::leases(), "kube-system", "mic") ==
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/mic");
  CHECK(watch::object_path(kinds::azure_assigned_identities(), "d", "x", "status") ==
        "/apis/aadpodidentity.k8s.io/v1/namespaces/d/azureassignedidentities/x/status");
  CHECK(watch::collection_path(kinds::azure_identities(), "d") ==
        "/apis/aadpodidentity.k8s.io/v1/namespaces/d/azureidentities");
  CHECK(kinds::azure_identity_bindings().plural == "azureidentitybindings");
  CHECK(kinds::azure_pod_identity_exceptions().plural == "azurepodidentityexceptions");
  CHECK(kinds::events().api_version() == "events.k8s.io/v1");
  CHECK(kinds::secrets().api_version() == "v1");
  CHECK(kinds::config_maps().plural == "configmaps");
}
