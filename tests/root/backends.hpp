#pragma once
// The InterceptionRules implementations under test, as Catch2 template types: how to build one, how to dump
// what the kernel holds, and how to tamper with it.

#include <memory>
#include <string>
#include <vector>

#include "nodeproxy/iptables/command_runner.hpp"
#include "nodeproxy/iptables/legacy_iptables_rules.hpp"
#include "nodeproxy/iptables/nftables_rules.hpp"
#include "nodeproxy/iptables/rule_set.hpp"

namespace podid::testing {

struct LegacyBackend {
  static constexpr const char* kName = "legacy (libiptc)";
  static std::unique_ptr<iptables::InterceptionRules> make(iptables::CommandRunner& runner) {
    iptables::LegacyIptablesConfig config;
    config.xtables_lock = "/run/xtables.lock";
    return std::make_unique<iptables::LegacyIptablesRules>(config, &runner);
  }
  static std::vector<std::string> dump() { return {"iptables-legacy-save"}; }
  // Lines the dump must hold for these rules (iptables-save syntax, as to_text renders them).
  static std::vector<std::string> expected_lines(const iptables::RuleSet& rules) {
    std::vector<std::string> out;
    for (const auto& c : rules.chains) {
      for (const auto& h : c.hooks) out.push_back("-A " + h + " -j " + c.name);
    }
    const auto text = iptables::to_text(rules);
    std::size_t pos = 0;
    while (pos < text.size()) {
      const auto end = text.find('\n', pos);
      const auto line = text.substr(pos, end - pos);
      if (line.rfind("-A ", 0) == 0) out.push_back(line);
      pos = end + 1;
    }
    return out;
  }
  // A foreign rule in our nat chain, and a rule above our jump in PREROUTING.
  static std::vector<std::vector<std::string>> tamper() {
    return {{"iptables-legacy", "-t", "nat", "-A", "aad-metadata", "-j", "RETURN"},
            {"iptables-legacy", "-t", "nat", "-I", "PREROUTING", "1", "-p", "udp", "-j", "RETURN"}};
  }
};

struct NftBackend {
  static constexpr const char* kName = "nf_tables (nft, table ip podid)";
  static std::unique_ptr<iptables::InterceptionRules> make(iptables::CommandRunner& runner) {
    return std::make_unique<iptables::NftablesRules>(iptables::NftablesConfig{}, runner);
  }
  static std::vector<std::string> dump() { return {"nft", "-s", "list", "table", "ip", "podid"}; }
  // `nft -s` prints our script back line for line (without the add/delete preamble).
  static std::vector<std::string> expected_lines(const iptables::RuleSet& rules) {
    std::vector<std::string> out;
    const auto text = iptables::nft_script(rules, "podid");
    std::size_t pos = text.find('\n', text.find('\n') + 1) + 1;
    while (pos < text.size()) {
      const auto end = text.find('\n', pos);
      auto line = text.substr(pos, end - pos);
      line.erase(0, line.find_first_not_of(' '));
      out.push_back(line);
      pos = end + 1;
    }
    return out;
  }
  static std::vector<std::vector<std::string>> tamper() {
    return {{"nft", "add", "rule", "ip", "podid", "aad-metadata", "counter", "return"},
            {"nft", "insert", "rule", "ip", "podid", "prerouting", "meta", "l4proto", "udp", "return"}};
  }
};

}  // namespace podid::testing
