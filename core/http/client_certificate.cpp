#include "core/http/client_certificate.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <random>
#include <vector>

namespace podid::http {

struct ClientCertificateKey {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey{nullptr, &EVP_PKEY_free};
};

namespace {

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using Pkcs12Ptr = std::unique_ptr<PKCS12, decltype(&PKCS12_free)>;

// Failed OpenSSL calls leave entries in the thread's error queue; SSL_get_error() reads that queue, so a
// stale entry would make a later TLS call on this thread (the node proxy runs one) look failed.
core::Error cert_error(std::string message) {
  ERR_clear_error();
  return core::make_error(core::ErrorCode::invalid, "client certificate: " + std::move(message));
}

Bio memory_bio(std::string_view data) {
  return Bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())), &BIO_free);
}

int password_callback(char* buf, int size, int /*rwflag*/, void* user) {
  const auto* password = static_cast<const std::string*>(user);
  const auto n = static_cast<int>(std::min<std::size_t>(password->size(), static_cast<std::size_t>(size)));
  std::copy_n(password->data(), n, buf);
  return n;
}

struct Loaded {
  X509Ptr cert{nullptr, &X509_free};
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{nullptr, &EVP_PKEY_free};
};

core::Result<Loaded> load_pem(std::string_view data, const std::string& password) {
  Loaded out;
  auto bio = memory_bio(data);
  out.cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!out.cert) return cert_error("no PEM certificate found");
  auto key_bio = memory_bio(data);
  auto* pw = const_cast<std::string*>(&password);
  out.key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, &password_callback, pw));
  if (!out.key) return cert_error("no usable PEM private key found (wrong password?)");
  return out;
}

// PKCS#12 writers disagree on whether an empty password is "" or absent; accept either, as OpenSSL does.
bool mac_verifies(PKCS12* p12, const std::string& password) {
  if (PKCS12_mac_present(p12) != 1) return true;  // nothing to check: parsing decides
  if (PKCS12_verify_mac(p12, password.c_str(), static_cast<int>(password.size())) == 1) return true;
  return password.empty() && PKCS12_verify_mac(p12, nullptr, 0) == 1;
}

// OpenSSL 3 moved RC2, the certificate-bag cipher of PKCS#12 files written by OpenSSL 1.x and many other
// tools, into its legacy provider. It is loaded once, into the default library context, the first time such a
// file fails to parse, and never otherwise. Loading a provider explicitly stops the default one from loading
// implicitly, so both are loaded. What it adds is ciphers for reading files: TLS cipher lists and security
// levels are unchanged.
bool load_legacy_provider() {
  // The handles are kept and unloaded at exit, so that the providers are freed like everything else.
  struct Providers {
    OSSL_PROVIDER* standard{OSSL_PROVIDER_load(nullptr, "default")};
    OSSL_PROVIDER* legacy{OSSL_PROVIDER_load(nullptr, "legacy")};
    Providers() { ERR_clear_error(); }
    ~Providers() {
      if (legacy != nullptr) OSSL_PROVIDER_unload(legacy);
      if (standard != nullptr) OSSL_PROVIDER_unload(standard);
    }
    Providers(const Providers&) = delete;
    Providers& operator=(const Providers&) = delete;
  };
  static const Providers providers;
  return providers.standard != nullptr && providers.legacy != nullptr;
}

// `not_pkcs12` says what was expected when the data is no PKCS#12 at all.
core::Result<Loaded> load_pkcs12_der(std::string_view data, const std::string& password,
                                     const char* not_pkcs12) {
  auto bio = memory_bio(data);
  Pkcs12Ptr p12(d2i_PKCS12_bio(bio.get(), nullptr), &PKCS12_free);
  if (!p12) return cert_error(not_pkcs12);
  if (!mac_verifies(p12.get(), password))
    return cert_error("cannot open PKCS#12: wrong password (integrity check failed)");
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  if (PKCS12_parse(p12.get(), password.c_str(), &key, &cert, nullptr) != 1) {
    ERR_clear_error();
    if (!load_legacy_provider() || PKCS12_parse(p12.get(), password.c_str(), &key, &cert, nullptr) != 1)
      return cert_error(
          "cannot decrypt PKCS#12 contents (wrong password, or a cipher OpenSSL cannot read even with its "
          "legacy provider; re-export with AES-256-CBC)");
  }
  Loaded out;
  out.cert.reset(cert);
  out.key.reset(key);
  if (!out.cert || !out.key) return cert_error("PKCS#12 without certificate or private key");
  return out;
}

