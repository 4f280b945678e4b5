#pragma once
// LegacyIptablesRules: InterceptionRules over libiptc (libip4tc), for nodes whose iptables backend is legacy
// (see backend_detection.hpp). One libiptc handle per table per call, freed by RAII; each table that needs a
// change is committed once per ensure() (libiptc replaces a whole table at a time, so nat and filter are two
// commits: nat first). While a table is open the xtables lock file is held, as the iptables programs do, so
// kube-proxy's iptables-restore and our commit never overwrite each other.

#include <string>

#include "nodeproxy/iptables/interception_rules.hpp"

namespace podid::iptables {

struct LegacyIptablesConfig {
  std::string chain{kDefaultChain};
  std::string xtables_lock{"/run/xtables.lock"};  // empty: take no lock (tests in a private namespace)
};

class LegacyIptablesRules final : public InterceptionRules {
 public:
  // Invalid chain name: the error is returned by every call.
  explicit LegacyIptablesRules(LegacyIptablesConfig config);

  [[nodiscard]] core::Result<bool> ensure(const RuleSpec& spec) override;
  [[nodiscard]] core::Status remove() override;
  [[nodiscard]] core::Result<InstalledRules> inspect() override;

 private:
  [[nodiscard]] core::Result<bool> sync(const RuleSet* desired);

  LegacyIptablesConfig config_;
  core::Result<ChainNames> names_;
};

}  // namespace podid::iptables
