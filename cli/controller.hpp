#pragma once
// Controller: the original's MIC role, on one io_context. It composes the watch Ingest (observe, append),
// the EventLog and the core projection and planner (project, plan), and the Actuator, AaiWriter and
// EventRecorder (act):
//   1. the ingest runs (on every replica) and the controller waits for its initial sync: it never plans
//      before, because the planner deletes AzureAssignedIdentities whose pods it has not seen;
//   2. with leader election, it waits for the Lease (only the leader plans and writes);
//   2b. pending migrations (options.migrate: podidctl migrate's run), then a wait until the ingest saw every
//      rewrite; a failure is retried with back-off, nothing executed meanwhile (controller_startup.cpp);
//   3. on becoming leader: catch up the State, append SettingsObserved when the configured settings differ
//      from the State's, end operations a previous leader left in flight (ArmOperationFailed), and read
//      every VM or scale set the assignments name, so that planning resumes from Azure's actual state;
//   4. loop: catch up, checkpoint every N events, drift check every interval (observe each VM or scale set
//      holding Assigned identities), plan(state, now), start identity changes (one in flight per target: a
//      target stays busy locally from the start until its execute() returned, besides the State's in_flight),
//      AAI writes (per-object back-off after failures), reports, AzureIdentity Ready conditions; then wait
//      for new events (an append wakes it), plan.wake_at_ms, the next drift check or a back-off end.
// Shutdown: cancel the awaiting coroutine of run(); it cancels and awaits the operations it started.
//
// Thread-safety: everything on one single-threaded executor. Lifetime: kube, store, arm, clock and the
// logger's sink outlive the Controller; the Controller outlives run().

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

#include "arm/actuator.hpp"
#include "arm/arm_client.hpp"
#include "cli/migrate.hpp"
#include "core/clock.hpp"
#include "core/http/message.hpp"
#include "core/logger.hpp"
#include "core/metrics.hpp"
#include "core/plan.hpp"
#include "core/state.hpp"
#include "store/event_log.hpp"
#include "store/event_store.hpp"
#include "store/rocks_event_store.hpp"
#include "watch/aai_writer.hpp"
#include "watch/event_recorder.hpp"
#include "watch/ingest.hpp"
#include "watch/kube_client.hpp"
#include "watch/leader_election.hpp"

