#pragma once
// make_token_source: the TokenSource a CloudConfig asks for, as the original chose it: managed identity
// through IMDS when useManagedIdentityExtension is set (userAssignedIdentityID selects a user-assigned one
// by client ID), else the service principal with its secret, else with its certificate. The audience is the
// cloud's token audience. `certificate_data` is the content of aadClientCertPath (the caller reads files).

#include <memory>
#include <string_view>

#include "arm/aad_token_source.hpp"
#include "arm/cloud_config.hpp"

namespace podid::arm {

struct TokenSourceOptions {
  bool aad_v2{false};
  RefreshPolicy refresh;
};

[[nodiscard]] core::Result<std::unique_ptr<TokenSource>> make_token_source(http::HttpClient& http,
                                                                           const core::Clock& clock,
                                                                           const CloudConfig& config,
                                                                           std::string_view certificate_data,
                                                                           TokenSourceOptions options = {});

}  // namespace podid::arm
