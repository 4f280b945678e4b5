#pragma once
// What the node proxy's rule loop needs to bind pods on bridged CNIs (nodeproxy/cni_cache.hpp), read from
// the node: the bridges and their ports (sysfs), the container runtime's CNI result cache, and whether
// br_netfilter hands bridged packets to iptables. Read afresh before every rule check.

#include <string>
#include <vector>

#include "core/result.hpp"
#include "nodeproxy/cni_cache.hpp"

namespace podid::cli {

struct BridgeSources {
  std::vector<std::string> cni_cache_dirs;  // missing directories are skipped: not every runtime has both
  std::string sys_class_net{"/sys/class/net"};
  std::string bridge_nf_call_iptables{"/proc/sys/net/bridge/bridge-nf-call-iptables"};
};

// Errors: io when sysfs cannot be listed. A cache file that cannot be read or parsed is skipped and listed
// in `unreadable` (its pod stays unbound: fail closed). The cache is read only when the node has a bridge.
[[nodiscard]] core::Result<nodeproxy::BridgePorts> read_bridge_ports(const BridgeSources& sources);

}  // namespace podid::cli
