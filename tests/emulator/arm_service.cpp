#include "tests/emulator/arm_service.hpp"

#include "tests/emulator/arm_json.hpp"

namespace podid::emulator {

TokenBucket::Take SubscriptionThrottle::take(const std::string& subscription, bool write) {
  const std::lock_guard lock(mutex_);
  const std::string key = to_lower(subscription) + (write ? "/w" : "/r");
  auto it = buckets_.find(key);
  if (it == buckets_.end()) it = buckets_.emplace(key, TokenBucket(write ? writes_ : reads_)).first;
  return it->second.take(std::chrono::steady_clock::now());
}

void SubscriptionThrottle::set_budgets(Budget reads, Budget writes) {
  const std::lock_guard lock(mutex_);
  reads_ = reads;
  writes_ = writes;
  buckets_.clear();
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    if (slash != 0) out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::string ArmRoute::operation(const std::string& method) const {
  std::string verb = list ? "list" : to_lower(method);
  return "arm." + kind + "." + verb;
}

ArmRoute classify_arm_path(const std::vector<std::string>& s) {
  ArmRoute r;
  const std::size_t n = s.size();
  if (n < 2 || !iequals(s[0], "subscriptions")) return r;
  if (n == 8 && iequals(s[2], "providers") && iequals(s[3], "Microsoft.Compute") &&
      iequals(s[4], "locations") && (iequals(s[6], "operations") || iequals(s[6], "operationResults"))) {
    r.kind = "operation";
    r.operation_id = s[7];
    r.operation_result = iequals(s[6], "operationResults");
    return r;
  }
  if (n < 4 || !iequals(s[2], "resourceGroups")) return r;
  r.resource_group = s[3];
  if (n == 4) {
    r.kind = "resourcegroup";
    return r;
  }
  if (n < 7 || !iequals(s[4], "providers")) return r;
  const bool msi = iequals(s[5], "Microsoft.ManagedIdentity") && iequals(s[6], "userAssignedIdentities");
  const bool vm = iequals(s[5], "Microsoft.Compute") && iequals(s[6], "virtualMachines");
  const bool vmss = iequals(s[5], "Microsoft.Compute") && iequals(s[6], "virtualMachineScaleSets");
  if (!msi && !vm && !vmss) return r;
  const std::string kind = msi ? "identity" : (vm ? "vm" : "vmss");
  if (n == 7 || n == 8) {
    r.kind = kind;
    r.list = n == 7;
    if (n == 8) r.name = s[7];
    return r;
  }
  if (vmss && (n == 9 || n == 10) && iequals(s[8], "virtualMachines")) {
    r.kind = "instance";
    r.name = s[7];
    r.list = n == 9;
    if (n == 10) r.instance = s[9];
  }
  return r;
}

namespace {

bool api_version_valid(const std::string& v) {
  // yyyy-mm-dd with an optional -preview suffix.
  if (v.size() < 10) return false;
  for (std::size_t i = 0; i < 10; ++i) {
    const bool dash = i == 4 || i == 7;
    if (dash != (v[i] == '-')) return false;
    if (!dash && (v[i] < '0' || v[i] > '9')) return false;
  }
  return v.size() == 10 || v.substr(10) == "-preview";
}

HttpResponse fault_response(const Fault& fault) {
  HttpResponse r;
  if (fault.hang) {
    r.hang = true;
    return r;
  }
  std::string code = "InternalServerError";
  std::string message = "Encountered internal server error. Diagnostic information: injected fault.";
  if (fault.status == 429) {
    code = "SubscriptionRequestsThrottled";
    message = "Number of requests for subscription exceeded the limit (injected fault).";
  } else if (fault.status == 409) {
    code = "Conflict";
    message = "The request failed due to conflict with a concurrent request.";
  } else if (fault.status < 500) {
    code = "InjectedFault";
    message = "Injected fault.";
  }
  r = arm_error(ApiError{fault.status, code, message});
  if (fault.status == 429 || fault.status == 503)
    r.set_header("Retry-After", std::to_string(fault.retry_after.count()));
  return r;
}

}  // namespace

HttpResponse ArmService::unauthorized(const std::string& code, const std::string& message,
                                      const std::string& tenant) const {
  HttpResponse r = arm_error(ApiError{401, code, message});
  r.set_header("WWW-Authenticate", "Bearer authorization_uri=\"" + cloud_.aad_url + "/" + tenant +
                                       "\", error=\"invalid_token\", error_description=\"" + message + "\"");
  return r;
}

std::optional<HttpResponse> ArmService::authenticate(const HttpRequest& request,
                                                     const std::string& tenant_hint,
                                                     AccessClaims& claims) const {
  const std::string auth = request.header("Authorization");
  if (auth.empty()) {
    return unauthorized("AuthenticationFailed",
                        "Authentication failed. The 'Authorization' header is missing.", tenant_hint);
  }
  if (auth.size() < 8 || !iequals(auth.substr(0, 7), "Bearer ")) {
    return unauthorized("AuthenticationFailedInvalidHeader",
                        "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                        tenant_hint);
  }
  auto verified = cloud_.directory.verify_access_token(auth.substr(7));
  if (!verified)
    return unauthorized("InvalidAuthenticationToken", "The access token is invalid.", tenant_hint);
  claims = *verified;
  bool audience_ok = claims.audience == cloud_.arm_url || claims.audience == cloud_.arm_url + "/";
  for (const std::string& aud : cloud_.config.arm_audiences)
    audience_ok = audience_ok || claims.audience == aud;
  if (!audience_ok) {
    return unauthorized("InvalidAuthenticationToken",
                        "The access token has been obtained for wrong audience or resource '" +
                            claims.audience + "'. It should exactly match with one of the allowed audiences.",
                        tenant_hint);
  }
  return std::nullopt;
}

namespace {

std::optional<HttpResponse> check_api_version(const HttpRequest& request, const ArmRoute& route) {
  const auto v = request.query_param("api-version");
  if (!v || v->empty()) {
    return arm_error(
        ApiError{400, "MissingApiVersionParameter",
                 "The api-version query parameter (?api-version=) is required for all requests."});
  }
  if (!api_version_valid(*v)) {
    return arm_error(ApiError{400, "InvalidApiVersionParameter",
                              "The api-version '" + *v +
                                  "' is invalid. The supported versions are '2018-06-01' and "
                                  "later."});
  }
  if ((route.kind == "vm" || route.kind == "vmss" || route.kind == "instance") && *v < "2018-06-01") {
    return arm_error(
        ApiError{400, "NoRegisteredProviderFound",
                 "No registered resource provider found for location and API version '" + *v +
                     "' for type 'virtualMachines'. The supported api-versions are '2018-06-01' and "
                     "later."});
  }
  return std::nullopt;
}

HttpResponse throttled(const std::string& sub, const std::string& actor, bool write,
                       std::chrono::seconds after) {
  HttpResponse r = arm_error(ApiError{
      429, "SubscriptionRequestsThrottled",
      "Number of '" + std::string(write ? "write" : "read") + "' requests for subscription '" + sub +
          "' actor '" + actor + "' exceeded. Please try again after '" + std::to_string(after.count()) +
          "' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for "
          "additional "
          "information."});
  r.set_header("Retry-After", std::to_string(after.count()));
  return r;
}

HttpResponse path_not_found(const HttpRequest& request) {
  return arm_error(
      ApiError{404, "NotFound", "The requested resource path '" + request.path + "' is not found."});
}

}  // namespace

// The pipeline: authenticate, find the subscription, check api-version, admit (throttle), inject, route.
HttpResponse ArmService::handle(const HttpRequest& request) {
  cloud_.counters.add("arm.requests");
  const std::vector<std::string> segments = split_path(request.path);
  const std::string sub = segments.size() >= 2 ? segments[1] : std::string();
  const auto tenant = cloud_.resources.subscription_tenant(sub);
  AccessClaims claims;
  if (auto refusal = authenticate(request, tenant.value_or("common"), claims)) return *refusal;
  if (segments.size() < 2 || !iequals(segments[0], "subscriptions")) return path_not_found(request);
  if (!tenant) {
    return arm_error(
        ApiError{404, "SubscriptionNotFound", "The subscription '" + sub + "' could not be found."});
  }
  if (!iequals(*tenant, claims.tenant_id)) {
    return unauthorized("InvalidAuthenticationTokenTenant",
                        "The access token is from the wrong issuer. It must match the tenant associated with "
                        "this subscription.",
                        *tenant);
  }
  const ArmRoute route = classify_arm_path(segments);
  if (auto refusal = check_api_version(request, route)) return *refusal;
  if (route.kind == "unknown") return path_not_found(request);

  const bool write = request.method != "GET" && request.method != "HEAD";
  const std::string remaining_header =
      std::string("x-ms-ratelimit-remaining-subscription-") +
      (request.method == "DELETE" ? "deletes" : (write ? "writes" : "reads"));
  const auto take = cloud_.throttle.take(sub, write);
  if (!take.allowed) {
    cloud_.counters.add("arm.throttled");
    HttpResponse r = throttled(sub, claims.object_id, write, take.retry_after);
    r.set_header(remaining_header, "0");
    return r;
  }
  const std::string operation = route.operation(request.method);
  cloud_.counters.add(operation);
  cloud_.counters.add(write ? "arm.writes" : "arm.reads");
  HttpResponse response;
  if (auto fault = cloud_.faults.next(operation)) {
    cloud_.counters.add("arm.faults");
    response = fault_response(*fault);
  } else {
    response = route_arm(cloud_, ArmCall{request, route, sub, *request.query_param("api-version"), claims});
  }
  response.set_header(remaining_header, std::to_string(take.remaining));
  response.set_header("x-ms-request-id", new_guid());
  response.set_header("x-ms-correlation-request-id", new_guid());
  const std::string client_request_id = request.header("x-ms-client-request-id");
  if (!client_request_id.empty()) response.set_header("x-ms-client-request-id", client_request_id);
  return response;
}

}  // namespace podid::emulator
