#include "nodeproxy/token_cache.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <set>

namespace podid::nodeproxy {
namespace asio = boost::asio;

// One upstream call in flight; waiters sleep on the timer until the caller cancels it.
struct TokenCache::Flight {
  explicit Flight(const asio::any_io_executor& ex) : done(ex, asio::steady_timer::time_point::max()) {}
  asio::steady_timer done;
  std::optional<core::Result<Token>> result;
};

TokenCache::TokenCache(TokenSource& upstream, const core::Clock& clock, TokenCacheOptions options)
    : upstream_(upstream), clock_(clock), options_(options) {}

TokenCache::~TokenCache() = default;

namespace {

std::string identity_part(const SnapshotIdentity& id) {
  std::string out = id.key.to_string() + "|" + std::to_string(id.raw_type) + "|" +
                    core::to_lower(id.client_id) + "|" + core::to_lower(id.tenant_id);
  // The auxiliary tenants shape the answer (one token or an array), so a change is a different grant.
  for (const auto& tenant : id.auxiliary_tenant_ids) out += "|" + core::to_lower(tenant);
  return out;
}

}  // namespace

std::string TokenCache::key_of(const TokenRequest& request) {
  return identity_part(request.identity) + "|" + request.resource;
}

asio::awaitable<core::Result<Token>> TokenCache::fetch(TokenRequest request) {
  if (options_.max_entries == 0) {
    // Cache off (--token-cache-size=0, the original's design): every request is its own upstream call,
    // nothing kept and nothing merged; counted as a miss so the metrics still add up.
    ++counters_.misses;
    auto direct = co_await upstream_.fetch(std::move(request));
    if (!direct) ++counters_.errors;
    co_return direct;
  }
  const std::string key = key_of(request);
  const std::int64_t now_s = clock_.now_ms() / 1000;
  if (const auto it = entries_.find(key); it != entries_.end()) {
    if (now_s + options_.refresh_margin.count() < earliest_expiry(it->second.token)) {
      ++counters_.hits;
      co_return it->second.token;
    }
    entries_.erase(it);
  }
  if (const auto it = flights_.find(key); it != flights_.end()) {
    ++counters_.merged;
    auto flight = it->second;  // keeps it alive while we wait
    if (!flight->result) {
      auto [ec] = co_await flight->done.async_wait(asio::as_tuple(asio::use_awaitable));
      (void)ec;  // cancelled by the caller when the result is in
    }
    if (flight->result) co_return *flight->result;
    co_return core::make_error(core::ErrorCode::cancelled, "Token request was cancelled");
  }
  ++counters_.misses;
  auto flight = std::make_shared<Flight>(co_await asio::this_coro::executor);
  flights_[key] = flight;
  std::string identity = identity_part(request.identity);
  auto result = co_await upstream_.fetch(std::move(request));
  flights_.erase(key);
  if (result) {
    if (entries_.size() >= options_.max_entries && !entries_.empty()) {
      const auto soonest =
          std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
            return earliest_expiry(a.second.token) < earliest_expiry(b.second.token);
          });
      entries_.erase(soonest);
      ++counters_.evicted;
    }
    entries_.insert_or_assign(key, Entry{std::move(identity), *result});
  } else {
    ++counters_.errors;
  }
  flight->result = result;
  flight->done.cancel();
  co_return result;
}

void TokenCache::retain(const NodeSnapshot& snapshot) {
  std::set<std::string> wanted;
  for (const auto& pod : snapshot.pods)
    for (const auto& id : pod.identities) wanted.insert(identity_part(id));
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (wanted.contains(it->second.identity)) {
      ++it;
    } else {
      it = entries_.erase(it);
      ++counters_.evicted;
    }
  }
}

}  // namespace podid::nodeproxy
