#include "cli/migrate.hpp"

#include <boost/json/serialize.hpp>

#include "cli/migrate_support.hpp"
#include "migrations/registry.hpp"

namespace podid::cli {
namespace asio = boost::asio;
namespace json = boost::json;
using core::ErrorCode;

namespace {

const watch::ResourceKind& crds() {
  static const watch::ResourceKind kind{"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                        "CustomResourceDefinition", false};
  return kind;
}

std::string meta(const json::object& o, std::string_view field) {
  const auto* m = o.if_contains("metadata");
  if (m == nullptr || !m->is_object()) return {};
  const auto* v = m->get_object().if_contains(field);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string{};
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

// One run's shared context.
struct Run {
  Run(watch::KubeClient& c, store::EventLog* l, const core::Clock& k, const MigrateOptions& o,
      std::ostream& os)
      : client(c), log(l), clock(k), options(o), out(os) {}
  watch::KubeClient& client;
  store::EventLog* log;
  const core::Clock& clock;
  const MigrateOptions& options;
  std::ostream& out;
  std::vector<std::unique_ptr<migrations::Migration>> steps = migrations::all_migrations();
  MigrateReport report;
  std::size_t writes{0};
};

asio::awaitable<core::Status> check_crds(Run& run) {
  for (const auto& kind : migrated_kinds()) {
    auto crd = co_await run.client.get(crds(), "", kind.crd_name);
    if (!crd && crd.error().code != ErrorCode::not_found) co_return crd.error();
    std::optional<std::string> problem;
    problem = crd ? legacy_keys_problem(*crd, kind) : "it is not installed";
    if (!problem) continue;
    run.report.failures.push_back("CRD " + kind.crd_name + ": " + *problem);
    run.out << "ERROR: CRD " << kind.crd_name << " would prune the pre-1.6.0 keys (" << *problem
            << "). Objects stored with them are no longer readable through the API, so they cannot be "
               "migrated. Apply podid's CRDs (deploy/crds, which declare the legacy keys) and run again.\n";
    run.report.outcome = MigrateOutcome::not_readable;
  }
  co_return core::ok();
}

asio::awaitable<core::Status> record(Run& run, const MigratedKind& kind, const std::string& key,
                                     const std::vector<std::string>& step_ids) {
  if (run.log == nullptr) co_return core::ok();
  std::vector<core::Event> events;
  for (const auto& id : step_ids) {
    core::MigrationApplied e;
    e.at_ms = run.clock.now_ms();
    e.migration_id = id;
    e.object_kind = std::string(migrations::to_string(kind.kind));
    e.object = key;
    e.changed = true;
    events.emplace_back(std::move(e));
  }
  auto appended = run.log->append(events);
  if (!appended) co_return appended.error();
  co_return core::ok();
}

// Migrates one object: recompute, PUT with its resourceVersion, re-read on conflict. Returns an error only
// for what must stop the whole run (recording failed, or interrupted by the fault hook).
asio::awaitable<core::Status> migrate_object(Run& run, const MigratedKind& kind, json::object object) {
  const auto ns = meta(object, "namespace");
  const auto name = meta(object, "name");
  const auto what = std::string(migrations::to_string(kind.kind)) + " " + ns + "/" + name;
  ++run.report.examined;
  for (int attempt = 1;; ++attempt) {
    json::object rewritten = object;
    auto changed = migrations::apply_all(run.steps, kind.kind, rewritten);
    if (!changed) {
      run.report.failures.push_back(what + ": " + changed.error().message);
      run.out << "FAILED " << what << ": " << changed.error().message << "\n";
      co_return core::ok();
    }
    if (changed->empty()) {
      ++run.report.unchanged;
      co_return core::ok();
    }
    const auto renamed = join(renamed_keys(object, rewritten));
    const auto ids = join(*changed);
    if (run.options.dry_run) {
      ++run.report.rewritten;
      run.out << "would rewrite " << what << " (" << ids << "): " << renamed << "\n";
      co_return core::ok();
    }
    if (run.options.stop_after_writes && run.writes >= *run.options.stop_after_writes) {
      run.report.outcome = MigrateOutcome::interrupted;
      co_return core::make_error(ErrorCode::cancelled, "interrupted after " + std::to_string(run.writes) +
                                                           " writes (--stop-after-writes)");
    }
    if (!rewritten.contains("apiVersion")) rewritten["apiVersion"] = kind.resource->api_version();
    if (!rewritten.contains("kind")) rewritten["kind"] = kind.resource->kind;
    if (run.options.before_write) run.options.before_write(migrations::to_string(kind.kind), rewritten);
    auto put = co_await run.client.update(*kind.resource, ns, std::move(rewritten));
    if (put) {
      run.report.written.push_back({kind.kind, ns, name, meta(*put, "resourceVersion")});
      ++run.writes;
      ++run.report.rewritten;
      run.out << "rewrote " << what << " (" << ids << "): " << renamed << "\n";
      co_return co_await record(run, kind, ns + "/" + name, *changed);
    }
    if (put.error().code == ErrorCode::conflict && attempt < run.options.max_attempts) {
      ++run.report.conflicts;
      auto fresh = co_await run.client.get(*kind.resource, ns, name);
      if (fresh) {
        object = std::move(*fresh);
        continue;
      }
      if (fresh.error().code == ErrorCode::not_found) {
        run.out << "skipped " << what << ": deleted while migrating\n";
        co_return core::ok();
      }
      put = fresh.error();
    }
    run.report.failures.push_back(what + ": " + put.error().describe());
    run.out << "FAILED " << what << ": " << put.error().describe() << "\n";
    co_return core::ok();
  }
}

asio::awaitable<core::Result<std::optional<json::object>>> get_marker_map(Run& run) {
  auto cm = co_await run.client.get(watch::kinds::config_maps(), run.options.config_namespace,
                                    std::string(kConfigMapName));
  if (cm) co_return std::optional<json::object>(std::move(*cm));
  if (cm.error().code == ErrorCode::not_found) co_return std::optional<json::object>{};
  co_return cm.error();
}

std::optional<std::string> marker_of(const json::object& cm) {
  const auto* data = cm.if_contains("data");
  if (data == nullptr || !data->is_object()) return std::nullopt;
  const auto* v = data->get_object().if_contains(kStatusKey);
  if (v == nullptr) return std::nullopt;
  return v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
}

// Create-or-update of the marker, with the resourceVersion; retried on conflicts.
asio::awaitable<core::Status> write_marker(Run& run) {
  const auto& ns = run.options.config_namespace;
  for (int attempt = 1;; ++attempt) {
    auto current = co_await get_marker_map(run);
    if (!current) co_return current.error();
    core::Result<json::object> written = core::make_error(ErrorCode::invalid, "not written");
    if (!*current) {
      json::object cm{{"apiVersion", "v1"},
                      {"kind", "ConfigMap"},
                      {"metadata", {{"name", kConfigMapName}, {"namespace", ns}}},
                      {"data", {{kStatusKey, run.options.marker_value}}}};
      written = co_await run.client.create(watch::kinds::config_maps(), ns, std::move(cm));
    } else {
      auto cm = std::move(**current);
      auto& data = cm["data"];
      if (!data.is_object()) data = json::object{};
      data.as_object()[kStatusKey] = run.options.marker_value;
      written = co_await run.client.update(watch::kinds::config_maps(), ns, std::move(cm));
    }
    if (written) break;
    const auto code = written.error().code;
    if ((code != ErrorCode::conflict) || attempt >= run.options.max_attempts) co_return written.error();
  }
  if (run.log != nullptr) {
    std::vector<core::Event> events;
    for (const auto& step : run.steps) {
      core::MigrationApplied e;  // the completion marker: no object kind
      e.at_ms = run.clock.now_ms();
      e.migration_id = std::string(step->id());
      e.object = ns + "/" + std::string(kConfigMapName);
      events.emplace_back(std::move(e));
    }
    auto appended = run.log->append(events);
    if (!appended) co_return appended.error();
  }
  co_return core::ok();
}

void summarise(Run& run) {
  const auto& r = run.report;
  run.out << r.examined << " objects examined, " << r.rewritten
          << (run.options.dry_run ? " to rewrite, " : " rewritten, ") << r.unchanged << " already current, "
          << r.failures.size() << " failed";
  if (r.conflicts > 0) run.out << ", " << r.conflicts << " conflicts re-read";
  run.out << "\n";
}

}  // namespace

std::string_view to_string(MigrateOutcome outcome) noexcept {
  switch (outcome) {
    case MigrateOutcome::migrated:
      return "migrated";
    case MigrateOutcome::already_migrated:
      return "already migrated";
    case MigrateOutcome::dry_run:
      return "dry run";
    case MigrateOutcome::failed:
      return "failed";
    case MigrateOutcome::interrupted:
      return "interrupted";
    case MigrateOutcome::not_readable:
      return "legacy keys not readable";
  }
  return "failed";
}

asio::awaitable<core::Result<MigrateReport>> run_migration(watch::KubeClient& client, store::EventLog* log,
                                                           const core::Clock& clock, MigrateOptions options,
                                                           std::ostream& out) {
  Run run(client, log, clock, options, out);
  const auto cm_name = options.config_namespace + "/" + std::string(kConfigMapName);
  auto existing = co_await get_marker_map(run);
  if (!existing) co_return existing.error();
  if (*existing) {
    if (auto marker = marker_of(**existing)) {
      out << "already migrated (ConfigMap " << cm_name << " has " << kStatusKey << "=" << *marker << ")\n";
      run.report.outcome = MigrateOutcome::already_migrated;
      co_return run.report;
    }
  }
  if (auto checked = co_await check_crds(run); !checked) co_return checked.error();
  if (run.report.outcome == MigrateOutcome::not_readable) co_return run.report;

  for (const auto& kind : migrated_kinds()) {
    watch::ListOptions paged;
    paged.limit = 500;
    auto listed = co_await watch::list_all(client, *kind.resource, "", std::move(paged));
    if (!listed) co_return listed.error();
    for (auto& item : listed->items) {
      auto done = co_await migrate_object(run, kind, std::move(item));
      if (!done && run.report.outcome == MigrateOutcome::interrupted) {
        summarise(run);
        out << "interrupted: " << done.error().message << "; run podidctl migrate again to finish\n";
        co_return run.report;
      }
      if (!done) co_return done.error();
    }
  }
  summarise(run);
  if (options.dry_run) {
    run.report.outcome = MigrateOutcome::dry_run;
    out << "dry run: nothing was written\n";
  } else if (!run.report.failures.empty()) {
    run.report.outcome = MigrateOutcome::failed;
    out << "not migrated: " << run.report.failures.size() << " objects failed; the marker " << kStatusKey
        << " was not written. Fix them and run again.\n";
  } else {
    if (auto marked = co_await write_marker(run); !marked) co_return marked.error();
    run.report.outcome = MigrateOutcome::migrated;
    out << "migrated; wrote " << kStatusKey << "=" << options.marker_value << " to ConfigMap " << cm_name
        << "\n";
  }
  co_return run.report;
}

int exit_code(const MigrateReport& report) noexcept {
  switch (report.outcome) {
    case MigrateOutcome::migrated:
    case MigrateOutcome::already_migrated:
    case MigrateOutcome::dry_run:
      return 0;
    case MigrateOutcome::interrupted:
      return 3;
    case MigrateOutcome::failed:
    case MigrateOutcome::not_readable:
      return 1;
  }
  return 1;
}

}  // namespace podid::cli
