#pragma once
// What the node proxy wants the kernel to do with pod traffic for the metadata endpoint: the input of
// render() and of every InterceptionRules implementation. Plain values; no kernel types.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace podid::iptables {

// An IPv4 address in host byte order.
struct Ipv4Address {
  std::uint32_t value{0};

  [[nodiscard]] static core::Result<Ipv4Address> parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;
  bool operator==(const Ipv4Address&) const = default;
};

// An IPv4 prefix, always normalised (host bits zero).
struct Cidr {
  Ipv4Address address;
  std::uint8_t prefix{32};

  // Accepts "a.b.c.d" (a /32) or "a.b.c.d/n"; refuses host bits set beyond the prefix.
  [[nodiscard]] static core::Result<Cidr> parse(std::string_view text);
  [[nodiscard]] std::uint32_t mask() const noexcept;
  [[nodiscard]] std::string to_string() const;  // "a.b.c.d/n"
  bool operator==(const Cidr&) const = default;
};

struct Endpoint {
  Ipv4Address address;
  std::uint16_t port{0};
  bool operator==(const Endpoint&) const = default;
};

// A pod on this node: its IP and the host-side interface its packets must arrive on (the veth of a routed
// CNI). A packet from this IP on any other interface is a spoof and is never redirected. On a bridged CNI
// host_interface is the bridge, which every pod shares, so bridge_port names the pod's own port of it (its
// host-side veth): then only packets from this IP that entered the bridge through that port are redirected
// (legacy: physdev match, needs br_netfilter; nft: a bridge-family table drops the others).
struct PodBinding {
  Ipv4Address pod_ip;
  std::string host_interface;
  std::string bridge_port{};  // empty: a routed pod, or a bridged one bound to the bridge only (weaker)
  bool operator==(const PodBinding&) const = default;
};

// Traffic that must reach the real metadata endpoint unchanged (neither redirected nor rejected).
// An empty interface means any interface.
struct Passthrough {
  Cidr source;
  std::string interface;
  bool operator==(const Passthrough&) const = default;
};

// Host-network callers: locally originated traffic to the metadata endpoint is rejected unless it comes
// from one of these UIDs (the node proxy's own UID first: it fetches type-0 tokens from the real IMDS).
// UID 0 in the list admits every root process of the host namespace, host-network pods included.
struct HostPolicy {
  std::vector<std::uint32_t> allowed_uids;

  // The node proxy's UID first, then `also_allowed` in order, each once.
  [[nodiscard]] static HostPolicy for_node_proxy(std::uint32_t proxy_uid,
                                                 const std::vector<std::uint32_t>& also_allowed = {});
  bool operator==(const HostPolicy&) const = default;
};

struct RuleSpec {
  Endpoint metadata{{0xA9FEA9FEu}, 80};  // 169.254.169.254:80
  Endpoint proxy;                        // where the node proxy listens; DNAT target
  std::vector<PodBinding> bindings;
  std::vector<Passthrough> passthrough;
  bool reject_unbound{true};       // guard chain: reject metadata traffic no binding redirected
  std::optional<HostPolicy> host;  // OUTPUT rule; none: host traffic untouched (the original's behaviour)

  // Refuses a zero proxy port or address, empty or over-long interface names, one pod IP bound to two
  // interfaces, and a host policy that allows no UID (the node proxy itself could not reach the IMDS).
  [[nodiscard]] core::Status validate() const;
  bool operator==(const RuleSpec&) const = default;
};

// Linux IFNAMSIZ - 1.
inline constexpr std::size_t kMaxInterfaceName = 15;

}  // namespace podid::iptables
