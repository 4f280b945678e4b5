#include "nodeproxy/iptables/nftables_rules.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace podid::iptables {
namespace {

constexpr std::array<const char*, 5> kHookOrder{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string render_rule(const Rule& r) {
  std::string out;
  if (r.source) {
    out +=
        "ip saddr " + (r.source->prefix == 32 ? r.source->address.to_string() : r.source->to_string()) + " ";
  }
  if (!r.in_interface.empty()) out += "iifname \"" + r.in_interface + "\" ";
  if (r.uid_owner) out += "meta skuid " + std::to_string(*r.uid_owner) + " ";
  out += "ip daddr " + r.destination.address.to_string() + " tcp dport " +
         std::to_string(r.destination.port) + " counter ";
  switch (r.action) {
    case RuleAction::dnat:
      out += "dnat to " + r.to.address.to_string() + ":" + std::to_string(r.to.port);
      break;
    case RuleAction::reject:
      out += "reject with tcp reset";
      break;
    default:
      out += "return";
      break;
  }
  return out;
}

}  // namespace

std::string nft_script(const RuleSet& rules, const std::string& table) {
  std::string out = "add table ip " + table + "\ndelete table ip " + table + "\ntable ip " + table + " {\n";
  std::vector<std::pair<std::string, const Chain*>> hooks;  // hook -> chain jumping from it
  for (const auto& c : rules.chains) {
    out += "  chain " + c.name + " {\n";
    for (const auto& r : c.rules) out += "    " + render_rule(r) + "\n";
    out += "  }\n";
    for (const auto& h : c.hooks) hooks.emplace_back(h, &c);
  }
  for (const char* hook : kHookOrder) {
    std::string body;
    bool nat = false;
    for (const auto& [h, c] : hooks) {
      if (h != hook) continue;
      body += "    jump " + c->name + "\n";
      nat = c->table == Table::nat;
    }
    if (body.empty()) continue;
    out += "  chain " + lower(hook) + " {\n    type " + (nat ? "nat" : "filter") + " hook " + lower(hook) +
           " priority " + (nat ? "dstnat" : "filter") + "; policy accept;\n" + body + "  }\n";
  }
  out += "}\n";
  return out;
}

NftablesRules::NftablesRules(NftablesConfig config, CommandRunner& runner)
    : config_(std::move(config)), runner_(runner), names_(ChainNames::from_base(config_.chain)) {}

core::Status NftablesRules::apply(const std::string& script) {
  return nft_apply(runner_, config_.nft, script);
}

core::Result<bool> NftablesRules::ensure(const RuleSpec& spec) {
  PODID_TRY(spec.validate());
  if (!names_) return names_.error();
  const RuleSet desired = render(spec, *names_);
  const auto installed = PODID_TRY(inspect());
  if (installed.rules == desired) return false;
  // One transaction for both tables: a reader never sees a bridged pod's DNAT without its drops.
  PODID_TRY(
      apply(nft_script(desired, config_.table) + nft_bridge_script(desired, config_.table, bridge_present_)));
  return true;
}

core::Status NftablesRules::remove() {
  const std::string& t = config_.table;
  // The bridge table only when there is one: a kernel without the bridge family must still remove ours.
  auto bridge = list("bridge");
  std::string script = "add table ip " + t + "\ndelete table ip " + t + "\n";
  if (bridge && *bridge) script += "delete table bridge " + t + "\n";
  return apply(script);
}

core::Result<std::optional<std::string>> NftablesRules::list(const std::string& family) {
  return nft_list_table(runner_, config_.nft, family, config_.table);
}

core::Result<InstalledRules> NftablesRules::inspect() {
  if (!names_) return names_.error();
  auto ip = PODID_TRY(list("ip"));
  InstalledRules out;
  if (ip) out = PODID_TRY(decode_nft_json(*ip, *names_));
  // A kernel or nft without the bridge family reads as no bridge table: the DNAT rules of bridged pods then
  // read back without their port, so ensure() tries to write it and reports nft's error.
  auto bridge = list("bridge");
  bridge_present_ = bridge && bridge->has_value();
  if (bridge_present_) PODID_TRY(merge_nft_bridge_json(**bridge, out, *names_));
  return out;
}

}  // namespace podid::iptables
