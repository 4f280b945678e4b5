#include "tests/bench/e2e_cluster.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <stdexcept>

#include "support/proc_status.hpp"

namespace podid::bench {

namespace emu = podid::emulator;
namespace t = podid::testing;

E2eSize full_size() {
  return E2eSize{};
}

E2eSize smoke_size() {
  E2eSize s;
  s.pods = 24;
  s.identities = 4;
  s.scale_sets = 2;
  s.instances = 2;
  s.vms = 2;
  s.vmss_latency = std::chrono::milliseconds(200);
  s.vm_latency = std::chrono::milliseconds(100);
  s.retry_after = std::chrono::seconds(0);
  s.churn_rounds = 2;
  s.churn_share = 0.25;
  s.churn_period = std::chrono::seconds(2);
  s.drift = std::chrono::seconds(1);
  s.idle_cycles = 2;
  s.limit = std::chrono::minutes(2);
  return s;
}

namespace {

emu::EmulatorConfig cloud(const E2eSize& size) {
  auto c = emu::testing::small_cloud();
  c.identities.clear();
  c.vms.clear();
  c.scale_sets.clear();
  for (int i = 0; i < size.identities; ++i)
    c.identities.push_back(
        emu::IdentityConfig{emu::testing::kSub, "ids", "id-" + std::to_string(i), "eastus", {}});
  for (int i = 0; i < size.scale_sets; ++i)
    c.scale_sets.push_back(emu::MachineConfig{emu::testing::kSub,
                                              emu::testing::kRg,
                                              "ss-" + std::to_string(i),
                                              "eastus",
                                              false,
                                              {},
                                              size.instances});
  for (int i = 0; i < size.vms; ++i)
    c.vms.push_back(emu::MachineConfig{
        emu::testing::kSub, emu::testing::kRg, "vm-" + std::to_string(i), "eastus", false, {}, 1});
  c.latencies = emu::Latencies{size.vm_latency, size.vmss_latency, size.retry_after};
  c.arm_reads = emu::Budget{250, 25};  // Azure's subscription limits, as the emulator models them
  c.arm_writes = emu::Budget{200, 10};
  return c;
}

std::string provider_id(const std::string& machine_id) {
  return "azure://" + machine_id;
}

cli::ControllerOptions with(cli::ControllerOptions o, core::MetricsRegistry& metrics) {
  o.metrics = &metrics;
  return o;
}

}  // namespace

E2eController::E2eController(boost::asio::io_context& io_, t::ControlPlane& cp, const emu::Emulator& e,
                             cli::ControllerOptions options, const Placement* per_node)
    : io(io_),
      store(t::open_store(dir.path())),
      kube(t::admin_client(io_, cp)),
      arm(io_, e, clock, &metrics),
      baseline(per_node != nullptr ? std::make_unique<PerNodeArmClient>(*arm.client, *per_node) : nullptr),
      controller(*kube, *store, baseline ? static_cast<arm::ArmClient&>(*baseline) : *arm.client, clock,
                 core::Logger(sink, clock, "controller"), with(std::move(options), metrics)) {
  boost::asio::co_spawn(
      io, controller.run(),
      boost::asio::bind_cancellation_slot(signal.slot(), [this](std::exception_ptr ex, core::Status s) {
        if (ex) std::rethrow_exception(ex);
        result = std::move(s);
      }));
}

E2eController::~E2eController() {
  if (!result) stop();
}

void E2eController::stop() {
  signal.emit(boost::asio::cancellation_type::terminal);
  static_cast<void>(t::run_until(
      io, [this] { return result.has_value(); }, std::chrono::seconds(40)));
}

E2eCluster::E2eCluster(t::ControlPlane& cp, const E2eSize& size, const std::string& prefix)
    : cp_(cp), size_(size), ns_(cp.create_namespace(prefix)), emulator_(cloud(size)) {
  if (auto started = emulator_.start(); !started)
    throw std::runtime_error("emulator: " + started.error().describe());
  create_identities();
  create_nodes();
}

E2eCluster::~E2eCluster() {
  static_cast<void>(cp_.request("DELETE", "/api/v1/namespaces/" + ns_ + "/pods"));
  for (const auto& n : node_names_) static_cast<void>(cp_.request("DELETE", "/api/v1/nodes/" + n));
}

void E2eCluster::create_identities() {
  const std::string base = "/apis/aadpodidentity.k8s.io/v1/namespaces/" + ns_;
  for (int i = 0; i < size_.identities; ++i) {
    const std::string name = "id-" + std::to_string(i);
    const auto id = emulator_.identity(emu::testing::identity_id(name));
    if (!id) throw std::runtime_error("emulator has no identity " + name);
    const auto a = cp_.request("POST", base + "/azureidentities",
                               boost::json::serialize(t::msi_identity(name, id->id, id->client_id)));
    const auto b = cp_.request("POST", base + "/azureidentitybindings",
                               boost::json::serialize(t::binding(name + "-binding", name, name)));
    if (a.status != 201 || b.status != 201)
      throw std::runtime_error("identity " + name + ": " + a.body + b.body);
  }
}

void E2eCluster::create_nodes() {
  const auto add = [this](const std::string& machine, const std::string& scale_set) {
    const std::string name = ns_ + "-" + std::to_string(node_names_.size());
    const boost::json::object node{{"apiVersion", "v1"},
                                   {"kind", "Node"},
                                   {"metadata", {{"name", name}}},
                                   {"spec", {{"providerID", provider_id(machine)}}}};
    const auto reply = cp_.request("POST", "/api/v1/nodes", boost::json::serialize(node));
    if (reply.status != 201) throw std::runtime_error("node " + name + ": " + reply.body);
    node_names_.push_back(name);
    node_scale_set_.push_back(scale_set);
  };
  for (int s = 0; s < size_.scale_sets; ++s) {
    const std::string scale_set = "ss-" + std::to_string(s);
    for (int i = 0; i < size_.instances; ++i)
      add(emu::testing::vmss_id(scale_set) + "/virtualMachines/" + std::to_string(i), scale_set);
  }
  for (int v = 0; v < size_.vms; ++v) add(emu::testing::vm_id("vm-" + std::to_string(v)), "");
}

std::vector<E2ePod> E2eCluster::make_pods(std::size_t count, const std::vector<E2ePod>* like) {
  std::uniform_int_distribution<std::size_t> node(0, node_names_.size() - 1);
  std::uniform_int_distribution<int> identity(0, size_.identities - 1);
  std::vector<E2ePod> out;
  for (std::size_t i = 0; i < count; ++i) {
    E2ePod p;
    p.name = "p-" + std::to_string(next_pod_++);
    const std::size_t n = node(random_);
    p.node = node_names_[n];
    p.scale_set = node_scale_set_[n];
    p.identity =
        like != nullptr ? (*like)[i % like->size()].identity : "id-" + std::to_string(identity(random_));
    p.identity_id = core::to_lower(emu::testing::identity_id(p.identity));
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<E2ePod> E2eCluster::take_oldest(std::size_t count) {
  count = std::min(count, live_.size());
  std::vector<E2ePod> out(live_.begin(), live_.begin() + static_cast<std::ptrdiff_t>(count));
  live_.erase(live_.begin(), live_.begin() + static_cast<std::ptrdiff_t>(count));
  return out;
}

void E2eCluster::create(const std::vector<E2ePod>& pods, std::size_t from, std::size_t step) {
  for (std::size_t i = from; i < pods.size(); i += step) {
    const auto& p = pods[i];
    if (!p.scale_set.empty()) placement_.add(p.scale_set, p.node, p.identity_id);
    const std::string path = "/api/v1/namespaces/" + ns_ + "/pods";
    const auto created =
        cp_.request("POST", path, boost::json::serialize(t::scheduled_pod(p.name, p.identity, p.node)));
    const std::uint32_t n = next_ip_++;
    const std::string ip = "10." + std::to_string((n >> 16) & 255U) + "." + std::to_string((n >> 8) & 255U) +
                           "." + std::to_string(n & 255U);
    const auto running = cp_.request("PATCH", path + "/" + p.name + "/status",
                                     R"({"status":{"phase":"Running","podIP":")" + ip + R"("}})",
                                     "application/merge-patch+json");
    if (created.status != 201 || running.status != 200) ++failures_;
  }
}

void E2eCluster::remove(const std::vector<E2ePod>& pods, std::size_t from, std::size_t step) {
  for (std::size_t i = from; i < pods.size(); i += step) {
    const auto& p = pods[i];
    const auto reply =
        cp_.request("DELETE", "/api/v1/namespaces/" + ns_ + "/pods/" + p.name + "?gracePeriodSeconds=0");
    if (reply.status != 200) ++failures_;
    if (!p.scale_set.empty()) placement_.remove(p.scale_set, p.node, p.identity_id);
  }
}

Rss read_rss() {
  const auto s = testing::read_proc_status();
  return {s.hwm_kib, s.rss_kib};
}

}  // namespace podid::bench
