#pragma once
// Which host-side interface a pod's packets arrive on, learned from the node's routes: routed CNIs (kubenet
// routed, Azure CNI transparent mode, Calico, Cilium's legacy routing) install one route per pod,
// `<podIP> dev <veth>`, and the interception rules bind each pod IP to that interface so a spoofed source
// address is never redirected. Bridged networks route the whole pod range to the bridge: there the
// binding is the bridge plus the pod's port of it, which the CNI cache names (cni_cache.hpp).
//
// Pure: the caller reads /proc/net/route (the main routing table, IPv4) and passes its text.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "nodeproxy/iptables/rule_spec.hpp"

namespace podid::nodeproxy {

struct IpRoute {
  iptables::Cidr destination;
  std::string interface;
  bool via_gateway{false};
  bool operator==(const IpRoute&) const = default;
};

// Parses /proc/net/route text (header line first; addresses in hex, network byte order). Errors: corrupt,
// naming the line.
[[nodiscard]] core::Result<std::vector<IpRoute>> parse_proc_net_route(std::string_view text);

// The interface of the longest-prefix route to `ip` when that route is directly connected (no gateway):
// the pod is on this node behind that interface. Otherwise nothing.
[[nodiscard]] std::optional<std::string> pod_interface(const std::vector<IpRoute>& routes,
                                                       iptables::Ipv4Address ip);

}  // namespace podid::nodeproxy
