#include "tests/emulator/emulator.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <thread>

#include "tests/emulator/aad_service.hpp"
#include "tests/emulator/admin_service.hpp"
#include "tests/emulator/arm_service.hpp"
#include "tests/emulator/cloud.hpp"
#include "tests/emulator/http_listener.hpp"
#include "tests/emulator/imds_service.hpp"

namespace podid::emulator {

using core::ErrorCode;
using core::make_error;

struct Emulator::Runtime {
  boost::asio::io_context io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::unique_ptr<AadService> aad;
  std::unique_ptr<ArmService> arm;
  std::unique_ptr<AdminService> admin;
  std::mutex imds_mutex;
  std::vector<std::unique_ptr<ImdsService>> imds;
  std::vector<std::unique_ptr<HttpListener>> listeners;
  std::string ca_pem;
  std::string admin_url;
};

Emulator::Emulator(EmulatorConfig config)
    : config_(std::move(config)),
      cloud_(std::make_unique<Cloud>(config_)),
      runtime_(std::make_unique<Runtime>()) {}

Emulator::~Emulator() {
  stop();
}

Status Emulator::start() {
  Runtime& rt = *runtime_;
  if (!rt.threads.empty()) return make_error(ErrorCode::conflict, "emulator already started");
  for (const TenantConfig& t : config_.tenants) PODID_TRY(cloud_->directory.add_tenant(t));
  for (const SubscriptionConfig& s : config_.subscriptions) PODID_TRY(cloud_->resources.add_subscription(s));
  for (const IdentityConfig& i : config_.identities) PODID_TRY(create_identity(i));
  for (const MachineConfig& m : config_.vms) PODID_TRY(add_vm(m));
  for (const MachineConfig& m : config_.scale_sets) PODID_TRY(add_scale_set(m));

  const auto ca = PODID_TRY(CertificateAuthority::generate("podid Azure emulator CA"));
  std::vector<std::string> sans{"127.0.0.1", "::1", "localhost"};
  sans.insert(sans.end(), config_.extra_sans.begin(), config_.extra_sans.end());
  const auto server = PODID_TRY(ca.issue_server("podid Azure emulator", sans));
  rt.ca_pem = ca.root().cert.pem;
  if (!config_.ca_file.empty()) {
    std::ofstream out(config_.ca_file, std::ios::trunc);
    out << rt.ca_pem;
    if (!out) return make_error(ErrorCode::io, "cannot write CA file " + config_.ca_file);
  }
  const TlsMaterial tls{server.cert.pem + rt.ca_pem, server.key.private_pem()};

  rt.aad = std::make_unique<AadService>(*cloud_);
  rt.arm = std::make_unique<ArmService>(*cloud_);
  const auto open = [&](const Bind& bind, std::optional<TlsMaterial> material, HttpHandler handler) {
    return HttpListener::open(
        rt.io, ListenerOptions{bind.address, bind.port, std::move(material), config_.body_limit},
        std::move(handler));
  };
  auto aad = PODID_TRY(
      open(config_.aad, tls, [svc = rt.aad.get()](const HttpRequest& r) { return svc->handle(r); }));
  auto arm = PODID_TRY(
      open(config_.arm, tls, [svc = rt.arm.get()](const HttpRequest& r) { return svc->handle(r); }));
  cloud_->aad_url = aad->url();
  cloud_->arm_url = arm->url();
  rt.listeners.push_back(std::move(aad));
  rt.listeners.push_back(std::move(arm));
  if (config_.admin) {
    rt.admin = std::make_unique<AdminService>(*this);
    auto admin = PODID_TRY(open(*config_.admin, std::nullopt,
                                [svc = rt.admin.get()](const HttpRequest& r) { return svc->handle(r); }));
    rt.admin_url = admin->url();
    rt.listeners.push_back(std::move(admin));
  }
  rt.work.emplace(rt.io.get_executor());
  for (std::size_t i = 0; i < std::max<std::size_t>(1, config_.threads); ++i) {
    rt.threads.emplace_back([&io = rt.io] { io.run(); });
  }
  return core::ok();
}

void Emulator::stop() {
  Runtime& rt = *runtime_;
  rt.work.reset();
  rt.io.stop();
  for (std::thread& t : rt.threads) {
    if (t.joinable()) t.join();
  }
  rt.threads.clear();
  rt.listeners.clear();
}

std::string Emulator::authority_host() const {
  return cloud_->aad_url;
}
std::string Emulator::arm_endpoint() const {
  return cloud_->arm_url;
}
std::string Emulator::admin_url() const {
  return runtime_->admin_url;
}
std::string Emulator::ca_pem() const {
  return runtime_->ca_pem;
}
const std::string& Emulator::ca_file() const {
  return config_.ca_file;
}

Result<std::string> Emulator::serve_imds(const std::string& machine_id, std::optional<int> instance,
                                         const Bind& bind) {
  const auto m = cloud_->resources.find_machine(machine_id);
  if (!m) return make_error(ErrorCode::not_found, "no machine " + machine_id);
  if (instance && (m->kind != MachineKind::vmss || *instance < 0 || *instance >= m->capacity)) {
    return make_error(ErrorCode::invalid, "no instance " + std::to_string(*instance) + " in " + machine_id);
  }
  Runtime& rt = *runtime_;
  const std::lock_guard lock(rt.imds_mutex);
  auto svc = std::make_unique<ImdsService>(*cloud_, m->id, instance);
  auto listener = PODID_TRY(
      HttpListener::open(rt.io, ListenerOptions{bind.address, bind.port, std::nullopt, config_.body_limit},
                         [raw = svc.get()](const HttpRequest& r) { return raw->handle(r); }));
  std::string url = listener->url();
  rt.imds.push_back(std::move(svc));
  rt.listeners.push_back(std::move(listener));
  return url;
}

Status Emulator::add_tenant(const TenantConfig& tenant) {
  return cloud_->directory.add_tenant(tenant);
}
Status Emulator::add_app(const std::string& tenant_id, const AppConfig& app) {
  return cloud_->directory.add_app(tenant_id, app);
}
Status Emulator::add_certificate(const std::string& tenant_id, const std::string& client_id,
                                 const std::string& pem) {
  return cloud_->directory.add_certificate(tenant_id, client_id, pem);
}
Status Emulator::add_federated(const std::string& tenant_id, const std::string& client_id,
                               const FederatedCredential& credential) {
  return cloud_->directory.add_federated(tenant_id, client_id, credential);
}
Status Emulator::add_subscription(const SubscriptionConfig& subscription) {
  return cloud_->resources.add_subscription(subscription);
}

Result<ManagedIdentity> Emulator::create_identity(const IdentityConfig& identity) {
  bool created = false;
  auto mi = cloud_->resources.put_identity(identity, created);
  if (!mi) return make_error(ErrorCode::invalid, mi.error().code + ": " + mi.error().message);
  if (!identity.assigners.empty()) PODID_TRY(cloud_->resources.set_assigners(mi->id, identity.assigners));
  return *mi;
}

std::optional<ManagedIdentity> Emulator::identity(const std::string& resource_id) const {
  return cloud_->resources.find_identity(resource_id);
}
Result<std::string> Emulator::add_vm(const MachineConfig& vm) {
  return cloud_->resources.add_machine(MachineKind::vm, vm);
}
Result<std::string> Emulator::add_scale_set(const MachineConfig& vmss) {
  return cloud_->resources.add_machine(MachineKind::vmss, vmss);
}
std::optional<Machine> Emulator::machine(const std::string& resource_id) const {
  return cloud_->resources.find_machine(resource_id);
}
Status Emulator::attach(const std::string& machine_id, const std::string& identity_id) {
  return cloud_->resources.attach(machine_id, identity_id);
}
Status Emulator::detach(const std::string& machine_id, const std::string& identity_id) {
  return cloud_->resources.detach(machine_id, identity_id);
}
Status Emulator::set_assigners(const std::string& identity_id, std::vector<std::string> principals) {
  return cloud_->resources.set_assigners(identity_id, std::move(principals));
}
void Emulator::inject_fault(Fault fault) {
  cloud_->faults.add(std::move(fault));
}
void Emulator::clear_faults() {
  cloud_->faults.clear();
}
void Emulator::set_arm_budgets(Budget reads, Budget writes) {
  cloud_->throttle.set_budgets(reads, writes);
}
void Emulator::set_latencies(Latencies latencies) {
  cloud_->retry_after_seconds = latencies.retry_after.count();
  cloud_->resources.set_latencies(latencies);
}
std::string Emulator::jwks_json(const std::string& tenant_id) const {
  return boost::json::serialize(cloud_->directory.jwks(tenant_id));
}
std::uint64_t Emulator::counter(const std::string& name) const {
  return cloud_->counters.get(name);
}
std::map<std::string, std::uint64_t> Emulator::counters() const {
  return cloud_->counters.snapshot();
}

}  // namespace podid::emulator
