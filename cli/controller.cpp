#include "cli/controller.hpp"

#include <malloc.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <variant>

#include "core/projection.hpp"

namespace podid::cli {

namespace asio = boost::asio;

namespace {

asio::awaitable<bool> is_cancelled() {
  const auto state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() != asio::cancellation_type::none;
}

core::Error stopped() {
  return core::make_error(core::ErrorCode::cancelled, "controller stopped");
}

}  // namespace

// The controller's metrics (docs/metrics.md), resolved once; `seen` is each assignment's phase at the last
// round, from which the quarantine and drift-repair counters learn transitions.
struct ControllerMeters {
  explicit ControllerMeters(core::MetricsRegistry& r)
      : assignments(
            r.gauge("aadpodidentity_assignments", "Assignments (pod, identity) by state.", {"state"})),
        actions(r.counter("aadpodidentity_planner_actions_total", "Actions planned, by kind.", {"kind"})),
        actions_per_round(r.histogram("aadpodidentity_planner_actions_per_round", "Actions in one plan.",
                                      {0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000})
                              .with({})),
        round_seconds(r.histogram("aadpodidentity_mic_cycle_duration_seconds",
                                  "One round: plan, start identity changes, AAI writes, Events, conditions.",
                                  core::duration_buckets())
                          .with({})),
        rounds(r.counter("aadpodidentity_mic_cycle_count", "Rounds (plans) of the leader.").with({})),
        head_seq(r.gauge("aadpodidentity_event_log_head_seq", "Sequence number of the last event appended.")
                     .with({})),
        leader(r.gauge("aadpodidentity_leader", "1 while this replica leads (plans and writes), else 0.")
                   .with({})),
        elections(
            r.counter("aadpodidentity_mic_new_leader_election_count", "Times this replica started leading.")
                .with({})),
        drift_repairs(r.counter("aadpodidentity_drift_repairs_total",
                                "Assigned identities Azure no longer reported, sent back to Created to be "
                                "attached again.")
                          .with({})),
        quarantines(
            r.counter("aadpodidentity_quarantines_total", "Assignments that entered Quarantined.").with({})),
        aai_writes(r.counter("aadpodidentity_aai_writes_total",
                             "AzureAssignedIdentity writes by kind and result.", {"kind", "result"})) {}

  core::GaugeFamily& assignments;
  core::CounterFamily& actions;
  core::Histogram& actions_per_round;
  core::Histogram& round_seconds;
  core::Counter& rounds;
  core::Gauge& head_seq;
  core::Gauge& leader;
  core::Counter& elections;
  core::Counter& drift_repairs;
  core::Counter& quarantines;
  core::CounterFamily& aai_writes;
  struct Seen {
    core::Phase phase;
    std::string resource_id;
  };
  std::map<core::AssignmentKey, Seen> seen;
  core::Seq seen_at{0};
};

// The EventStore seen by every writer of this controller: forwards everything and wakes the controller
// after each successful append (the ingest's, the actuator's and the AAI writer's).
class NotifyingStore final : public store::EventStore {
 public:
  NotifyingStore(store::EventStore& inner, std::function<void()> on_append)
      : inner_(inner), on_append_(std::move(on_append)) {}
  core::Result<store::Seq> append(std::span<const store::NewEvent> batch,
                                  std::span<const store::Cursor> cursors) override {
    auto seq = inner_.append(batch, cursors);
    if (seq && !batch.empty()) on_append_();
    return seq;
  }
  core::Result<std::vector<store::EventRecord>> read(store::Seq from, std::size_t limit) const override {
    return inner_.read(from, limit);
  }
  core::Result<std::vector<store::EventRecord>> read_subject(std::string_view subject, store::Seq from,
                                                             std::size_t limit) const override {
    return inner_.read_subject(subject, from, limit);
  }
  store::Seq last_seq() const override { return inner_.last_seq(); }
  store::Seq first_seq() const override { return inner_.first_seq(); }
  core::Result<std::optional<std::string>> cursor(std::string_view name) const override {
    return inner_.cursor(name);
  }
  core::Status put_checkpoint(const store::Checkpoint& cp) override { return inner_.put_checkpoint(cp); }
  core::Result<std::optional<store::Checkpoint>> latest_checkpoint() const override {
    return inner_.latest_checkpoint();
  }
  core::Result<store::RetentionReport> apply_retention(const store::RetentionPolicy& p, std::int64_t now_ms,
                                                       const std::string& export_dir) override {
    return inner_.apply_retention(p, now_ms, export_dir);
  }
  core::Status export_jsonl(store::Seq from, store::Seq to, std::ostream& out) const override {
    return inner_.export_jsonl(from, to, out);
  }

