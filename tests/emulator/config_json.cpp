#include "tests/emulator/config_json.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace podid::emulator {

using core::ErrorCode;
using core::make_error;
using core::Result;

namespace {

Result<const boost::json::object*> as_object(const boost::json::value& v, const char* what) {
  if (!v.is_object()) return make_error(ErrorCode::invalid, std::string(what) + " must be a JSON object");
  return &v.as_object();
}

std::string str(const boost::json::object& o, const char* key, std::string fallback = {}) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::move(fallback);
}

long long num(const boost::json::object& o, const char* key, long long fallback) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return fallback;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<long long>(v->as_uint64());
  if (v->is_double()) return static_cast<long long>(v->as_double());
  return fallback;
}

double real(const boost::json::object& o, const char* key, double fallback) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return fallback;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  return fallback;
}

std::vector<std::string> strings(const boost::json::object& o, const char* key) {
  std::vector<std::string> out;
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& item : v->as_array()) {
    if (item.is_string()) out.emplace_back(item.as_string());
  }
  return out;
}

template <class T, class F>
Result<std::vector<T>> list(const boost::json::object& o, const char* key, F parse) {
  std::vector<T> out;
  const auto* v = o.if_contains(key);
  if (v == nullptr) return out;
  if (!v->is_array()) return make_error(ErrorCode::invalid, std::string(key) + " must be an array");
  for (const auto& item : v->as_array()) out.push_back(PODID_TRY(parse(item)));
  return out;
}

}  // namespace

Result<Budget> budget_from_json(const boost::json::value& json, Budget fallback) {
  const auto* o = PODID_TRY(as_object(json, "budget"));
  return Budget{real(*o, "burst", fallback.burst), real(*o, "per_second", fallback.per_second)};
}

Result<Bind> bind_from_json(const boost::json::value& json) {
  const auto* o = PODID_TRY(as_object(json, "bind"));
  const long long port = num(*o, "port", 0);
  if (port < 0 || port > 65535) return make_error(ErrorCode::invalid, "bad port");
  return Bind{str(*o, "address", "127.0.0.1"), static_cast<std::uint16_t>(port)};
}

Result<FederatedCredential> federated_from_json(const boost::json::value& json) {
  const auto* o = PODID_TRY(as_object(json, "federated credential"));
  FederatedCredential f{str(*o, "issuer"), str(*o, "subject"),
                        str(*o, "audience", "api://AzureADTokenExchange"), str(*o, "jwks")};
  if (const auto* jwks = o->if_contains("jwks"); jwks != nullptr && jwks->is_object()) {
    f.jwks_json = boost::json::serialize(*jwks);
  }
  return f;
}

Result<AppConfig> app_from_json(const boost::json::value& json) {
  const auto* o = PODID_TRY(as_object(json, "app"));
  AppConfig app{str(*o, "client_id"),
                str(*o, "object_id"),
                strings(*o, "secrets"),
                strings(*o, "certificate_pems"),
                {}};
  app.federated = PODID_TRY(list<FederatedCredential>(*o, "federated", federated_from_json));
  if (app.client_id.empty()) return make_error(ErrorCode::invalid, "app without client_id");
  return app;
}

Result<IdentityConfig> identity_from_json(const boost::json::value& json) {
  const auto* o = PODID_TRY(as_object(json, "identity"));
  IdentityConfig i{str(*o, "subscription_id"), str(*o, "resource_group"), str(*o, "name"),
                   str(*o, "location", "eastus"), strings(*o, "assigners")};
  if (i.subscription_id.empty() || i.resource_group.empty() || i.name.empty()) {
    return make_error(ErrorCode::invalid, "identity needs subscription_id, resource_group and name");
  }
  return i;
}

Result<MachineConfig> machine_from_json(const boost::json::value& json) {
  const auto* o = PODID_TRY(as_object(json, "machine"));
  MachineConfig m{str(*o, "subscription_id"),
                  str(*o, "resource_group"),
                  str(*o, "name"),
                  str(*o, "location", "eastus"),
                  false,
                  strings(*o, "identities"),
                  static_cast<int>(num(*o, "capacity", 1))};
  if (const auto* sys = o->if_contains("system_assigned"); sys != nullptr && sys->is_bool()) {
    m.system_assigned = sys->as_bool();
  }
  if (m.subscription_id.empty() || m.resource_group.empty() || m.name.empty()) {
    return make_error(ErrorCode::invalid, "machine needs subscription_id, resource_group and name");
  }
  return m;
}

namespace {
Result<TenantConfig> tenant_from_json(const boost::json::value& v) {
  const auto* t = PODID_TRY(as_object(v, "tenant"));
  TenantConfig tenant{str(*t, "tenant_id"), {}};
  tenant.apps = PODID_TRY(list<AppConfig>(*t, "apps", app_from_json));
  return tenant;
}

Result<SubscriptionConfig> subscription_from_json(const boost::json::value& v) {
  const auto* s = PODID_TRY(as_object(v, "subscription"));
  return SubscriptionConfig{str(*s, "subscription_id"), str(*s, "tenant_id"), strings(*s, "resource_groups")};
}
}  // namespace

Result<EmulatorConfig> config_from_json(const boost::json::value& json) {
  const auto* o = PODID_TRY(as_object(json, "config"));
  EmulatorConfig c;
  c.tenants = PODID_TRY(list<TenantConfig>(*o, "tenants", tenant_from_json));
  c.subscriptions = PODID_TRY(list<SubscriptionConfig>(*o, "subscriptions", subscription_from_json));
  c.identities = PODID_TRY(list<IdentityConfig>(*o, "identities", identity_from_json));
  c.vms = PODID_TRY(list<MachineConfig>(*o, "vms", machine_from_json));
  c.scale_sets = PODID_TRY(list<MachineConfig>(*o, "scale_sets", machine_from_json));
  if (const auto* l = o->if_contains("latencies"); l != nullptr && l->is_object()) {
    const auto& lo = l->as_object();
    c.latencies.vm = std::chrono::milliseconds(num(lo, "vm_ms", c.latencies.vm.count()));
    c.latencies.vmss = std::chrono::milliseconds(num(lo, "vmss_ms", c.latencies.vmss.count()));
    c.latencies.retry_after = std::chrono::seconds(num(lo, "retry_after_s", c.latencies.retry_after.count()));
  }
  if (const auto* v = o->if_contains("arm_reads")) c.arm_reads = PODID_TRY(budget_from_json(*v, c.arm_reads));
  if (const auto* v = o->if_contains("arm_writes"))
    c.arm_writes = PODID_TRY(budget_from_json(*v, c.arm_writes));
  if (const auto* v = o->if_contains("imds_rate")) c.imds_rate = PODID_TRY(budget_from_json(*v, c.imds_rate));
  if (const auto* v = o->if_contains("aad")) c.aad = PODID_TRY(bind_from_json(*v));
  if (const auto* v = o->if_contains("arm")) c.arm = PODID_TRY(bind_from_json(*v));
  if (const auto* v = o->if_contains("admin")) c.admin = PODID_TRY(bind_from_json(*v));
  c.extra_sans = strings(*o, "extra_sans");
  c.ca_file = str(*o, "ca_file");
  c.token_lifetime = std::chrono::seconds(num(*o, "token_lifetime_s", c.token_lifetime.count()));
  c.managed_identity_token_lifetime = std::chrono::seconds(
      num(*o, "managed_identity_token_lifetime_s", c.managed_identity_token_lifetime.count()));
  const auto audiences = strings(*o, "arm_audiences");
  if (!audiences.empty()) c.arm_audiences = audiences;
  return c;
}

}  // namespace podid::emulator
