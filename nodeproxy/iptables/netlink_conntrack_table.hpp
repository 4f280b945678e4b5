#pragma once
// NetlinkConntrackTable: ConntrackTable over ctnetlink with libnetfilter_conntrack, as `conntrack -D` does:
// one dump of the table (filtered by address family in the kernel), the matching entries picked in user
// space, then one delete request per entry. A netlink handle is opened per call and closed by RAII; the
// socket, and so the network namespace acted on, is the calling thread's at call time.
// Needs CAP_NET_ADMIN and a kernel with ctnetlink (nf_conntrack_netlink; every kernel that runs kube-proxy).

#include "nodeproxy/iptables/conntrack_table.hpp"

namespace podid::iptables {

class NetlinkConntrackTable final : public ConntrackTable {
 public:
  [[nodiscard]] core::Result<std::size_t> delete_tcp_to(const FlowDestination& destination) override;
};

}  // namespace podid::iptables