namespace podid::cli {

struct ControllerOptions {
  core::Settings settings;  // appended as SettingsObserved when the State's differ
  watch::IngestOptions ingest;
  std::chrono::milliseconds sync_wait{std::chrono::seconds(30)};  // logs and waits again after this
  std::chrono::milliseconds drift_interval{std::chrono::minutes(3)};
  std::chrono::milliseconds max_idle{
      std::chrono::hours(1)};  // plan at least this often (--sync-retry-interval)
  std::chrono::milliseconds retry_initial{std::chrono::seconds(1)};  // AAI write back-off, doubling
  std::chrono::milliseconds retry_max{std::chrono::seconds(60)};
  // AzureAssignedIdentity writes (and then Events) in flight at once in a round: a burst's thousands of
  // writes are bound by the API server's latency, not its throughput, when sent one after another.
  std::size_t kube_write_concurrency{4};
  // AzureAssignedIdentity writes per plan round: the rest wait for the next round, which plans again and
  // starts the identity changes that became possible meanwhile (a scale set's next PATCH does not wait for
  // a burst's thousands of writes).
  std::size_t writes_per_round{128};
  // The batching window of identity changes (one PATCH per VM or scale set): a change is sent once it has
  // not grown for batch_quiet, or has been pending for batch_max_wait. Zero quiet: at once.
  std::chrono::milliseconds batch_quiet{std::chrono::seconds(1)};
  std::chrono::milliseconds batch_max_wait{std::chrono::seconds(5)};
  std::uint64_t checkpoint_every{1000};  // events between checkpoints, at least (maybe_checkpoint)
  // Applied after each checkpoint (so nothing after it is ever dropped); dropped events are exported first
  // as JSON lines into retention_export_dir. Empty: the log is kept whole.
  std::optional<store::RetentionPolicy> retention;
  std::string retention_export_dir;
  std::optional<watch::LeaderElectionOptions> leader_election;  // empty: always the leader
  arm::ActuatorOptions actuator;
  watch::EventRecorderOptions events;
  // Called on the executor each time the leader's State has caught up with the log (every plan loop, the
  // first one after start_leading()); the main serves node snapshots from it (ReplicationServer).
  std::function<void(const core::State&)> on_state_caught_up;
  // Where the controller's metrics go (docs/metrics.md); share it with the ArmClient. Empty: its own.
  core::MetricsRegistry* metrics{nullptr};
  // Migrations the leader runs before executing anything (podidctl migrate's run). Empty: none.
  std::optional<MigrateOptions> migrate;
};

struct ControllerCounters {
  std::uint64_t plans{0};
  std::uint64_t changes_started{0};
  std::uint64_t observes_started{0};
  std::uint64_t aai_writes{0};
  std::uint64_t aai_write_failures{0};
  std::uint64_t reports{0};
  std::uint64_t report_failures{0};
  std::uint64_t checkpoints{0};
  std::uint64_t events_retired{0};  // dropped by retention, after their export
  std::uint64_t settings_appended{0};
  std::uint64_t abandoned_operations{0};
  std::uint64_t migration_runs{0};
  std::uint64_t migration_failures{0};
};

class NotifyingStore;
struct ControllerMeters;

// The /metrics page: the registry in Prometheus text format 0.0.4 (404 for any other path).
[[nodiscard]] http::Response metrics_response(const core::MetricsRegistry& registry, const http::Request& r);
// Sets the gauges of RocksDB's memory and table files and of the process heap (docs/metrics.md): both are
// known only when asked, so the metrics server calls this before each exposition.
void measure_memory(const store::RocksEventStore& store, core::MetricsRegistry& registry);

class Controller;
// /healthz and /readyz: 503 "Not Synced" before the initial sync; then 200 "Active" on the leader once it
// executes (migrations done) and 200 "Not Active" otherwise, except /readyz on a leader whose migrations
// have not completed: 503 with the reason. 404 for any other path.
[[nodiscard]] http::Response probe_response(const Controller& controller, const http::Request& r);

class Controller {
 public:
  Controller(watch::KubeClient& kube, store::EventStore& store, arm::ArmClient& arm, core::Clock& clock,
             core::Logger logger, ControllerOptions options);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Runs until cancelled (returns cancelled), leadership is lost (transient) or the ingest or the log
  // fails for good (its error).
  [[nodiscard]] boost::asio::awaitable<core::Status> run();

  [[nodiscard]] bool synced() const noexcept;   // the ingest's initial sync is done
  [[nodiscard]] bool leading() const noexcept;  // this replica plans and writes
  // Leading with migrations done: planning and executing (the original's "Active").
  [[nodiscard]] bool executing() const noexcept { return leading() && migrated_; }
  // Why a leader does not execute yet ("migration failed: ..."), empty when nothing is wrong.
  [[nodiscard]] const std::string& startup_problem() const noexcept { return startup_problem_; }
  [[nodiscard]] const core::State& state() const noexcept { return state_; }
  [[nodiscard]] const ControllerCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] const watch::Ingest& ingest() const noexcept { return *ingest_; }
  [[nodiscard]] const arm::Actuator& actuator() const noexcept { return *actuator_; }
  [[nodiscard]] const watch::AaiWriter& writer() const noexcept { return *writer_; }
  [[nodiscard]] const watch::EventRecorder& recorder() const noexcept { return *recorder_; }
  [[nodiscard]] core::MetricsRegistry& metrics() const noexcept { return *metrics_; }

 private:
  struct Task {
    boost::asio::cancellation_signal signal;
    bool done{false};
  };
  struct Backoff {
    std::int64_t not_before_ms{0};
    std::chrono::milliseconds delay{0};
  };

