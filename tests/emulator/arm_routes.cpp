// route_arm: the resource handlers of the ARM endpoint (identities, VMs, scale sets, instances, operations).
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include "tests/emulator/arm_json.hpp"
#include "tests/emulator/arm_service.hpp"

namespace podid::emulator {

namespace {

ApiResult<boost::json::object> parse_body(const HttpRequest& request) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(request.body, ec);
  if (ec || !v.is_object()) {
    return ApiError{400, "InvalidRequestContent",
                    "The request content was invalid and could not be deserialized: " +
                        (ec ? ec.message() : std::string("the body is not a JSON object")) + "."};
  }
  return std::move(v.as_object());
}

HttpResponse method_not_allowed(const std::string& method) {
  return arm_error(
      ApiError{405, "MethodNotAllowed", "The requested method '" + method + "' is not allowed."});
}

HttpResponse list_of(boost::json::array items) {
  return json_response(200, boost::json::object{{"value", std::move(items)}});
}

HttpResponse identity_route(Cloud& cloud, const ArmCall& call) {
  Resources& res = cloud.resources;
  const std::string& rg = call.route.resource_group;
  const std::string& method = call.request.method;
  if (call.route.list) {
    if (method != "GET") return method_not_allowed(method);
    if (!res.has_resource_group(call.subscription, rg)) {
      return arm_error(
          ApiError{404, "ResourceGroupNotFound", "Resource group '" + rg + "' could not be found."});
    }
    boost::json::array items;
    for (const auto& mi : res.list_identities(call.subscription, rg)) items.push_back(identity_json(mi));
    return list_of(std::move(items));
  }
  if (method == "GET") {
    auto mi = res.get_identity(call.subscription, rg, call.route.name);
    return mi ? json_response(200, identity_json(*mi)) : arm_error(mi.error());
  }
  if (method == "DELETE") {
    auto existed = res.delete_identity(call.subscription, rg, call.route.name);
    if (!existed) return arm_error(existed.error());
    HttpResponse r;
    r.status = *existed ? 200U : 204U;
    return r;
  }
  if (method == "PUT" || method == "PATCH") {
    auto body = parse_body(call.request);
    if (!body) return arm_error(body.error());
    IdentityConfig cfg;
    cfg.subscription_id = call.subscription;
    cfg.resource_group = rg;
    cfg.name = call.route.name;
    const auto* location = body->if_contains("location");
    if (location == nullptr || !location->is_string()) {
      if (method == "PUT") {
        return arm_error(
            ApiError{400, "LocationRequired", "The location property is required for this definition."});
      }
      auto existing = res.get_identity(call.subscription, rg, call.route.name);
      if (!existing) return arm_error(existing.error());
      cfg.location = existing->location;
    } else {
      cfg.location = std::string(location->as_string());
    }
    bool created = false;
    if (method == "PATCH" && !res.get_identity(call.subscription, rg, call.route.name)) {
      return arm_error(res.get_identity(call.subscription, rg, call.route.name).error());
    }
    auto mi = res.put_identity(cfg, created);
    if (!mi) return arm_error(mi.error());
    cloud.counters.add(created ? "arm.identity.created" : "arm.identity.updated");
    return json_response(created ? 201U : 200U, identity_json(*mi));
  }
  return method_not_allowed(method);
}

HttpResponse patch_machine(Cloud& cloud, const ArmCall& call, MachineKind kind) {
  auto body = parse_body(call.request);
  if (!body) return arm_error(body.error());
  const auto* identity = body->if_contains("identity");
  if (identity == nullptr) {
    auto m = cloud.resources.get_machine(kind, call.subscription, call.route.resource_group, call.route.name);
    return m ? json_response(200, machine_json(*m)) : arm_error(m.error());
  }
  auto result = cloud.resources.patch_identity(kind, call.subscription, call.route.resource_group,
                                               call.route.name, *identity, call.caller.object_id);
  if (!result) {
    if (result.error().status == 409) cloud.counters.add("arm.conflicts");
    return arm_error(result.error());
  }
  const std::string base = call.request.base_url + "/subscriptions/" + call.subscription +
                           "/providers/Microsoft.Compute/locations/" + result->machine.location + "/";
  const std::string query = "?api-version=" + call.api_version;
  HttpResponse r = json_response(200, machine_json(result->machine));
  r.set_header("Azure-AsyncOperation", base + "operations/" + result->operation.id + query);
  r.set_header("Location", base + "operationResults/" + result->operation.id + query);
  r.set_header("Retry-After", std::to_string(cloud.retry_after_seconds.load()));
  return r;
}

HttpResponse machine_route(Cloud& cloud, const ArmCall& call, MachineKind kind) {
  const std::string& method = call.request.method;
  const std::string& rg = call.route.resource_group;
  if (call.route.list) {
    if (method != "GET") return method_not_allowed(method);
    if (!cloud.resources.has_resource_group(call.subscription, rg)) {
      return arm_error(
          ApiError{404, "ResourceGroupNotFound", "Resource group '" + rg + "' could not be found."});
    }
    boost::json::array items;
    for (const auto& m : cloud.resources.list_machines(kind, call.subscription, rg))
      items.push_back(machine_json(m));
    return list_of(std::move(items));
  }
  if (method == "GET") {
    auto m = cloud.resources.get_machine(kind, call.subscription, rg, call.route.name);
    return m ? json_response(200, machine_json(*m)) : arm_error(m.error());
  }
  if (method == "PATCH" || method == "PUT") return patch_machine(cloud, call, kind);
  return method_not_allowed(method);
}

HttpResponse instance_route(Cloud& cloud, const ArmCall& call) {
  if (call.request.method != "GET") return method_not_allowed(call.request.method);
  auto m = cloud.resources.get_machine(MachineKind::vmss, call.subscription, call.route.resource_group,
                                       call.route.name);
  if (!m) return arm_error(m.error());
  if (call.route.list) {
    boost::json::array items;
    for (int i = 0; i < m->capacity; ++i) items.push_back(instance_json(*m, i));
    return list_of(std::move(items));
  }
  for (int i = 0; i < m->capacity; ++i) {
    if (call.route.instance == std::to_string(i)) return json_response(200, instance_json(*m, i));
  }
  return arm_error(
      ApiError{404, "NotFound",
               "The entity was not found in this Azure location: instance '" + call.route.instance + "'."});
}

HttpResponse operation_route(Cloud& cloud, const ArmCall& call) {
  if (call.request.method != "GET") return method_not_allowed(call.request.method);
  const auto op = cloud.resources.get_operation(call.route.operation_id);
  if (!op) {
    return arm_error(
        ApiError{404, "NotFound", "The operation '" + call.route.operation_id + "' was not found."});
  }
  HttpResponse r = json_response(200, operation_json(*op));
  if (op->status == "InProgress") {
    r.set_header("Retry-After", std::to_string(cloud.retry_after_seconds.load()));
    if (call.route.operation_result) {
      r.status = 202;
      r.set_header("Location", call.request.base_url + call.request.target);
    }
  }
  return r;
}

}  // namespace

