#include "tests/emulator/admin_service.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include "tests/emulator/arm_json.hpp"
#include "tests/emulator/config_json.hpp"
#include "tests/emulator/emulator.hpp"

namespace podid::emulator {

namespace {

HttpResponse failure(unsigned status, const std::string& message) {
  return json_response(status, boost::json::object{{"error", message}});
}

HttpResponse from_status(const Status& s) {
  if (s) return json_response(200, boost::json::object{{"ok", true}});
  return failure(s.error().code == core::ErrorCode::not_found ? 404U : 400U, s.error().message);
}

std::string field(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

long long integer(const boost::json::object& o, const char* key, long long fallback) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->as_int64() : fallback;
}

boost::json::object effective_json(const Machine& m) {
  boost::json::array ids;
  for (const auto& [key, a] : m.effective_user) {
    ids.push_back(boost::json::object{
        {"resource_id", a.resource_id}, {"client_id", a.client_id}, {"principal_id", a.principal_id}});
  }
  return boost::json::object{{"system_assigned", m.effective_system.has_value()}, {"user_assigned", ids}};
}

}  // namespace

HttpResponse AdminService::budgets(const boost::json::object& body) {
  Budget reads{250, 25};
  Budget writes{200, 10};
  if (const auto* v = body.if_contains("reads")) {
    auto b = budget_from_json(*v, reads);
    if (!b) return failure(400, b.error().message);
    reads = *b;
  }
  if (const auto* v = body.if_contains("writes")) {
    auto b = budget_from_json(*v, writes);
    if (!b) return failure(400, b.error().message);
    writes = *b;
  }
  emulator_.set_arm_budgets(reads, writes);
  return json_response(200, boost::json::object{{"ok", true}});
}

HttpResponse AdminService::imds(const boost::json::object& body) {
  std::optional<int> instance;
  if (const auto* v = body.if_contains("instance"); v != nullptr && v->is_int64()) {
    instance = static_cast<int>(v->as_int64());
  }
  auto bind = bind_from_json(body);
  if (!bind) return failure(400, bind.error().message);
  auto url = emulator_.serve_imds(field(body, "machine_id"), instance, *bind);
  if (!url) return failure(400, url.error().message);
  return json_response(200, boost::json::object{{"url", *url}});
}

HttpResponse AdminService::handle(const HttpRequest& request) {
  if (request.method == "GET" && request.path == "/admin/state") {
    boost::json::object counters;
    for (const auto& [k, v] : emulator_.counters()) counters[k] = v;
    return json_response(200, boost::json::object{{"authority_host", emulator_.authority_host()},
                                                  {"arm_endpoint", emulator_.arm_endpoint()},
                                                  {"ca_file", emulator_.ca_file()},
                                                  {"counters", counters}});
  }
  if (request.method == "GET" && request.path == "/admin/machine") {
    const auto m = emulator_.machine(request.query_param("id").value_or(""));
    if (!m) return failure(404, "no such machine");
    boost::json::object out = machine_json(*m);
    out["effective"] = effective_json(*m);
    return json_response(200, out);
  }
  if (request.method == "DELETE" && request.path == "/admin/faults") {
    emulator_.clear_faults();
    return json_response(200, boost::json::object{{"ok", true}});
  }
  if (request.method != "POST" || request.path.rfind("/admin/", 0) != 0)
    return failure(404, "unknown admin path");
  boost::system::error_code ec;
  const boost::json::value body = boost::json::parse(request.body, ec);
  if (ec || !body.is_object()) return failure(400, "the body must be a JSON object");
  return post(request.path.substr(7), body.as_object());
}

HttpResponse AdminService::post(const std::string& what, const boost::json::object& body) {
  if (what == "faults") {
    Fault f;
    f.operation = field(body, "operation").empty() ? "*" : field(body, "operation");
    f.status = static_cast<unsigned>(integer(body, "status", 500));
    f.count = static_cast<int>(integer(body, "count", 1));
    f.retry_after = std::chrono::seconds(integer(body, "retry_after", 1));
    const auto* hang = body.if_contains("hang");
    f.hang = hang != nullptr && hang->is_bool() && hang->as_bool();
    emulator_.inject_fault(f);
    return json_response(200, boost::json::object{{"ok", true}});
  }
  if (what == "budgets") return budgets(body);
  if (what == "latencies") {
    Latencies l;
    l.vm = std::chrono::milliseconds(integer(body, "vm_ms", l.vm.count()));
    l.vmss = std::chrono::milliseconds(integer(body, "vmss_ms", l.vmss.count()));
    l.retry_after = std::chrono::seconds(integer(body, "retry_after_s", l.retry_after.count()));
    emulator_.set_latencies(l);
    return json_response(200, boost::json::object{{"ok", true}});
  }
  if (what == "identities") {
    auto cfg = identity_from_json(body);
    if (!cfg) return failure(400, cfg.error().message);
    auto mi = emulator_.create_identity(*cfg);
    if (!mi) return failure(400, mi.error().message);
    return json_response(200, identity_json(*mi));
  }
  if (what == "attach")
    return from_status(emulator_.attach(field(body, "machine_id"), field(body, "identity_id")));
  if (what == "detach")
    return from_status(emulator_.detach(field(body, "machine_id"), field(body, "identity_id")));
  if (what == "assigners") {
    std::vector<std::string> principals;
    if (const auto* v = body.if_contains("principals"); v != nullptr && v->is_array()) {
      for (const auto& p : v->as_array()) {
        if (p.is_string()) principals.emplace_back(p.as_string());
      }
    }
    return from_status(emulator_.set_assigners(field(body, "identity_id"), std::move(principals)));
  }
  if (what == "certificates") {
    return from_status(
        emulator_.add_certificate(field(body, "tenant_id"), field(body, "client_id"), field(body, "pem")));
  }
  if (what == "federated") {
    auto f = federated_from_json(body);
    if (!f) return failure(400, f.error().message);
    return from_status(emulator_.add_federated(field(body, "tenant_id"), field(body, "client_id"), *f));
  }
  if (what == "imds") return imds(body);
  return failure(404, "unknown admin path");
}

}  // namespace podid::emulator
