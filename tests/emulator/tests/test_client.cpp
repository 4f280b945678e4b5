#include "tests/emulator/tests/test_client.hpp"

#include <curl/curl.h>

#include <boost/json/parse.hpp>
#include <stdexcept>

namespace podid::emulator::testing {

namespace {

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string, CaseLess>*>(user);
  const std::string line(data, size * n);
  const std::size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*headers)[line.substr(0, colon)] = value;
  }
  return size * n;
}

}  // namespace

boost::json::value Reply::json() const {
  return boost::json::parse(body);
}

std::string Reply::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

Reply http(const Call& call, const std::string& ca_pem) {
  Reply reply;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) throw std::runtime_error("curl_easy_init failed");
  curl_slist* headers = nullptr;
  for (const std::string& h : call.headers) headers = curl_slist_append(headers, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, call.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, call.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  if (!call.body.empty() || call.method == "POST" || call.method == "PUT" || call.method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, call.body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
  }
  curl_blob blob{};
  if (!ca_pem.empty()) {
    blob.data = const_cast<char*>(ca_pem.data());
    blob.len = ca_pem.size();
    blob.flags = CURL_BLOB_COPY;
    curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

EmulatorConfig small_cloud() {
  EmulatorConfig c;
  c.tenants.push_back(TenantConfig{kTenant, {AppConfig{kClient, kAppOid, {kSecret}, {}, {}}}});
  c.subscriptions.push_back(SubscriptionConfig{kSub, kTenant, {kRg, "ids"}});
  c.identities.push_back(IdentityConfig{kSub, "ids", "id-a", "eastus", {}});
  c.identities.push_back(IdentityConfig{kSub, "ids", "id-b", "eastus", {}});
  c.vms.push_back(MachineConfig{kSub, kRg, "vm-0", "eastus", false, {identity_id("id-a")}, 1});
  c.scale_sets.push_back(MachineConfig{kSub, kRg, "ss-0", "eastus", false, {}, 2});
  c.latencies.vm = std::chrono::milliseconds(0);
  c.latencies.vmss = std::chrono::milliseconds(0);
  c.latencies.retry_after = std::chrono::seconds(0);
  return c;
}

std::string identity_id(const std::string& name) {
  return std::string("/subscriptions/") + kSub +
         "/resourceGroups/ids/providers/Microsoft.ManagedIdentity/"
         "userAssignedIdentities/" +
         name;
}

std::string vm_id(const std::string& name) {
  return std::string("/subscriptions/") + kSub + "/resourceGroups/" + kRg +
         "/providers/Microsoft.Compute/virtualMachines/" + name;
}

std::string vmss_id(const std::string& name) {
  return std::string("/subscriptions/") + kSub + "/resourceGroups/" + kRg +
         "/providers/Microsoft.Compute/virtualMachineScaleSets/" + name;
}

std::string arm_token(const Emulator& emu, const std::string& resource) {
  const Reply r = http(Call{"POST",
                            emu.authority_host() + "/" + kTenant + "/oauth2/token",
                            {},
                            "grant_type=client_credentials&client_id=" + std::string(kClient) +
                                "&client_secret=" + kSecret + "&resource=" + url_encode(resource)},
                       emu.ca_pem());
  if (r.status != 200) throw std::runtime_error("token request failed: " + r.body);
  return std::string(r.json().at("access_token").as_string());
}

Result<Jwt> verified_jwt(const Emulator& emu, const std::string& tenant, const std::string& token) {
  auto jwt = PODID_TRY(jwt_parse(token));
  const auto kid = jwt.header_string("kid");
  const auto jwks = boost::json::parse(emu.jwks_json(tenant));
  for (const auto& k : jwks.at("keys").as_array()) {
    const auto& o = k.as_object();
    if (o.at("kid").as_string() != kid) continue;
    const auto key = PODID_TRY(Key::from_rsa_jwk(o.at("n").as_string(), o.at("e").as_string()));
    if (!jwt_verify(jwt, key))
      return core::make_error(core::ErrorCode::permission, "JWT signature does not verify");
    return jwt;
  }
  return core::make_error(core::ErrorCode::not_found, "No key " + kid + " in the tenant's JWKS");
}

}  // namespace podid::emulator::testing
