// podidctl: replay the event log for audit and debugging, export a support snapshot, run migrations, clean
// up a node after a crashed node proxy.
// Exit codes: 0 success, 1 the operation failed (the message says why), 2 bad usage.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "cli/explain.hpp"
#include "cli/main_guard.hpp"
#include "cli/migrate.hpp"
#include "cli/node_cleanup.hpp"
#include "cli/snapshot.hpp"
#include "core/event_codec.hpp"
#include "core/plan.hpp"
#include "core/state_codec.hpp"
#include "store/event_log.hpp"
#include "store/import.hpp"
#include "store/memory_event_store.hpp"
#include "store/rocks_event_store.hpp"
#include "watch/http_kube_client.hpp"
#include "watch/kubeconfig.hpp"

namespace {

using namespace podid;

struct LogSource {
  std::string store_dir;    // a RocksDB event store
  std::string events_file;  // or a JSON-lines file of events (core/event_codec.hpp form)
  std::string bundle_file;  // or a support bundle written by `snapshot export`
};

struct ReplayOptions {
  LogSource source;
  std::optional<std::uint64_t> to_seq;
  std::optional<std::int64_t> at_ms;
  std::vector<std::string> explain;
  bool json{false};
  bool plan{false};
  bool no_checkpoint{false};
};

struct ExportOptions {
  LogSource source;
  std::string out;
  std::size_t recent{1000};
};

struct ImportOptions {
  std::string bundle_file;
  std::string store_dir;
};

struct MigrateCommand {
  std::string kubeconfig;
  std::string context;
  std::string store_dir;  // optional: record MigrationApplied events here
  cli::MigrateOptions options;
};

int run_migrate(MigrateCommand& c) {
  watch::KubeconfigOptions kubeconfig_options;
  kubeconfig_options.context = c.context;
  auto config = watch::load_kubeconfig(c.kubeconfig, kubeconfig_options);
  if (!config) return std::cerr << "podidctl migrate: " << config.error() << "\n", 1;
  std::unique_ptr<store::RocksEventStore> event_store;
  std::optional<store::EventLog> log;
  if (!c.store_dir.empty() && !c.options.dry_run) {
    auto opened = store::RocksEventStore::open(c.store_dir);
    if (!opened) return std::cerr << "podidctl migrate: " << opened.error() << "\n", 1;
    event_store = std::move(*opened);
    log.emplace(*event_store);
  }
  boost::asio::io_context io;
  auto client = watch::HttpKubeClient::create(io.get_executor(), *config);
  if (!client) return std::cerr << "podidctl migrate: " << client.error() << "\n", 1;
  c.options.marker_value = std::string("podid ") + PODID_VERSION;
  core::SystemClock clock;
  std::optional<core::Result<cli::MigrateReport>> result;
  boost::asio::co_spawn(io, cli::run_migration(**client, log ? &*log : nullptr, clock, c.options, std::cout),
                        [&result](const std::exception_ptr& e, core::Result<cli::MigrateReport> r) {
                          if (e) std::rethrow_exception(e);
                          result = std::move(r);
                        });
  io.run();
  if (!result) return std::cerr << "podidctl migrate: did not complete\n", 1;
  if (!*result) return std::cerr << "podidctl migrate: " << result->error() << "\n", 1;
  return cli::exit_code(**result);
}

// Opens the log named by `src`: the RocksDB store (read-only, so it works beside a running controller and
// never creates a store where none was), or a memory store filled from an events file.
core::Result<std::unique_ptr<store::EventStore>> open_log(const LogSource& src) {
  if (!src.store_dir.empty()) {
    auto s = PODID_TRY(store::RocksEventStore::open(
        src.store_dir, store::RocksOptions{.sync_writes = false, .read_only = true}));
    return std::unique_ptr<store::EventStore>(std::move(s));
  }
  std::ifstream in(src.events_file);
  if (!in) return core::make_error(core::ErrorCode::not_found, "cannot open " + src.events_file);
  auto mem = std::make_unique<store::MemoryEventStore>();
  store::EventLog log(*mem);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto e = core::decode_line(line);
    if (!e) {
      auto err = e.error();
      err.message = src.events_file + ":" + std::to_string(n) + ": " + err.message;
      return err;
    }
    const core::Event events[] = {*e};
    PODID_TRY(log.append(events));
  }
  return std::unique_ptr<store::EventStore>(std::move(mem));
}