  [[nodiscard]] boost::asio::awaitable<core::Status> work();
  [[nodiscard]] boost::asio::awaitable<core::Status> lead();
  [[nodiscard]] boost::asio::awaitable<core::Status> elect();
  [[nodiscard]] boost::asio::awaitable<bool> sleep_until(std::optional<std::int64_t> at_ms);
  [[nodiscard]] boost::asio::awaitable<void> drain();
  void notify();
  [[nodiscard]] core::Status sink(std::span<const core::Event> events);
  [[nodiscard]] boost::asio::awaitable<core::Status> start_leading();
  [[nodiscard]] boost::asio::awaitable<core::Status> migrate();
  [[nodiscard]] boost::asio::awaitable<core::Status> await_rewrites(const MigrateReport& report);
  void maybe_checkpoint();
  void check_drift(std::int64_t now);
  // Starts the identity changes whose batching window has passed; returns when the next one will have.
  [[nodiscard]] std::optional<std::int64_t> start_changes(const core::Plan& plan, std::int64_t now);
  void spawn(boost::asio::awaitable<void> work);
  [[nodiscard]] boost::asio::awaitable<void> run_change(core::IdentityChange change);
  [[nodiscard]] boost::asio::awaitable<void> run_observe(core::ArmTarget target);
  // How many identities `change` detaches as re-created in Azure (planned by core::plan), for the log.
  [[nodiscard]] std::size_t recreated_in(const core::IdentityChange& change) const;
  struct Round;
  enum class Stage { writes, reports };
  [[nodiscard]] boost::asio::awaitable<void> write_one(Round& round, const core::AaiWrite& w);
  [[nodiscard]] boost::asio::awaitable<void> report_one(Round& round, const core::Report& r);
  [[nodiscard]] boost::asio::awaitable<void> round_worker(Round& round, Stage stage);
  [[nodiscard]] boost::asio::awaitable<void> round_workers(Round& round, Stage stage, std::size_t workers);
  // Up to writes_per_round writes, then reports (each with up to kube_write_concurrency requests at once),
  // then conditions.
  struct RoundOutcome {
    std::optional<std::int64_t> retry_at;  // the earliest back-off end, if any
    bool more{false};                      // writes were left for the next round
  };
  [[nodiscard]] boost::asio::awaitable<RoundOutcome> perform(const core::Plan& plan, std::int64_t now);
  [[nodiscard]] boost::asio::awaitable<void> sync_conditions();
  void measure_round(const core::Plan& plan, std::chrono::steady_clock::duration took);
  void set_leading(bool leading);
  void measure_aai_write(core::AaiWriteKind kind, const core::Status& result);

  watch::KubeClient& kube_;
  core::Clock& clock_;
  core::Logger logger_;
  ControllerOptions options_;
  std::unique_ptr<NotifyingStore> store_;
  store::EventLog log_;
  std::unique_ptr<watch::Ingest> ingest_;
  std::unique_ptr<arm::Actuator> actuator_;
  std::unique_ptr<watch::AaiWriter> writer_;
  std::unique_ptr<watch::EventRecorder> recorder_;
  watch::SteadyClock steady_;
  std::unique_ptr<watch::LeaderElector> elector_;
  core::State state_;
  bool leading_{false};
  bool migrated_{false};
  std::string startup_problem_;
  std::optional<boost::asio::steady_timer> wake_;
  std::set<core::ArmTarget> busy_;  // targets with an execute() or observe() of ours running
  std::list<Task> tasks_;
  std::size_t running_{0};
  std::map<core::AssignedKey, Backoff> write_backoff_;
  struct PendingChange {
    std::int64_t since_ms{0};  // first planned
    std::int64_t grew_ms{0};   // last seen asking for something new
    std::size_t signature{0};
  };
  std::map<core::ArmTarget, PendingChange> pending_;  // identity changes planned but not started
  std::int64_t next_drift_ms_{0};
  core::Seq last_checkpoint_{0};
  ControllerCounters counters_;
  std::unique_ptr<core::MetricsRegistry> own_metrics_;
  core::MetricsRegistry* metrics_;
  std::unique_ptr<ControllerMeters> meters_;
};

}  // namespace podid::cli
