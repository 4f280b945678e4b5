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
  auto out = PODID_TRY(runner_.run({config_.nft, "-f", "-"}, script));
  if (out.exit_code == 0) return core::ok();
  const bool denied = out.err.find("Operation not permitted") != std::string::npos;
  return core::make_error(denied ? core::ErrorCode::permission : core::ErrorCode::io,
                          "nft failed: " + out.err);
}

core::Result<bool> NftablesRules::ensure(const RuleSpec& spec) {
  PODID_TRY(spec.validate());
  if (!names_) return names_.error();
  const RuleSet desired = render(spec, *names_);
  const auto installed = PODID_TRY(inspect());
  if (installed.rules == desired) return false;
  PODID_TRY(apply(nft_script(desired, config_.table)));
  return true;
}

core::Status NftablesRules::remove() {
  const std::string& t = config_.table;
  return apply("add table ip " + t + "\ndelete table ip " + t + "\n");
}

core::Result<InstalledRules> NftablesRules::inspect() {
  if (!names_) return names_.error();
  auto out = PODID_TRY(runner_.run({config_.nft, "-j", "list", "table", "ip", config_.table}, {}));
  if (out.exit_code != 0) {
    if (out.err.find("No such file or directory") != std::string::npos) return InstalledRules{};
    const bool denied = out.err.find("Operation not permitted") != std::string::npos;
    return core::make_error(denied ? core::ErrorCode::permission : core::ErrorCode::io,
                            "nft list failed: " + out.err);
  }
  return decode_nft_json(out.out, *names_);
}

}  // namespace podid::iptables
