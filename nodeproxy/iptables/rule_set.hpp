#pragma once
// The rendered rules: a backend-neutral description of the chains the node proxy owns, produced by the pure
// render() and read back by InterceptionRules::inspect(). Comparing the two is how ensure() stays idempotent.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nodeproxy/iptables/rule_spec.hpp"

namespace podid::iptables {

enum class Table { nat, filter };

enum class RuleAction {
  dnat,     // rewrite the destination to Rule::to
  pass,     // leave the chain (RETURN): the packet continues unchanged
  reject,   // answer with a TCP reset
  unknown,  // inspect() found a rule it did not write
};

// One rule. Every rule matches TCP to destination:destination_port; the other matches are optional.
struct Rule {
  std::optional<Cidr> source;
  std::string in_interface;  // empty: any
  std::string physdev_in;    // the bridge port the packet entered in_interface through; empty: any
  std::optional<std::uint32_t> uid_owner;
  Endpoint destination;
  RuleAction action{RuleAction::pass};
  Endpoint to;  // dnat only
  bool operator==(const Rule&) const = default;
};

// A chain we own and the built-in hooks whose first rule jumps to it.
struct Chain {
  Table table{Table::nat};
  std::string name;
  std::vector<std::string> hooks;  // "PREROUTING", "INPUT", "FORWARD", "OUTPUT"
  std::vector<Rule> rules;
  bool operator==(const Chain&) const = default;
};

struct RuleSet {
  std::vector<Chain> chains;  // in a fixed order: nat chain, guard chain, host chain (absent ones omitted)
  bool operator==(const RuleSet&) const = default;
};

// What inspect() found: the rules, and per chain and rule the packet counters (same shape as rules).
struct InstalledRules {
  RuleSet rules;
  std::vector<std::vector<std::uint64_t>> packets;

  // Packets counted by the first rule of `chain` equal to `rule`; nullopt if no such rule is installed.
  [[nodiscard]] std::optional<std::uint64_t> packets_of(const std::string& chain, const Rule& rule) const;
};

// Names of the chains derived from the configured base name (default "aad-metadata").
struct ChainNames {
  std::string nat;    // <base>: DNAT of bound pods, from PREROUTING
  std::string guard;  // <base>-guard: rejects metadata traffic nothing redirected, from INPUT and FORWARD
  std::string host;   // <base>-host: host-network callers, from OUTPUT

  [[nodiscard]] static core::Result<ChainNames> from_base(std::string_view base);
};

inline constexpr std::string_view kDefaultChain = "aad-metadata";

// The desired rules for a spec. Pure; deterministic order (bindings and passthrough in spec order).
[[nodiscard]] RuleSet render(const RuleSpec& spec, const ChainNames& names);

// iptables-save style text ("-A <chain> ..."), one line per rule, for logs and golden files.
[[nodiscard]] std::string to_text(const RuleSet& rules);

[[nodiscard]] std::string_view to_string(Table table) noexcept;

}  // namespace podid::iptables