void print_summary(const core::State& s, const store::Rebuilt& r) {
  std::map<std::string, int> phases;
  for (const auto& [_, a] : s.assignments) ++phases[std::string(core::to_string(a.phase))];
  std::cout << "state at event " << s.last_seq << " (t=" << s.last_at_ms << "ms)";
  if (r.from_checkpoint) std::cout << ", from checkpoint " << r.from_checkpoint;
  std::cout << ", " << r.replayed << " events replayed\n"
            << "  pods " << s.pods.size() << ", identities " << s.identities.size() << ", bindings "
            << s.bindings.size() << ", nodes " << s.nodes.size() << ", VMs/scale sets " << s.targets.size()
            << "\n"
            << "  assignments " << s.assignments.size();
  for (const auto& [p, n] : phases) std::cout << ", " << p << " " << n;
  std::cout << "\n";
}

void print_plan(const core::Plan& p, std::int64_t now_ms) {
  std::cout << "plan at t=" << now_ms << "ms:\n";
  for (const auto& c : p.identity_changes) {
    std::cout << "  PATCH " << c.target.to_string() << " (part " << c.part + 1 << "/" << c.parts
              << "): attach " << c.add.size() << ", detach " << c.remove.size() << "\n";
  }
  for (const auto& w : p.aai_writes) {
    static constexpr const char* kKinds[] = {"create", "update", "status", "delete"};
    std::cout << "  AzureAssignedIdentity " << kKinds[static_cast<int>(w.kind)] << " "
              << w.assigned.key.to_string() << (w.assigned.status.empty() ? "" : " as " + w.assigned.status)
              << "\n";
  }
  for (const auto& r : p.reports)
    std::cout << "  event " << r.reason << " on " << r.subject << ": " << r.message << "\n";
  if (p.empty()) std::cout << "  nothing to do\n";
}

// The subject and, for a pod, its identities, bindings, AzureAssignedIdentities, node and VM or scale set:
// the subjects whose events explain its assignments.
std::set<std::string> related_subjects(const core::State& state, const std::string& subject) {
  std::set<std::string> subjects{subject};
  if (subject.starts_with("pod/")) {
    for (const auto& [key, a] : state.assignments) {
      if ("pod/" + key.pod.to_string() != subject) continue;
      subjects.insert("identity/" + a.identity.to_string());
      subjects.insert("binding/" + a.binding.to_string());
      subjects.insert("assigned/" + a.aai.to_string());
      if (!a.node.empty()) subjects.insert("node/" + a.node);
      if (a.target) subjects.insert(a.target->to_string());
    }
  }
  return subjects;
}

using History = std::vector<std::pair<core::Seq, core::Event>>;

// The events of the related subjects, merged in log order, up to the replayed point.
core::Result<History> related_history(const store::EventLog& log, const core::State& state,
                                      const std::string& subject) {
  const auto subjects = related_subjects(state, subject);
  std::map<core::Seq, core::Event> merged;
  for (const auto& s : subjects) {
    for (auto& [seq, e] : PODID_TRY(log.history(s)))
      if (seq <= state.last_seq) merged.emplace(seq, std::move(e));
  }
  return History(merged.begin(), merged.end());
}

// Prints `--explain` for each subject; `history_of` gives the events that explain one subject.
int print_explanations(const core::State& state, const std::vector<std::string>& subjects,
                       const std::function<core::Result<History>(const std::string&)>& history_of) {
  for (const auto& subject : subjects) {
    auto history = history_of(subject);
    if (!history) return std::cerr << "podidctl replay: " << history.error() << "\n", 1;
    auto lines = cli::explain(state, subject, *history);
    if (!lines) return std::cerr << "podidctl replay: " << lines.error() << "\n", 2;
    for (const auto& l : *lines) std::cout << l << "\n";
  }
  return 0;
}

// A support bundle holds the state at its last event and the newest events: enough to explain that state on
// another machine, not to travel back in time.
int run_bundle_replay(const ReplayOptions& o) {
  if (o.to_seq || o.at_ms || o.no_checkpoint)
    return std::cerr << "podidctl replay: a bundle holds the state at its last event only; "
                        "--to-seq, --at-ms and --no-checkpoint need --store or --events\n",
           2;
  // The same reading and checks as `snapshot import`, so a bundle either side accepts replays the same.
  auto bundle = cli::read_bundle(o.source.bundle_file);
  if (!bundle) return std::cerr << "podidctl replay: " << bundle.error() << "\n", 1;
  auto set = cli::import_set(*bundle, o.source.bundle_file);
  if (!set) return std::cerr << "podidctl replay: " << set.error() << "\n", 1;
  auto state = core::decode_state(bundle->at("state"));
  if (!state) return std::cerr << "podidctl replay: bundle state: " << state.error() << "\n", 1;
  History events;
  for (const auto& r : set->events) {
    auto e = store::from_record(r);
    if (!e) return std::cerr << "podidctl replay: bundle " << e.error() << "\n", 1;
    events.emplace_back(r.seq, std::move(*e));
  }
  std::cout << "state at event " << state->last_seq << " from bundle " << o.source.bundle_file << " ("
            << events.size() << " recent events)\n";
  if (o.json) std::cout << boost::json::serialize(bundle->at("state")) << "\n";
  if (o.plan) print_plan(core::plan(*state, state->last_at_ms), state->last_at_ms);
  return print_explanations(*state, o.explain, [&](const std::string& subject) -> core::Result<History> {
    const auto wanted = related_subjects(*state, subject);
    History history;
    for (const auto& [seq, e] : events) {
      const auto subjects = core::subjects(e);
      if (std::any_of(subjects.begin(), subjects.end(), [&](const auto& x) { return wanted.contains(x); }))
        history.emplace_back(seq, e);
    }
    return history;
  });
}

