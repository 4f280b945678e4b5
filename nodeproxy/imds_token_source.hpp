#pragma once
// ImdsTokenSource: type 0 (user-assigned managed identity). Asks the node's IMDS for a token with the
// identity's client ID (never the request's): GET <imds>/metadata/identity/oauth2/token
// ?api-version=2018-02-01&client_id=<id>&resource=<r> with `Metadata: true`, within a deadline. An
// identity without a client ID but with a principal ID is asked for by `object_id=` instead (managed
// mode's object_id lookups, object_id_claims.hpp).
// IMDS allows 5 requests at once per node and answers 429 beyond (and beyond 20/s): at most
// `max_in_flight` calls (default 4) are sent at once, the others wait for a slot, and a 429 is retried after
// its Retry-After (1 s when absent) if that fits in the deadline, so a burst of pods does not see IMDS's
// 429s. The deadline (`timeout`) covers the wait for a slot, every attempt and the pauses between them.
// Lifetime: the client and clock outlive it. Thread-safety: the client's executor only (one thread).

#include <chrono>
#include <cstddef>
#include <string>

#include "arm/async_semaphore.hpp"
#include "core/clock.hpp"
#include "core/http/http_client.hpp"
#include "nodeproxy/token_source.hpp"

namespace podid::nodeproxy {

class ImdsTokenSource final : public TokenSource {
 public:
  // imds_url: "http://169.254.169.254" (or wherever the node's IMDS is), without a trailing slash.
  ImdsTokenSource(http::HttpClient& client, std::string imds_url, const core::Clock& clock,
                  std::chrono::milliseconds timeout, std::size_t max_in_flight = 4)
      : client_(client),
        imds_url_(std::move(imds_url)),
        clock_(clock),
        timeout_(timeout),
        slots_(max_in_flight == 0 ? 1 : max_in_flight) {}

  [[nodiscard]] boost::asio::awaitable<core::Result<Token>> fetch(TokenRequest request) override;

 private:
  using Deadline = std::chrono::steady_clock::time_point;
  [[nodiscard]] boost::asio::awaitable<core::Result<Token>> attempt(const TokenRequest& request,
                                                                    Deadline deadline);

  http::HttpClient& client_;
  std::string imds_url_;
  const core::Clock& clock_;
  std::chrono::milliseconds timeout_;
  arm::AsyncSemaphore slots_;  // IMDS calls in flight; callers beyond wait first come, first served
};

}  // namespace podid::nodeproxy
