#include "nodeproxy/iptables/rule_spec.hpp"

#include <algorithm>
#include <charconv>
#include <set>

namespace podid::iptables {
namespace {

core::Error invalid(std::string msg) {
  return core::make_error(core::ErrorCode::invalid, std::move(msg));
}

core::Status check_interface(std::string_view name, std::string_view what) {
  if (name.size() > kMaxInterfaceName) return invalid(std::string(what) + " interface name too long");
  for (char c : name) {
    if (c == '/' || c == ' ' || c == '"' || c == '\\' || c == '+' || c < 0x21 || c > 0x7e)
      return invalid(std::string(what) + " interface name has a forbidden character");
  }
  return core::ok();
}

}  // namespace

core::Result<Ipv4Address> Ipv4Address::parse(std::string_view text) {
  std::uint32_t value = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (p == end || *p != '.') return invalid("malformed IPv4 address");
      ++p;
    }
    unsigned part = 0;
    auto [next, ec] = std::from_chars(p, end, part);
    if (ec != std::errc{} || next == p || part > 255 || (next - p > 1 && *p == '0'))
      return invalid("malformed IPv4 address");
    value = (value << 8) | part;
    p = next;
  }
  if (p != end) return invalid("malformed IPv4 address");
  return Ipv4Address{value};
}

std::string Ipv4Address::to_string() const {
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) {
    if (!out.empty()) out += '.';
    out += std::to_string((value >> shift) & 0xFFu);
  }
  return out;
}

core::Result<Cidr> Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  Cidr out;
  out.address = PODID_TRY(Ipv4Address::parse(text.substr(0, slash)));
  if (slash != std::string_view::npos) {
    const auto len = text.substr(slash + 1);
    unsigned prefix = 0;
    auto [next, ec] = std::from_chars(len.data(), len.data() + len.size(), prefix);
    if (ec != std::errc{} || next != len.data() + len.size() || len.empty() || prefix > 32)
      return invalid("malformed prefix length");
    out.prefix = static_cast<std::uint8_t>(prefix);
  }
  if ((out.address.value & ~out.mask()) != 0) return invalid("CIDR has host bits set");
  return out;
}

std::uint32_t Cidr::mask() const noexcept {
  return prefix == 0 ? 0u : ~std::uint32_t{0} << (32 - prefix);
}

std::string Cidr::to_string() const {
  return address.to_string() + "/" + std::to_string(prefix);
}

core::Status RuleSpec::validate() const {
  if (proxy.port == 0 || proxy.address.value == 0) return invalid("proxy address and port are required");
  if (metadata.port == 0 || metadata.address.value == 0)
    return invalid("metadata address and port are required");
  std::set<std::uint32_t> seen;
  for (const auto& b : bindings) {
    if (b.host_interface.empty()) return invalid("binding for " + b.pod_ip.to_string() + " has no interface");
    PODID_TRY(check_interface(b.host_interface, "binding"));
    PODID_TRY(check_interface(b.bridge_port, "bridge port"));
    if (b.bridge_port == b.host_interface)
      return invalid("binding for " + b.pod_ip.to_string() + " names its interface as its bridge port");
    if (!seen.insert(b.pod_ip.value).second)
      return invalid("pod IP " + b.pod_ip.to_string() + " is bound more than once");
  }
  for (const auto& p : passthrough) PODID_TRY(check_interface(p.interface, "passthrough"));
  if (host && host->allowed_uids.empty())
    return invalid("host policy allows no UID: put the node proxy's own UID first");
  return core::ok();
}

HostPolicy HostPolicy::for_node_proxy(std::uint32_t proxy_uid,
                                      const std::vector<std::uint32_t>& also_allowed) {
  HostPolicy out{{proxy_uid}};
  for (const auto uid : also_allowed)
    if (std::find(out.allowed_uids.begin(), out.allowed_uids.end(), uid) == out.allowed_uids.end())
      out.allowed_uids.push_back(uid);
  return out;
}

}  // namespace podid::iptables
