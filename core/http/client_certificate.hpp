#pragma once
// ClientCertificate: a service principal's certificate and RSA private key, and the client assertion AAD
// accepts instead of a secret: a JWT signed RS256 with the key, header x5t = base64url(SHA-1 of the DER
// certificate), claims aud (the token endpoint), iss = sub = client ID, jti (unique), nbf/iat (now) and
// exp (now + 10 min). Shared by the controller (arm/, azure.json's aadClientCertPath) and the node proxy
// (type 2 identities); it lives in podid::http because that is the one target both link that already
// links OpenSSL. Immutable after loading; shareable across threads. OpenSSL 3.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace podid::http {

struct ClientCertificateKey;  // the OpenSSL key, hidden

class ClientCertificate {
 public:
  // `data` is PEM (certificate and private key, the key optionally encrypted with `password`) or DER
  // PKCS#12. Errors are `invalid` and never include the password.
  [[nodiscard]] static core::Result<ClientCertificate> load(std::string_view data,
                                                            const std::string& password);
  // DER PKCS#12 only (what a type-2 identity's Secret holds). Errors (`invalid`) tell apart: not PKCS#12,
  // wrong password (the integrity MAC does not verify), contents this OpenSSL cannot decrypt (legacy
  // ciphers such as RC2-40 need OpenSSL's legacy provider), no certificate or key, a key that is not RSA.
  [[nodiscard]] static core::Result<ClientCertificate> load_pkcs12(std::string_view data,
                                                                   const std::string& password);

  // The signed assertion for `audience` at `now_ms` (Unix ms) with the given unique `jti`.
  [[nodiscard]] core::Result<std::string> assertion(const std::string& client_id, const std::string& audience,
                                                    std::int64_t now_ms, const std::string& jti) const;

  [[nodiscard]] const std::string& x5t() const noexcept { return x5t_; }

 private:
  std::shared_ptr<ClientCertificateKey> key_;
  std::string x5t_;  // base64url, no padding
};

[[nodiscard]] std::string base64url(std::string_view raw);  // no padding

// A random version-4 UUID (lower case) from OpenSSL's CSPRNG: a client assertion's `jti`, a request ID.
[[nodiscard]] std::string new_uuid();

}  // namespace podid::http
