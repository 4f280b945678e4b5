#include "tests/emulator/crypto.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdio>

namespace podid::emulator {
namespace {

using core::ErrorCode;
using core::make_error;

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { F(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* p) {
  return std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free);
}

core::Error crypto_error(std::string what) {
  return make_error(ErrorCode::invalid, std::move(what));
}

std::string drain(BIO* bio) {
  std::string out(BIO_ctrl_pending(bio), '\0');
  if (!out.empty()) {
    const int n = BIO_read(bio, out.data(), static_cast<int>(out.size()));
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0U);
  }
  return out;
}

BioPtr memory_bio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bn_bytes(EVP_PKEY* pkey, const char* name) {
  BIGNUM* raw = nullptr;
  if (pkey == nullptr || EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) return {};
  BnPtr bn(raw);
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn.get())), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string to_der(X509* x) {
  unsigned char* buf = nullptr;
  const int len = i2d_X509(x, &buf);
  if (len <= 0) return {};
  std::string out(reinterpret_cast<char*>(buf), static_cast<std::size_t>(len));
  OPENSSL_free(buf);
  return out;
}

std::string to_pem(X509* x) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), x);
  return drain(bio.get());
}

bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

// A fresh certificate with subject CN, random serial, one hour back-dated, valid ten years.
X509Ptr new_cert(std::string_view cn, const Key& subject_key) {
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  BnPtr serial(BN_new());
  BN_rand(serial.get(), 120, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x.get()));
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(x.get(), subject_key.get());
  const std::string name_text(cn);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name_text.c_str()), -1, -1, 0);
  return x;
}

Result<KeyedCertificate> finish(X509Ptr x, const Key& key, const Key& signer) {
  if (X509_sign(x.get(), signer.get(), EVP_sha256()) <= 0) return crypto_error("X509_sign failed");
  return KeyedCertificate{Certificate{to_der(x.get()), to_pem(x.get()), key}, key};
}

}  // namespace

std::string base64_encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string base64url_encode(std::string_view raw) {
  std::string out = base64_encode(raw);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

Result<std::string> base64url_decode(std::string_view text) {
  std::string std_b64(text);
  for (char& c : std_b64) {
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
    else if (c == '+' || c == '/' || c == '=')
      return crypto_error("not base64url");
  }
  const std::size_t pad = (4 - std_b64.size() % 4) % 4;
  if (pad == 3) return crypto_error("bad base64url length");
  std_b64.append(pad, '=');
  std::string out(std_b64.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(std_b64.data()),
                                static_cast<int>(std_b64.size()));
  if (n < 0) return crypto_error("bad base64url");
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string sha1(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha1(), nullptr);
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

std::string sha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n));
  return out;
}

std::string new_guid() {
  std::string b = random_bytes(16);
  b[6] = static_cast<char>((static_cast<unsigned char>(b[6]) & 0x0FU) | 0x40U);
  b[8] = static_cast<char>((static_cast<unsigned char>(b[8]) & 0x3FU) | 0x80U);
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    const auto byte = static_cast<unsigned char>(b[i]);
    out += kHex[byte >> 4U];
    out += kHex[byte & 0x0FU];
  }
  return out;
}

Result<SignatureAlg> parse_signature_alg(std::string_view name) {
  if (name == "RS256") return SignatureAlg::rs256;
  if (name == "PS256") return SignatureAlg::ps256;
  return crypto_error("unsupported alg " + std::string(name));
}

Result<Key> Key::generate_rsa(int bits) {
  EVP_PKEY* p = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits));
  if (p == nullptr) return crypto_error("RSA keygen failed");
  return Key(own(p));
}

Result<Key> Key::generate_ec_p256() {
  EVP_PKEY* p = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (p == nullptr) return crypto_error("EC keygen failed");
  return Key(own(p));
}

Result<Key> Key::from_private_pem(std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  EVP_PKEY* p = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (p == nullptr) return crypto_error("bad private key PEM");
  return Key(own(p));
}

Result<Key> Key::from_rsa_jwk(std::string_view n_b64url, std::string_view e_b64url) {
  const std::string n = PODID_TRY(base64url_decode(n_b64url));
  const std::string e = PODID_TRY(base64url_decode(e_b64url));
  BnPtr bn_n(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr));
  BnPtr bn_e(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr));
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n.get());
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e.get());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* p = nullptr;
  const bool done = ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1 &&
                    EVP_PKEY_fromdata(ctx, &p, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  if (!done || p == nullptr) return crypto_error("bad RSA JWK");
  return Key(own(p));
}

