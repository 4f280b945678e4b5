#include "nodeproxy/pod_routes.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <sstream>

namespace podid::nodeproxy {
namespace {

constexpr unsigned kRouteGateway = 0x2;  // RTF_GATEWAY

bool hex32(std::string_view text, std::uint32_t& out) {
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, out, 16);
  return ec == std::errc{} && p == end && !text.empty();
}

std::uint8_t prefix_of(std::uint32_t mask) {
  std::uint8_t n = 0;
  while (n < 32 && (mask & (0x80000000u >> n)) != 0) ++n;
  return n;
}

}  // namespace

core::Result<std::vector<IpRoute>> parse_proc_net_route(std::string_view text) {
  std::vector<IpRoute> out;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    if (++number == 1 || line.find_first_not_of(" \t") == std::string::npos) continue;  // header, blank
    std::istringstream fields(line);
    std::string iface, dest, gateway, flags, refcnt, use, metric, mask;
    fields >> iface >> dest >> gateway >> flags >> refcnt >> use >> metric >> mask;
    std::uint32_t d = 0, m = 0, f = 0;
    if (!fields || !hex32(dest, d) || !hex32(mask, m) || !hex32(flags, f))
      return core::make_error(core::ErrorCode::corrupt, "route table line " + std::to_string(number));
    IpRoute r;
    r.destination.prefix = prefix_of(ntohl(m));
    r.destination.address.value = ntohl(d) & r.destination.mask();
    r.interface = iface;
    r.via_gateway = (f & kRouteGateway) != 0;
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<std::string> pod_interface(const std::vector<IpRoute>& routes, iptables::Ipv4Address ip) {
  const IpRoute* best = nullptr;
  for (const auto& r : routes) {
    if ((ip.value & r.destination.mask()) != r.destination.address.value) continue;
    if (best == nullptr || r.destination.prefix > best->destination.prefix) best = &r;
  }
  if (best == nullptr || best->via_gateway || best->destination.prefix == 0) return std::nullopt;
  return best->interface;
}

}  // namespace podid::nodeproxy