HttpResponse route_arm(Cloud& cloud, const ArmCall& call) {
  const std::string& kind = call.route.kind;
  if (kind == "identity") return identity_route(cloud, call);
  if (kind == "vm") return machine_route(cloud, call, MachineKind::vm);
  if (kind == "vmss") return machine_route(cloud, call, MachineKind::vmss);
  if (kind == "instance") return instance_route(cloud, call);
  if (kind == "operation") return operation_route(cloud, call);
  if (kind == "resourcegroup") {
    if (!cloud.resources.has_resource_group(call.subscription, call.route.resource_group)) {
      return arm_error(ApiError{404, "ResourceGroupNotFound",
                                "Resource group '" + call.route.resource_group + "' could not be found."});
    }
    return json_response(
        200, boost::json::object{{"id", "/subscriptions/" + call.subscription + "/resourceGroups/" +
                                            call.route.resource_group},
                                 {"name", call.route.resource_group},
                                 {"type", "Microsoft.Resources/resourceGroups"},
                                 {"location", "eastus"},
                                 {"properties", boost::json::object{{"provisioningState", "Succeeded"}}}});
  }
  return arm_error(
      ApiError{404, "NotFound", "The requested resource path '" + call.request.path + "' is not found."});
}

}  // namespace podid::emulator
