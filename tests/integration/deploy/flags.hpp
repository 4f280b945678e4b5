// The flags the manifests and the chart may pass to each binary: the interface agreed with cli/ (see
// docs/install.md). A manifest using any other flag would make the pod crash-loop on a real cluster.
#pragma once

#include <set>
#include <string>

namespace podid::deploy_test {

inline const std::set<std::string>& controller_flags() {
  static const std::set<std::string> flags{
      "--cloudconfig", "--store", "--leader-elect", "--leader-election-namespace", "--lease-name",
      "--sync-retry-interval", "--identity-assignment-reconcile-interval", "--immutable-user-msis",
      "--forceNamespaced", "--http-probe-port", "--checkpoint-every", "--log-level", "--replication-port",
      "--tls-cert-file", "--tls-key-file", "--prometheus-port", "--replication-token-audience",
      "--replication-allowed-users", "--operation-mode", "--migrate-on-start", "--legacy-endpoints-lock",
      "--legacy-endpoints-lock-namespace",
      // Rendered only when eventLog.retention.* is set; requested from cli/ (not in the agreed list yet).
      "--retention-max-age", "--retention-max-bytes", "--retention-max-events"};
  return flags;
}

inline const std::set<std::string>& nodeproxy_flags() {
  static const std::set<std::string> flags{"--node-name",
                                           "--host-ip",
                                           "--nmi-port",
                                           "--metadata-ip",
                                           "--metadata-port",
                                           "--operation-mode",
                                           "--forceNamespaced",
                                           "--http-probe-port",
                                           "--metadata-header-required",
                                           "--block-instance-metadata",
                                           "--created-wait",
                                           "--controller-url",
                                           "--controller-ca-file",
                                           "--token-file",
                                           "--kubeconfig",
                                           "--ready-taint",
                                           "--interception",
                                           "--conntrack-flush",
                                           "--cni-cache-dir",
                                           "--bridge-port-required",
                                           "--log-level",
                                           "--prometheus-port",
                                           "--replica-file",
                                           "--replica-max-age"};
  return flags;
}

}  // namespace podid::deploy_test
