#pragma once
// The ARM endpoint: authentication (bearer tokens of the emulator's AAD, audience checked), api-version,
// per-subscription throttling, fault injection, then the resource routes (arm_routes.cpp).

#include <optional>
#include <string>
#include <vector>

#include "tests/emulator/cloud.hpp"
#include "tests/emulator/http_message.hpp"

namespace podid::emulator {

// What a path names: kind is identity, vm, vmss, instance, operation, resourcegroup or unknown.
struct ArmRoute {
  std::string kind{"unknown"};
  bool list{false};
  std::string resource_group;
  std::string name;
  std::string instance;
  std::string operation_id;
  bool operation_result{false};  // Location (operationResults) rather than Azure-AsyncOperation
  [[nodiscard]] std::string operation(const std::string& method) const;  // counter and fault name
};

[[nodiscard]] std::vector<std::string> split_path(std::string_view path);
[[nodiscard]] ArmRoute classify_arm_path(const std::vector<std::string>& segments);

struct ArmCall {
  const HttpRequest& request;
  const ArmRoute& route;
  std::string subscription;
  std::string api_version;
  AccessClaims caller;
};

// Dispatches an authenticated, admitted call to its resource handler.
[[nodiscard]] HttpResponse route_arm(Cloud& cloud, const ArmCall& call);

class ArmService {
 public:
  explicit ArmService(Cloud& cloud) : cloud_(cloud) {}
  [[nodiscard]] HttpResponse handle(const HttpRequest& request);

 private:
  // A refusal (401) or nothing, with the token's claims in `claims`.
  [[nodiscard]] std::optional<HttpResponse> authenticate(const HttpRequest& request,
                                                         const std::string& tenant_hint,
                                                         AccessClaims& claims) const;
  [[nodiscard]] HttpResponse unauthorized(const std::string& code, const std::string& message,
                                          const std::string& tenant) const;
  Cloud& cloud_;
};

}  // namespace podid::emulator
