#include "nodeproxy/sp_credential.hpp"

#include "core/http/url.hpp"

namespace podid::nodeproxy {

namespace {

core::Error missing_key(const SnapshotIdentity& id, const std::string& secret_name, std::string_view key) {
  return core::make_error(core::ErrorCode::invalid, "Secret " + secret_name + " of identity " +
                                                        id.key.to_string() + " has no key '" +
                                                        std::string(key) + "'");
}

}  // namespace

core::Result<ServicePrincipalCredential> ServicePrincipalCredential::from_secret(
    const SnapshotIdentity& id, const std::string& secret_name, const SecretData& data) {
  ServicePrincipalCredential out;
  if (id.type != core::IdentityType::service_principal_certificate) {
    const auto secret = data.find(std::string(kClientSecretKey));
    if (secret == data.end()) return missing_key(id, secret_name, kClientSecretKey);
    out.client_secret_ = secret->second;
    return out;
  }
  const auto certificate = data.find(std::string(kCertificateKey));
  if (certificate == data.end()) return missing_key(id, secret_name, kCertificateKey);
  const auto password = data.find(std::string(kCertificatePasswordKey));
  const std::string empty;
  const std::string& pw = password == data.end() ? empty : password->second.value();
  auto loaded = http::ClientCertificate::load_pkcs12(certificate->second.value(), pw);
  if (!loaded) {
    auto e = loaded.error();
    e.message = "Secret " + secret_name + " of identity " + id.key.to_string() + ", key '" +
                std::string(kCertificateKey) + "': " + e.message;
    if (password == data.end())
      e.message += " (the Secret has no key '" + std::string(kCertificatePasswordKey) +
                   "', so the empty password was tried)";
    return e;
  }
  out.certificate_ = std::move(*loaded);
  return out;
}

core::Result<std::string> ServicePrincipalCredential::form_auth(const std::string& client_id,
                                                                const std::string& token_endpoint,
                                                                std::int64_t now_ms) const {
  if (client_secret_) return "&client_secret=" + http::url_encode(client_secret_->value());
  const std::string assertion =
      PODID_TRY(certificate_->assertion(client_id, token_endpoint, now_ms, http::new_uuid()));
  return "&client_assertion_type=" +
         http::url_encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
         "&client_assertion=" + assertion;
}

boost::asio::awaitable<core::Result<ServicePrincipalCredential>> read_credential(SecretReader& secrets,
                                                                                 const SnapshotIdentity& id) {
  const std::string name = id.key.to_string();
  if (id.secret_ref.name.empty())
    co_return core::make_error(core::ErrorCode::invalid, "Identity " + name + " references no Secret");
  core::SecretRef ref = id.secret_ref;
  if (ref.ns.empty()) ref.ns = id.key.ns;
  const std::string secret_name = ref.ns + "/" + ref.name;
  auto data = co_await secrets.read(ref);
  if (!data) {
    auto e = data.error();
    e.message = "Reading Secret " + secret_name + " of identity " + name + " failed: " + e.message;
    co_return e;
  }
  co_return ServicePrincipalCredential::from_secret(id, secret_name, *data);
}

}  // namespace podid::nodeproxy
