#include "tests/bench/workload.hpp"

#include "core/model.hpp"

namespace podid::bench {
namespace {

using namespace podid::core;

constexpr const char* kRidPrefix =
    "/subscriptions/3f2c1a9e-0000-4000-8000-00000000beef/resourceGroups/podid-bench/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/";
constexpr const char* kKubelet =
    "/subscriptions/3f2c1a9e-0000-4000-8000-00000000beef/resourcegroups/mc_podid-bench/providers/"
    "microsoft.managedidentity/userassignedidentities/podid-bench-agentpool";

std::string ns_name(std::size_t i) {
  return "team-" + std::to_string(i);
}

constexpr std::size_t kClasses = 40;

bool is_msi(std::size_t identity) {
  return identity % 10 != 9;  // one identity in ten is a service principal (type 1)
}

}  // namespace

Workload::Workload(ClusterShape shape, std::uint64_t seed) : shape_(shape), rng_(seed) {
  const std::size_t per_ns = std::max<std::size_t>(1, shape_.identities / shape_.namespaces);
  const std::size_t vms = shape_.nodes / 2;
  const std::size_t targets = vms + shape_.scale_sets;
  const std::size_t instances = (shape_.nodes - vms) / shape_.scale_sets;
  identities_on_target_.resize(targets);
  // Azure allows at most 100 user-assigned identities per VM or scale set, so pods of one identity are
  // scheduled on one class of targets (as node pools dedicated to teams are): kClasses classes, and each
  // VM/VMSS carries about identities / kClasses of them.
  const std::size_t classes = std::min(kClasses, targets);
  for (std::size_t p = 0; p < shape_.pods; ++p) {
    const std::size_t ns = p % shape_.namespaces;
    const std::size_t id = std::min(shape_.identities - 1, ns + shape_.namespaces * below(per_ns));
    const std::size_t cls = id % classes;
    const std::size_t t = cls + classes * below((targets - cls + classes - 1) / classes);
    const std::size_t n = t < vms ? t : vms + (t - vms) + shape_.scale_sets * below(instances);
    pod_node_.push_back(n);
    pod_identity_.push_back(id);
    if (is_msi(id)) identities_on_target_[target_index(n)].insert(id);
  }
}

std::uint64_t Workload::rand() {  // splitmix64
  std::uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::size_t Workload::target_index(std::size_t node_index) const {
  const std::size_t vms = shape_.nodes / 2;
  return node_index < vms ? node_index : vms + (node_index - vms) % shape_.scale_sets;
}

ArmTarget Workload::target(std::size_t t) const {
  const std::size_t vms = shape_.nodes / 2;
  if (t < vms)
    return ArmTarget{VmKind::vm, "3f2c1a9e-0000-4000-8000-00000000beef", "podid-bench",
                     "vm-" + std::to_string(t)};
  return ArmTarget{VmKind::vmss, "3f2c1a9e-0000-4000-8000-00000000beef", "podid-bench",
                   "pool-" + std::to_string(t - vms)};
}

Node Workload::node(std::size_t i) const {
  const std::size_t vms = shape_.nodes / 2;
  const std::string base =
      "azure:///subscriptions/3f2c1a9e-0000-4000-8000-00000000beef/resourceGroups/podid-bench/providers/"
      "Microsoft.Compute/";
  Node n;
  if (i < vms) {
    n.name = "vm-" + std::to_string(i);
    n.provider_id = base + "virtualMachines/" + n.name;
  } else {
    const auto ss = (i - vms) % shape_.scale_sets;
    const auto instance = (i - vms) / shape_.scale_sets;
    n.name = "pool-" + std::to_string(ss) + "-" + std::to_string(instance);
    n.provider_id = base + "virtualMachineScaleSets/pool-" + std::to_string(ss) + "/virtualMachines/" +
                    std::to_string(instance);
  }
  if (auto vm = parse_provider_id(n.provider_id)) n.vm = *vm;
  n.resource_version = std::to_string(100 + i);
  return n;
}

AzureIdentity Workload::identity(std::size_t i) const {
  AzureIdentity id;
  id.key = {ns_name(i % shape_.namespaces), "id-" + std::to_string(i)};
  id.raw_type = is_msi(i) ? 0 : 1;
  id.type = identity_type_from(id.raw_type);
  id.client_id = "7c0e2f4a-1b3d-4e5f-8a9b-" + std::to_string(100'000'000'000 + i);
  if (is_msi(i)) {
    id.resource_id = kRidPrefix + id.key.name;
  } else {
    id.tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    id.secret_ref = {"sp-" + std::to_string(i), id.key.ns};
  }
  id.resource_version = std::to_string(20'000 + i);
  id.generation = 1;
  return id;
}

PodObserved Workload::pod_event(std::size_t i) const {
  const std::size_t p = i % shape_.pods;
  PodObserved e;
  e.pod.key = {ns_name(p % shape_.namespaces), "web-" + std::to_string(p) + "-7d9f8c6b5-x2k4q"};
  e.pod.uid = "5e1f3c2a-9b8d-4c7e-a6f5-" + std::to_string(100'000'000'000 + p);
  e.pod.node = node(pod_node_[p]).name;
  e.pod.ip = "10.244." + std::to_string(p / 250 % 250) + "." + std::to_string(p % 250 + 2);
  e.pod.phase = "Running";
  e.pod.labels = {{"aadpodidbinding", "sel-" + std::to_string(pod_identity_[p])},
                  {"app", "web-" + std::to_string(p % 97)},
                  {"pod-template-hash", "7d9f8c6b5"}};
  e.pod.resource_version = std::to_string(1'000'000 + i);
  e.at_ms = 1'700'000'000'000 + static_cast<std::int64_t>(i);
  return e;
}

std::vector<Event> Workload::initial() const {
  std::vector<Event> out;
  std::int64_t at = 1'699'999'000'000;
  auto add = [&](auto e) {
    e.at_ms = ++at;
    out.emplace_back(std::move(e));
  };
  Settings settings;
  settings.cluster_identities = {kKubelet};
  add(SettingsObserved{.settings = settings});
  for (std::size_t i = 0; i < shape_.nodes; ++i) add(NodeObserved{.node = node(i)});
  for (std::size_t i = 0; i < shape_.identities; ++i) add(IdentityObserved{.identity = identity(i)});
  for (std::size_t i = 0; i < shape_.identities; ++i) {
    const auto id = identity(i);
    add(BindingObserved{.binding = {{id.key.ns, "bind-" + std::to_string(i)},
                                    id.key.name,
                                    "sel-" + std::to_string(i),
                                    std::to_string(30'000 + i)}});
  }
  for (std::size_t p = 0; p < shape_.pods; ++p) add(pod_event(p));
  return out;
}

std::vector<VmIdentity> Workload::present_on(std::size_t t) const {
  std::vector<VmIdentity> out{{kKubelet, "kubelet-client", "kubelet-principal"}};
  for (const auto i : identities_on_target_[t]) {
    const auto id = identity(i);
    out.push_back({id.resource_id, id.client_id, "principal-" + std::to_string(i)});
  }
  return out;
}

std::vector<Event> Workload::settle() const {
  std::vector<Event> out;
  std::int64_t at = 1'699'999'900'000;
  auto add = [&](auto e) {
    e.at_ms = ++at;
    out.emplace_back(std::move(e));
  };
  for (std::size_t t = 0; t < identities_on_target_.size(); ++t) {
    if (identities_on_target_[t].empty()) continue;
    ArmOperationStarted started;
    started.operation_id = "settle-" + std::to_string(t);
    started.target = target(t);
    for (const auto i : identities_on_target_[t]) started.add.push_back(identity(i).resource_id);
    add(started);
    add(ArmOperationSucceeded{.operation_id = started.operation_id, .target = started.target});
  }
  for (std::size_t p = 0; p < shape_.pods; ++p) {
    add(AssignedIdentityWritten{.action = WriteAction::created,
                                .assigned = assigned_for(p, std::to_string(40'000 + p))});
  }
  return out;
}

AssignedIdentity Workload::assigned_for(std::size_t p, const std::string& version) const {
  const auto pod = pod_event(p).pod;
  const auto id = identity(pod_identity_[p]);
  AssignedIdentity aai;
  aai.pod = pod.key;
  aai.identity = id.key;
  aai.binding = {id.key.ns, "bind-" + std::to_string(pod_identity_[p])};
  aai.key = {"default", assigned_identity_name(aai.pod, aai.identity)};
  aai.node = pod.node;
  aai.status = "Assigned";
  aai.resource_version = version;
  return aai;
}

Event Workload::next_churn() {
  now_ms_ += static_cast<std::int64_t>(below(5));
  if (!pending_.empty()) {
    auto e = std::move(pending_.front());
    pending_.pop_front();
    std::visit([&](auto& ev) { ev.at_ms = now_ms_; }, e);
    return e;
  }
  // The mix of a steady cluster: mostly pod status updates, some restarts, periodic Azure reads, a few
  // PATCHes, rare identity edits, and the watch echo of AzureAssignedIdentities we wrote.
  const auto roll = below(100);
  const auto p = below(shape_.pods);
  auto pod = pod_event(p);
  pod.at_ms = now_ms_;
  pod.pod.resource_version = std::to_string(++version_);
  if (roll < 75) return pod;  // a status or label update of a running pod
  if (roll < 85) {            // a restart: deleted, then recreated with a new UID
    pod.pod.uid += "-" + std::to_string(version_);
    pending_.emplace_back(pod);
    return PodDeleted{.at_ms = now_ms_, .key = pod.pod.key, .resource_version = std::to_string(version_)};
  }
  const auto t = target_index(pod_node_[p]);
  if (roll < 90) {  // an Azure read of the pod's VM or scale set
    return VmIdentitiesObserved{.at_ms = now_ms_, .target = target(t), .identities = present_on(t)};
  }
  if (roll < 95 && !identities_on_target_[t].empty()) {  // a PATCH (re)attaching one identity
    ArmOperationStarted started;
    started.at_ms = now_ms_;
    started.operation_id = "op-" + std::to_string(op_++);
    started.target = target(t);
    started.add = {identity(*identities_on_target_[t].begin()).resource_id};
    pending_.emplace_back(
        ArmOperationSucceeded{.operation_id = started.operation_id, .target = started.target});
    return started;
  }
  if (roll < 96) {  // an identity edited: its pods are re-evaluated
    auto edited = identity(pod_identity_[p]);
    edited.resource_version = std::to_string(++version_);
    return IdentityObserved{.at_ms = now_ms_, .identity = edited};
  }
  // The watch echo of an AzureAssignedIdentity we wrote.
  return AssignedIdentityObserved{.at_ms = now_ms_, .assigned = assigned_for(p, std::to_string(++version_))};
}

}  // namespace podid::bench