int run_replay(const ReplayOptions& o) {
  if (!o.source.bundle_file.empty()) return run_bundle_replay(o);
  auto log_store = open_log(o.source);
  if (!log_store) return std::cerr << "podidctl replay: " << log_store.error() << "\n", 1;
  store::EventLog log(**log_store);
  store::RebuildOptions ro;
  ro.upto = o.to_seq;
  ro.until_ms = o.at_ms;
  ro.use_checkpoint = !o.no_checkpoint;
  auto rebuilt = log.rebuild(ro);
  if (!rebuilt) {
    std::cerr << "podidctl replay: " << rebuilt.error() << "\n";
    auto imported = (*log_store)->cursor(cli::kImportCursor);
    if (rebuilt.error().code == core::ErrorCode::gone && imported && *imported)
      std::cerr << "podidctl replay: this store was imported from a " << **imported
                << "; the bundle does not reach back that far\n";
    return 1;
  }
  const auto& state = rebuilt->state;
  if (o.json) {
    std::cout << boost::json::serialize(core::encode_state(state)) << "\n";
  } else {
    print_summary(state, *rebuilt);
  }
  if (o.plan) print_plan(core::plan(state, state.last_at_ms), state.last_at_ms);
  return print_explanations(state, o.explain,
                            [&](const std::string& subject) { return related_history(log, state, subject); });
}

int run_export(const ExportOptions& o) {
  auto log_store = open_log(o.source);
  if (!log_store) return std::cerr << "podidctl snapshot export: " << log_store.error() << "\n", 1;
  auto bundle = cli::make_bundle(**log_store, o.recent);
  if (!bundle) return std::cerr << "podidctl snapshot export: " << bundle.error() << "\n", 1;
  const auto text = boost::json::serialize(*bundle);
  if (o.out == "-") {
    std::cout << text << "\n";
    return 0;
  }
  std::ofstream out(o.out, std::ios::trunc);
  out << text << "\n";
  if (!out.flush()) return std::cerr << "podidctl snapshot export: cannot write " << o.out << "\n", 1;
  std::cerr << "wrote support snapshot to " << o.out << " (secrets and tokens redacted)\n";
  return 0;
}

int run_import(const ImportOptions& o) {
  auto bundle = cli::read_bundle(o.bundle_file);
  if (!bundle) return std::cerr << "podidctl snapshot import: " << bundle.error() << "\n", 1;
  auto set = cli::import_set(*bundle, o.bundle_file);
  if (!set) return std::cerr << "podidctl snapshot import: " << set.error() << "\n", 1;
  auto done = store::import_store(o.store_dir, *set);
  if (!done) return std::cerr << "podidctl snapshot import: " << done.error() << "\n", 1;
  const auto state_seq = set->checkpoints.back().seq;
  std::cout << "imported " << set->events.size() << " events";
  if (!set->events.empty())
    std::cout << " (" << set->events.front().seq << ".." << set->events.back().seq << ")";
  std::cout << " and the state at event " << state_seq << " into " << o.store_dir << "\n";
  return 0;
}

void add_source(CLI::App& cmd, LogSource& src, bool with_bundle = false) {
  auto* store = cmd.add_option("--store", src.store_dir, "RocksDB event store directory")
                    ->check(CLI::ExistingDirectory);
  auto* events =
      cmd.add_option("--events", src.events_file, "JSON-lines file of events")->check(CLI::ExistingFile);
  store->excludes(events);
  CLI::Option* bundle = nullptr;
  if (with_bundle) {
    bundle = cmd.add_option("--bundle", src.bundle_file, "Support bundle written by `snapshot export`")
                 ->check(CLI::ExistingFile);
    bundle->excludes(store)->excludes(events);
  }
  cmd.callback([store, events, bundle] {
    if (store->count() + events->count() + (bundle != nullptr ? bundle->count() : 0) == 0)
      throw CLI::RequiredError(bundle != nullptr ? "--store, --events or --bundle" : "--store or --events");
  });
}

