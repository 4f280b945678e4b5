#pragma once
// ImdsTokenSource: type 0 (user-assigned managed identity). Asks the node's IMDS for a token with the
// identity's client ID (never the request's): GET <imds>/metadata/identity/oauth2/token
// ?api-version=2018-02-01&client_id=<id>&resource=<r> with `Metadata: true`, within a deadline. An
// identity without a client ID but with a principal ID is asked for by `object_id=` instead (managed
// mode's object_id lookups, object_id_claims.hpp).
// Lifetime: the client and clock outlive it. Thread-safety: the client's executor only.

#include <chrono>
#include <string>

#include "core/clock.hpp"
#include "core/http/http_client.hpp"
#include "nodeproxy/token_source.hpp"

namespace podid::nodeproxy {

class ImdsTokenSource final : public TokenSource {
 public:
  // imds_url: "http://169.254.169.254" (or wherever the node's IMDS is), without a trailing slash.
  ImdsTokenSource(http::HttpClient& client, std::string imds_url, const core::Clock& clock,
                  std::chrono::milliseconds timeout)
      : client_(client), imds_url_(std::move(imds_url)), clock_(clock), timeout_(timeout) {}

  [[nodiscard]] boost::asio::awaitable<core::Result<Token>> fetch(TokenRequest request) override;

 private:
  http::HttpClient& client_;
  std::string imds_url_;
  const core::Clock& clock_;
  std::chrono::milliseconds timeout_;
};

}  // namespace podid::nodeproxy
