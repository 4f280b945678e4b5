#include "nodeproxy/iptables/rule_set.hpp"

namespace podid::iptables {
namespace {

// Linux chain names are at most 28 characters (XT_EXTENSION_MAXNAMELEN - 1 in the kernel's checks).
constexpr std::size_t kMaxChainName = 28;

Rule to_metadata(const RuleSpec& spec, RuleAction action) {
  Rule r;
  r.destination = spec.metadata;
  r.action = action;
  return r;
}

void add_passthrough(const RuleSpec& spec, std::vector<Rule>& out) {
  for (const auto& p : spec.passthrough) {
    Rule r = to_metadata(spec, RuleAction::pass);
    r.source = p.source;
    r.in_interface = p.interface;
    out.push_back(std::move(r));
  }
}

}  // namespace

core::Result<ChainNames> ChainNames::from_base(std::string_view base) {
  if (base.empty() || base.size() + 6 > kMaxChainName)
    return core::make_error(core::ErrorCode::invalid, "chain name empty or longer than 22 characters");
  for (char c : base) {
    const bool okc =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!okc) return core::make_error(core::ErrorCode::invalid, "chain name has a forbidden character");
  }
  const std::string b(base);
  return ChainNames{b, b + "-guard", b + "-host"};
}

RuleSet render(const RuleSpec& spec, const ChainNames& names) {
  RuleSet out;
  Chain nat{Table::nat, names.nat, {"PREROUTING"}, {}};
  add_passthrough(spec, nat.rules);
  for (const auto& b : spec.bindings) {
    Rule r = to_metadata(spec, RuleAction::dnat);
    r.source = Cidr{b.pod_ip, 32};
    r.in_interface = b.host_interface;
    r.physdev_in = b.bridge_port;
    r.to = spec.proxy;
    nat.rules.push_back(std::move(r));
  }
  out.chains.push_back(std::move(nat));

  if (spec.reject_unbound) {
    // Loopback first: the node's own calls to a metadata address that is local (an emulator in a test
    // namespace) come back in through INPUT on lo and are host traffic, which the host chain governs.
    Chain guard{Table::filter, names.guard, {"INPUT", "FORWARD"}, {}};
    Rule lo = to_metadata(spec, RuleAction::pass);
    lo.in_interface = "lo";
    guard.rules.push_back(std::move(lo));
    add_passthrough(spec, guard.rules);
    guard.rules.push_back(to_metadata(spec, RuleAction::reject));
    out.chains.push_back(std::move(guard));
  }

  if (spec.host) {
    Chain host{Table::filter, names.host, {"OUTPUT"}, {}};
    for (auto uid : spec.host->allowed_uids) {
      Rule r = to_metadata(spec, RuleAction::pass);
      r.uid_owner = uid;
      host.rules.push_back(std::move(r));
    }
    host.rules.push_back(to_metadata(spec, RuleAction::reject));
    out.chains.push_back(std::move(host));
  }
  return out;
}

std::string_view to_string(Table table) noexcept {
  return table == Table::nat ? "nat" : "filter";
}

std::string to_text(const RuleSet& rules) {
  std::string out;
  for (const auto& c : rules.chains) {
    out += "*" + std::string(to_string(c.table)) + " " + c.name + "\n";
    for (const auto& h : c.hooks) out += "-I " + h + " 1 -j " + c.name + "\n";
    for (const auto& r : c.rules) {
      out += "-A " + c.name;
      if (r.source) out += " -s " + r.source->to_string();
      out += " -d " + r.destination.address.to_string() + "/32";
      if (!r.in_interface.empty()) out += " -i " + r.in_interface;
      out += " -p tcp -m tcp --dport " + std::to_string(r.destination.port);
      if (r.uid_owner) out += " -m owner --uid-owner " + std::to_string(*r.uid_owner);
      if (!r.physdev_in.empty()) out += " -m physdev --physdev-in " + r.physdev_in;
      switch (r.action) {
        case RuleAction::dnat:
          out += " -j DNAT --to-destination " + r.to.address.to_string() + ":" + std::to_string(r.to.port);
          break;
        case RuleAction::pass:
          out += " -j RETURN";
          break;
        case RuleAction::reject:
          out += " -j REJECT --reject-with tcp-reset";
          break;
        case RuleAction::unknown:
          out += " (unknown rule)";
          break;
      }
      out += "\n";
    }
  }
  return out;
}

std::optional<std::uint64_t> InstalledRules::packets_of(const std::string& chain, const Rule& rule) const {
  for (std::size_t i = 0; i < rules.chains.size(); ++i) {
    if (rules.chains[i].name != chain) continue;
    for (std::size_t j = 0; j < rules.chains[i].rules.size(); ++j) {
      if (rules.chains[i].rules[j] == rule && i < packets.size() && j < packets[i].size())
        return packets[i][j];
    }
  }
  return std::nullopt;
}

}  // namespace podid::iptables
