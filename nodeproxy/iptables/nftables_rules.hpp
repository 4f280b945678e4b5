#pragma once
// NftablesRules: InterceptionRules for nodes whose iptables backend is nf_tables (see backend_detection.hpp).
// Rather than add rules to the iptables-nft tables that kube-proxy owns, it keeps everything in its own
// table (`ip podid` by default): one regular chain per ChainNames entry with the rules of render(), and one
// base chain per hook ("prerouting" type nat priority dstnat; "input", "forward", "output" type filter
// priority filter) whose only rule jumps to ours. ensure() replaces the whole table in one nft transaction
// (`add table; delete table; table {...}` on `nft -f -`), so a reader never sees half a rule set; inspect()
// reads `nft -j list table`. nf_tables evaluates every table at a hook, so a RETURN in ours never
// accepts a packet another table would drop.

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

  NftablesConfig config_;
  CommandRunner& runner_;
  core::Result<ChainNames> names_;
};

// The nft script that replaces table `table` with `rules` (exposed for golden tests).
[[nodiscard]] std::string nft_script(const RuleSet& rules, const std::string& table);

// Decodes `nft -j list table` output into our chains (exposed for unit tests).
[[nodiscard]] core::Result<InstalledRules> decode_nft_json(std::string_view json, const ChainNames& names);

}  // namespace podid::iptables
