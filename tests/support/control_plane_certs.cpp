#include "support/control_plane_certs.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace podid::testing {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free_all(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Bio = std::unique_ptr<BIO, BioFree>;

[[noreturn]] void fail(const std::string& what) {
  std::string detail;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    detail += std::string(" | ") + buf;
  }
  throw std::runtime_error("OpenSSL: " + what + detail);
}

void check(int rc, const char* what) {
  if (rc <= 0) fail(what);
}

Pkey make_p256_key() {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!ctx) fail("EVP_PKEY_CTX_new_from_name");
  check(EVP_PKEY_keygen_init(ctx.get()), "EVP_PKEY_keygen_init");
  check(EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256"), "EVP_PKEY_CTX_set_group_name");
  EVP_PKEY* key = nullptr;
  check(EVP_PKEY_generate(ctx.get(), &key), "EVP_PKEY_generate");
  return Pkey(key);
}

struct CertSpec {
  std::string cn;
  std::string org;  // empty: none
  bool is_ca = false;
  std::string extended_usage;  // "serverAuth", "clientAuth" or empty
  std::string subject_alt;     // e.g. "DNS:localhost,IP:127.0.0.1"
};

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (ext == nullptr) fail("X509V3_EXT_conf_nid " + value);
  int rc = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(rc, "X509_add_ext");
}

void add_name_entry(X509_NAME* name, const char* field, const std::string& value) {
  check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0),
        "X509_NAME_add_entry_by_txt");
}

// Signs a certificate for key; self-signed when issuer is null.
Cert make_cert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  Cert cert(X509_new());
  if (!cert) fail("X509_new");
  X509* x = cert.get();
  check(X509_set_version(x, 2), "X509_set_version");
  std::uint64_t serial = 0;
  check(RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial), "RAND_bytes");
  check(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial >> 1), "ASN1_INTEGER_set_uint64");
  if (X509_gmtime_adj(X509_getm_notBefore(x), -3600) == nullptr) fail("notBefore");
  if (X509_gmtime_adj(X509_getm_notAfter(x), 7L * 24 * 3600) == nullptr) fail("notAfter");
  check(X509_set_pubkey(x, key), "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(x);
  if (!spec.org.empty()) add_name_entry(name, "O", spec.org);
  add_name_entry(name, "CN", spec.cn);
  check(X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name), "issuer");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : x, x, nullptr, nullptr, 0);
  if (spec.is_ca) {
    add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  } else {
    add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment");
  }
  if (!spec.extended_usage.empty()) add_ext(x, &ctx, NID_ext_key_usage, spec.extended_usage);
  if (!spec.subject_alt.empty()) add_ext(x, &ctx, NID_subject_alt_name, spec.subject_alt);
  if (X509_sign(x, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) <= 0) fail("X509_sign");
  return cert;
}

Bio open_for_write(const std::string& path) {
  Bio bio(BIO_new_file(path.c_str(), "w"));
  if (!bio) fail("cannot write " + path);
  return bio;
}

void write_key(const std::string& path, EVP_PKEY* key) {
  Bio bio = open_for_write(path);
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr), "PEM key");
}

void write_cert(const std::string& path, X509* cert) {
  Bio bio = open_for_write(path);
  check(PEM_write_bio_X509(bio.get(), cert), "PEM cert");
}

std::string random_hex(size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  check(RAND_bytes(raw.data(), static_cast<int>(raw.size())), "RAND_bytes");
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

}  // namespace

ControlPlaneCredentials write_control_plane_credentials(const std::string& dir) {
  ControlPlaneCredentials out;
  out.ca_file = dir + "/ca.crt";
  out.serving_cert_file = dir + "/apiserver.crt";
  out.serving_key_file = dir + "/apiserver.key";
  out.client_ca_file = dir + "/client-ca.crt";
  out.admin_cert_file = dir + "/admin.crt";
  out.admin_key_file = dir + "/admin.key";
  out.sa_key_file = dir + "/sa.key";
  out.sa_pub_file = dir + "/sa.pub";
  out.token_file = dir + "/tokens.csv";

  Pkey ca_key = make_p256_key();
  Cert ca = make_cert({"podid-test-ca", "podid", true, "", ""}, ca_key.get(), nullptr, nullptr);
  write_cert(out.ca_file, ca.get());

  Pkey serving_key = make_p256_key();
  Cert serving = make_cert({"localhost", "", false, "serverAuth", "DNS:localhost,IP:127.0.0.1"},
                           serving_key.get(), ca.get(), ca_key.get());
  write_cert(out.serving_cert_file, serving.get());
  write_key(out.serving_key_file, serving_key.get());

  Pkey client_ca_key = make_p256_key();
  Cert client_ca =
      make_cert({"podid-test-client-ca", "podid", true, "", ""}, client_ca_key.get(), nullptr, nullptr);
  write_cert(out.client_ca_file, client_ca.get());

  Pkey admin_key = make_p256_key();
  Cert admin = make_cert({"admin", "system:masters", false, "clientAuth", ""}, admin_key.get(),
                         client_ca.get(), client_ca_key.get());
  write_cert(out.admin_cert_file, admin.get());
  write_key(out.admin_key_file, admin_key.get());

  Pkey sa_key = make_p256_key();
  write_key(out.sa_key_file, sa_key.get());
  {
    Bio bio = open_for_write(out.sa_pub_file);
    check(PEM_write_bio_PUBKEY(bio.get(), sa_key.get()), "PEM public key");
  }

  out.token = random_hex(24);
  std::ofstream tokens(out.token_file);
  tokens << out.token << ",tester,tester,\"system:masters\"\n";
  if (!tokens.flush()) throw std::runtime_error("cannot write " + out.token_file);
  return out;
}

std::string base64_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string data = buf.str();
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace podid::testing
