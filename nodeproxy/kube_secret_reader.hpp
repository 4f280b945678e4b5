#pragma once
// KubeSecretReader: SecretReader over the Kubernetes API (GET /api/v1/namespaces/<ns>/secrets/<name>),
// decoding `data` from base64. The node proxy needs `get` on Secrets for this (no list, no watch): it reads
// a Secret only when a type-1 identity of one of its node's pods needs a token the cache does not hold.
// Errors: not_found (no such Secret), permission (RBAC), corrupt (data that is not base64), transient.
// Thread-safety and lifetime: those of the KubeClient, which outlives the reader.

#include "nodeproxy/secret_reader.hpp"
#include "watch/kube_client.hpp"

namespace podid::nodeproxy {

class KubeSecretReader final : public SecretReader {
 public:
  explicit KubeSecretReader(watch::KubeClient& kube) : kube_(kube) {}
  [[nodiscard]] boost::asio::awaitable<core::Result<SecretData>> read(core::SecretRef ref) override;

 private:
  watch::KubeClient& kube_;
};

// The decoded `data` of a Secret object (pure; exposed for tests).
[[nodiscard]] core::Result<SecretData> secret_data(const boost::json::object& secret);

}  // namespace podid::nodeproxy
