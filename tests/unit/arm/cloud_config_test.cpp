#include "arm/cloud_config.hpp"

#include <catch2/catch.hpp>

using podid::arm::CredentialKind;
using podid::arm::parse_cloud_config;
using podid::core::ErrorCode;

namespace {

constexpr const char* kAks = R"({
  "cloud": "AzurePublicCloud",
  "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
  "subscriptionId": "00000000-0000-0000-0000-00000000aaaa",
  "aadClientId": "c0ffee00-0000-0000-0000-000000000001",
  "aadClientSecret": "s3cret",
  "resourceGroup": "MC_rg_cluster_eastus",
  "location": "eastus",
  "vmType": "vmss",
  "subnetName": "aks-subnet",
  "useManagedIdentityExtension": false,
  "userAssignedIdentityID": ""
})";

}  // namespace

TEST_CASE("An AKS azure.json with a client secret parses into a service-principal config", "[unit]") {
  auto c = parse_cloud_config(kAks);
  REQUIRE(c.has_value());
  CHECK(c->credential == CredentialKind::client_secret);
  CHECK(c->tenant_id == "72f988bf-86f1-41af-91ab-2d7cd011db47");
  CHECK(c->subscription_id == "00000000-0000-0000-0000-00000000aaaa");
  CHECK(c->resource_group == "MC_rg_cluster_eastus");
  CHECK(c->vm_type == "vmss");
  CHECK(c->client_id == "c0ffee00-0000-0000-0000-000000000001");
  CHECK(c->client_secret.value() == "s3cret");
  CHECK(c->cloud.name == "AzurePublicCloud");
  CHECK(c->cloud.authority_host == "https://login.microsoftonline.com");
  CHECK(c->cloud.resource_manager == "https://management.azure.com");
  CHECK(c->cloud.token_audience == "https://management.azure.com/");
  CHECK(c->cloud.imds == "http://169.254.169.254");
}

TEST_CASE("Keys of azure.json match case-insensitively, as Go's JSON decoding did", "[unit]") {
  auto c = parse_cloud_config(
      R"({"Cloud":"azurechinacloud","TENANTID":"t","subscriptionid":"s","AADClientID":"c","aadclientsecret":"x"})");
  REQUIRE(c.has_value());
  CHECK(c->tenant_id == "t");
  CHECK(c->client_id == "c");
  CHECK(c->cloud.name == "AzureChinaCloud");
  CHECK(c->cloud.resource_manager == "https://management.chinacloudapi.cn");
}

TEST_CASE("Managed identity needs no tenant or client and keeps the user-assigned client ID", "[unit]") {
  auto c = parse_cloud_config(
      R"({"subscriptionId":"s","useManagedIdentityExtension":true,"userAssignedIdentityID":"abc"})");
  REQUIRE(c.has_value());
  CHECK(c->credential == CredentialKind::managed_identity);
  CHECK(c->user_assigned_identity_id == "abc");
  // The YAML-era string form is accepted too.
  auto s = parse_cloud_config(R"({"subscriptionId":"s","useManagedIdentityExtension":"True"})");
  REQUIRE(s.has_value());
  CHECK(s->credential == CredentialKind::managed_identity);
  CHECK(s->user_assigned_identity_id.empty());
}

TEST_CASE("A certificate path selects the certificate credential", "[unit]") {
  auto c = parse_cloud_config(
      R"({"tenantId":"t","subscriptionId":"s","aadClientId":"c","aadClientCertPath":"/etc/k/sp.pem",
          "aadClientCertPassword":"pw"})");
  REQUIRE(c.has_value());
  CHECK(c->credential == CredentialKind::client_certificate);
  CHECK(c->client_cert_path == "/etc/k/sp.pem");
  CHECK(c->client_cert_password.value() == "pw");
}

TEST_CASE("Custom-cloud endpoints point the same binary at another cloud (the emulator)", "[unit]") {
  auto c = parse_cloud_config(R"({"cloud":"Emulator","tenantId":"t","subscriptionId":"s","aadClientId":"c",
      "aadClientSecret":"x","activeDirectoryEndpoint":"https://127.0.0.1:4443/",
      "resourceManagerEndpoint":"https://127.0.0.1:4444/","imdsEndpoint":"http://127.0.0.1:8080"})");
  REQUIRE(c.has_value());
  CHECK(c->cloud.name == "Emulator");
  CHECK(c->cloud.authority_host == "https://127.0.0.1:4443");
  CHECK(c->cloud.resource_manager == "https://127.0.0.1:4444");
  CHECK(c->cloud.token_audience == "https://127.0.0.1:4444/");
  CHECK(c->cloud.imds == "http://127.0.0.1:8080");
  auto audience = parse_cloud_config(R"({"tenantId":"t","subscriptionId":"s","aadClientId":"c",
      "aadClientSecret":"x","resourceManagerEndpoint":"https://arm.local","tokenAudience":"https://management.azure.com/"})");
  REQUIRE(audience.has_value());
  CHECK(audience->cloud.name == "AzurePublicCloud");
  CHECK(audience->cloud.resource_manager == "https://arm.local");
  CHECK(audience->cloud.token_audience == "https://management.azure.com/");
}

TEST_CASE("Broken azure.json files are refused with an error naming the key", "[unit]") {
  struct Case {
    std::string text;
    std::string expected;
  };
  const auto c = GENERATE(
      Case{"{not json", "not valid JSON"}, Case{"[1]", "expected an object"},
      Case{R"({"tenantId":"t","aadClientId":"c","aadClientSecret":"x"})", "subscriptionId: required"},
      Case{R"({"subscriptionId":"s","aadClientId":"c","aadClientSecret":"x"})", "tenantId: required"},
      Case{R"({"subscriptionId":"s","tenantId":"t","aadClientSecret":"x"})", "aadClientId: required"},
      Case{R"({"subscriptionId":"s","tenantId":"t","aadClientId":"c"})", "aadClientSecret"},
      Case{R"({"subscriptionId":"s","tenantId":7})", "tenantId"},
      Case{R"({"subscriptionId":"s","useManagedIdentityExtension":"maybe"})", "useManagedIdentityExtension"},
      Case{R"({"subscriptionId":"s","cloud":"Mars","useManagedIdentityExtension":true})",
           "unknown cloud \"Mars\""},
      Case{R"({"subscriptionId":"s","vmType":"kubernetes","useManagedIdentityExtension":true})", "vmType"},
      Case{R"({"subscriptionId":"s","resourceManagerEndpoint":"ftp://x","useManagedIdentityExtension":true})",
           "resourceManagerEndpoint: expected an http(s) URL"});
  auto r = parse_cloud_config(c.text);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::invalid);
  CHECK_THAT(r.error().message, Catch::Contains(c.expected));
  CHECK_THAT(r.error().message, Catch::StartsWith("azure.json"));
}
