#include "watch/ingest.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace podid::watch {
namespace asio = boost::asio;
namespace json = boost::json;
using core::ErrorCode;

namespace {

// Whether resourceVersion a is known to be newer than b. RVs are opaque, but the API server's are etcd
// revisions; only when both are plain integers is the answer yes. It keeps a relist from deleting an object
// another writer (the controller's AzureAssignedIdentity writes) put into the log after the list's snapshot.
bool newer_than(std::string_view a, std::string_view b) {
  const auto numeric = [](std::string_view s) {
    return !s.empty() && s.size() < 20 && s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (!numeric(a) || !numeric(b)) return false;
  return a.size() != b.size() ? a.size() > b.size() : a > b;
}

}  // namespace

struct Ingest::PerKind {
  IngestKind kind{IngestKind::pods};
  std::unique_ptr<Reflector> reflector;
  std::map<std::string, std::string> mirror;  // key -> RV: the reflector's memory, as it emitted it
  std::map<std::string, std::optional<std::string>>
      pending;                // key -> RV of the queued event (nullopt: deleted)
  std::string stored_cursor;  // the cursor as the log holds it
  std::string cursor;         // the newest safe resume point
  bool synced{false};
  std::map<std::string, QuarantinedObject> quarantined;
};

Ingest::Ingest(KubeClient& client, store::EventLog& log, const core::Clock& clock, core::Logger logger,
               IngestOptions options)
    : client_(client), log_(log), clock_(clock), logger_(std::move(logger)), options_(std::move(options)) {
  options_.max_batch = std::max<std::size_t>(options_.max_batch, 1);
}

Ingest::~Ingest() = default;

bool Ingest::synced() const noexcept {
  return all_synced_;
}

std::optional<ReflectorCounters> Ingest::reflector_counters(IngestKind kind) const {
  for (const auto& k : kinds_)
    if (k->kind == kind && k->reflector) return k->reflector->counters();
  return std::nullopt;
}

std::vector<QuarantinedObject> Ingest::quarantined() const {
  std::vector<QuarantinedObject> out;
  for (const auto& k : kinds_)
    for (const auto& [_, q] : k->quarantined) out.push_back(q);
  return out;
}

asio::awaitable<core::Status> Ingest::run() {
  // See guarded(): a cancelled run() reports a Status instead of throwing, and must not throw after it
  // finished (its operations are the reflectors, which see the cancellation through the group).
  co_await asio::this_coro::throw_if_cancelled(false);
  const auto executor = co_await asio::this_coro::executor;
  wake_.emplace(executor, asio::steady_timer::time_point::max());
  // Through a core::State (released at once): the index alone stays resident.
  auto rebuilt = rebuild_version_index(log_);
  if (!rebuilt) co_return rebuilt.error();
  index_ = std::move(*rebuilt);
  kinds_.clear();
  pending_events_.clear();
  failed_.reset();
  all_synced_ = false;
  for (std::size_t i = 0; i < options_.kinds.size(); ++i) {
    auto k = std::make_unique<PerKind>();
    k->kind = options_.kinds[i];
    auto stored = log_.store().cursor(cursor_name(k->kind));
    if (!stored) co_return stored.error();
    k->stored_cursor = stored->value_or("");
    k->cursor = k->stored_cursor;
    ReflectorOptions ro = options_.reflector;
    ro.ns = resource_of(k->kind).namespaced ? options_.ns : "";
    ro.resume_from = k->stored_cursor;
    k->reflector = std::make_unique<Reflector>(
        client_, resource_of(k->kind), std::move(ro),
        [this, i](WatchEventType type, const json::object& object, const std::string& rv) {
          on_event(i, type, object, rv);
        },
        [this, i](const std::string& rv) { on_list_synced(i, rv); });
    kinds_.push_back(std::move(k));
  }
  logger_.info("Ingest started.", {{"fromSeq", index_.last_seq()}, {"kinds", kinds_.size()}});
  // A kind resumed from a stored cursor is synced as of that cursor: the log already holds its objects.
  for (auto& k : kinds_)
    if (!k->stored_cursor.empty()) mark_synced(*k);
  if (kinds_.empty()) mark_synced_all();

  using Op =
      decltype(asio::co_spawn(executor, std::declval<asio::awaitable<core::Status>>(), asio::deferred));
  std::vector<Op> ops;
  for (auto& k : kinds_)
    ops.push_back(asio::co_spawn(executor, guarded(k->reflector->run()), asio::deferred));
  ops.push_back(asio::co_spawn(executor, guarded(flusher()), asio::deferred));
  auto [order, exceptions, results] =
      co_await asio::experimental::make_parallel_group(std::move(ops))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  flush();
  for (const auto& e : exceptions)
    if (e) std::rethrow_exception(e);
  if (failed_) co_return *failed_;
  co_return results[order.front()];
}

// Each reflector and the flusher run as their own coroutine thread. Throw-on-cancel stays on while they
// run: a cancellation that arrives between two operations is only seen by the next co_await, which throws
// (without it that operation would run to its own deadline). The throw becomes an ordinary cancelled
// Status, and throw-on-cancel is turned off before returning: Asio 1.81's co_spawn entry point co_awaits a
// post() after the coroutine finished, and a throw there would lose the completion.
asio::awaitable<core::Status> Ingest::guarded(asio::awaitable<core::Status> work) {
  core::Status status = core::ok();
  try {
    status = co_await std::move(work);
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) throw;
    status = core::make_error(ErrorCode::cancelled, "Ingest cancelled");
  }
  co_await asio::this_coro::throw_if_cancelled(false);
  co_return status;
}

