#include "cli/node_cleanup.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "nodeproxy/iptables/legacy_iptables_rules.hpp"
#include "nodeproxy/iptables/nftables_rules.hpp"
#include "nodeproxy/iptables/process_runner.hpp"

namespace podid::cli {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view kNodeProxy = "podid-nodeproxy";  // 15 characters: comm holds it whole

std::string first_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

bool is_node_proxy(const fs::path& proc_dir) {
  if (first_line(proc_dir / "comm") == kNodeProxy) return true;
  std::error_code ec;
  auto exe = fs::read_symlink(proc_dir / "exe", ec).filename().string();
  // An executable replaced by an upgrade reads "podid-nodeproxy (deleted)".
  return !ec && exe.starts_with(kNodeProxy) &&
         (exe.size() == kNodeProxy.size() || exe.substr(kNodeProxy.size()) == " (deleted)");
}

// Legacy tables are per namespace and created on first use: listed in ip_tables_names only once something
// (the node proxy, kube-proxy) used them. Probing through libiptc would instantiate them on an nft-only node.
bool legacy_tables_in_use() {
  std::ifstream in("/proc/self/net/ip_tables_names");
  std::string name;
  while (std::getline(in, name))
    if (name == "nat" || name == "filter") return true;
  return false;
}

std::string describe(const iptables::InstalledRules& installed) {
  std::ostringstream s;
  for (const auto& c : installed.rules.chains) {
    s << "  chain " << iptables::to_string(c.table) << " " << c.name << " (" << c.rules.size() << " rules";
    if (!c.hooks.empty()) {
      s << "; jumps from";
      for (const auto& h : c.hooks) s << " " << h;
    }
    s << ")\n";
  }
  const auto text = iptables::to_text(installed.rules);
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) s << "    " << line << "\n";
  return s.str();
}

struct Outcome {
  bool failed{false};
  bool found{false};
};

// One backend: what is installed, then (unless a dry run) its removal, checked by reading back.
Outcome clean(std::string_view label, iptables::InterceptionRules& rules, bool present,
              const std::string& extra, bool dry_run, std::ostream& out, std::ostream& err) {
  auto installed = rules.inspect();
  if (!installed) {
    err << "podidctl node cleanup: " << label << ": " << installed.error().describe() << "\n";
    return {true, false};
  }
  if (!present && installed->rules.chains.empty()) {
    out << label << ": nothing to remove\n";
    return {};
  }
  out << label << ": " << (dry_run ? "would remove" : "removing") << "\n" << extra << describe(*installed);
  if (dry_run) return {false, true};
  auto removed = rules.remove();
  if (!removed) {
    err << "podidctl node cleanup: " << label << ": " << removed.error().describe() << "\n";
    return {true, true};
  }
  auto after = rules.inspect();
  if (!after || !after->rules.chains.empty()) {
    err << "podidctl node cleanup: " << label << ": rules still installed after removal\n";
    return {true, true};
  }
  out << label << ": removed\n";
  return {false, true};
}

}  // namespace

std::vector<int> find_node_proxies(const std::string& proc_root) {
  std::vector<int> pids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(proc_root, ec)) {
    const auto name = entry.path().filename().string();
    int pid = 0;
    const auto [end, parsed] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (parsed != std::errc{} || end != name.data() + name.size()) continue;
    if (is_node_proxy(entry.path())) pids.push_back(pid);
  }
  return pids;
}

int run_node_cleanup(const NodeCleanupOptions& o, std::ostream& out, std::ostream& err) {
  if (const auto pids = find_node_proxies(o.proc_root); !pids.empty() && !o.force) {
    err << "podidctl node cleanup: a podid-nodeproxy process is running (pid";
    for (int p : pids) err << " " << p;
    err << "); it owns the rules and removes them itself on SIGTERM. Stop it first, or pass --force\n";
    return 1;
  }
  iptables::ProcessRunner runner;
  Outcome total;
  auto add = [&](Outcome r) {
    total.failed = total.failed || r.failed;
    total.found = total.found || r.found;
  };

  if (o.backend == CleanupBackend::legacy ||
      (o.backend == CleanupBackend::auto_detect && legacy_tables_in_use())) {
    iptables::LegacyIptablesRules legacy(iptables::LegacyIptablesConfig{}, &runner);  // nft: the bridge table
    add(clean("legacy iptables", legacy, false, {}, o.dry_run, out, err));
  } else if (o.backend == CleanupBackend::auto_detect) {
    out << "legacy iptables: not in use (no nat or filter table)\n";
  }

  if (o.backend != CleanupBackend::legacy) {
    const iptables::NftablesConfig config;
    // The table itself, even without our chains (a partial table still holds base chains on the hooks).
    auto listed = runner.run({config.nft, "list", "table", "ip", config.table}, {});
    if (!listed && listed.error().code == core::ErrorCode::not_found &&
        o.backend == CleanupBackend::auto_detect) {
      out << "nf_tables: not in use (no nft program)\n";
    } else if (!listed) {
      err << "podidctl node cleanup: nf_tables: " << listed.error().describe() << "\n";
      total.failed = true;
    } else {
      // The bridge table of the same name (pods on a bridge) may be left without the ip table.
      auto bridged = runner.run({config.nft, "list", "table", "bridge", config.table}, {});
      const bool bridge_present = bridged && bridged->exit_code == 0;
      std::string tables;
      if (listed->exit_code == 0) tables += "  table ip " + config.table + "\n";
      if (bridge_present) tables += "  table bridge " + config.table + "\n";
      iptables::NftablesRules nft(config, runner);
      add(clean("nf_tables", nft, listed->exit_code == 0 || bridge_present, tables, o.dry_run, out, err));
    }
  }

  if (total.failed) return 1;
  if (!total.found) out << "nothing to remove\n";
  return 0;
}

}  // namespace podid::cli
