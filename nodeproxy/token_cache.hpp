#pragma once
// TokenCache: a TokenSource in front of another, keyed by (identity, resource). A token is served while
// it (and each of its auxiliary tokens) has more than `refresh_margin` left (default 5 minutes), so it is
// refreshed well before it expires; concurrent misses for one key wait for the one upstream call in flight;
// at most `max_entries` tokens (the one expiring first is evicted; 0: no cache at all, every request goes
// upstream unmerged); retain() drops tokens of identities no
// pod of the node may use any more. Errors are not cached. The pipeline authorises every request before it
// asks the cache, so a cached token is only ever handed to a pod that may use that identity now.
// Thread-safety: one single-threaded executor. Tokens are held in core::Secret and never logged.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "nodeproxy/node_snapshot.hpp"
#include "nodeproxy/token_source.hpp"

namespace podid::nodeproxy {

struct TokenCacheOptions {
  std::chrono::seconds refresh_margin{300};
  std::size_t max_entries{4096};
};

struct TokenCacheCounters {
  std::uint64_t hits{0};
  std::uint64_t misses{0};   // requests that started an upstream call
  std::uint64_t merged{0};   // requests that waited for a call another request started
  std::uint64_t errors{0};   // upstream calls that failed
  std::uint64_t evicted{0};  // by size or by retain()
};

class TokenCache final : public TokenSource {
 public:
  TokenCache(TokenSource& upstream, const core::Clock& clock, TokenCacheOptions options = {});
  ~TokenCache() override;

  [[nodiscard]] boost::asio::awaitable<core::Result<Token>> fetch(TokenRequest request) override;

  // Drops tokens whose identity (key, client ID, type) no pod of the snapshot lists.
  void retain(const NodeSnapshot& snapshot);
  [[nodiscard]] std::size_t size() const { return entries_.size(); }
  [[nodiscard]] const TokenCacheCounters& counters() const { return counters_; }

  // The cache key: identity key, type, client ID, tenant, auxiliary tenants and resource. The Secret's
  // content is not part of it (types 1 and 2 alike): the Secret is read only on a miss.
  [[nodiscard]] static std::string key_of(const TokenRequest& request);

 private:
  struct Flight;
  struct Entry {
    std::string identity;  // the identity part of the key, for retain()
    Token token;
  };
  TokenSource& upstream_;
  const core::Clock& clock_;
  TokenCacheOptions options_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::shared_ptr<Flight>> flights_;
  TokenCacheCounters counters_;
};

}  // namespace podid::nodeproxy
