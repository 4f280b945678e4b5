#include "tests/unit/property/event_generator.hpp"

#include <array>
#include <string>

#include "core/plan.hpp"
#include "core/projection.hpp"

namespace podid::property {
namespace {

using namespace podid::core;

constexpr std::array<const char*, 2> kNamespaces{"a", "b"};
constexpr std::array<const char*, 3> kSelectors{"s0", "s1", "s2"};
constexpr std::size_t kPods = 8;
constexpr std::size_t kIdentities = 5;
constexpr std::size_t kBindings = 5;
constexpr std::size_t kExceptions = 2;
// Provider IDs: two VMs, three instances of two scale sets (mixed case: ARM names are case-insensitive),
// and a node that is not an Azure VM.
constexpr std::array<std::pair<const char*, const char*>, 6> kNodes{{
    {"vm0", "azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm0"},
    {"vm1", "azure:///subscriptions/s/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/VM1"},
    {"ss0-0",
     "azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/"
     "virtualMachineScaleSets/ss0/virtualMachines/0"},
    {"ss0-1",
     "azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/"
     "virtualMachineScaleSets/SS0/virtualMachines/1"},
    {"ss1-0",
     "azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/"
     "virtualMachineScaleSets/ss1/virtualMachines/0"},
    {"kind0", "kind://docker/kind/kind0"},
}};
constexpr const char* kKubelet =
    "/subscriptions/s/resourcegroups/mc_rg/providers/microsoft.managedidentity/userassignedidentities/"
    "kubelet";

std::string rid(std::size_t i, bool upper) {
  return std::string(upper ? "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/"
                             "userAssignedIdentities/"
                           : "/subscriptions/s/resourcegroups/rg/providers/microsoft.managedidentity/"
                             "userassignedidentities/") +
         "r" + std::to_string(i);
}

template <class T>
const T& pick(Rng& rng, const std::vector<T>& v) {
  return v[rng.below(v.size())];
}

}  // namespace

std::uint64_t Rng::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void EventGenerator::emit(Event e) {
  std::visit([&](auto& ev) { ev.at_ms = now_ms_; }, e);
  log_.events.push_back(e);
  (void)apply(state_, log_.events.back(), log_.events.size());
  now_ms_ += static_cast<std::int64_t>(rng_.chance(5) ? 120'000 : rng_.below(3000));
}

void EventGenerator::random_object_event() {
  const std::string ns = kNamespaces[rng_.below(kNamespaces.size())];
  const std::string version = std::to_string(next_version_++);
  const bool remove = rng_.chance(15);
  switch (rng_.below(6)) {
    case 0: {  // pods: with and without labels, nodes and IPs; finished ones
      const PodKey key{ns, "p" + std::to_string(rng_.below(kPods))};
      if (remove) return emit(PodDeleted{.key = key, .resource_version = version});
      Pod p;
      p.key = key;
      p.uid = "uid-" + version;
      p.resource_version = version;
      if (!rng_.chance(10)) p.node = kNodes[rng_.below(kNodes.size())].first;
      if (!rng_.chance(10))
        p.ip = "10.0." + std::to_string(rng_.below(4)) + "." + std::to_string(rng_.below(250));
      p.phase = rng_.chance(10) ? "Succeeded" : rng_.chance(10) ? "Pending" : "Running";
      if (rng_.chance(75)) p.labels["aadpodidbinding"] = kSelectors[rng_.below(kSelectors.size())];
      if (rng_.chance(5)) p.labels["aadpodidbinding"] = "";
      if (rng_.chance(30)) p.labels["app"] = rng_.chance(50) ? "web" : "db";
      p.host_network = rng_.chance(5);
      return emit(PodObserved{.pod = p});
    }
    case 1: {  // identities of types 0, 1, 2 and unknown; invalid resource IDs; shared resource IDs
      const IdentityKey key{ns, "id" + std::to_string(rng_.below(kIdentities))};
      if (remove) return emit(IdentityDeleted{.key = key, .resource_version = version});
      AzureIdentity id;
      id.key = key;
      id.resource_version = version;
      const auto t = rng_.below(10);
      id.raw_type = t < 6 ? 0 : t < 8 ? 1 : t < 9 ? 2 : 7;
      id.type = identity_type_from(id.raw_type);
      const auto r = rng_.below(4);
      id.client_id = "c" + std::to_string(r);
      if (id.raw_type == 0) {
        id.resource_id = rng_.chance(85)   ? rid(r, rng_.chance(30))
                         : rng_.chance(50) ? std::string{}
                                           : "/subscriptions/s/resourcegroups/rg/bogus/" + std::to_string(r);
      } else {
        id.tenant_id = "tenant";
        id.secret_ref = {"secret-" + std::to_string(r), ns};
      }
      id.namespaced = rng_.chance(20);
      id.generation = static_cast<std::int64_t>(next_version_);
      return emit(IdentityObserved{.identity = id});
    }
    case 2: {
      const BindingKey key{ns, "b" + std::to_string(rng_.below(kBindings))};
      if (remove) return emit(BindingDeleted{.key = key, .resource_version = version});
      return emit(BindingObserved{.binding = {key, "id" + std::to_string(rng_.below(kIdentities)),
                                              kSelectors[rng_.below(kSelectors.size())], version}});
    }
    case 3: {  // exceptions: a label match (value compared case-insensitively) or one that matches nothing
      const ExceptionKey key{ns, "e" + std::to_string(rng_.below(kExceptions))};
      if (remove || rng_.chance(30)) return emit(ExceptionDeleted{.key = key, .resource_version = version});
      Labels labels;
      if (rng_.chance(60)) {
        labels["aadpodidbinding"] = rng_.chance(50) ? "S1" : "s2";
      } else {
        labels["app"] = "db";
      }
      return emit(ExceptionObserved{.exception = {key, labels, version}});
    }
    case 4: {
      const auto& [name, provider] = kNodes[rng_.below(kNodes.size())];
      if (remove) return emit(NodeDeleted{.name = name, .resource_version = version});
      Node n;
      n.name = name;
      n.provider_id = provider;
      n.resource_version = version;
      if (auto vm = parse_provider_id(n.provider_id)) n.vm = *vm;
      return emit(NodeObserved{.node = n});
    }
    default: {  // AzureAssignedIdentities as observed: ours, or stale ones an older controller left
      AssignedIdentity aai;
      if (!state_.assignments.empty() && rng_.chance(70)) {
        auto it = state_.assignments.begin();
        std::advance(it, static_cast<std::ptrdiff_t>(rng_.below(state_.assignments.size())));
        const auto& a = it->second;
        aai = {a.aai,    a.pod,  a.identity, a.binding, a.node, std::string(to_string(a.phase)),
               a.reason, version};
        if (rng_.chance(20)) aai.status.clear();  // written by MIC < 1.5
        // The embedded identity copy: current, stale (the identity was edited since), or unknown (v1 log).
        if (const auto id = state_.identities.find(a.identity);
            id != state_.identities.end() && rng_.chance(70))
          aai.identity_copy =
              IdentityCopy{id->second.raw_type, rng_.chance(20) ? "old-client" : id->second.client_id,
                           id->second.resource_id};
      } else {
        aai = {{"default", "stale-" + std::to_string(rng_.below(3))},
               {ns, "p0"},
               {ns, "id0"},
               {ns, "b0"},
               "vm0",
               "Assigned",
               "",
               version};
      }
      if (remove) return emit(AssignedIdentityDeleted{.key = aai.key, .resource_version = version});
      return emit(AssignedIdentityObserved{.assigned = aai});
    }
  }
}

void EventGenerator::controller_step() {
  const auto p = plan(state_, now_ms_);
  log_.plan_points.emplace_back(log_.events.size(), now_ms_);
  if (!p.identity_changes.empty() && rng_.chance(70)) {
    const auto& c = p.identity_changes[rng_.below(p.identity_changes.size())];
    if (state_.targets[c.target].in_flight.empty()) {
      return emit(ArmOperationStarted{.operation_id = "op-" + std::to_string(next_op_++),
                                      .target = c.target,
                                      .add = c.add,
                                      .remove = c.remove,
                                      .caused_by = c.caused_by});
    }
  }
  if (!p.aai_writes.empty()) {
    const auto& w = p.aai_writes[rng_.below(p.aai_writes.size())];
    auto written = w.assigned;
    written.resource_version = std::to_string(next_version_++);
    const auto action = w.kind == AaiWriteKind::create   ? WriteAction::created
                        : w.kind == AaiWriteKind::remove ? WriteAction::deleted
                                                         : WriteAction::updated;
    return emit(AssignedIdentityWritten{.action = action, .assigned = written});
  }
  observe_azure();
}

void EventGenerator::finish_operation() {
  if (state_.operations.empty()) return random_arm_event();
  auto it = state_.operations.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(rng_.below(state_.operations.size())));
  const auto op = it->second;
  const auto roll = rng_.below(100);
  if (roll < 55) {
    emit(ArmOperationSucceeded{.operation_id = op.id, .target = op.target});
    if (rng_.chance(50)) observe_azure();
    return;
  }
  if (roll < 80) {
    constexpr std::array<ErrorCode, 4> kClasses{ErrorCode::transient, ErrorCode::permission,
                                                ErrorCode::not_found, ErrorCode::invalid};
    ArmOperationFailed f;
    f.operation_id = op.id;
    f.target = op.target;
    f.error_class = kClasses[rng_.below(kClasses.size())];
    f.message = "ARM said no (" + std::to_string(rng_.below(100)) + ")";
    if (!op.add.empty() && rng_.chance(40)) f.failed_identities.push_back(op.add[rng_.below(op.add.size())]);
    return emit(f);
  }
  emit(ArmOperationThrottled{.operation_id = op.id,
                             .target = op.target,
                             .retry_after_ms = static_cast<std::int64_t>(rng_.below(30'000))});
}

void EventGenerator::observe_azure() {
  // A GET of a node's VM or scale set: what is there now, sometimes with drift (an identity removed
  // behind our back, or the kubelet identity / another one added).
  const auto& provider = kNodes[rng_.below(kNodes.size() - 1)].second;
  const auto vm = parse_provider_id(provider);
  if (!vm) return;
  const auto target = target_of(*vm);
  VmIdentitiesObserved obs;
  obs.target = target;
  if (const auto t = state_.targets.find(target); t != state_.targets.end()) {
    for (const auto& [r, id] : t->second.present) {
      if (rng_.chance(10)) continue;
      auto reported = id;
      // What our PATCH attached gets its IDs from Azure, mostly the AzureIdentity's client ID; sometimes
      // null ones (an identity re-created in Azure), which the planner repairs.
      if (reported.client_id.empty() && !rng_.chance(15)) {
        reported.client_id = "c-" + r;
        for (const auto& [k, identity] : state_.identities)
          if (iequals(identity.resource_id, r)) reported.client_id = identity.client_id;
        reported.principal_id = "p-" + r;
      }
      obs.identities.push_back(reported);
    }
  }
  if (rng_.chance(30)) obs.identities.push_back({kKubelet, "kubelet-client", "kubelet-principal"});
  if (rng_.chance(10)) {
    const auto r = rng_.below(4);
    obs.identities.push_back({rid(r, true), "c" + std::to_string(r), "p" + std::to_string(r)});
  }
  emit(obs);
}

void EventGenerator::random_arm_event() {
  const auto vm = parse_provider_id(kNodes[rng_.below(kNodes.size() - 1)].second);
  if (!vm) return;
  const auto target = target_of(*vm);
  const std::string ghost = "ghost-" + std::to_string(next_op_++);
  switch (rng_.below(3)) {
    case 0:  // an operation nobody planned (another controller instance), on a real target
      return emit(ArmOperationStarted{.operation_id = ghost,
                                      .target = target,
                                      .add = {rid(rng_.below(4), true)},
                                      .remove = {},
                                      .caused_by = {}});
    case 1:  // the end of an operation this log never saw start
      return emit(ArmOperationSucceeded{.operation_id = ghost, .target = target});
    default:
      return emit(ArmOperationThrottled{.operation_id = ghost, .target = target, .retry_after_ms = 5000});
  }
}

GeneratedLog EventGenerator::generate(std::size_t count) {
  log_ = {};
  state_ = {};
  Settings settings;
  settings.retry = {.base_delay_ms = 1000, .max_delay_ms = 60'000, .max_attempts = 2};
  settings.cluster_identities = {kKubelet};
  emit(SettingsObserved{.settings = settings});
  while (log_.events.size() < count) {
    const auto roll = rng_.below(100);
    if (roll < 45) {
      random_object_event();
    } else if (roll < 70) {
      controller_step();
    } else if (roll < 82) {
      finish_operation();
    } else if (roll < 92) {
      observe_azure();
    } else if (roll < 95) {
      random_arm_event();
    } else if (roll < 97) {
      settings.force_namespaced = rng_.chance(30);
      settings.mode = rng_.chance(10) ? Mode::managed : Mode::standard;
      settings.immutable_identities.clear();
      if (rng_.chance(40)) settings.immutable_identities.push_back(rng_.chance(50) ? rid(0, true) : "c1");
      settings.retry.max_attempts = 1 + static_cast<int>(rng_.below(3));
      emit(SettingsObserved{.settings = settings});
    } else {
      emit(MigrationApplied{.migration_id = "m0001",
                            .object_kind = "AzureIdentity",
                            .object = "a/id" + std::to_string(rng_.below(kIdentities)),
                            .changed = rng_.chance(50)});
    }
  }
  log_.events.resize(count);
  std::erase_if(log_.plan_points, [&](const auto& p) { return p.first > count; });
  return std::move(log_);
}

}  // namespace podid::property
