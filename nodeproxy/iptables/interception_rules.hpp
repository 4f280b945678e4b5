#pragma once
// InterceptionRules: the seam between the node proxy and the kernel's packet filter. It owns up to three
// chains (names from ChainNames): the nat chain that DNATs pod traffic for the metadata endpoint to the
// node proxy, the guard chain that rejects metadata traffic no binding redirected (spoofed or unknown
// sources), and the optional host chain for host-network callers.
//
// Contract (the root contract tests run it against every implementation):
// - ensure(spec) makes the installed rules equal render(spec) and every owned chain the first rule of its
//   hooks; it returns true when it changed something, false when everything was already in place. Calling
//   it again with the same spec changes nothing. Chains the spec no longer needs are removed.
// - remove() deletes the jumps and the chains; it succeeds when nothing is installed.
// - inspect() reads what is installed, with packet counters; owned chains only.
// Errors: permission when the caller lacks CAP_NET_ADMIN, invalid for a bad spec, io otherwise.
// Thread-safety: none; one caller at a time (the node proxy's rule loop). The process's network
// namespace at call time is the one acted on.

#include "core/result.hpp"
#include "nodeproxy/iptables/rule_set.hpp"
#include "nodeproxy/iptables/rule_spec.hpp"

namespace podid::iptables {

class InterceptionRules {
 public:
  InterceptionRules() = default;
  InterceptionRules(const InterceptionRules&) = delete;
  InterceptionRules& operator=(const InterceptionRules&) = delete;
  virtual ~InterceptionRules() = default;

  [[nodiscard]] virtual core::Result<bool> ensure(const RuleSpec& spec) = 0;
  [[nodiscard]] virtual core::Status remove() = 0;
  [[nodiscard]] virtual core::Result<InstalledRules> inspect() = 0;
};

}  // namespace podid::iptables
