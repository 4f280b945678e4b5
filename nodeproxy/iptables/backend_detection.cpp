#include "nodeproxy/iptables/backend_detection.hpp"

#include <string>

namespace podid::iptables {
namespace {

std::size_t count_rules(std::string_view save) {
  std::size_t n = 0;
  std::size_t pos = 0;
  while (pos < save.size()) {
    if (save[pos] == '-') ++n;
    const auto end = save.find('\n', pos);
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return n;
}

bool has_hint(std::string_view save) {
  return save.find(":KUBE-IPTABLES-HINT") != std::string_view::npos ||
         save.find(":KUBE-KUBELET-CANARY") != std::string_view::npos;
}

// Output of a save program; empty when it is missing or fails (that backend then has no rules).
core::Result<std::string> save_output(CommandRunner& runner, const char* program) {
  auto out = runner.run({program}, {});
  if (!out) {
    if (out.error().code == core::ErrorCode::not_found) return std::string();
    return out.error();
  }
  return out->exit_code == 0 ? out->out : std::string();
}

}  // namespace

std::string_view to_string(Backend b) noexcept {
  return b == Backend::legacy ? "legacy" : "nft";
}

Backend choose_backend(const BackendEvidence& e) {
  const bool nft_hint = has_hint(e.nft_save);
  const bool legacy_hint = has_hint(e.legacy_save);
  if (nft_hint != legacy_hint) return nft_hint ? Backend::nft : Backend::legacy;
  const auto legacy = count_rules(e.legacy_save);
  const auto nft = count_rules(e.nft_save);
  if (legacy != nft) return legacy > nft ? Backend::legacy : Backend::nft;
  return e.own_nft_table ? Backend::nft : Backend::legacy;
}

core::Result<Backend> detect_backend(CommandRunner& runner, std::string_view nft_table) {
  BackendEvidence e;
  for (const char* p : {"iptables-legacy-save", "ip6tables-legacy-save"})
    e.legacy_save += PODID_TRY(save_output(runner, p));
  for (const char* p : {"iptables-nft-save", "ip6tables-nft-save"})
    e.nft_save += PODID_TRY(save_output(runner, p));
  auto own = runner.run({"nft", "list", "table", "ip", std::string(nft_table)}, {});
  e.own_nft_table = own && own->exit_code == 0;
  return choose_backend(e);
}

}  // namespace podid::iptables
