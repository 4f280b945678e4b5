#include "nodeproxy/cni_cache.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace podid::nodeproxy {
namespace {

namespace json = boost::json;

core::Error corrupt(std::string msg) {
  return core::make_error(core::ErrorCode::corrupt, "CNI cache: " + std::move(msg));
}

const json::value* member(const json::object& o, std::string_view key) {
  return o.if_contains(key);
}

}  // namespace

core::Result<CniAttachment> parse_cni_cache_entry(std::string_view text) {
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec) return corrupt("not JSON: " + ec.message());
  const auto* top = doc.if_object();
  if (top == nullptr) return corrupt("not a JSON object");
  CniAttachment out;
  const json::object* result = top;
  if (const auto* kind = member(*top, "kind")) {
    if (!kind->is_string() || kind->get_string() != "cniCacheV1") return corrupt("unknown kind");
    const auto* r = member(*top, "result");
    if (r == nullptr || !r->is_object()) return corrupt("no result");
    result = &r->get_object();
    if (const auto* id = member(*top, "containerId"); id != nullptr && id->is_string())
      out.container_id = std::string(id->get_string());
  }
  const auto* interfaces = member(*result, "interfaces");
  const auto* ips = member(*result, "ips");
  if (interfaces != nullptr && !interfaces->is_array()) return corrupt("interfaces is not an array");
  if (ips == nullptr || !ips->is_array()) return corrupt("no ips");
  if (interfaces != nullptr) {
    for (const auto& i : interfaces->get_array()) {
      const auto* o = i.if_object();
      const auto* name = o != nullptr ? member(*o, "name") : nullptr;
      if (name == nullptr || !name->is_string() || name->get_string().empty())
        return corrupt("an interface without a name");
      const auto* sandbox = member(*o, "sandbox");
      const bool host = sandbox == nullptr || (sandbox->is_string() && sandbox->get_string().empty());
      if (host) out.host_interfaces.emplace_back(name->get_string());
    }
  }
  for (const auto& entry : ips->get_array()) {
    const auto* o = entry.if_object();
    const auto* address = o != nullptr ? member(*o, "address") : nullptr;
    if (address == nullptr || !address->is_string()) return corrupt("an IP entry without an address");
    const std::string_view a = address->get_string();
    if (a.find(':') != std::string_view::npos) continue;  // IPv6: the rules are IPv4
    auto ip = iptables::Ipv4Address::parse(a.substr(0, a.find('/')));
    if (!ip) return corrupt("malformed address \"" + std::string(a) + "\"");
    out.ips.push_back(*ip);
  }
  return out;
}

void BridgePorts::add(const CniAttachment& attachment) {
  for (const auto& ip : attachment.ips)
    host_interfaces[ip.value].insert(attachment.host_interfaces.begin(), attachment.host_interfaces.end());
}

std::optional<std::string> bridge_port(const BridgePorts& view, const std::string& bridge,
                                       iptables::Ipv4Address ip) {
  const auto b = view.bridges.find(bridge);
  const auto names = view.host_interfaces.find(ip.value);
  if (b == view.bridges.end() || names == view.host_interfaces.end()) return std::nullopt;
  std::optional<std::string> port;
  for (const auto& name : names->second) {
    if (b->second.count(name) == 0) continue;
    if (port) return std::nullopt;  // two ports claim this IP: trust neither
    port = name;
  }
  return port;
}

}  // namespace podid::nodeproxy
