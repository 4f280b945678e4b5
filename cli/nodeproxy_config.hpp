#pragma once
// podid-nodeproxy's configuration: the flags (CLI11) filled into a plain struct, validated once. The flag
// names are the ones the Helm chart and docs/flags.md ("Node proxy") use; keep them.

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/duration.hpp"  // parse_duration, for callers of validate()
#include "core/logger.hpp"
#include "core/result.hpp"

namespace podid::cli {

enum class Interception { auto_detect, legacy, nft, none };

struct NodeProxyConfig {
  std::string node_name;  // env NODE_NAME
  std::string host_ip;    // env HOST_IP; where the node proxy listens and what the DNAT targets
  int nmi_port{2579};
  std::string metadata_ip{"169.254.169.254"};
  int metadata_port{80};
  std::string operation_mode{"standard"};
  bool force_namespaced{false};  // env FORCENAMESPACED=true too
  int probe_port{8085};
  int prometheus_port{9090};  // /metrics (docs/metrics.md); 0: none
  bool metadata_header_required{true};
  bool block_instance_metadata{true};
  std::string created_wait{"5s"};
  // Tokens kept per (identity, resource); 0 turns the cache off (every request goes upstream, as the
  // original NMI did), which the node-proxy benchmark uses for its ratio.
  int token_cache_size{4096};
  std::string controller_url;
  std::string controller_ca_file;
  std::string token_file{"/var/run/secrets/tokens/podid-nodeproxy"};
  std::string kubeconfig;
  std::string ready_taint{"aadpodidentity.k8s.io/nodeproxy-not-ready"};
  std::string interception{"auto"};
  std::string ipt_interval{"60s"};
  bool conntrack_flush{true};  // delete conntrack entries of connections to the IMDS after the first install
  // Bridged CNIs: where the runtime's CNI result cache is (containerd and CRI-O through libcni write
  // <cacheDir>/results; dockershim used /var/lib/cni/cache), and whether a bridged pod whose port it does not
  // name stays unbound (true, fail closed) or is bound to the bridge alone (false: the weaker binding).
  std::vector<std::string> cni_cache_dirs{"/var/lib/cni/results", "/var/lib/cni/cache/results"};
  bool bridge_port_required{true};
  // The replica file (nodeproxy/replica_file.hpp): empty disables it. A restarted node proxy serves from
  // it while the controller is away, if the controller confirmed it at most --replica-max-age ago.
  std::string replica_file{"/var/lib/podid/replica.json"};
  std::string replica_max_age{"10m"};
  std::string aad_authority_host{"https://login.microsoftonline.com"};
  std::vector<std::string> trusted_ad_endpoints;
  std::string aad_ca_file;
  std::string log_level{"info"};

  // Filled by validate().
  std::chrono::milliseconds created_wait_ms{0};
  std::chrono::milliseconds ipt_interval_ms{0};
  std::chrono::milliseconds replica_max_age_ms{0};
  Interception interception_mode{Interception::auto_detect};
  core::LogLevel level{core::LogLevel::info};
};

// Registers every flag on `app`, bound to `config`.
void add_nodeproxy_flags(CLI::App& app, NodeProxyConfig& config);

// Checks values and combinations and fills the derived fields; invalid errors name the flag.
[[nodiscard]] core::Status validate(NodeProxyConfig& config);

}  // namespace podid::cli
