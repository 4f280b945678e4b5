#pragma once
// ServicePrincipalCredential: how a service-principal identity authenticates to AAD, read from the Secret
// its clientPassword references (namespace defaulting to the identity's):
//  - type 1: the client secret under "clientSecret";
//  - type 2: a DER PKCS#12 under "certificate", opened with the password under "password" (absent: the
//    empty password, as upstream read a missing key); the key must be RSA.
// form_auth() gives the client-authentication part of a client-credentials form for one token endpoint:
// `client_secret`, or a fresh certificate assertion (aud = that endpoint, a new jti every time).
// Errors name the identity, the Secret and the key, never a value: not_found / permission / transient
// (reading the Secret), invalid (a missing key; a PKCS#12 that is not one, has the wrong password, cannot be
// decrypted, lacks a certificate or key, or holds a non-RSA key). Immutable once read.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "core/http/client_certificate.hpp"
#include "core/logger.hpp"
#include "core/result.hpp"
#include "nodeproxy/node_snapshot.hpp"
#include "nodeproxy/secret_reader.hpp"

namespace podid::nodeproxy {

class ServicePrincipalCredential {
 public:
  // From already-read Secret data; `secret_name` ("ns/name") and `identity` only name things in errors.
  [[nodiscard]] static core::Result<ServicePrincipalCredential> from_secret(const SnapshotIdentity& identity,
                                                                            const std::string& secret_name,
                                                                            const SecretData& data);

  [[nodiscard]] core::Result<std::string> form_auth(const std::string& client_id,
                                                    const std::string& token_endpoint,
                                                    std::int64_t now_ms) const;

 private:
  std::optional<core::Secret<std::string>> client_secret_;
  std::optional<http::ClientCertificate> certificate_;
};

// Reads the identity's Secret through `secrets` and builds its credential (errors as above).
[[nodiscard]] boost::asio::awaitable<core::Result<ServicePrincipalCredential>> read_credential(
    SecretReader& secrets, const SnapshotIdentity& identity);

}  // namespace podid::nodeproxy
