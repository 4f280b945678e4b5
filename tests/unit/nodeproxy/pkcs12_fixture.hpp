#pragma once
// PKCS#12 files for type-2 tests: a self-signed RSA certificate (the emulator's crypto helpers) packed with
// its key by OpenSSL, with a chosen password and cipher (0: OpenSSL 3's default, AES-256-CBC + PBKDF2).

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "tests/emulator/crypto.hpp"

namespace podid::testing {

inline emulator::KeyedCertificate rsa_certificate(const std::string& name = "sp") {
  auto kc = emulator::self_signed_rsa(name, 2048);
  REQUIRE(kc.has_value());
  return *kc;
}

inline std::string pkcs12_of(const emulator::KeyedCertificate& kc, const std::string& password,
                             int cipher = 0) {
  const auto* p = reinterpret_cast<const unsigned char*>(kc.cert.der.data());
  std::unique_ptr<X509, decltype(&X509_free)> x(d2i_X509(nullptr, &p, static_cast<long>(kc.cert.der.size())),
                                                &X509_free);
  REQUIRE(x);
  std::unique_ptr<PKCS12, decltype(&PKCS12_free)> p12(
      PKCS12_create(password.c_str(), "sp", kc.key.get(), x.get(), nullptr, cipher, cipher, 0, 0, 0),
      &PKCS12_free);
  REQUIRE(p12);
  unsigned char* out = nullptr;
  const int n = i2d_PKCS12(p12.get(), &out);
  REQUIRE(n > 0);
  std::string der(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return der;
}

// The PKCS#12 of OpenSSL 1.x and many older tools: the certificate bag under RC2-40, the key under 3DES,
// a SHA-1 MAC. Written by the `openssl` command (installed by .ci/install-deps.sh) so that this process
// never loads OpenSSL's legacy provider itself: the code under test must.
inline std::string legacy_rc2_pkcs12_of(const emulator::KeyedCertificate& kc, const std::string& password) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/podid-rc2-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const fs::path dir(tmpl);
  const auto pem = dir / "in.pem";
  {
    const auto* p = reinterpret_cast<const unsigned char*>(kc.cert.der.data());
    std::unique_ptr<X509, decltype(&X509_free)> x(
        d2i_X509(nullptr, &p, static_cast<long>(kc.cert.der.size())), &X509_free);
    REQUIRE(x);
    std::unique_ptr<FILE, decltype(&std::fclose)> f(std::fopen(pem.c_str(), "w"), &std::fclose);
    REQUIRE(f);
    REQUIRE(PEM_write_X509(f.get(), x.get()) == 1);
    REQUIRE(PEM_write_PrivateKey(f.get(), kc.key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
  }
  const auto out = dir / "out.p12";
  const std::string cmd =
      "openssl pkcs12 -export -legacy -certpbe PBE-SHA1-RC2-40 -keypbe PBE-SHA1-3DES "
      "-macalg sha1 -in " +
      pem.string() + " -out " + out.string() + " -passout pass:" + password + " 2>" + (dir / "err").string();
  const int rc = std::system(cmd.c_str());
  std::ifstream in(out, std::ios::binary);
  std::string der((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ifstream err_in(dir / "err");
  const std::string err((std::istreambuf_iterator<char>(err_in)), std::istreambuf_iterator<char>());
  fs::remove_all(dir);
  INFO("openssl pkcs12 -export -legacy: " << err);
  REQUIRE(rc == 0);
  REQUIRE_FALSE(der.empty());
  return der;
}

}  // namespace podid::testing
