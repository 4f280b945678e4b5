#include "tests/emulator/imds_service.hpp"

#include <boost/json/array.hpp>

#include "tests/emulator/arm_json.hpp"

namespace podid::emulator {

namespace {

HttpResponse imds_error(unsigned status, const std::string& error, const std::string& description) {
  return json_response(status, boost::json::object{{"error", error}, {"error_description", description}});
}

struct Chosen {
  std::string principal_id;
  std::string client_id;
  std::string resource_id;
};

// The identity a token request selects among those IMDS serves now; `ambiguity` is set when several match.
std::optional<Chosen> choose(const Machine& machine, const std::optional<std::string>& client_id,
                             const std::optional<std::string>& object_id,
                             const std::optional<std::string>& res_id, std::string& ambiguity) {
  std::optional<Chosen> chosen;
  for (const auto& [key, a] : machine.effective_user) {
    const bool match = (client_id && iequals(a.client_id, *client_id)) ||
                       (object_id && iequals(a.principal_id, *object_id)) ||
                       (res_id && iequals(key, *res_id));
    if (match) chosen = Chosen{a.principal_id, a.client_id, a.resource_id};
  }
  if (client_id || object_id || res_id) return chosen;
  if (machine.effective_system) {
    return Chosen{machine.effective_system->principal_id, machine.effective_system->client_id, machine.id};
  }
  if (machine.effective_user.size() == 1) {
    const auto& a = machine.effective_user.begin()->second;
    return Chosen{a.principal_id, a.client_id, a.resource_id};
  }
  if (machine.effective_user.size() > 1) {
    ambiguity =
        "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity "
        "in the token request";
  }
  return std::nullopt;
}

}  // namespace

ImdsService::ImdsService(Cloud& cloud, std::string machine_id, std::optional<int> instance)
    : cloud_(cloud),
      machine_id_(std::move(machine_id)),
      instance_(instance),
      prefix_("imds." + to_lower(machine_id_) + (instance ? "/" + std::to_string(*instance) : "")),
      rate_(cloud.config.imds_rate),
      in_flight_(std::make_shared<std::atomic<int>>(0)) {}

HttpResponse ImdsService::handle(const HttpRequest& request) {
  cloud_.counters.add("imds.requests");
  const int in_flight = in_flight_->fetch_add(1) + 1;
  std::shared_ptr<void> lease(nullptr, [counter = in_flight_](void*) { counter->fetch_sub(1); });
  HttpResponse r;
  if (in_flight > cloud_.config.imds_max_concurrent) {
    cloud_.counters.add("imds.throttled");
    r = imds_error(429, "too_many_requests", "Too many concurrent requests. Please retry later.");
    r.set_header("Retry-After", "1");
  } else {
    r = admitted(request);
  }
  r.lease = std::move(lease);
  return r;
}

HttpResponse ImdsService::admitted(const HttpRequest& request) {
  const bool token_path = request.path == "/metadata/identity/oauth2/token";
  const bool instance_path =
      request.path == "/metadata/instance" || request.path == "/metadata/instance/compute";
  if (!token_path && !instance_path) return imds_error(404, "not_found", "The requested path is not found.");
  if (request.method != "GET") return imds_error(405, "method_not_allowed", "Only GET is supported.");
  if (!iequals(request.header("Metadata"), "true")) {
    return imds_error(400, "invalid_request", "Required metadata header not specified");
  }
  if (!request.query_param("api-version")) {
    return imds_error(400, "invalid_request", "Required query variable 'api-version' is missing");
  }
  {
    const std::lock_guard lock(mutex_);
    const auto take = rate_.take(std::chrono::steady_clock::now());
    if (!take.allowed) {
      cloud_.counters.add("imds.throttled");
      HttpResponse r = imds_error(429, "too_many_requests", "Too many requests. Please retry later.");
      r.set_header("Retry-After", std::to_string(take.retry_after.count()));
      return r;
    }
  }
  const auto machine = cloud_.resources.find_machine(machine_id_);
  if (!machine) return imds_error(404, "not_found", "The virtual machine of this IMDS no longer exists.");
  return token_path ? token(request, *machine) : instance_metadata(*machine);
}

HttpResponse ImdsService::token(const HttpRequest& request, const Machine& machine) {
  cloud_.counters.add("imds.token");
  cloud_.counters.add(prefix_ + ".token");
  if (auto fault = cloud_.faults.next("imds.token")) {
    cloud_.counters.add("imds.faults");
    HttpResponse r;
    r.hang = fault->hang;
    if (!fault->hang) r = imds_error(fault->status, "server_error", "Injected fault.");
    return r;
  }
  const std::string resource = request.query_param("resource").value_or("");
  if (resource.empty())
    return imds_error(400, "invalid_request", "Required audience parameter not specified");
  const auto client_id = request.query_param("client_id");
  const auto object_id = request.query_param("object_id");
  auto res_id = request.query_param("msi_res_id");
  if (!res_id) res_id = request.query_param("mi_res_id");
  if (int(client_id.has_value()) + int(object_id.has_value()) + int(res_id.has_value()) > 1) {
    return imds_error(400, "invalid_request",
                      "Only one of client_id, object_id or msi_res_id may be specified");
  }
  const auto not_found = [] { return imds_error(400, "invalid_request", "Identity not found"); };
  std::string ambiguity;
  const auto chosen = choose(machine, client_id, object_id, res_id, ambiguity);
  if (!ambiguity.empty()) return imds_error(400, "invalid_request", ambiguity);
  if (!chosen) return not_found();
  if (chosen->resource_id != machine.id) {
    // The attachment names an identity that was deleted or re-created since: Azure has no token for it.
    const auto mi = cloud_.resources.find_identity(chosen->resource_id);
    if (!mi || mi->principal_id != chosen->principal_id) return not_found();
  }
  const auto lifetime = cloud_.config.managed_identity_token_lifetime;
  TokenRequest tr{
      TokenSubject{machine.tenant_id, chosen->principal_id, chosen->client_id, chosen->resource_id}, resource,
      false, lifetime, cloud_.aad_url};
  const auto issued = cloud_.directory.issue(tr);
  if (!issued) return imds_error(500, "server_error", issued.error().message);
  cloud_.counters.add("imds.token.issued");
  return json_response(200, boost::json::object{{"access_token", issued->access_token},
                                                {"refresh_token", ""},
                                                {"client_id", chosen->client_id},
                                                {"expires_in", std::to_string(lifetime.count())},
                                                {"expires_on", std::to_string(issued->expires_on)},
                                                {"ext_expires_in", std::to_string(lifetime.count())},
                                                {"not_before", std::to_string(issued->issued_at)},
                                                {"resource", resource},
                                                {"token_type", "Bearer"}});
}

HttpResponse ImdsService::instance_metadata(const Machine& machine) const {
  const bool vmss = machine.kind == MachineKind::vmss;
  const int index = instance_.value_or(0);
  boost::json::object compute{
      {"azEnvironment", "AzurePublicCloud"},
      {"location", machine.location},
      {"name", vmss ? instance_name(machine, index) : machine.name},
      {"resourceGroupName", machine.resource_group},
      {"subscriptionId", machine.subscription_id},
      {"vmId", vmss ? machine.vm_id + "-" + std::to_string(index) : machine.vm_id},
      {"vmScaleSetName", vmss ? machine.name : ""},
      {"resourceId", vmss ? machine.id + "/virtualMachines/" + std::to_string(index) : machine.id},
      {"osType", "Linux"},
      {"vmSize", "Standard_D2s_v3"},
      {"provider", "Microsoft.Compute"},
      {"tagsList", boost::json::array{}}};
  return json_response(
      200, boost::json::object{{"compute", compute},
                               {"network", boost::json::object{{"interface", boost::json::array{}}}}});
}

}  // namespace podid::emulator
