#pragma once
// ConntrackTable: the seam between the node proxy and the kernel's connection-tracking table. The node proxy
// uses it once, right after its first rule install, to delete the entries of TCP connections that pods
// opened to the IMDS before the rules existed (issue 8; the original's --enable-conntrack-deletion).
// conntrack remembers that such a connection was not NATed, so DNAT never applies to it again; without the
// guard chain it would keep reaching the real IMDS. Once its entry is gone, its next packet is looked up as
// new (nf_conntrack_tcp_loose, on by default), so the interception rules decide about it: it is redirected
// to the node proxy, which knows no such connection and resets it.
//
//   auto deleted = table.delete_tcp_to(FlowDestination::from(spec.metadata));  // -> Result<size_t>
//
// Errors: permission without CAP_NET_ADMIN, io otherwise (no ctnetlink in the kernel, a netlink failure).
// Thread-safety: none; one caller at a time. The calling thread's network namespace is the one acted on.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "nodeproxy/iptables/rule_spec.hpp"

namespace podid::iptables {

// The original destination of the connections to delete: an IPv4 or IPv6 address and a TCP port.
struct FlowDestination {
  enum class Family { ipv4, ipv6 };
  Family family{Family::ipv4};
  std::array<std::uint8_t, 16> address{};  // network byte order; IPv4 uses the first 4 bytes
  std::uint16_t port{0};

  [[nodiscard]] static FlowDestination from(const Endpoint& endpoint);
  // The family follows the address's spelling; anything but a plain IPv4 or IPv6 address is invalid.
  [[nodiscard]] static core::Result<FlowDestination> parse(std::string_view ip, std::uint16_t port);
  [[nodiscard]] std::string to_string() const;  // "169.254.169.254:80", "[fd00::1]:80"
  bool operator==(const FlowDestination&) const = default;
};

class ConntrackTable {
 public:
  ConntrackTable() = default;
  ConntrackTable(const ConntrackTable&) = delete;
  ConntrackTable& operator=(const ConntrackTable&) = delete;
  virtual ~ConntrackTable() = default;

  // Deletes every entry whose original direction is TCP to `destination` (any source, any zone) and returns
  // how many it deleted. Entries that vanish meanwhile (expired, deleted by another process) are neither
  // counted nor an error.
  [[nodiscard]] virtual core::Result<std::size_t> delete_tcp_to(const FlowDestination& destination) = 0;
};

}  // namespace podid::iptables
