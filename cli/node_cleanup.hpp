#pragma once
// `podidctl node cleanup`: removes the interception rules a node proxy installed and could not remove itself
// (killed outright: SIGKILL, OOM, node crash), which otherwise leave the node's pods fail closed with no IMDS
// at all. It removes exactly what the node proxy owns, by name, with the node proxy's own InterceptionRules
// backends and default names (chains aad-metadata*, nft table ip podid); no pod list is needed. Acts on the
// calling process's network namespace.

#include <ostream>
#include <string>
#include <vector>

namespace podid::cli {

enum class CleanupBackend {
  auto_detect,  // every backend in use in this namespace (legacy tables loaded; nft runnable)
  legacy,
  nft,
};

struct NodeCleanupOptions {
  CleanupBackend backend{CleanupBackend::auto_detect};
  bool dry_run{false};
  bool force{false};  // run even while a podid-nodeproxy process is alive
  std::string proc_root{"/proc"};
};

// PIDs of live processes whose comm or executable is podid-nodeproxy.
[[nodiscard]] std::vector<int> find_node_proxies(const std::string& proc_root);

// Prints what it removed (or would remove); exit code: 0 done or nothing to remove, 1 failed or refused.
[[nodiscard]] int run_node_cleanup(const NodeCleanupOptions& options, std::ostream& out, std::ostream& err);

}  // namespace podid::cli
