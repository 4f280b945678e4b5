#include "cli/nodeproxy_bridges.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace podid::cli {
namespace {

namespace fs = std::filesystem;

// Cache files are a few KiB; anything far larger is not one.
constexpr std::uintmax_t kMaxCacheFile = 1u << 20;

std::string describe(const fs::path& path, const std::string& why) {
  return path.filename().string() + ": " + why;
}

}  // namespace

core::Result<nodeproxy::BridgePorts> read_bridge_ports(const BridgeSources& sources) {
  nodeproxy::BridgePorts out;
  std::error_code ec;
  for (const auto& link : fs::directory_iterator(sources.sys_class_net, ec)) {
    const auto name = link.path().filename().string();
    if (!fs::exists(link.path() / "bridge", ec)) continue;
    auto& ports = out.bridges[name];
    std::error_code port_ec;
    for (const auto& port : fs::directory_iterator(link.path() / "brif", port_ec))
      ports.insert(port.path().filename().string());
  }
  if (ec)
    return core::make_error(core::ErrorCode::io,
                            "cannot list " + sources.sys_class_net + ": " + ec.message());
  if (std::ifstream in(sources.bridge_nf_call_iptables); in) {
    std::string value;
    in >> value;
    out.bridge_nf_call_iptables = value == "1";
  }
  if (out.bridges.empty()) return out;
  for (const auto& dir : sources.cni_cache_dirs) {
    std::error_code dir_ec;
    for (const auto& entry : fs::directory_iterator(dir, dir_ec)) {
      std::error_code file_ec;
      if (!entry.is_regular_file(file_ec)) continue;
      if (entry.file_size(file_ec) > kMaxCacheFile) {
        out.unreadable.push_back(describe(entry.path(), "larger than 1 MiB"));
        continue;
      }
      std::ifstream in(entry.path());
      std::ostringstream text;
      text << in.rdbuf();
      if (!in) {
        out.unreadable.push_back(describe(entry.path(), "cannot be read"));
        continue;
      }
      auto parsed = nodeproxy::parse_cni_cache_entry(text.str());
      if (!parsed) {
        out.unreadable.push_back(describe(entry.path(), parsed.error().message));
        continue;
      }
      out.add(*parsed);
    }
  }
  return out;
}

}  // namespace podid::cli
