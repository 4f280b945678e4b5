#pragma once
// SecretReader: reads a Kubernetes Secret's data (decoded) for identities of types 1 and 2. The node proxy
// reads only Secrets that an identity of one of its node's pods references, and only when a token is
// fetched (least privilege: see README, "Secrets"). Values are wrapped in core::Secret and never logged.
// Errors: not_found (no such Secret), permission (RBAC), transient. Thread-safety: as the executor it is
// used on; MemorySecretReader is safe from any thread.

#include <boost/asio/awaitable.hpp>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/logger.hpp"
#include "core/model.hpp"
#include "core/result.hpp"

namespace podid::nodeproxy {

using SecretData = std::map<std::string, core::Secret<std::string>>;

// The key that holds a service principal's client secret (as upstream's docs create it:
// `kubectl create secret generic <name> --from-literal=clientSecret=<secret>`).
inline constexpr std::string_view kClientSecretKey = "clientSecret";
// A type-2 identity's Secret: the PKCS#12 (DER bytes) and its password (upstream's keys).
inline constexpr std::string_view kCertificateKey = "certificate";
inline constexpr std::string_view kCertificatePasswordKey = "password";

class SecretReader {
 public:
  SecretReader() = default;
  SecretReader(const SecretReader&) = delete;
  SecretReader& operator=(const SecretReader&) = delete;
  virtual ~SecretReader() = default;

  [[nodiscard]] virtual boost::asio::awaitable<core::Result<SecretData>> read(core::SecretRef ref) = 0;
};

// A working in-memory implementation (tests, the demo) with a call log.
class MemorySecretReader final : public SecretReader {
 public:
  void put(const core::SecretRef& ref, const std::string& key, std::string value);
  void erase(const core::SecretRef& ref);
  [[nodiscard]] boost::asio::awaitable<core::Result<SecretData>> read(core::SecretRef ref) override;
  [[nodiscard]] std::vector<std::string> calls() const;  // "ns/name" per read

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, std::string>> secrets_;  // "ns/name" -> data
  std::vector<std::string> calls_;
};

}  // namespace podid::nodeproxy
