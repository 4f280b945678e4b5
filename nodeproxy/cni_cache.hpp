#pragma once
// Which bridge port a pod's packets must enter through, on bridged CNIs (kubenet's cbr0, Azure CNI's azure0).
// The source must be one a pod cannot write: not the ARP/neighbour table or the bridge's FDB (what an ARP
// spoofer poisons), but the container runtime's CNI result cache. libcni (containerd, CRI-O) writes,
// root-only, one file per attachment at <cacheDir>/results/<network>-<containerID>-<ifname>:
//   {"kind": "cniCacheV1", "containerId": ..., "networkName": ..., "ifName": "eth0",
//    "result": {"interfaces": [{"name": "cbr0"}, {"name": "veth1a2b3c4d"}, {"name": "eth0", "sandbox": ...}],
//               "ips": [{"address": "10.244.1.5/24", "interface": 2, ...}], ...}}
// (libcni before 0.8 wrote the bare result). Host-side interfaces have no "sandbox": for the bridge plugin
// the bridge and the pod's host veth. The port is the one of them that sysfs lists as a port of the bridge
// the pod's route names (bridge_port()), so a stale file whose veth is gone names no port.
//
// Pure: cli/ reads the directory and sysfs and passes the text and names.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "nodeproxy/iptables/rule_spec.hpp"

namespace podid::nodeproxy {

struct CniAttachment {
  std::string container_id;                  // empty for the bare (pre-0.8) format
  std::vector<iptables::Ipv4Address> ips;    // the IPv4 addresses of the result (IPv6 ones skipped)
  std::vector<std::string> host_interfaces;  // interfaces without a sandbox, in file order
  bool operator==(const CniAttachment&) const = default;
};

// Parses one cache file. Errors (corrupt) say what is wrong: not JSON, another kind, no result, an address
// that does not parse, an interface entry without a name.
[[nodiscard]] core::Result<CniAttachment> parse_cni_cache_entry(std::string_view text);

// What the node's bridges and the CNI cache say, read afresh by cli/ before each rule check.
struct BridgePorts {
  std::map<std::string, std::set<std::string>> bridges;            // bridge -> its ports (sysfs brif/)
  std::map<std::uint32_t, std::set<std::string>> host_interfaces;  // pod IP -> host-side interfaces
  std::optional<bool> bridge_nf_call_iptables;                     // the sysctl; none: br_netfilter absent
  std::vector<std::string> unreadable;                             // "file: reason" of cache files skipped

  void add(const CniAttachment& attachment);
  [[nodiscard]] bool is_bridge(const std::string& interface) const { return bridges.count(interface) != 0; }
};

// The port of `bridge` that `ip` must arrive on: the one host-side interface the cache names for `ip` that
// is a port of `bridge`. None when there is none, or more than one (two cache files disagree).
[[nodiscard]] std::optional<std::string> bridge_port(const BridgePorts& view, const std::string& bridge,
                                                     iptables::Ipv4Address ip);

}  // namespace podid::nodeproxy
