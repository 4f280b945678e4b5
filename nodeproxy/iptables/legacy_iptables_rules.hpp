#pragma once
// LegacyIptablesRules: InterceptionRules over libiptc (libip4tc), for nodes whose iptables backend is legacy
// (see backend_detection.hpp). One libiptc handle per table per call, freed by RAII; each table that needs a
// change is committed once per ensure() (libiptc replaces a whole table at a time, so nat and filter are two
// commits: nat first). While a table is open the xtables lock file is held, as the iptables programs do, so
// kube-proxy's iptables-restore and our commit never overwrite each other.
//
// Pods on a bridge: their DNAT rule adds `-m physdev --physdev-in <port>` (seen only while br_netfilter's
// bridge-nf-call-iptables is 1), which binds the first packet of a connection. Later packets and ARP are not
// seen by the nat table, so, given a CommandRunner, the same `bridge` family table as the nft backend's
// (nft_bridge.cpp, through the `nft` program) drops packets and ARP claims of a bridged pod's IP from any
// other port. That table is of another family than kube-proxy's iptables rules, so the two never meet.

#include <string>

#include "nodeproxy/iptables/command_runner.hpp"
#include "nodeproxy/iptables/interception_rules.hpp"

namespace podid::iptables {

struct LegacyIptablesConfig {
  std::string chain{kDefaultChain};
  std::string xtables_lock{"/run/xtables.lock"};  // empty: take no lock (tests in a private namespace)
  std::string nft{"nft"};                         // for the bridge table
  std::string bridge_table{"podid"};
};

class LegacyIptablesRules final : public InterceptionRules {
 public:
  // Invalid chain name: the error is returned by every call. `runner` (outliving this object) runs nft for
  // the bridge table; null: no bridge table, and a spec with a bridged binding is refused.
  explicit LegacyIptablesRules(LegacyIptablesConfig config, CommandRunner* runner = nullptr);

  [[nodiscard]] core::Result<bool> ensure(const RuleSpec& spec) override;
  [[nodiscard]] core::Status remove() override;
  [[nodiscard]] core::Result<InstalledRules> inspect() override;

 private:
  [[nodiscard]] core::Result<bool> sync(const RuleSet* desired);
  [[nodiscard]] core::Result<bool> sync_bridge(const RuleSet* desired);

  LegacyIptablesConfig config_;
  CommandRunner* runner_;
  core::Result<ChainNames> names_;
};

}  // namespace podid::iptables
