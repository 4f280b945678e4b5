#pragma once
// ClientCertificate: a service principal's certificate and private key (PEM with both, or PKCS#12 with a
// password), and the client assertion AAD accepts instead of a secret: a JWT signed RS256 with the key,
// header x5t = base64url(SHA-1 of the DER certificate), claims aud (the token endpoint), iss = sub = client
// ID, jti (unique), nbf/iat (now) and exp (now + 10 min). OpenSSL 3. Immutable after loading; shareable.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace podid::arm {

struct ClientCertificateKey;  // the OpenSSL key, hidden

class ClientCertificate {
 public:
  // `data` is the content of aadClientCertPath: PEM (certificate and private key, the key optionally
  // encrypted with `password`) or DER PKCS#12. Errors are `invalid` and never include the password.
  [[nodiscard]] static core::Result<ClientCertificate> load(std::string_view data,
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

}  // namespace podid::arm
