// decode_nft_json: `nft -j list table ip <t>` back into our chains. Only the expression shapes nft_script()
// writes are understood; any other rule reads back as RuleAction::unknown, so ensure() rewrites the table.

#include <array>
#include <boost/json.hpp>
#include <map>

#include "nodeproxy/iptables/nftables_rules.hpp"

namespace podid::iptables {
namespace {

namespace json = boost::json;

constexpr std::array<const char*, 5> kHookOrder{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"};

const json::value* field(const json::value& v, std::string_view key) {
  const auto* o = v.if_object();
  return o == nullptr ? nullptr : o->if_contains(key);
}

std::string str(const json::value* v) {
  return (v != nullptr && v->is_string()) ? std::string(v->get_string()) : std::string();
}

std::optional<std::int64_t> integer(const json::value* v) {
  if (v == nullptr || !v->is_int64()) return std::nullopt;
  return v->get_int64();
}

// One "match" expression into r; false when it is not one we write.
bool decode_match(const json::value& m, Rule& r, bool& saw_daddr, bool& saw_dport) {
  if (str(field(m, "op")) != "==") return false;
  const auto* left = field(m, "left");
  const auto* right = field(m, "right");
  if (left == nullptr || right == nullptr) return false;
  if (const auto* payload = field(*left, "payload")) {
    const auto proto = str(field(*payload, "protocol"));
    const auto name = str(field(*payload, "field"));
    if (proto == "ip" && name == "saddr") {
      std::string text = str(right);
      if (const auto* prefix = field(*right, "prefix")) {
        const auto len = integer(field(*prefix, "len"));
        if (!len) return false;
        text = str(field(*prefix, "addr")) + "/" + std::to_string(*len);
      }
      auto cidr = Cidr::parse(text);
      if (!cidr) return false;
      r.source = *cidr;
      return true;
    }
    if (proto == "ip" && name == "daddr") {
      auto ip = Ipv4Address::parse(str(right));
      if (!ip) return false;
      r.destination.address = *ip;
      saw_daddr = true;
      return true;
    }
    if (proto == "tcp" && name == "dport") {
      const auto port = integer(right);
      if (!port || *port <= 0 || *port > 65535) return false;
      r.destination.port = static_cast<std::uint16_t>(*port);
      saw_dport = true;
      return true;
    }
    return false;
  }
  if (const auto* meta = field(*left, "meta")) {
    const auto key = str(field(*meta, "key"));
    if (key == "iifname" && right->is_string()) {
      r.in_interface = str(right);
      return true;
    }
    if (key == "skuid") {
      const auto uid = integer(right);
      if (!uid || *uid < 0) return false;
      r.uid_owner = static_cast<std::uint32_t>(*uid);
      return true;
    }
  }
  return false;
}

Rule decode_rule(const json::array& exprs, std::uint64_t& packets) {
  Rule r;
  bool saw_daddr = false, saw_dport = false, saw_action = false;
  Rule unknown;
  unknown.action = RuleAction::unknown;
  for (const auto& e : exprs) {
    if (const auto* m = field(e, "match")) {
      if (!decode_match(*m, r, saw_daddr, saw_dport)) return unknown;
    } else if (const auto* c = field(e, "counter")) {
      packets = static_cast<std::uint64_t>(integer(field(*c, "packets")).value_or(0));
    } else if (const auto* d = field(e, "dnat")) {
      auto ip = Ipv4Address::parse(str(field(*d, "addr")));
      const auto port = integer(field(*d, "port"));
      if (!ip || !port || *port <= 0 || *port > 65535 || d->as_object().size() != 2) return unknown;
      r.action = RuleAction::dnat;
      r.to = {*ip, static_cast<std::uint16_t>(*port)};
      saw_action = true;
    } else if (const auto* rej = field(e, "reject")) {
      if (str(field(*rej, "type")) != "tcp reset") return unknown;
      r.action = RuleAction::reject;
      saw_action = true;
    } else if (field(e, "return") != nullptr) {
      r.action = RuleAction::pass;
      saw_action = true;
    } else {
      return unknown;
    }
  }
  if (!saw_daddr || !saw_dport || !saw_action) return unknown;
  return r;
}

}  // namespace

core::Result<InstalledRules> decode_nft_json(std::string_view text, const ChainNames& names) {
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  const auto* items = field(doc, "nftables");
  if (ec || items == nullptr || !items->is_array()) {
    return core::make_error(core::ErrorCode::corrupt, "nft printed JSON we cannot read");
  }
  InstalledRules out;
  std::map<std::string, std::size_t> index;               // our chain name -> position in out
  std::map<std::string, std::string> base_hook;           // base chain name -> "PREROUTING"...
  std::map<std::string, std::vector<std::string>> hooks;  // our chain -> hooks jumping to it
  std::map<std::string, unsigned> base_rule_count;
  for (const auto& item : items->as_array()) {
    const auto* chain = field(item, "chain");
    if (chain == nullptr) continue;
    const auto name = str(field(*chain, "name"));
    if (const auto* hook = field(*chain, "hook")) {
      const bool nat = str(field(*chain, "type")) == "nat";
      const auto prio = integer(field(*chain, "prio")).value_or(1);
      std::string upper = str(hook);
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      const bool expected = nat ? (upper == "PREROUTING" && prio == -100) : prio == 0;
      base_hook[name] = expected ? upper : upper + "@bad";
      continue;
    }
    Table table = name == names.nat ? Table::nat : Table::filter;
    if (name != names.nat && name != names.guard && name != names.host) continue;
    index[name] = out.rules.chains.size();
    out.rules.chains.push_back(Chain{table, name, {}, {}});
    out.packets.emplace_back();
  }
  for (const auto& item : items->as_array()) {
    const auto* rule = field(item, "rule");
    if (rule == nullptr) continue;
    const auto chain = str(field(*rule, "chain"));
    const auto* exprs = field(*rule, "expr");
    if (exprs == nullptr || !exprs->is_array()) continue;
    if (auto base = base_hook.find(chain); base != base_hook.end()) {
      const unsigned n = base_rule_count[chain]++;
      const auto* jump = exprs->as_array().size() == 1 ? field(exprs->as_array()[0], "jump") : nullptr;
      const auto target = jump != nullptr ? str(field(*jump, "target")) : std::string();
      if (index.count(target) != 0)
        hooks[target].push_back(n == 0 ? base->second : base->second + "@" + std::to_string(n));
      continue;
    }
    auto it = index.find(chain);
    if (it == index.end()) continue;
    std::uint64_t packets = 0;
    out.rules.chains[it->second].rules.push_back(decode_rule(exprs->as_array(), packets));
    out.packets[it->second].push_back(packets);
  }
  for (auto& c : out.rules.chains) {
    auto& hs = hooks[c.name];
    std::stable_sort(hs.begin(), hs.end(), [](const std::string& x, const std::string& y) {
      auto rank = [](const std::string& h) {
        for (std::size_t i = 0; i < kHookOrder.size(); ++i)
          if (h == kHookOrder[i]) return i;
        return kHookOrder.size();
      };
      return rank(x) < rank(y);
    });
    c.hooks = hs;
  }
  // Our chains in render() order: nat, guard, host.
  std::vector<std::size_t> order(out.rules.chains.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto rank = [&](std::size_t i) {
    const auto& n = out.rules.chains[i].name;
    return n == names.nat ? 0 : n == names.guard ? 1 : 2;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t x, std::size_t y) { return rank(x) < rank(y); });
  InstalledRules sorted;
  for (auto i : order) {
    sorted.rules.chains.push_back(std::move(out.rules.chains[i]));
    sorted.packets.push_back(std::move(out.packets[i]));
  }
  return sorted;
}

}  // namespace podid::iptables
