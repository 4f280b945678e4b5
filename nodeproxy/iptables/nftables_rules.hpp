#pragma once
// NftablesRules: InterceptionRules for nodes whose iptables backend is nf_tables (see backend_detection.hpp).
// Rather than add rules to the iptables-nft tables that kube-proxy owns, it keeps everything in its own
// table (`ip podid` by default): one regular chain per ChainNames entry with the rules of render(), and one
// base chain per hook ("prerouting" type nat priority dstnat; "input", "forward", "output" type filter
// priority filter) whose only rule jumps to ours. ensure() replaces the whole table in one nft transaction
// (`add table; delete table; table {...}` on `nft -f -`), so a reader never sees half a rule set; inspect()
// reads `nft -j list table`. nf_tables evaluates every table at a hook, so a RETURN in ours never
// accepts a packet another table would drop. Pods on a bridge (a DNAT rule with physdev_in) add a `bridge`
// family table of the same name (nft_bridge.cpp), replaced in the same transaction.

#include <optional>
#include <string>

#include "nodeproxy/iptables/command_runner.hpp"
#include "nodeproxy/iptables/interception_rules.hpp"

namespace podid::iptables {

struct NftablesConfig {
  std::string chain{kDefaultChain};
  std::string table{"podid"};
  std::string nft{"nft"};  // program name or path
};

class NftablesRules final : public InterceptionRules {
 public:
  // The runner must outlive this object.
  NftablesRules(NftablesConfig config, CommandRunner& runner);

  [[nodiscard]] core::Result<bool> ensure(const RuleSpec& spec) override;
  [[nodiscard]] core::Status remove() override;
  [[nodiscard]] core::Result<InstalledRules> inspect() override;

 private:
  [[nodiscard]] core::Status apply(const std::string& script);
  [[nodiscard]] core::Result<std::optional<std::string>> list(const std::string& family);

  NftablesConfig config_;
  CommandRunner& runner_;
  core::Result<ChainNames> names_;
  bool bridge_present_{false};  // the last inspect() found our bridge table
};

// The nft script that replaces table `table` with `rules` (exposed for golden tests).
[[nodiscard]] std::string nft_script(const RuleSet& rules, const std::string& table);

// The nft script that replaces the bridge table `table` with the drops enforcing the rules' physdev_in
// matches; deletes it when none has one and it is `present`; empty when neither (nft_bridge.cpp).
[[nodiscard]] std::string nft_bridge_script(const RuleSet& rules, const std::string& table, bool present);

// Folds `nft -j list table bridge <t>` into `into`: each DNAT rule whose pair of bridge rules is installed
// gets its physdev_in (a DNAT rule that already has one, as the legacy backend reads it, must find the pair
// for that port); anything else in the bridge table, or a missing pair, adds an unknown rule to the nat
// chain.
[[nodiscard]] core::Status merge_nft_bridge_json(std::string_view json, InstalledRules& into,
                                                 const ChainNames& names);

// `nft -j list table <family> <table>`: its JSON, or none when the table does not exist.
[[nodiscard]] core::Result<std::optional<std::string>> nft_list_table(CommandRunner& runner,
                                                                      const std::string& nft,
                                                                      const std::string& family,
                                                                      const std::string& table);
// `nft -f -` with `script`; permission or io errors carry nft's message.
[[nodiscard]] core::Status nft_apply(CommandRunner& runner, const std::string& nft,
                                     const std::string& script);

// Decodes `nft -j list table` output into our chains (exposed for unit tests).
[[nodiscard]] core::Result<InstalledRules> decode_nft_json(std::string_view json, const ChainNames& names);

}  // namespace podid::iptables
