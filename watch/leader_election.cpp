#include "watch/leader_election.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <ctime>

namespace podid::watch {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::string str_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string{};
}

std::int64_t int_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  return 0;
}

asio::awaitable<bool> cancelled() {
  const auto state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() != asio::cancellation_type::none;
}

}  // namespace

std::int64_t SteadyClock::now_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string micro_time(std::int64_t unix_ms) {
  const auto secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%06lldZ", date, static_cast<long long>((unix_ms % 1000) * 1000));
  return out;
}

LeaseRecord lease_record(const json::object& lease) {
  LeaseRecord r;
  const auto* spec = lease.if_contains("spec");
  if (spec == nullptr || !spec->is_object()) return r;
  const auto& s = spec->as_object();
  r.holder = str_of(s, "holderIdentity");
  r.duration_seconds = int_of(s, "leaseDurationSeconds");
  r.acquire_time = str_of(s, "acquireTime");
  r.renew_time = str_of(s, "renewTime");
  r.transitions = int_of(s, "leaseTransitions");
  return r;
}

void set_lease_record(json::object& lease, const LeaseRecord& r) {
  auto& spec = lease["spec"];
  if (!spec.is_object()) spec = json::object{};
  auto& s = spec.as_object();
  s["holderIdentity"] = r.holder;
  s["leaseDurationSeconds"] = r.duration_seconds;
  s["acquireTime"] = r.acquire_time;
  s["renewTime"] = r.renew_time;
  s["leaseTransitions"] = r.transitions;
}

core::Status LeaderElectionOptions::validate() const {
  using std::chrono::milliseconds;
  if (retry_period <= milliseconds(0) || identity.empty() || name.empty() || ns.empty())
    return core::make_error(core::ErrorCode::invalid,
                            "leader election: identity, lease and retry period needed");
  if (legacy_endpoints.mode != LegacyLockMode::off &&
      (legacy_endpoints.ns.empty() || legacy_endpoints.name.empty()))
    return core::make_error(core::ErrorCode::invalid,
                            "leader election: the legacy Endpoints lock needs a namespace and name");
  if (!(lease_duration > renew_deadline) || !(renew_deadline.count() * 10 > retry_period.count() * 12))
    return core::make_error(core::ErrorCode::invalid,
                            "leader election: need lease duration > renew deadline > 1.2 x retry period");
  return core::ok();
}

LeaderElector::LeaderElector(KubeClient& client, const core::Clock& wall, const core::Clock& monotonic,
                             core::Logger logger, LeaderElectionOptions options)
    : client_(client),
      wall_(wall),
      monotonic_(monotonic),
      logger_(std::move(logger)),
      options_(std::move(options)),
      rng_(std::random_device{}()) {
  if (options_.legacy_endpoints.mode != LegacyLockMode::off)
    legacy_ = std::make_unique<LegacyEndpointsLock>(client_, wall_, monotonic_, options_.legacy_endpoints,
                                                    options_.identity);
}

LeaseRecord LeaderElector::desired(std::int64_t now_wall) const {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration).count();
  return LeaseRecord{options_.identity, seconds, micro_time(now_wall), micro_time(now_wall), 0};
}

asio::awaitable<core::Result<bool>> LeaderElector::try_acquire_or_renew() {
  ++counters_.attempts;
  if (!legacy_) co_return co_await try_lease();
  auto foreign = co_await legacy_->foreign_holder();
  if (!foreign) co_return foreign.error();
  if (*foreign) {
    // The original MIC, or (in hold mode) the leader among our own replicas.
    if (legacy_holder_ != **foreign)
      logger_.info("Leading deferred: the Endpoints lock is held.",
                   {{"holder", (*foreign)->c_str()},
                    {"endpoints", (legacy_->options().ns + "/" + legacy_->options().name).c_str()}});
    legacy_holder_ = **foreign;
    ++counters_.legacy_blocked;
    if (auto observed = co_await observe_lease(); !observed) co_return observed.error();
    co_return false;
  }
  legacy_holder_.clear();
  auto got = co_await try_lease();
  if (!got || !*got) co_return got;
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration).count();
  auto held = co_await legacy_->hold(seconds);
  if (held) co_return true;
  if (held.error().code == core::ErrorCode::conflict) {
    ++counters_.conflicts;
    co_return false;  // someone wrote the Endpoints in between: read it again next step
  }
  co_return held.error();
}

