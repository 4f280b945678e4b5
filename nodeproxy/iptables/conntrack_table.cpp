#include "nodeproxy/iptables/conntrack_table.hpp"

#include <arpa/inet.h>

namespace podid::iptables {

FlowDestination FlowDestination::from(const Endpoint& endpoint) {
  FlowDestination out;
  const std::uint32_t v = endpoint.address.value;
  out.address[0] = static_cast<std::uint8_t>(v >> 24);
  out.address[1] = static_cast<std::uint8_t>(v >> 16);
  out.address[2] = static_cast<std::uint8_t>(v >> 8);
  out.address[3] = static_cast<std::uint8_t>(v);
  out.port = endpoint.port;
  return out;
}

core::Result<FlowDestination> FlowDestination::parse(std::string_view ip, std::uint16_t port) {
  const std::string text(ip);  // inet_pton needs a terminated string
  FlowDestination out;
  out.port = port;
  if (::inet_pton(AF_INET, text.c_str(), out.address.data()) == 1) return out;
  out.family = Family::ipv6;
  if (::inet_pton(AF_INET6, text.c_str(), out.address.data()) == 1) return out;
  return core::make_error(core::ErrorCode::invalid, "not an IPv4 or IPv6 address: \"" + text + "\"");
}

std::string FlowDestination::to_string() const {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  const bool v4 = family == Family::ipv4;
  ::inet_ntop(v4 ? AF_INET : AF_INET6, address.data(), buf.data(), buf.size());
  const std::string host(buf.data());
  return (v4 ? host : "[" + host + "]") + ":" + std::to_string(port);
}

}  // namespace podid::iptables
