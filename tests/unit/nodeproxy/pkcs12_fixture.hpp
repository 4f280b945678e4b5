#pragma once
// PKCS#12 files for type-2 tests: a self-signed RSA certificate (the emulator's crypto helpers) packed with
// its key by OpenSSL, with a chosen password and cipher (0: OpenSSL 3's default, AES-256-CBC + PBKDF2).

#include <openssl/crypto.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>
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

}  // namespace podid::testing
