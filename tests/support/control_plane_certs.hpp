// Certificates and credentials for a test control plane, made with the OpenSSL 3 C API.
// Every key is EC P-256 written as PKCS#8 PEM; certificates are valid from one hour ago for 7 days.
#pragma once

#include <string>

namespace podid::testing {

struct ControlPlaneCredentials {
  std::string ca_file;            // serving CA (clients trust it)
  std::string serving_cert_file;  // CN localhost, SAN DNS:localhost IP:127.0.0.1, serverAuth
  std::string serving_key_file;
  std::string client_ca_file;   // --client-ca-file: a second CA that signs client certificates
  std::string admin_cert_file;  // CN admin, O system:masters, clientAuth
  std::string admin_key_file;
  std::string sa_key_file;  // --service-account-signing-key-file
  std::string sa_pub_file;  // --service-account-key-file
  std::string token;        // random bearer token
  std::string token_file;   // --token-auth-file: token,tester,tester,"system:masters"
};

// Writes all files into dir. Throws std::runtime_error with the OpenSSL error on failure.
[[nodiscard]] ControlPlaneCredentials write_control_plane_credentials(const std::string& dir);

// Base64 of a whole file (for kubeconfig *-data fields).
[[nodiscard]] std::string base64_file(const std::string& path);

}  // namespace podid::testing
