#pragma once
// Loading a kubeconfig (the minimal subset: current-context or a named context; cluster server,
// certificate-authority(-data), tls-server-name, insecure-skip-tls-verify; user client-certificate(-data),
// client-key(-data), token, tokenFile) and the in-cluster service-account environment.
// Relative paths are relative to the kubeconfig's directory. exec plugins are not supported (invalid).

#include <string>
#include <string_view>

#include "core/result.hpp"
#include "watch/cluster_config.hpp"

namespace podid::watch {

struct KubeconfigOptions {
  std::string context;         // "" = current-context
  bool allow_insecure{false};  // insecure-skip-tls-verify is refused unless this is set
};

[[nodiscard]] core::Result<ClusterConfig> load_kubeconfig(const std::string& path,
                                                          const KubeconfigOptions& options = {});
// The same from YAML text; base_dir resolves relative paths.
[[nodiscard]] core::Result<ClusterConfig> parse_kubeconfig(std::string_view yaml, const std::string& base_dir,
                                                           const KubeconfigOptions& options = {});

// In-cluster: host and port come from KUBERNETES_SERVICE_HOST/PORT (read by cli/); root_dir holds token,
// ca.crt and namespace. Fails (invalid) when host or port is empty, (io) when token or CA is missing.
[[nodiscard]] core::Result<ClusterConfig> in_cluster_config(
    const std::string& host, const std::string& port,
    const std::string& root_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

// Standard base64 (whitespace ignored); invalid on bad input.
[[nodiscard]] core::Result<std::string> base64_decode(std::string_view text);

}  // namespace podid::watch
