#include "arm/cloud_config.hpp"

#include <array>
#include <boost/json/parse.hpp>

#include "core/json_reader.hpp"
#include "core/model.hpp"

namespace podid::arm {

namespace {

struct KnownCloud {
  std::string_view name;
  std::string_view authority;
  std::string_view arm;
};

constexpr std::array kClouds{
    KnownCloud{"AzurePublicCloud", "https://login.microsoftonline.com", "https://management.azure.com/"},
    KnownCloud{"AzureChinaCloud", "https://login.chinacloudapi.cn", "https://management.chinacloudapi.cn/"},
    KnownCloud{"AzureUSGovernmentCloud", "https://login.microsoftonline.us",
               "https://management.usgovcloudapi.net/"},
    KnownCloud{"AzureGermanCloud", "https://login.microsoftonline.de",
               "https://management.microsoftazure.de/"},
};

std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

bool is_http_url(std::string_view url) {
  return url.starts_with("https://") || url.starts_with("http://");
}

core::Error config_error(std::string_view key, std::string_view problem) {
  return core::make_error(core::ErrorCode::invalid,
                          "azure.json: " + std::string(key) + ": " + std::string(problem));
}

// "true"/"false" strings are accepted too: the original's YAML parser read both.
core::Result<bool> read_bool(core::JsonReader& r, std::string_view key) {
  const auto* v = r.find(key);
  if (v == nullptr || v->is_null()) return false;
  if (const auto* b = v->if_bool()) return *b;
  if (const auto* s = v->if_string()) {
    if (core::iequals(*s, "true")) return true;
    if (core::iequals(*s, "false") || s->empty()) return false;
  }
  return config_error(key, "expected true or false");
}

core::Result<CloudEndpoints> read_endpoints(core::JsonReader& r) {
  const std::string name = r.opt_str("cloud");
  const std::string authority = r.opt_str("activeDirectoryEndpoint");
  const std::string arm = r.opt_str("resourceManagerEndpoint");
  const std::string audience = r.opt_str("tokenAudience");
  const std::string imds = r.opt_str("imdsEndpoint");
  CloudEndpoints out;
  if (auto known = known_cloud(name)) {
    out = *known;
  } else if (authority.empty() || arm.empty()) {
    return config_error("cloud", "unknown cloud \"" + name +
                                     "\"; use AzurePublicCloud, AzureChinaCloud, AzureUSGovernmentCloud, "
                                     "AzureGermanCloud, or set activeDirectoryEndpoint and "
                                     "resourceManagerEndpoint");
  } else {
    out.name = name.empty() ? "custom" : name;
  }
  const std::pair<std::string_view, const std::string*> urls[] = {
      {"activeDirectoryEndpoint", &authority}, {"resourceManagerEndpoint", &arm}, {"imdsEndpoint", &imds}};
  for (const auto& [key, value] : urls) {
    if (!value->empty() && !is_http_url(*value)) return config_error(key, "expected an http(s) URL");
  }
  if (!authority.empty()) out.authority_host = without_trailing_slash(authority);
  if (!arm.empty()) {
    out.resource_manager = without_trailing_slash(arm);
    out.token_audience = arm;  // a custom ARM endpoint is its own audience unless told otherwise
  }
  if (!audience.empty()) out.token_audience = audience;
  if (!imds.empty()) out.imds = without_trailing_slash(imds);
  return out;
}

}  // namespace

std::optional<CloudEndpoints> known_cloud(std::string_view name) {
  if (name.empty()) name = kClouds[0].name;
  for (const auto& c : kClouds) {
    if (core::iequals(c.name, name)) {
      CloudEndpoints e;
      e.name = std::string(c.name);
      e.authority_host = std::string(c.authority);
      e.resource_manager = without_trailing_slash(std::string(c.arm));
      e.token_audience = std::string(c.arm);
      return e;
    }
  }
  return std::nullopt;
}

core::Result<CloudConfig> parse_cloud_config(std::string_view json_text) {
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(json_text, ec);
  if (ec) return core::make_error(core::ErrorCode::invalid, "azure.json: not valid JSON: " + ec.message());
  if (!doc.is_object()) return core::make_error(core::ErrorCode::invalid, "azure.json: expected an object");
  core::JsonReader r(doc, "azure.json", core::ErrorCode::invalid, true);
  CloudConfig c;
  c.cloud = PODID_TRY(read_endpoints(r));
  c.tenant_id = r.opt_str("tenantId");
  c.subscription_id = r.opt_str("subscriptionId");
  c.resource_group = r.opt_str("resourceGroup");
  c.vm_type = core::to_lower(r.opt_str("vmType"));
  c.client_id = r.opt_str("aadClientId");
  c.client_secret = core::Secret<std::string>(r.opt_str("aadClientSecret"));
  c.client_cert_path = r.opt_str("aadClientCertPath");
  c.client_cert_password = core::Secret<std::string>(r.opt_str("aadClientCertPassword"));
  c.user_assigned_identity_id = r.opt_str("userAssignedIdentityID");
  const bool msi = PODID_TRY(read_bool(r, "useManagedIdentityExtension"));
  PODID_TRY(r.status());

  if (c.subscription_id.empty()) return config_error("subscriptionId", "required");
  if (!c.vm_type.empty() && c.vm_type != "standard" && c.vm_type != "vmss" && c.vm_type != "vmssflex")
    return config_error("vmType", "expected \"standard\" or \"vmss\", got \"" + c.vm_type + "\"");
  if (msi) {
    c.credential = CredentialKind::managed_identity;
    return c;
  }
  if (c.tenant_id.empty())
    return config_error("tenantId", "required unless useManagedIdentityExtension is true");
  if (c.client_id.empty())
    return config_error("aadClientId", "required unless useManagedIdentityExtension is true");
  if (!c.client_secret.value().empty()) {
    c.credential = CredentialKind::client_secret;
  } else if (!c.client_cert_path.empty()) {
    c.credential = CredentialKind::client_certificate;
  } else {
    return config_error("aadClientSecret",
                        "a service principal needs aadClientSecret or aadClientCertPath (or set "
                        "useManagedIdentityExtension)");
  }
  return c;
}

}  // namespace podid::arm
