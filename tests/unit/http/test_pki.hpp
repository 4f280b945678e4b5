#pragma once
// Test-only PKI built with the OpenSSL API: a self-signed CA and leaf certificates with chosen DNS and IP
// subject alternative names. Used by the http and watch tests; nothing is written to disk unless asked.

#include <string>
#include <vector>

namespace podid::testing {

struct CertKey {
  std::string cert_pem;
  std::string key_pem;
};

class TestPki {
 public:
  // A fresh CA (EC P-256, valid one day).
  explicit TestPki(const std::string& ca_name = "podid-test-ca");
  [[nodiscard]] const CertKey& ca() const { return ca_; }
  // A leaf signed by this CA. dns and ips become subjectAltName entries.
  [[nodiscard]] CertKey issue(const std::string& common_name, const std::vector<std::string>& dns,
                              const std::vector<std::string>& ips) const;

 private:
  CertKey ca_;
  mutable long next_serial_{100};
};

}  // namespace podid::testing