 private:
  store::EventStore& inner_;
  std::function<void()> on_append_;
};

Controller::Controller(watch::KubeClient& kube, store::EventStore& store, arm::ArmClient& arm,
                       core::Clock& clock, core::Logger logger, ControllerOptions options)
    : kube_(kube),
      clock_(clock),
      logger_(std::move(logger)),
      options_(std::move(options)),
      store_(std::make_unique<NotifyingStore>(store, [this] { notify(); })),
      log_(*store_),
      own_metrics_(options_.metrics != nullptr ? nullptr : std::make_unique<core::MetricsRegistry>()),
      metrics_(options_.metrics != nullptr ? options_.metrics : own_metrics_.get()),
      meters_(std::make_unique<ControllerMeters>(*metrics_)) {
  ingest_ =
      std::make_unique<watch::Ingest>(kube_, log_, clock_, logger_.with_component("ingest"), options_.ingest);
  auto events = [this](std::span<const core::Event> e) { return sink(e); };
  actuator_ = std::make_unique<arm::Actuator>(arm, events, clock_, options_.actuator);
  writer_ = std::make_unique<watch::AaiWriter>(kube_, events, clock_, logger_.with_component("aai"));
  recorder_ = std::make_unique<watch::EventRecorder>(kube_, clock_, options_.events);
  if (options_.leader_election)
    elector_ = std::make_unique<watch::LeaderElector>(
        kube_, clock_, steady_, logger_.with_component("election"), *options_.leader_election);
}

Controller::~Controller() = default;

bool Controller::synced() const noexcept {
  return ingest_->synced();
}
bool Controller::leading() const noexcept {
  return !elector_ || leading_;
}

void Controller::notify() {
  meters_->head_seq.set(static_cast<double>(store_->last_seq()));
  if (wake_) wake_->cancel();
}

void Controller::set_leading(bool leading) {
  if (leading && meters_->leader.value() == 0) meters_->elections.inc();
  meters_->leader.set(leading ? 1 : 0);
}

void Controller::measure_aai_write(core::AaiWriteKind kind, const core::Status& result) {
  std::string name = "delete";
  if (kind == core::AaiWriteKind::create) name = "create";
  if (kind == core::AaiWriteKind::update) name = "update";
  if (kind == core::AaiWriteKind::status) name = "status";
  const std::string outcome = result ? std::string("ok") : std::string(core::to_string(result.error().code));
  meters_->aai_writes.with({name, outcome}).inc();
}

void Controller::measure_round(const core::Plan& plan, std::chrono::steady_clock::duration took) {
  auto& m = *meters_;
  m.rounds.inc();
  m.round_seconds.observe(std::chrono::duration<double>(took).count());
  const auto changes = plan.identity_changes.size();
  m.actions.with({"identity_change"}).inc(static_cast<double>(changes));
  m.actions.with({"aai_write"}).inc(static_cast<double>(plan.aai_writes.size()));
  m.actions.with({"report"}).inc(static_cast<double>(plan.reports.size()));
  m.actions_per_round.observe(static_cast<double>(changes + plan.aai_writes.size() + plan.reports.size()));
  m.head_seq.set(static_cast<double>(store_->last_seq()));
  if (m.seen_at == state_.last_seq && !m.seen.empty()) return;  // nothing applied since the last round
  m.seen_at = state_.last_seq;
  std::array<double, 5> by_phase{};
  std::map<core::AssignmentKey, ControllerMeters::Seen> now;
  for (const auto& [key, a] : state_.assignments) {
    ++by_phase.at(static_cast<std::size_t>(a.phase));
    const auto before = m.seen.find(key);
    const bool known = before != m.seen.end();
    if (a.phase == core::Phase::quarantined && (!known || before->second.phase != a.phase))
      m.quarantines.inc();
    // Assigned -> Created for the same identity: Azure lost it (an edit changes the resource ID).
    if (known && before->second.phase == core::Phase::assigned && a.phase == core::Phase::created &&
        before->second.resource_id == a.resource_id)
      m.drift_repairs.inc();
    now.emplace_hint(now.end(), key, ControllerMeters::Seen{a.phase, a.resource_id});
  }
  m.seen = std::move(now);
  for (const auto p : {core::Phase::created, core::Phase::assigned, core::Phase::unassigned,
                       core::Phase::quarantined, core::Phase::retry_scheduled})
    m.assignments.with({std::string(core::to_string(p))}).set(by_phase.at(static_cast<std::size_t>(p)));
}

core::Status Controller::sink(std::span<const core::Event> events) {
  auto appended = log_.append(events);
  if (!appended) {
    logger_.error("Events not appended.", {{"error", appended.error().describe().c_str()}});
    return appended.error();
  }
  return core::ok();
}

asio::awaitable<core::Status> Controller::run() {
  using namespace asio::experimental::awaitable_operators;
  co_await asio::this_coro::throw_if_cancelled(false);
  wake_.emplace(co_await asio::this_coro::executor);
  if (elector_) {
    auto r = co_await (ingest_->run() || elect() || work());
    co_return std::visit([](core::Status& s) { return std::move(s); }, r);
  }
  auto r = co_await (ingest_->run() || work());
  co_return std::visit([](core::Status& s) { return std::move(s); }, r);
}

asio::awaitable<core::Status> Controller::elect() {
  co_return co_await elector_->run([this](bool leading) {
    leading_ = leading;
    set_leading(leading);
    notify();
  });
}

asio::awaitable<bool> Controller::sleep_until(std::optional<std::int64_t> at_ms) {
  if (at_ms) {
    const auto delay = std::max<std::int64_t>(*at_ms - clock_.now_ms(), 0);
    wake_->expires_after(std::chrono::milliseconds(delay));
  } else {
    wake_->expires_at(asio::steady_timer::time_point::max());
  }
  const auto [ec] = co_await wake_->async_wait(asio::as_tuple(asio::use_awaitable));
  static_cast<void>(ec);  // expiry and a wake-up (cancel) both mean: look again
  const bool cancelled = co_await is_cancelled();
  co_return !cancelled;
}

asio::awaitable<void> Controller::drain() {
  co_await asio::this_coro::reset_cancellation_state();
  for (auto& t : tasks_)
    if (!t.done) t.signal.emit(asio::cancellation_type::terminal);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (running_ > 0 && std::chrono::steady_clock::now() < deadline) {
    wake_->expires_after(std::chrono::milliseconds(100));
    const auto [ec] = co_await wake_->async_wait(asio::as_tuple(asio::use_awaitable));
    static_cast<void>(ec);
  }
  if (running_ > 0) logger_.error("Operations still running at shutdown.", {{"operations", running_}});
}

asio::awaitable<core::Status> Controller::work() {
  co_await asio::this_coro::throw_if_cancelled(false);
  for (;;) {
    const auto synced_now = co_await ingest_->wait_synced(options_.sync_wait);
    if (synced_now) break;
    const bool cancelled = co_await is_cancelled();
    if (cancelled || synced_now.error().code == core::ErrorCode::cancelled) co_return stopped();
    logger_.warn("Initial sync still incomplete.", {{"error", synced_now.error().describe().c_str()}});
  }
  logger_.info("Initial sync completed.", {{"seq", store_->last_seq()}});
  while (!leading()) {
    const bool go_on = co_await sleep_until(std::nullopt);
    if (!go_on) co_return stopped();
  }
  if (!elector_) set_leading(true);
  auto result = co_await migrate();
  if (result) {
    auto led = co_await lead();
    result = std::move(led);
  }
  if (!elector_) set_leading(false);
  co_await drain();
  co_return result;
}

asio::awaitable<core::Status> Controller::start_leading() {
  logger_.info("Leading started.");
  PODID_CO_TRY(log_.catch_up(state_));
  const auto now = clock_.now_ms();
  std::vector<core::Event> events;
  if (state_.settings != options_.settings) {
    core::SettingsObserved e;
    e.at_ms = now;
    e.settings = options_.settings;
    events.emplace_back(std::move(e));
    ++counters_.settings_appended;
  }
  // Operations a previous leader started and never finished: Azure's state decides (drift check below).
  for (const auto& [id, op] : state_.operations) {
    if (busy_.contains(op.target)) continue;
    core::ArmOperationFailed e;
    e.at_ms = now;
    e.operation_id = id;
    e.target = op.target;
    e.error_class = core::ErrorCode::transient;
    e.message = "operation abandoned: the controller that started it stopped";
    events.emplace_back(std::move(e));
    ++counters_.abandoned_operations;
    logger_.warn("Operation abandoned by a previous leader.",
                 {{"operation", id.c_str()}, {"target", op.target.to_string().c_str()}});
  }
  if (!events.empty()) PODID_CO_TRY(sink(events));
  PODID_CO_TRY(log_.catch_up(state_));
  // What Azure holds now, before the first plan: a new leader neither repeats nor reverts earlier work.
  std::set<core::ArmTarget> targets;
  for (const auto& [target, keys] : state_.index.assignments_by_target) targets.insert(target);
  for (const auto& [target, t] : state_.targets)
    if (!t.ours.empty()) targets.insert(target);
  for (const auto& target : targets) {
    const auto read = co_await actuator_->observe(target);
    if (!read)
      logger_.warn("Identity read failed.",
                   {{"target", target.to_string().c_str()}, {"error", read.error().describe().c_str()}});
  }
  PODID_CO_TRY(log_.catch_up(state_));
  next_drift_ms_ = now + options_.drift_interval.count();
  co_return core::ok();
}

void Controller::maybe_checkpoint() {
  if (options_.checkpoint_every == 0) return;
  // A checkpoint writes the whole State (about 1 KiB per pod and per AzureAssignedIdentity): at a fixed
  // interval a large cluster would write 10 MiB per 1,000 events, and hold that much more memory each time.
  // The interval grows with the State instead, so a checkpoint costs about as much as the events it spares
  // a restart from replaying (20,000 events at 10,000 pods: about 0.1 s).
  const std::uint64_t every =
      std::max<std::uint64_t>(options_.checkpoint_every, state_.pods.size() + state_.assigned.size());
  if (state_.last_seq < last_checkpoint_ + every) return;
  if (auto saved = log_.checkpoint(state_); !saved) {
    logger_.warn("Checkpoint not stored.", {{"error", saved.error().describe().c_str()}});
    return;
  }
  last_checkpoint_ = state_.last_seq;
  ++counters_.checkpoints;
  // The checkpoint's text (and the memtable's copy, once flushed) went back to the allocator; glibc keeps
  // freed pages unless asked, so a checkpoint would otherwise raise the resident size for good.
  malloc_trim(0);
  if (!options_.retention) return;
  auto retired = store_->apply_retention(*options_.retention, clock_.now_ms(), options_.retention_export_dir);
  if (!retired) {
    logger_.warn("Retention not applied.", {{"error", retired.error().describe().c_str()}});
    return;
  }
  if (retired->dropped == 0) return;
  counters_.events_retired += retired->dropped;
  logger_.info("Events retired after their export.", {{"dropped", retired->dropped},
                                                      {"through", retired->dropped_through},
                                                      {"export", retired->export_path.c_str()}});
}

asio::awaitable<core::Status> Controller::lead() {
  const auto started = co_await start_leading();
  if (!started) co_return started.error();
  last_checkpoint_ = state_.last_seq;
  for (;;) {
    if (!leading()) co_return core::make_error(core::ErrorCode::transient, "leadership lost");
    tasks_.remove_if([](const Task& t) { return t.done; });
    PODID_CO_TRY(log_.catch_up(state_));
    if (options_.on_state_caught_up) options_.on_state_caught_up(state_);
    maybe_checkpoint();
    const auto now = clock_.now_ms();
    check_drift(now);
    const auto round_started = std::chrono::steady_clock::now();
    const auto plan = core::plan(state_, now);
    ++counters_.plans;
    const auto batch_at = start_changes(plan, now);
    const auto outcome = co_await perform(plan, now);
    measure_round(plan, std::chrono::steady_clock::now() - round_started);
    const bool cancelled = co_await is_cancelled();
    if (cancelled) co_return stopped();
    std::optional<std::int64_t> at = std::min(next_drift_ms_, now + options_.max_idle.count());
    for (const auto& t : {plan.wake_at_ms, outcome.retry_at, batch_at})
      if (t && *t < *at) at = t;
    if (outcome.more || store_->last_seq() > state_.last_seq) continue;  // writes left, or new events
    const bool go_on = co_await sleep_until(at);
    if (!go_on) co_return stopped();
  }
}

}  // namespace podid::cli