asio::awaitable<core::Status> Ingest::flusher() {
  for (;;) {
    flush();
    if (failed_) co_return *failed_;
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none)
      co_return core::make_error(ErrorCode::cancelled, "Ingest cancelled");
    wake_->expires_at(asio::steady_timer::time_point::max());
    (void)co_await wake_->async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void Ingest::wake() {
  if (wake_) wake_->cancel();
}

std::optional<std::string> Ingest::current_version(const PerKind& k, const std::string& key) const {
  if (const auto it = k.pending.find(key); it != k.pending.end()) return it->second;
  return index_.version(k.kind, key);
}

void Ingest::on_event(std::size_t index, WatchEventType type, const json::object& object,
                      const std::string& rv) {
  auto& k = *kinds_[index];
  if (failed_) return;
  // During a watch the reflector's RV is this event's; during a list it is still the previous resume point.
  // Either is a safe cursor: resuming from it never skips an event that is not in the log.
  k.cursor = k.reflector->resource_version();
  const auto key = state_key(k.kind, object);
  if (key.empty()) {
    quarantine(k, key, rv, "object has no metadata.name");
    return;
  }
  const auto at_ms = clock_.now_ms();
  if (type == WatchEventType::deleted) {
    k.mirror.erase(key);
    k.quarantined.erase(key);
    if (!current_version(k, key)) {  // never decoded (or already deleted): nothing to retract
      wake();
      return;
    }
    auto event = deleted_event(k.kind, key, rv, at_ms);
    if (!event) return quarantine(k, key, rv, event.error().message);
    enqueue(k, key, std::move(*event), std::nullopt);
    return;
  }
  k.mirror[key] = rv;
  if (current_version(k, key) == rv) {
    ++counters_.unchanged_skipped;
    wake();
    return;
  }
  auto event = observed_event(k.kind, object, at_ms);
  if (!event) return quarantine(k, key, rv, event.error().message);
  k.quarantined.erase(key);
  enqueue(k, key, std::move(*event), rv);
}

void Ingest::on_list_synced(std::size_t index, const std::string& rv) {
  auto& k = *kinds_[index];
  ++counters_.syncs;
  if (failed_) return;
  // Reconcile with the log: whatever it holds that the list lacked was deleted meanwhile.
  auto held = index_.objects(k.kind, resource_of(k.kind).namespaced ? options_.ns : "");
  for (const auto& [key, version] : k.pending) {
    if (version) {
      held[key] = *version;
    } else {
      held.erase(key);
    }
  }
  const auto at_ms = clock_.now_ms();
  for (const auto& [key, version] : held) {
    if (k.mirror.contains(key) || newer_than(version, rv)) continue;
    auto event = deleted_event(k.kind, key, rv, at_ms);
    if (!event) {
      quarantine(k, key, rv, event.error().message);
      continue;
    }
    ++counters_.relist_deletes;
    enqueue(k, key, std::move(*event), std::nullopt);
  }
  k.cursor = rv;
  flush();  // the list, its reconciliation and the list's RV land together (bounded batches before)
  logger_.info("Kind listed.", {{"kind", resource_of(k.kind).plural.c_str()},
                                {"resourceVersion", rv.c_str()},
                                {"objects", k.mirror.size()}});
  mark_synced(k);
}

void Ingest::quarantine(PerKind& k, const std::string& key, const std::string& rv,
                        const std::string& reason) {
  ++counters_.decode_failures;
  k.quarantined[key] = QuarantinedObject{k.kind, key, rv, reason};
  logger_.warn("Object quarantined.", {{"kind", resource_of(k.kind).plural.c_str()},
                                       {"object", key.c_str()},
                                       {"resourceVersion", rv.c_str()},
                                       {"reason", reason.c_str()}});
  wake();
}

void Ingest::enqueue(PerKind& k, const std::string& key, core::Event event, std::optional<std::string> rv) {
  pending_events_.push_back(std::move(event));
  k.pending[key] = std::move(rv);
  if (pending_events_.size() >= options_.max_batch) {
    flush();
  } else {
    wake();
  }
}

void Ingest::flush() {
  if (failed_) return;
  std::vector<store::Cursor> cursors;
  for (const auto& k : kinds_)
    if (!k->cursor.empty() && k->cursor != k->stored_cursor)
      cursors.push_back(store::Cursor{cursor_name(k->kind), k->cursor});
  if (pending_events_.empty() && cursors.empty()) return;
  auto appended = log_.append(pending_events_, cursors);
  if (!appended) {
    ++counters_.append_failures;
    failed_ = appended.error();
    logger_.error("Events not appended.",
                  {{"events", pending_events_.size()}, {"error", appended.error().describe().c_str()}});
    wake();
    return;
  }
  ++counters_.batches;
  counters_.events_appended += pending_events_.size();
  auto projected = project(*appended);
  pending_events_.clear();
  for (auto& k : kinds_) {
    k->pending.clear();
    k->stored_cursor = k->cursor;
  }
  if (!projected) {
    failed_ = projected.error();
    logger_.error("Index not caught up.", {{"error", projected.error().describe().c_str()}});
    wake();
  }
}

// The events others appended before this batch are read from the log; the batch's own are applied as they
// were appended (numbered from `first`), without reading them back.
core::Status Ingest::project(store::Seq first) {
  (void)PODID_TRY(catch_up(log_, index_, first - 1));
  for (std::size_t i = 0; i < pending_events_.size(); ++i) (void)index_.apply(pending_events_[i], first + i);
  (void)PODID_TRY(catch_up(log_, index_));  // anything appended after it meanwhile (another thread)
  return core::ok();
}

void Ingest::mark_synced(PerKind& k) {
  if (k.synced) return;
  k.synced = true;
  if (std::all_of(kinds_.begin(), kinds_.end(), [](const auto& p) { return p->synced; })) mark_synced_all();
}

void Ingest::mark_synced_all() {
  if (all_synced_) return;
  all_synced_ = true;
  logger_.info("Ingest synced.", {{"seq", index_.last_seq()}});
  for (auto* waiter : waiters_) waiter->cancel();
  if (options_.on_synced) options_.on_synced();
}

asio::awaitable<core::Status> Ingest::wait_synced(std::chrono::milliseconds limit) {
  if (all_synced_) co_return core::ok();
  asio::steady_timer timer{co_await asio::this_coro::executor, limit};
  waiters_.push_back(&timer);
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  std::erase(waiters_, &timer);
  if (all_synced_) co_return core::ok();
  if (ec) co_return core::make_error(ErrorCode::cancelled, "Waiting for the ingest to sync was cancelled");
  co_return core::make_error(ErrorCode::transient,
                             "Ingest not synced within " + std::to_string(limit.count()) + " ms");
}

std::string prometheus_text(const IngestCounters& c) {
  std::string out;
  const auto counter = [&out](std::string_view name, std::string_view help, std::uint64_t value) {
    out += "# HELP podid_ingest_" + std::string(name) + " " + std::string(help) + "\n";
    out += "# TYPE podid_ingest_" + std::string(name) + " counter\n";
    out += "podid_ingest_" + std::string(name) + " " + std::to_string(value) + "\n";
  };
  counter("events_appended_total", "Events written to the log.", c.events_appended);
  counter("batches_total", "Appends to the log.", c.batches);
  counter("unchanged_skipped_total", "Objects whose resourceVersion the log already had.",
          c.unchanged_skipped);
  counter("relist_deletes_total", "Deleted events from reconciling a relist with the log.", c.relist_deletes);
  counter("decode_failures_total", "Objects that could not be decoded (quarantined).", c.decode_failures);
  counter("append_failures_total", "Failed appends.", c.append_failures);
  counter("syncs_total", "Completed lists.", c.syncs);
  return out;
}

asio::awaitable<core::Status> run_ingest(KubeClient& client, store::EventLog& log, const core::Clock& clock,
                                         core::Logger logger, IngestOptions options) {
  Ingest ingest(client, log, clock, std::move(logger), std::move(options));
  co_return co_await ingest.run();
}

}  // namespace podid::watch
