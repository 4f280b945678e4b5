// The controller's start-up as leader: pending migrations before anything is executed, and the probes that
// report it. The migration is podidctl migrate's run (cli/migrate.hpp), so both record the same
// MigrationApplied events and honour the same ConfigMap marker.
#include <algorithm>
#include <chrono>
#include <sstream>

#include "cli/controller.hpp"
#include "watch/ingest_kinds.hpp"

namespace podid::cli {

namespace asio = boost::asio;

namespace {

watch::IngestKind ingest_kind(migrations::ObjectKind kind) {
  switch (kind) {
    case migrations::ObjectKind::azure_identity:
      return watch::IngestKind::identities;
    case migrations::ObjectKind::azure_identity_binding:
      return watch::IngestKind::bindings;
    case migrations::ObjectKind::azure_pod_identity_exception:
      return watch::IngestKind::exceptions;
    case migrations::ObjectKind::azure_assigned_identity:
      return watch::IngestKind::assigned_identities;
  }
  return watch::IngestKind::identities;
}

bool digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Whether the State's version `have` is the rewrite `want` or came after it. resourceVersions are opaque
// strings, but the API server's are etcd revisions (decimal, growing); anything else must match exactly.
bool seen_since(const std::string& have, const std::string& want) {
  if (have == want) return true;
  if (!digits(have) || !digits(want)) return false;
  return have.size() != want.size() ? have.size() > want.size() : have > want;
}

std::string problem_of(const core::Result<MigrateReport>& report) {
  if (!report) return report.error().describe();
  std::string out(to_string(report->outcome));
  for (const auto& f : report->failures) out += (&f == &report->failures.front() ? ": " : "; ") + f;
  return out;
}

}  // namespace

http::Response probe_response(const Controller& c, const http::Request& request) {
  http::Response r;
  r.headers.emplace_back("Content-Type", "text/plain");
  const bool health = request.url == "/healthz";
  if (!health && request.url != "/readyz") {
    r.status = 404;
    return r;
  }
  r.status = c.synced() ? 200 : 503;
  r.body = !c.synced() ? "Not Synced" : (c.executing() ? "Active" : "Not Active");
  if (!health && c.synced() && c.leading() && !c.executing()) {
    r.status = 503;
    r.body = c.startup_problem().empty() ? "Migrating" : c.startup_problem();
  }
  return r;
}

asio::awaitable<core::Status> Controller::migrate() {
  if (!options_.migrate) {
    migrated_ = true;
    co_return core::ok();
  }
  auto delay = options_.retry_initial;
  for (;;) {
    if (!leading()) co_return core::make_error(core::ErrorCode::transient, "leadership lost");
    ++counters_.migration_runs;
    std::ostringstream out;
    auto report = co_await run_migration(kube_, &log_, clock_, *options_.migrate, out);
    std::istringstream lines(out.str());
    for (std::string line; std::getline(lines, line);)
      logger_.info("Migration progressed.", {{"detail", line.c_str()}});
    if (report && exit_code(*report) == 0) {
      logger_.info("Migrations complete.", {{"outcome", std::string(to_string(report->outcome)).c_str()},
                                            {"rewritten", report->rewritten}});
      auto seen = co_await await_rewrites(*report);
      if (!seen) co_return seen.error();
      startup_problem_.clear();
      migrated_ = true;
      co_return core::ok();
    }
    const auto problem = problem_of(report);
    startup_problem_ = "migration failed: " + problem;
    ++counters_.migration_failures;
    logger_.error("Migration failed; nothing is executed until it succeeds.",
                  {{"error", problem.c_str()}, {"retryInMs", delay.count()}});
    // Appends wake the timer early: sleep the whole delay, measured on the steady clock (clock_ may be fake).
    const auto until = std::chrono::steady_clock::now() + delay;
    for (auto left = delay; left.count() > 0;) {
      const bool go_on = co_await sleep_until(clock_.now_ms() + left.count());
      if (!go_on) co_return core::make_error(core::ErrorCode::cancelled, "controller stopped");
      left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    }
    delay = std::min(delay * 2, options_.retry_max);
  }
}

asio::awaitable<core::Status> Controller::await_rewrites(const MigrateReport& report) {
  auto warn_at = clock_.now_ms() + options_.sync_wait.count();
  for (;;) {
    PODID_CO_TRY(log_.catch_up(state_));
    std::size_t missing = 0;
    std::string example;
    for (const auto& o : report.written) {
      if (!options_.ingest.ns.empty() && o.ns != options_.ingest.ns) continue;  // not watched here
      const auto have = watch::state_version(ingest_kind(o.kind), state_, o.ns + "/" + o.name);
      if (!have || seen_since(*have, o.resource_version)) continue;  // absent: deleted or never decoded
      ++missing;
      example = std::string(migrations::to_string(o.kind)) + " " + o.ns + "/" + o.name;
    }
    if (missing == 0) co_return core::ok();
    if (clock_.now_ms() >= warn_at) {
      logger_.warn("Migrated objects not yet observed.",
                   {{"missing", missing}, {"example", example.c_str()}});
      warn_at = clock_.now_ms() + options_.sync_wait.count();
    }
    const bool go_on = co_await sleep_until(clock_.now_ms() + 1000);  // an append wakes it earlier
    if (!go_on) co_return core::make_error(core::ErrorCode::cancelled, "controller stopped");
    if (!leading()) co_return core::make_error(core::ErrorCode::transient, "leadership lost");
  }
}

}  // namespace podid::cli
