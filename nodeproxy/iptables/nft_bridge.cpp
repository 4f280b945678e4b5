// The bridge half of the nft backend. The `ip` family cannot see which bridge port a packet entered through,
// so a DNAT rule with a physdev_in (a pod on a bridged CNI) is enforced by a table of the `bridge` family
// (same name as the ip table) whose prerouting chain, at priority -300 (before anything of the ip family,
// which bridged frames reach only later), drops per bridged pod A behind port P:
//   iifname != P ip saddr A ip daddr <metadata> tcp dport <port>   every packet, not only the first
//   iifname != P arp saddr ip A                                    ARP claims for A (CVE-2021-1677)
// The DNAT rule itself stays bound to the bridge. inspect() folds the pair back into the DNAT rule's
// physdev_in, so the RuleSet compared by ensure() is the one render() made; a pair that is incomplete,
// altered or has no DNAT rule reads back as an unknown rule, so ensure() rewrites both tables.

#include <boost/json.hpp>
#include <map>
#include <set>

#include "nodeproxy/iptables/nftables_rules.hpp"

namespace podid::iptables {
namespace {

namespace json = boost::json;

const json::value* field(const json::value& v, std::string_view key) {
  const auto* o = v.if_object();
  return o == nullptr ? nullptr : o->if_contains(key);
}

std::string str(const json::value* v) {
  return (v != nullptr && v->is_string()) ? std::string(v->get_string()) : std::string();
}

bool is_bridged_dnat(const Rule& r) {
  return r.action == RuleAction::dnat && !r.physdev_in.empty() && r.source && r.source->prefix == 32;
}

// What one rule of ours in the bridge chain says; kind 0: unreadable.
struct BridgeRule {
  int kind{0};  // 1: the metadata rule, 2: the ARP rule
  std::string port;
  Ipv4Address source;
  Endpoint destination;
};

// (pod IP, port) -> which of the two rules were found (bit 1: metadata, bit 2: ARP), and the metadata
// rule's destination.
using PairMap = std::map<std::pair<std::uint32_t, std::string>, std::pair<int, Endpoint>>;

BridgeRule decode_bridge_rule(const json::array& exprs) {
  BridgeRule out;
  bool port = false, saddr = false, daddr = false, dport = false, arp = false, drop = false;
  for (const auto& e : exprs) {
    if (field(e, "counter") != nullptr) continue;
    if (const auto* d = field(e, "drop"); d != nullptr) {
      drop = true;
      continue;
    }
    const auto* m = field(e, "match");
    if (m == nullptr) return {};
    const auto op = str(field(*m, "op"));
    const auto* left = field(*m, "left");
    const auto* right = field(*m, "right");
    if (left == nullptr || right == nullptr) return {};
    if (const auto* meta = field(*left, "meta")) {
      if (op != "!=" || str(field(*meta, "key")) != "iifname" || port) return {};
      out.port = str(right);
      port = !out.port.empty();
      continue;
    }
    const auto* payload = field(*left, "payload");
    if (payload == nullptr || op != "==") return {};
    const auto proto = str(field(*payload, "protocol"));
    const auto name = str(field(*payload, "field"));
    if (proto == "tcp" && name == "dport" && right->is_int64()) {
      const auto p = right->get_int64();
      if (p <= 0 || p > 65535) return {};
      out.destination.port = static_cast<std::uint16_t>(p);
      dport = true;
      continue;
    }
    auto ip = Ipv4Address::parse(str(right));
    if (!ip) return {};
    if (proto == "ip" && name == "saddr") {
      out.source = *ip;
      saddr = true;
    } else if (proto == "ip" && name == "daddr") {
      out.destination.address = *ip;
      daddr = true;
    } else if (proto == "arp" && name == "saddr ip") {
      out.source = *ip;
      arp = true;
    } else {
      return {};
    }
  }
  if (!port || !drop) return {};
  if (saddr && daddr && dport && !arp) out.kind = 1;
  if (arp && !saddr && !daddr && !dport) out.kind = 2;
  return out;
}

// Gives each DNAT rule of `nat` its pair from `found` (erased once used). The nft backend's DNAT rule has no
// port: the pair supplies it. The legacy backend's has its physdev match: the pair must name that port, and
// false is returned when one has none.
bool fold_pairs(Chain& nat, PairMap& found) {
  bool complete = true;
  for (auto& r : nat.rules) {
    if (r.action != RuleAction::dnat || !r.source || r.source->prefix != 32) continue;
    const bool legacy = !r.physdev_in.empty();
    bool paired = false;
    for (auto it = found.begin(); it != found.end(); ++it) {
      if (it->first.first != r.source->address.value || it->second.first != 3 ||
          it->second.second != r.destination || (legacy && it->first.second != r.physdev_in))
        continue;
      r.physdev_in = it->first.second;
      found.erase(it);
      paired = true;
      break;
    }
    if (legacy && !paired) complete = false;
  }
  return complete;
}

}  // namespace

std::string nft_bridge_script(const RuleSet& rules, const std::string& table, bool present) {
  std::string body;
  for (const auto& c : rules.chains) {
    for (const auto& r : c.rules) {
      if (!is_bridged_dnat(r)) continue;
      const auto src = r.source->address.to_string();
      const auto not_port = "iifname != \"" + r.physdev_in + "\" ";
      body += "    " + not_port + "ip saddr " + src + " ip daddr " + r.destination.address.to_string() +
              " tcp dport " + std::to_string(r.destination.port) + " counter drop\n";
      body += "    " + not_port + "arp saddr ip " + src + " counter drop\n";
    }
  }
  std::string out;
  if (present || !body.empty()) out += "add table bridge " + table + "\ndelete table bridge " + table + "\n";
  if (body.empty()) return out;
  out += "table bridge " + table + " {\n  chain prerouting {\n" +
         "    type filter hook prerouting priority -300; policy accept;\n" + body + "  }\n}\n";
  return out;
}

core::Status merge_nft_bridge_json(std::string_view text, InstalledRules& into, const ChainNames& names) {
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  const auto* items = field(doc, "nftables");
  if (ec || items == nullptr || !items->is_array())
    return core::make_error(core::ErrorCode::corrupt, "nft printed JSON we cannot read (bridge table)");
  std::set<std::string> base_ok;
  PairMap found;
  bool foreign = false;
  for (const auto& item : items->as_array()) {
    if (const auto* chain = field(item, "chain")) {
      const bool ours = str(field(*chain, "hook")) == "prerouting" &&
                        str(field(*chain, "type")) == "filter" && field(*chain, "prio") != nullptr &&
                        field(*chain, "prio")->is_int64() && field(*chain, "prio")->get_int64() == -300 &&
                        str(field(*chain, "name")) == "prerouting";
      if (ours)
        base_ok.insert("prerouting");
      else
        foreign = true;
      continue;
    }
    const auto* rule = field(item, "rule");
    if (rule == nullptr) continue;
    const auto* exprs = field(*rule, "expr");
    const auto r =
        exprs != nullptr && exprs->is_array() ? decode_bridge_rule(exprs->as_array()) : BridgeRule{};
    if (r.kind == 0 || base_ok.count(str(field(*rule, "chain"))) == 0) {
      foreign = true;
      continue;
    }
    auto& slot = found[{r.source.value, r.port}];
    if ((slot.first & r.kind) != 0) foreign = true;  // a duplicate
    slot.first |= r.kind;
    if (r.kind == 1) slot.second = r.destination;
  }
  Chain* nat = nullptr;
  for (auto& c : into.rules.chains)
    if (c.name == names.nat) nat = &c;
  if (nat != nullptr && !fold_pairs(*nat, found)) foreign = true;
  if (foreign || !found.empty()) {
    // Something in our bridge table that no DNAT rule accounts for: make the read differ from any render.
    if (nat == nullptr) {
      into.rules.chains.insert(into.rules.chains.begin(), Chain{Table::nat, names.nat, {}, {}});
      into.packets.insert(into.packets.begin(), std::vector<std::uint64_t>{});
      nat = &into.rules.chains.front();
    }
    Rule unknown;
    unknown.action = RuleAction::unknown;
    unknown.physdev_in = "(bridge table)";
    nat->rules.push_back(unknown);
    for (std::size_t i = 0; i < into.rules.chains.size(); ++i)
      if (&into.rules.chains[i] == nat) into.packets[i].push_back(0);
  }
  return core::ok();
}

core::Result<std::optional<std::string>> nft_list_table(CommandRunner& runner, const std::string& nft,
                                                        const std::string& family, const std::string& table) {
  auto out = PODID_TRY(runner.run({nft, "-j", "list", "table", family, table}, {}));
  if (out.exit_code == 0) return std::optional<std::string>(std::move(out.out));
  if (out.err.find("No such file or directory") != std::string::npos) return std::optional<std::string>();
  const bool denied = out.err.find("Operation not permitted") != std::string::npos;
  return core::make_error(denied ? core::ErrorCode::permission : core::ErrorCode::io,
                          "nft list " + family + " failed: " + out.err);
}

core::Status nft_apply(CommandRunner& runner, const std::string& nft, const std::string& script) {
  auto out = PODID_TRY(runner.run({nft, "-f", "-"}, script));
  if (out.exit_code == 0) return core::ok();
  const bool denied = out.err.find("Operation not permitted") != std::string::npos;
  return core::make_error(denied ? core::ErrorCode::permission : core::ErrorCode::io,
                          "nft failed: " + out.err);
}

}  // namespace podid::iptables
