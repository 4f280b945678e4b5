#pragma once
// TypedTokenSource: sends each request to the source for its identity's type (0: managed identity through
// the node's IMDS; 1 and 2: service principal with a secret or a certificate, through AAD). Unknown types
// are `invalid` errors. Lifetime: the sources outlive it.

#include "nodeproxy/token_source.hpp"

namespace podid::nodeproxy {

class TypedTokenSource final : public TokenSource {
 public:
  TypedTokenSource(TokenSource& managed_identity, TokenSource& service_principal)
      : msi_(managed_identity), sp_(service_principal) {}

  [[nodiscard]] boost::asio::awaitable<core::Result<Token>> fetch(TokenRequest request) override {
    switch (request.identity.type) {
      case core::IdentityType::user_assigned_msi:
        co_return co_await msi_.fetch(std::move(request));
      case core::IdentityType::service_principal:
      case core::IdentityType::service_principal_certificate:
        co_return co_await sp_.fetch(std::move(request));
      default:
        co_return core::make_error(core::ErrorCode::invalid, "Identity " + request.identity.key.to_string() +
                                                                 " has type " +
                                                                 std::to_string(request.identity.raw_type) +
                                                                 ", which this node proxy does not serve");
    }
  }

 private:
  TokenSource& msi_;
  TokenSource& sp_;
};

}  // namespace podid::nodeproxy
