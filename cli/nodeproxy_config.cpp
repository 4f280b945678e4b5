#include "cli/nodeproxy_config.hpp"

#include <charconv>
#include <cstdlib>

#include "cli/duration.hpp"
#include "core/model.hpp"

namespace podid::cli {
namespace {

core::Error bad(const std::string& flag, const std::string& problem) {
  return core::make_error(core::ErrorCode::invalid, flag + ": " + problem);
}

bool ipv4(const std::string& text) {
  int parts = 0;
  std::size_t at = 0;
  while (at <= text.size()) {
    const auto dot = std::min(text.find('.', at), text.size());
    unsigned value = 256;
    const auto [p, ec] = std::from_chars(text.data() + at, text.data() + dot, value);
    if (ec != std::errc{} || p != text.data() + dot || value > 255 || dot == at) return false;
    ++parts;
    at = dot + 1;
  }
  return parts == 4;
}

}  // namespace

void add_nodeproxy_flags(CLI::App& app, NodeProxyConfig& c) {
  if (const char* v = std::getenv("FORCENAMESPACED"); v != nullptr && std::string_view(v) == "true")
    c.force_namespaced = true;
  app.add_option("--node-name,--node", c.node_name, "this node's name (env NODE_NAME)")
      ->envname("NODE_NAME")
      ->required();
  app.add_option("--host-ip", c.host_ip, "address the node proxy listens on and DNATs to (env HOST_IP)")
      ->envname("HOST_IP");
  app.add_option("--nmi-port", c.nmi_port, "port of the node proxy (intercepted traffic lands here)")
      ->capture_default_str();
  app.add_option("--metadata-ip", c.metadata_ip, "the node's IMDS address")->capture_default_str();
  app.add_option("--metadata-port", c.metadata_port, "the node's IMDS port")->capture_default_str();
  app.add_option("--operation-mode", c.operation_mode, "standard or managed")->capture_default_str();
  app.add_flag("--forceNamespaced", c.force_namespaced, "namespaced matching (env FORCENAMESPACED=true)");
  app.add_option("--http-probe-port", c.probe_port, "/healthz and /readyz port")->capture_default_str();
  app.add_option("--prometheus-port", c.prometheus_port, "/metrics port; 0: no metrics server")
      ->capture_default_str();
  app.add_flag("--metadata-header-required", c.metadata_header_required, "require `Metadata: true`")
      ->capture_default_str();
  app.add_flag("--block-instance-metadata", c.block_instance_metadata, "403 for /metadata/instance")
      ->capture_default_str();
  app.add_option("--created-wait", c.created_wait, "how long a request waits for an identity being assigned")
      ->capture_default_str();
  app.add_option("--token-cache-size", c.token_cache_size,
                 "tokens cached per (identity, resource); 0: no cache, every request goes upstream")
      ->capture_default_str();
  app.add_option("--controller-url", c.controller_url, "https URL of the controller's replication server")
      ->required();
  app.add_option("--controller-ca-file", c.controller_ca_file, "CA of the controller's certificate (PEM)");
  app.add_option("--token-file", c.token_file, "projected service-account token, re-read per connection")
      ->capture_default_str();
  app.add_option("--kubeconfig", c.kubeconfig, "kubeconfig path; empty: in-cluster");
  app.add_option("--ready-taint", c.ready_taint, "taint removed from this node once ready; empty: none")
      ->capture_default_str();
  app.add_option("--interception", c.interception, "auto, legacy, nft or none")->capture_default_str();
  app.add_option("--ipt-update-interval", c.ipt_interval, "period of the rule check and repair")
      ->capture_default_str();
  app.add_flag("--conntrack-flush,--enable-conntrack-deletion", c.conntrack_flush,
               "after the first rule install, delete conntrack entries of TCP connections to the IMDS")
      ->capture_default_str();
  app.add_option("--cni-cache-dir", c.cni_cache_dirs,
                 "CNI result cache directories (comma-separated) naming each bridged pod's port")
      ->delimiter(',')
      ->capture_default_str();
  app.add_flag("--bridge-port-required", c.bridge_port_required,
               "a bridged pod whose port the CNI cache does not name stays unbound; false: bind it to the "
               "bridge alone (any pod on the bridge can then spoof it)")
      ->capture_default_str();
  // No captured default: CLI11 would put it back for `--replica-file=`, which must mean "none".
  app.add_option("--replica-file", c.replica_file,
                 "the replica's file on the node (hostPath), served after a restart; empty: none "
                 "(default /var/lib/podid/replica.json)")
      ->expected(0, 1);
  app.add_option("--replica-max-age", c.replica_max_age,
                 "a replica file older than this (since the controller confirmed it) is not served")
      ->capture_default_str();
  app.add_option("--aad-authority-host", c.aad_authority_host,
                 "AAD endpoint for type-1 and type-2 identities")
      ->capture_default_str();
  app.add_option("--aad-ca-file", c.aad_ca_file, "CA bundle for a custom AAD endpoint (PEM)");
  app.add_option("--trusted-ad-endpoints", c.trusted_ad_endpoints,
                 "further AAD authorities an AzureIdentity's adEndpoint may name (comma-separated)")
      ->delimiter(',');
  app.add_option("--log-level", c.log_level, "debug, info, warn, error")->capture_default_str();
}

core::Status validate(NodeProxyConfig& c) {
  if (c.node_name.empty()) return bad("--node-name", "required (or env NODE_NAME)");
  if (c.host_ip.empty()) c.host_ip = "127.0.0.1";
  if (!ipv4(c.host_ip)) return bad("--host-ip", "not an IPv4 address: \"" + c.host_ip + "\"");
  if (!ipv4(c.metadata_ip)) return bad("--metadata-ip", "not an IPv4 address: \"" + c.metadata_ip + "\"");
  for (const auto& [flag, port] : {std::pair{"--nmi-port", c.nmi_port}, {"--metadata-port", c.metadata_port}})
    if (port < 1 || port > 65535) return bad(flag, "not a port: " + std::to_string(port));
  if (c.probe_port < 0 || c.probe_port > 65535) return bad("--http-probe-port", "not a port");
  if (c.prometheus_port < 0 || c.prometheus_port > 65535) return bad("--prometheus-port", "not a port");
  if (c.token_cache_size < 0) return bad("--token-cache-size", "0 or more");
  c.operation_mode = core::to_lower(c.operation_mode);
  if (c.operation_mode != "standard" && c.operation_mode != "managed")
    return bad("--operation-mode", "expected standard or managed, got \"" + c.operation_mode + "\"");
  if (c.operation_mode == "managed" && !c.force_namespaced)
    return bad("--operation-mode", "managed mode requires --forceNamespaced (as the original)");
  auto wait = parse_duration(c.created_wait);
  if (!wait) return bad("--created-wait", wait.error().message);
  c.created_wait_ms = *wait;
  auto interval = parse_duration(c.ipt_interval);
  if (!interval || interval->count() < 1000) return bad("--ipt-update-interval", "at least 1s");
  c.ipt_interval_ms = *interval;
  auto max_age = parse_duration(c.replica_max_age);
  if (!max_age || max_age->count() < 1000) return bad("--replica-max-age", "at least 1s");
  c.replica_max_age_ms = *max_age;
  if (!c.controller_url.starts_with("https://") || c.controller_url.size() <= 8)
    return bad("--controller-url", "an https:// URL is required, got \"" + c.controller_url + "\"");
  while (c.controller_url.ends_with('/')) c.controller_url.pop_back();
  if (c.token_file.empty()) return bad("--token-file", "required");
  if (c.interception == "auto")
    c.interception_mode = Interception::auto_detect;
  else if (c.interception == "legacy")
    c.interception_mode = Interception::legacy;
  else if (c.interception == "nft")
    c.interception_mode = Interception::nft;
  else if (c.interception == "none")
    c.interception_mode = Interception::none;
  else
    return bad("--interception", "expected auto, legacy, nft or none, got \"" + c.interception + "\"");
  if (c.log_level == "debug")
    c.level = core::LogLevel::debug;
  else if (c.log_level == "info")
    c.level = core::LogLevel::info;
  else if (c.log_level == "warn")
    c.level = core::LogLevel::warn;
  else if (c.log_level == "error")
    c.level = core::LogLevel::error;
  else
    return bad("--log-level", "expected debug, info, warn or error");
  return core::ok();
}

}  // namespace podid::cli
