#include "watch/version_index.hpp"

#include <algorithm>
#include <variant>

namespace podid::watch {

// Mirrors core/projection.cpp's Applier for the object maps, and nothing else.
struct VersionIndex::Applier {
  VersionIndex& index;

  void operator()(const core::PodObserved& e) const {
    index.set(IngestKind::pods, e.pod.key.to_string(), e.pod.resource_version);
  }
  void operator()(const core::PodDeleted& e) const { index.erase(IngestKind::pods, e.key.to_string()); }
  void operator()(const core::NodeObserved& e) const {
    index.set(IngestKind::nodes, e.node.name, e.node.resource_version);
  }
  void operator()(const core::NodeDeleted& e) const { index.erase(IngestKind::nodes, e.name); }
  void operator()(const core::IdentityObserved& e) const {
    index.set(IngestKind::identities, e.identity.key.to_string(), e.identity.resource_version);
  }
  void operator()(const core::IdentityDeleted& e) const {
    index.erase(IngestKind::identities, e.key.to_string());
  }
  void operator()(const core::BindingObserved& e) const {
    index.set(IngestKind::bindings, e.binding.key.to_string(), e.binding.resource_version);
  }
  void operator()(const core::BindingDeleted& e) const {
    index.erase(IngestKind::bindings, e.key.to_string());
  }
  void operator()(const core::ExceptionObserved& e) const {
    index.set(IngestKind::exceptions, e.exception.key.to_string(), e.exception.resource_version);
  }
  void operator()(const core::ExceptionDeleted& e) const {
    index.erase(IngestKind::exceptions, e.key.to_string());
  }
  void operator()(const core::AssignedIdentityObserved& e) const {
    index.set(IngestKind::assigned_identities, e.assigned.key.to_string(), e.assigned.resource_version);
  }
  void operator()(const core::AssignedIdentityDeleted& e) const {
    index.erase(IngestKind::assigned_identities, e.key.to_string());
  }
  // The controller's writes: the State holds the object as written, with the version the API server gave it.
  void operator()(const core::AssignedIdentityWritten& e) const {
    if (e.action == core::WriteAction::deleted) {
      index.erase(IngestKind::assigned_identities, e.assigned.key.to_string());
    } else {
      index.set(IngestKind::assigned_identities, e.assigned.key.to_string(), e.assigned.resource_version);
    }
  }
  // Settings, ARM observations and operations, migrations: no Kubernetes object of an ingest kind.
  template <class Other>
  void operator()(const Other& /*unused*/) const {}
};

VersionIndex VersionIndex::from_state(const core::State& state) {
  VersionIndex out;
  for (const auto kind : all_ingest_kinds()) {
    auto objects = state_objects(kind, state, "");
    auto& versions = out.of(kind);
    for (auto& [key, version] : objects) versions.emplace_hint(versions.end(), key, std::move(version));
  }
  out.last_seq_ = state.last_seq;
  return out;
}

bool VersionIndex::apply(const core::Event& e, core::Seq seq) {
  if (seq <= last_seq_ && last_seq_ != 0) return false;  // as core::apply: replaying an overlap is harmless
  std::visit(Applier{*this}, e);
  last_seq_ = seq;
  return true;
}

void VersionIndex::set(IngestKind kind, std::string key, const std::string& version) {
  auto& versions = of(kind);
  const auto it = versions.lower_bound(key);
  if (it != versions.end() && it->first == key) {
    it->second = version;
  } else {
    versions.emplace_hint(it, std::move(key), version);
  }
}

void VersionIndex::erase(IngestKind kind, const std::string& key) {
  of(kind).erase(key);
}

std::optional<std::string> VersionIndex::version(IngestKind kind, std::string_view key) const {
  const auto& versions = of(kind);
  const auto it = versions.find(key);
  if (it == versions.end()) return std::nullopt;
  return it->second;
}

VersionIndex::Versions VersionIndex::objects(IngestKind kind, std::string_view ns) const {
  const auto& versions = of(kind);
  if (ns.empty() || !resource_of(kind).namespaced) return versions;
  // Keys are "ns/name", ordered as strings: the namespace's objects are one contiguous range.
  const std::string prefix = std::string(ns) + "/";
  Versions out;
  for (auto it = versions.lower_bound(prefix); it != versions.end() && it->first.starts_with(prefix); ++it)
    out.emplace_hint(out.end(), it->first, it->second);
  return out;
}

std::size_t VersionIndex::size(IngestKind kind) const {
  return of(kind).size();
}

core::Result<VersionIndex> rebuild_version_index(const store::EventLog& log) {
  auto rebuilt = PODID_TRY(log.rebuild());
  return VersionIndex::from_state(rebuilt.state);
}

core::Result<std::uint64_t> catch_up(const store::EventLog& log, VersionIndex& index,
                                     std::optional<core::Seq> upto) {
  constexpr std::size_t kPage = 4096;
  const auto& store = log.store();
  core::Seq next = index.last_seq() + 1;
  if (next < store.first_seq()) {
    // Retention dropped events the index had not applied (it follows the log behind the controller, which
    // checkpoints). Retention keeps everything after the newest checkpoint: start again from there.
    index = PODID_TRY(rebuild_version_index(log));
    return std::uint64_t{0};
  }
  const core::Seq end = upto ? std::min(*upto, store.last_seq()) : store.last_seq();
  std::uint64_t applied = 0;
  while (next <= end) {
    const auto page = PODID_TRY(store.read(next, std::min<std::size_t>(kPage, end - next + 1)));
    if (page.empty()) break;
    for (const auto& record : page) {
      const auto event = PODID_TRY(store::from_record(record));
      if (index.apply(event, record.seq)) ++applied;
      next = record.seq + 1;
    }
  }
  return applied;
}

}  // namespace podid::watch