asio::awaitable<core::Status> LeaderElector::observe_lease() {
  auto fetched = co_await client_.get(kinds::leases(), options_.ns, options_.name);
  if (!fetched) {
    if (fetched.error().code == core::ErrorCode::not_found) co_return core::ok();
    co_return fetched.error();
  }
  const auto record = lease_record(*fetched);
  if (!have_observed_ || record != observed_) {
    observed_ = record;
    observed_at_ = monotonic_.now_ms();
    have_observed_ = true;
  }
  cached_ = std::move(*fetched);
  co_return core::ok();
}

asio::awaitable<void> LeaderElector::release_all() {
  if (const auto released = co_await release(); !released)
    logger_.warn("Lease release failed.", {{"error", released.error().describe().c_str()}});
  if (!legacy_) co_return;
  if (const auto released = co_await legacy_->release(); !released)
    logger_.warn("Endpoints lock release failed.", {{"error", released.error().describe().c_str()}});
}

asio::awaitable<core::Result<bool>> LeaderElector::try_lease() {
  const auto& leases = kinds::leases();
  auto want = desired(wall_.now_ms());
  const auto now = monotonic_.now_ms();
  // Fast path: we hold a lease that has not expired by our clock; renew it at the RV we know.
  if (cached_ && held_by_me() && observed_at_ + observed_.duration_seconds * 1000 > now) {
    want.acquire_time = observed_.acquire_time;
    want.transitions = observed_.transitions;
    auto object = *cached_;
    set_lease_record(object, want);
    auto renewed = co_await client_.update(leases, options_.ns, std::move(object));
    if (renewed) {
      cached_ = std::move(*renewed);
      observed_ = want;
      observed_at_ = monotonic_.now_ms();
      ++counters_.renewed;
      co_return true;
    }
    logger_.debug("Lease renewal fell back to the slow path.",
                  {{"error", renewed.error().describe().c_str()}});
  }
  auto fetched = co_await client_.get(leases, options_.ns, options_.name);
  if (!fetched) {
    if (fetched.error().code != core::ErrorCode::not_found) co_return fetched.error();
    json::object lease{{"apiVersion", "coordination.k8s.io/v1"},
                       {"kind", "Lease"},
                       {"metadata", json::object{{"name", options_.name}, {"namespace", options_.ns}}}};
    set_lease_record(lease, want);
    auto created = co_await client_.create(leases, options_.ns, std::move(lease));
    if (!created) {
      if (created.error().code == core::ErrorCode::conflict) {
        ++counters_.conflicts;
        co_return false;
      }
      co_return created.error();
    }
    cached_ = std::move(*created);
    observed_ = want;
    observed_at_ = monotonic_.now_ms();
    have_observed_ = true;
    co_return true;
  }
  const auto record = lease_record(*fetched);
  if (!have_observed_ || record != observed_) {
    observed_ = record;
    observed_at_ = now;
    have_observed_ = true;
  }
  cached_ = *fetched;
  if (!record.holder.empty() && record.holder != options_.identity &&
      observed_at_ + record.duration_seconds * 1000 > now)
    co_return false;  // someone else holds a live lease
  if (record.holder == options_.identity) {
    want.acquire_time = record.acquire_time;
    want.transitions = record.transitions;
  } else {
    want.transitions = record.transitions + 1;
  }
  auto object = std::move(*fetched);
  set_lease_record(object, want);
  auto written = co_await client_.update(leases, options_.ns, std::move(object));
  if (!written) {
    if (written.error().code == core::ErrorCode::conflict) {
      ++counters_.conflicts;
      co_return false;
    }
    co_return written.error();
  }
  cached_ = std::move(*written);
  observed_ = want;
  observed_at_ = monotonic_.now_ms();
  co_return true;
}

