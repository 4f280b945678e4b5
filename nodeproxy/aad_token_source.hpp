#pragma once
// AadTokenSource: type 1 (service principal with a client secret). Reads the secret from the identity's
// Secret under kClientSecretKey ("clientSecret"; a clear `invalid` error names the Secret and the key when
// it is missing), then POSTs AAD v1 client credentials to <authority>/<tenant>/oauth2/token with the
// identity's client ID and the requested resource. The authority is configurable (sovereign clouds,
// the emulator). Lifetime: client, reader and clock outlive it. Thread-safety: the client's executor only.

#include <chrono>
#include <string>

#include "core/clock.hpp"
#include "core/http/http_client.hpp"
#include "nodeproxy/secret_reader.hpp"
#include "nodeproxy/token_source.hpp"

namespace podid::nodeproxy {

class AadTokenSource final : public TokenSource {
 public:
  // authority: "https://login.microsoftonline.com" (no trailing slash needed).
  AadTokenSource(http::HttpClient& client, SecretReader& secrets, std::string authority,
                 const core::Clock& clock, std::chrono::milliseconds timeout);

  [[nodiscard]] boost::asio::awaitable<core::Result<Token>> fetch(TokenRequest request) override;

 private:
  http::HttpClient& client_;
  SecretReader& secrets_;
  std::string authority_;
  const core::Clock& clock_;
  std::chrono::milliseconds timeout_;
};

}  // namespace podid::nodeproxy