int run(int argc, char** argv) {
  CLI::App app{"podidctl: audit, debug and migrate an AAD Pod Identity control plane"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("podidctl ") + PODID_VERSION);

  ReplayOptions replay;
  auto* rp =
      app.add_subcommand("replay", "Rebuild the state from the event log, at any point, and explain it");
  add_source(*rp, replay.source, true);
  rp->add_option("--to-seq", replay.to_seq, "Stop after this event sequence number");
  rp->add_option("--at-ms", replay.at_ms,
                 "Stop before the first event recorded after this time (ms since epoch)");
  rp->add_option("--explain", replay.explain,
                 "Explain a subject: pod/<ns>/<name>, identity/<ns>/<name>, vm/<sub>/<rg>/<name>, vmss/...");
  rp->add_flag("--json", replay.json, "Print the whole state as JSON");
  rp->add_flag("--plan", replay.plan, "Print the actions the planner would take at that point");
  rp->add_flag("--no-checkpoint", replay.no_checkpoint, "Replay from the first event, ignoring checkpoints");

  ExportOptions exp;
  auto* snap = app.add_subcommand("snapshot", "Support snapshots");
  snap->require_subcommand(1);
  auto* ex = snap->add_subcommand("export",
                                  "Write a support bundle: projection, recent events, versions (redacted)");
  add_source(*ex, exp.source);
  ex->add_option("--out", exp.out, "Output file, or - for standard output")->required();
  ex->add_option("--recent", exp.recent, "How many of the newest events to include")->capture_default_str();

  ImportOptions imp;
  auto* im = snap->add_subcommand(
      "import",
      "Create a new event store from a support bundle, keeping its sequence numbers, for replay elsewhere");
  im->add_option("--bundle", imp.bundle_file, "Support bundle written by `snapshot export`")
      ->required()
      ->check(CLI::ExistingFile);
  im->add_option("--store", imp.store_dir, "New event store directory (must not exist, or be empty)")
      ->required();

  MigrateCommand migrate;
  auto* mg = app.add_subcommand(
      "migrate",
      "Run pending migrations against a cluster (the v1.6.0 field-case upgrade of the CRD objects). Exit "
      "codes: 0 done or already migrated, 1 failed (the marker is not written), 3 interrupted");
  mg->add_option("--kubeconfig", migrate.kubeconfig, "kubeconfig of the cluster")
      ->required()
      ->check(CLI::ExistingFile);
  mg->add_option("--context", migrate.context, "kubeconfig context (default: current-context)");
  mg->add_flag("--dry-run", migrate.options.dry_run,
               "Print each rewrite (object, keys renamed); write nothing");
  mg->add_option("--store", migrate.store_dir,
                 "Event store directory: record each rewrite as a MigrationApplied event");
  // The controller's flag and default, so that both look for the marker in the same place.
  if (const char* ns = std::getenv("MIC_POD_NAMESPACE"); ns != nullptr && *ns != '\0')
    migrate.options.config_namespace = ns;
  mg->add_option(
        "--config-map-namespace,--config-namespace", migrate.options.config_namespace,
        "Namespace of ConfigMap aad-pod-identity-config holding the type-upgrade-status marker: the "
        "controller's namespace (its --config-map-namespace; default $MIC_POD_NAMESPACE, else default)")
      ->capture_default_str();
  mg->add_option("--stop-after-writes", migrate.options.stop_after_writes,
                 "Testing aid: stop as if interrupted after this many object writes");

  cli::NodeCleanupOptions cleanup;
  auto* node = app.add_subcommand("node", "Node maintenance");
  node->require_subcommand(1);
  auto* nc = node->add_subcommand(
      "cleanup",
      "Remove the interception rules a node proxy killed outright left behind (run on the node, as root, "
      "in its network namespace). Exit 0 removed or nothing to remove, 1 failed or refused");
  std::string cleanup_backend = "auto";
  nc->add_option("--backend", cleanup_backend,
                 "auto: every backend in use on the node; legacy: chains aad-metadata*; nft: table ip podid")
      ->check(CLI::IsMember({"auto", "legacy", "nft"}))
      ->capture_default_str();
  nc->add_flag("--dry-run", cleanup.dry_run, "Print what would be removed; change nothing");
  nc->add_flag("--force", cleanup.force, "Run even while a podid-nodeproxy process is alive on the host");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (rp->parsed()) return run_replay(replay);
  if (ex->parsed()) return run_export(exp);
  if (im->parsed()) return run_import(imp);
  if (mg->parsed()) return run_migrate(migrate);
  if (nc->parsed()) {
    cleanup.backend = cleanup_backend == "legacy" ? cli::CleanupBackend::legacy
                      : cleanup_backend == "nft"  ? cli::CleanupBackend::nft
                                                  : cli::CleanupBackend::auto_detect;
    return cli::run_node_cleanup(cleanup, std::cout, std::cerr);
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  return podid::cli::guarded_main("podidctl", [&] { return run(argc, argv); });
}