asio::awaitable<core::Status> LeaderElector::release() {
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto fetched = co_await client_.get(kinds::leases(), options_.ns, options_.name);
    if (!fetched) {
      if (fetched.error().code == core::ErrorCode::not_found) co_return core::ok();
      co_return fetched.error();
    }
    auto record = lease_record(*fetched);
    if (record.holder != options_.identity) co_return core::ok();
    const auto now = micro_time(wall_.now_ms());
    record = LeaseRecord{"", 1, now, now, record.transitions};
    set_lease_record(*fetched, record);
    auto written = co_await client_.update(kinds::leases(), options_.ns, std::move(*fetched));
    if (written) {
      cached_ = std::move(*written);
      observed_ = record;
      observed_at_ = monotonic_.now_ms();
      co_return core::ok();
    }
    if (written.error().code != core::ErrorCode::conflict) co_return written.error();
  }
  co_return core::make_error(core::ErrorCode::conflict, "lease release kept conflicting");
}

std::chrono::milliseconds LeaderElector::jittered() {
  std::uniform_real_distribution<double> factor(1.0, 1.2);
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(options_.retry_period.count()) * factor(rng_)));
}

asio::awaitable<bool> LeaderElector::pause(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  const auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  const bool stop = co_await cancelled();
  co_return !ec && !stop;
}

asio::awaitable<core::Status> LeaderElector::run(std::function<void(bool)> on_change) {
  co_await asio::this_coro::throw_if_cancelled(false);
  PODID_CO_TRY(options_.validate());
  for (;;) {
    auto got = co_await try_acquire_or_renew();
    const bool stop = co_await cancelled();
    if (stop) co_return core::make_error(core::ErrorCode::cancelled, "leader election stopped");
    if (got && *got) break;
    if (!got) logger_.warn("Lease acquisition failed.", {{"error", got.error().describe().c_str()}});
    const bool go_on = co_await pause(jittered());
    if (!go_on) co_return core::make_error(core::ErrorCode::cancelled, "leader election stopped");
  }
  leading_ = true;
  ++counters_.acquired;
  logger_.info("Leadership acquired.",
               {{"identity", options_.identity.c_str()}, {"lease", options_.name.c_str()}});
  if (on_change) on_change(true);
  auto last_renew = monotonic_.now_ms();
  for (;;) {
    const bool go_on = co_await pause(options_.retry_period);
    if (!go_on) break;
    auto renewed = co_await try_acquire_or_renew();
    const bool stop = co_await cancelled();
    if (stop) break;
    const auto now = monotonic_.now_ms();
    if (renewed && *renewed) {
      last_renew = now;
      continue;
    }
    if (!renewed) logger_.warn("Lease renewal failed.", {{"error", renewed.error().describe().c_str()}});
    if (!legacy_holder_.empty()) {
      // The original MIC leads (honour mode, or our record expired on its clock): stop writing now.
      leading_ = false;
      ++counters_.lost;
      logger_.error("Leadership yielded to the original MIC.", {{"holder", legacy_holder_.c_str()}});
      if (on_change) on_change(false);
      co_await release_all();
      co_return core::make_error(
          core::ErrorCode::transient,
          "leadership yielded: the original MIC's Endpoints lock is held by " + legacy_holder_);
    }
    if (now - last_renew > options_.renew_deadline.count()) {
      leading_ = false;
      ++counters_.lost;
      logger_.error("Leadership lost.", {{"identity", options_.identity.c_str()}});
      if (on_change) on_change(false);
      co_return core::make_error(core::ErrorCode::transient, "leadership lost: lease not renewed in time");
    }
  }
  // Cancelled while leading: stop leading first, then give the lease up for a fast hand-over.
  leading_ = false;
  if (on_change) on_change(false);
  if (options_.release_on_cancel) {
    co_await asio::this_coro::reset_cancellation_state();
    co_await release_all();
  }
  co_return core::make_error(core::ErrorCode::cancelled, "leader election stopped");
}

}  // namespace podid::watch
