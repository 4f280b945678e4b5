#pragma once
// Which packet-filter backend the node's iptables uses, so that our rules live where kube-proxy's do and we
// never mix legacy and nf_tables rules on one node (Kubernetes' iptables-wrappers approach):
// 1. kubelet's hint chains (KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY) in one backend's save output decide;
// 2. otherwise the backend whose save output holds more rules ("-A"/"-I" lines, IPv4 and IPv6) wins;
// 3. a tie goes to nf_tables when our own nft table already exists (we chose it before; sticking to it
//    avoids installing a second copy in legacy), else to legacy, as iptables-wrappers does.

#include <string_view>

#include "core/result.hpp"
#include "nodeproxy/iptables/command_runner.hpp"

namespace podid::iptables {

enum class Backend { legacy, nft };

[[nodiscard]] std::string_view to_string(Backend b) noexcept;

struct BackendEvidence {
  std::string legacy_save;  // iptables-legacy-save + ip6tables-legacy-save output
  std::string nft_save;     // iptables-nft-save + ip6tables-nft-save output
  bool own_nft_table{false};
};

// Pure decision from the evidence above.
[[nodiscard]] Backend choose_backend(const BackendEvidence& evidence);

// Collects the evidence through the runner (a missing program or a failing one counts as no rules) and
// decides. `nft_table` is NftablesConfig::table.
[[nodiscard]] core::Result<Backend> detect_backend(CommandRunner& runner,
                                                   std::string_view nft_table = "podid");

}  // namespace podid::iptables