namespace {
bool init_ctx(EVP_MD_CTX* md, EVP_PKEY* pkey, SignatureAlg alg, bool signing) {
  EVP_PKEY_CTX* pctx = nullptr;
  const int rc = signing ? EVP_DigestSignInit(md, &pctx, EVP_sha256(), nullptr, pkey)
                         : EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), nullptr, pkey);
  if (rc != 1) return false;
  if (alg == SignatureAlg::ps256) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1) return false;
    const int salt = signing ? RSA_PSS_SALTLEN_DIGEST : RSA_PSS_SALTLEN_AUTO;
    if (EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) != 1) return false;
  }
  return true;
}
}  // namespace

Result<std::string> Key::sign(SignatureAlg alg, std::string_view data) const {
  MdCtxPtr md(EVP_MD_CTX_new());
  if (!valid() || !init_ctx(md.get(), pkey_.get(), alg, true)) return crypto_error("sign init failed");
  std::size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(md.get(), nullptr, &len, in, data.size()) != 1) return crypto_error("sign failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, data.size()) != 1) {
    return crypto_error("sign failed");
  }
  sig.resize(len);
  return sig;
}

bool Key::verify(SignatureAlg alg, std::string_view data, std::string_view signature) const {
  if (EVP_PKEY_get_base_id(pkey_.get()) != EVP_PKEY_RSA) return false;
  MdCtxPtr md(EVP_MD_CTX_new());
  if (!valid() || !init_ctx(md.get(), pkey_.get(), alg, false)) return false;
  return EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                          data.size()) == 1;
}

std::string Key::rsa_modulus() const {
  return bn_bytes(pkey_.get(), OSSL_PKEY_PARAM_RSA_N);
}

std::string Key::rsa_exponent() const {
  return bn_bytes(pkey_.get(), OSSL_PKEY_PARAM_RSA_E);
}

std::string Key::private_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return drain(bio.get());
}

Result<Certificate> Certificate::from_pem(std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!x) return crypto_error("bad certificate PEM");
  EVP_PKEY* pub = X509_get_pubkey(x.get());
  if (pub == nullptr) return crypto_error("certificate without public key");
  return Certificate{to_der(x.get()), to_pem(x.get()), Key(own(pub))};
}

Result<CertificateAuthority> CertificateAuthority::generate(std::string_view common_name) {
  const Key key = PODID_TRY(Key::generate_ec_p256());
  X509Ptr x = new_cert(common_name, key);
  X509_set_issuer_name(x.get(), X509_get_subject_name(x.get()));
  if (!add_ext(x.get(), x.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !add_ext(x.get(), x.get(), NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") ||
      !add_ext(x.get(), x.get(), NID_subject_key_identifier, "hash") ||
      !add_ext(x.get(), x.get(), NID_authority_key_identifier, "keyid:always")) {
    return crypto_error("CA extensions failed");
  }
  CertificateAuthority ca;
  ca.root_ = PODID_TRY(finish(std::move(x), key, key));
  return ca;
}

Result<KeyedCertificate> CertificateAuthority::issue_server(std::string_view common_name,
                                                            const std::vector<std::string>& sans) const {
  const Key key = PODID_TRY(Key::generate_ec_p256());
  BioPtr ca_bio = memory_bio(root_.cert.pem);
  X509Ptr issuer(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr));
  if (!issuer) return crypto_error("CA certificate unreadable");
  X509Ptr x = new_cert(common_name, key);
  X509_set_issuer_name(x.get(), X509_get_subject_name(issuer.get()));
  std::string san_text;
  for (const std::string& san : sans) {
    if (!san_text.empty()) san_text += ',';
    const bool is_ip = san.find_first_not_of("0123456789.:abcdefABCDEF") == std::string::npos &&
                       (san.find('.') != std::string::npos || san.find(':') != std::string::npos);
    san_text += (is_ip ? "IP:" : "DNS:") + san;
  }
  if (!add_ext(x.get(), issuer.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_ext(x.get(), issuer.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
      !add_ext(x.get(), issuer.get(), NID_ext_key_usage, "serverAuth") ||
      !add_ext(x.get(), issuer.get(), NID_subject_key_identifier, "hash") ||
      !add_ext(x.get(), issuer.get(), NID_authority_key_identifier, "keyid:always") ||
      (!san_text.empty() && !add_ext(x.get(), issuer.get(), NID_subject_alt_name, san_text))) {
    return crypto_error("server certificate extensions failed");
  }
  return finish(std::move(x), key, root_.key);
}

Result<KeyedCertificate> self_signed_rsa(std::string_view common_name, int bits) {
  const Key key = PODID_TRY(Key::generate_rsa(bits));
  X509Ptr x = new_cert(common_name, key);
  X509_set_issuer_name(x.get(), X509_get_subject_name(x.get()));
  return finish(std::move(x), key, key);
}

}  // namespace podid::emulator