struct Checked {
  std::shared_ptr<ClientCertificateKey> key;
  std::string x5t;
};

core::Result<Checked> check(Loaded loaded) {
  if (EVP_PKEY_get_base_id(loaded.key.get()) != EVP_PKEY_RSA) return cert_error("the key must be RSA");
  if (X509_check_private_key(loaded.cert.get(), loaded.key.get()) != 1)
    return cert_error("the private key does not match the certificate");
  const int der_len = i2d_X509(loaded.cert.get(), nullptr);
  if (der_len <= 0) return cert_error("cannot encode the certificate");
  std::string der(static_cast<std::size_t>(der_len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509(loaded.cert.get(), &p);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(der.data()), der.size(), digest);
  Checked out;
  out.key = std::make_shared<ClientCertificateKey>();
  out.key->pkey = std::move(loaded.key);
  out.x5t = base64url(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
  return out;
}

}  // namespace

std::string base64url(std::string_view raw) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((raw.size() + 2) / 3 * 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : raw) {
    acc = (acc << 8U) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> static_cast<unsigned>(bits)) & 0x3FU];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << static_cast<unsigned>(6 - bits)) & 0x3FU];
  return out;
}

std::string new_uuid() {
  unsigned char b[16] = {};
  if (RAND_bytes(b, sizeof b) != 1) {
    // The CSPRNG is unusable only if OpenSSL could not seed it; fall back to the OS source directly.
    ERR_clear_error();
    std::random_device rd;
    for (auto& x : b) x = static_cast<unsigned char>(rd());
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0FU) | 0x40U);
  b[8] = static_cast<unsigned char>((b[8] & 0x3FU) | 0x80U);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4U];
    out += kHex[b[i] & 0x0FU];
  }
  return out;
}

core::Result<ClientCertificate> ClientCertificate::load(std::string_view data, const std::string& password) {
  Loaded loaded;
  if (data.find("-----BEGIN") != std::string_view::npos) {
    loaded = PODID_TRY(load_pem(data, password));
  } else {
    loaded = PODID_TRY(load_pkcs12_der(data, password, "neither PEM nor PKCS#12"));
  }
  Checked checked = PODID_TRY(check(std::move(loaded)));
  ClientCertificate out;
  out.key_ = std::move(checked.key);
  out.x5t_ = std::move(checked.x5t);
  return out;
}

core::Result<ClientCertificate> ClientCertificate::load_pkcs12(std::string_view data,
                                                               const std::string& password) {
  Loaded loaded = PODID_TRY(load_pkcs12_der(data, password, "not a PKCS#12 (DER) file"));
  Checked checked = PODID_TRY(check(std::move(loaded)));
  ClientCertificate out;
  out.key_ = std::move(checked.key);
  out.x5t_ = std::move(checked.x5t);
  return out;
}

core::Result<std::string> ClientCertificate::assertion(const std::string& client_id,
                                                       const std::string& audience, std::int64_t now_ms,
                                                       const std::string& jti) const {
  const std::int64_t now = now_ms / 1000;
  const boost::json::object header{{"alg", "RS256"}, {"typ", "JWT"}, {"x5t", x5t_}};
  const boost::json::object claims{{"aud", audience}, {"iss", client_id}, {"sub", client_id}, {"jti", jti},
                                   {"nbf", now},      {"iat", now},       {"exp", now + 600}};
  const std::string signing_input =
      base64url(boost::json::serialize(header)) + "." + base64url(boost::json::serialize(claims));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::size_t sig_len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &sig_len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) != 1)
    return cert_error("cannot sign the client assertion");
  std::vector<unsigned char> sig(sig_len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &sig_len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) != 1)
    return cert_error("cannot sign the client assertion");
  return signing_input + "." +
         base64url(std::string_view(reinterpret_cast<const char*>(sig.data()), sig_len));
}

}  // namespace podid::http
