#pragma once
// `podidctl migrate`: runs the pending migration steps (migrations/registry.hpp) against a cluster.
//  1. GET the four CRDs; if one would prune the legacy keys (kubernetes-api.md §6.7) stop and say so:
//     the old data is no longer readable and nothing may pretend otherwise.
//  2. If ConfigMap `aad-pod-identity-config` (in config_namespace) has key `type-upgrade-status`: already
//     migrated, done.
//  3. For AzureIdentity, AzureIdentityBinding, AzurePodIdentityException, then AzureAssignedIdentity: list
//     (raw JSON), apply every step per object, PUT changed objects back with their resourceVersion (409 ->
//     re-read and recompute, bounded), record each rewrite as a MigrationApplied event when a log is
//     given. One failing object is reported and the rest continue.
//  4. Only when nothing failed: write the marker last (create, or update with its resourceVersion).
// Every step is idempotent, so a run after an interruption completes with nothing lost. dry_run prints
// each rewrite (object, keys renamed) and writes nothing, neither to the cluster nor to the log.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <cstddef>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "migrations/migration.hpp"
#include "store/event_log.hpp"
#include "watch/kube_client.hpp"

namespace podid::cli {

inline constexpr std::string_view kConfigMapName = "aad-pod-identity-config";
inline constexpr std::string_view kStatusKey = "type-upgrade-status";

struct MigrateOptions {
  bool dry_run{false};
  std::string config_namespace{"default"};
  std::string marker_value{"podid"};  // data[type-upgrade-status]; cli/ puts the version here
  int max_attempts{5};                // per object, counting re-reads after a 409 conflict
  // Fault hook for tests: after this many object writes, stop as if interrupted (no marker).
  std::optional<std::size_t> stop_after_writes;
  // Test hook: called with each object just before it is PUT (e.g. to provoke a conflict).
  std::function<void(std::string_view kind, const boost::json::object& object)> before_write;
};

enum class MigrateOutcome { migrated, already_migrated, dry_run, failed, interrupted, not_readable };

[[nodiscard]] std::string_view to_string(MigrateOutcome outcome) noexcept;

// An object the run rewrote, with the resourceVersion of its rewritten version (for a caller that waits
// until its watches have seen every rewrite).
struct MigratedObject {
  migrations::ObjectKind kind;
  std::string ns;
  std::string name;
  std::string resource_version;
};

struct MigrateReport {
  MigrateOutcome outcome{MigrateOutcome::migrated};
  std::size_t examined{0};
  std::size_t rewritten{0};  // written (or, in a dry run, would be)
  std::size_t unchanged{0};
  std::size_t conflicts{0};           // 409s answered by re-reading
  std::vector<std::string> failures;  // "AzureIdentity ns/name: why", and unreadable CRDs
  std::vector<MigratedObject> written;
};

// Runs the migration; progress and the summary go to `out`. `log` may be null (no events recorded).
// Errors: what prevents the run as a whole (the API server unreachable, a list failing, the marker not
// written); per-object failures are in the report instead.
[[nodiscard]] boost::asio::awaitable<core::Result<MigrateReport>> run_migration(watch::KubeClient& client,
                                                                                store::EventLog* log,
                                                                                const core::Clock& clock,
                                                                                MigrateOptions options,
                                                                                std::ostream& out);

// 0 migrated, already migrated or dry run; 1 failed or not readable; 3 interrupted.
[[nodiscard]] int exit_code(const MigrateReport& report) noexcept;

}  // namespace podid::cli
