#pragma once
// Crypto helpers of the emulator over the OpenSSL 3 C API: encodings, digests, RSA/EC keys, X.509 issuance.
// Keys are immutable after creation and may be shared across threads (each operation uses its own context).

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace podid::emulator {

using core::Result;
using core::Status;

[[nodiscard]] std::string base64_encode(std::string_view raw);
[[nodiscard]] std::string base64url_encode(std::string_view raw);
[[nodiscard]] Result<std::string> base64url_decode(std::string_view text);
[[nodiscard]] std::string sha1(std::string_view data);    // raw 20 bytes
[[nodiscard]] std::string sha256(std::string_view data);  // raw 32 bytes
[[nodiscard]] std::string random_bytes(std::size_t n);
[[nodiscard]] std::string new_guid();  // random version-4 UUID, lower case

enum class SignatureAlg { rs256, ps256 };
[[nodiscard]] Result<SignatureAlg> parse_signature_alg(std::string_view name);

// A public or private key (RSA or EC).
class Key {
 public:
  Key() = default;
  explicit Key(std::shared_ptr<EVP_PKEY> pkey) : pkey_(std::move(pkey)) {}

  [[nodiscard]] static Result<Key> generate_rsa(int bits);
  [[nodiscard]] static Result<Key> generate_ec_p256();
  [[nodiscard]] static Result<Key> from_private_pem(std::string_view pem);
  [[nodiscard]] static Result<Key> from_rsa_jwk(std::string_view n_b64url, std::string_view e_b64url);

  [[nodiscard]] Result<std::string> sign(SignatureAlg alg, std::string_view data) const;
  [[nodiscard]] bool verify(SignatureAlg alg, std::string_view data, std::string_view signature) const;
  [[nodiscard]] std::string rsa_modulus() const;   // big-endian bytes, empty for non-RSA
  [[nodiscard]] std::string rsa_exponent() const;  // big-endian bytes
  [[nodiscard]] std::string private_pem() const;
  [[nodiscard]] bool valid() const noexcept { return pkey_ != nullptr; }
  [[nodiscard]] EVP_PKEY* get() const noexcept { return pkey_.get(); }

 private:
  std::shared_ptr<EVP_PKEY> pkey_;
};

// A parsed X.509 certificate: what AAD needs to match a client assertion.
struct Certificate {
  std::string der;
  std::string pem;
  Key public_key;
  [[nodiscard]] std::string x5t() const { return base64url_encode(sha1(der)); }
  [[nodiscard]] std::string x5t_s256() const { return base64url_encode(sha256(der)); }
  [[nodiscard]] static Result<Certificate> from_pem(std::string_view pem);
};

// A certificate with its private key.
struct KeyedCertificate {
  Certificate cert;
  Key key;
};

// A CA that signs server certificates; SANs are IP addresses or DNS names.
class CertificateAuthority {
 public:
  [[nodiscard]] static Result<CertificateAuthority> generate(std::string_view common_name);
  [[nodiscard]] Result<KeyedCertificate> issue_server(std::string_view common_name,
                                                      const std::vector<std::string>& sans) const;
  [[nodiscard]] const KeyedCertificate& root() const noexcept { return root_; }

 private:
  KeyedCertificate root_;
};

// A self-signed RSA certificate for a client application (tests register it, then sign assertions with it).
[[nodiscard]] Result<KeyedCertificate> self_signed_rsa(std::string_view common_name, int bits);

}  // namespace podid::emulator
