#include "watch/aai_writer.hpp"

#include <boost/json/array.hpp>
#include <utility>

#include "core/k8s_objects.hpp"

namespace podid::watch {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::string_view kApiVersion = "aadpodidentity.k8s.io/v1";

json::object meta(const std::string& ns, const std::string& name, const std::string& rv) {
  json::object m{{"name", name}, {"namespace", ns}};
  if (!rv.empty()) m["resourceVersion"] = rv;
  return m;
}

const ResourceKind& aais() {
  return kinds::azure_assigned_identities();
}

bool has_finalizer(const json::object& o) {
  const auto* md = o.if_contains("metadata");
  const auto* fins = md != nullptr && md->is_object() ? md->as_object().if_contains("finalizers") : nullptr;
  if (fins == nullptr || !fins->is_array()) return false;
  for (const auto& f : fins->as_array())
    if (f.is_string() && f.as_string() == kAaiFinalizer) return true;
  return false;
}

// Copies what we own (labels.nodename, our finalizer, spec) from `desired` onto the stored `current`.
void merge_into(json::object& current, const json::object& desired, const std::string& node) {
  auto& md = current["metadata"];
  if (!md.is_object()) md = json::object{};
  auto& labels = md.as_object()["labels"];
  if (!labels.is_object()) labels = json::object{};
  labels.as_object()[kNodeNameLabel] = node;
  if (!has_finalizer(current)) {
    auto& fins = md.as_object()["finalizers"];
    if (!fins.is_array()) fins = json::array{};
    fins.as_array().emplace_back(kAaiFinalizer);
  }
  if (const auto* spec = desired.if_contains("spec")) current["spec"] = *spec;
}

}  // namespace

json::object identity_snapshot(const core::IdentityKey& key, const core::State& state) {
  json::object o{{"apiVersion", kApiVersion}, {"kind", "AzureIdentity"}};
  const auto it = state.identities.find(key);
  if (it == state.identities.end()) {
    o["metadata"] = meta(key.ns, key.name, {});
    return o;
  }
  const auto& id = it->second;
  auto m = meta(key.ns, key.name, id.resource_version);
  if (id.namespaced) m["annotations"] = json::object{{"aadpodidentity.k8s.io/Behavior", "namespaced"}};
  o["metadata"] = std::move(m);
  json::object spec{{"type", id.raw_type}, {"clientID", id.client_id}};
  if (!id.resource_id.empty()) spec["resourceID"] = id.resource_id;
  if (!id.tenant_id.empty()) spec["tenantID"] = id.tenant_id;
  if (!id.ad_endpoint.empty()) spec["adEndpoint"] = id.ad_endpoint;
  if (!id.secret_ref.name.empty())
    spec["clientPassword"] = json::object{{"name", id.secret_ref.name}, {"namespace", id.secret_ref.ns}};
  o["spec"] = std::move(spec);
  return o;
}

json::object binding_snapshot(const core::BindingKey& key, const core::State& state) {
  json::object o{{"apiVersion", kApiVersion}, {"kind", "AzureIdentityBinding"}};
  const auto it = state.bindings.find(key);
  if (it == state.bindings.end()) {
    o["metadata"] = meta(key.ns, key.name, {});
    return o;
  }
  o["metadata"] = meta(key.ns, key.name, it->second.resource_version);
  o["spec"] = json::object{{"azureIdentity", it->second.identity_name}, {"selector", it->second.selector}};
  return o;
}

json::object aai_object(const core::AssignedIdentity& a, const core::State& state) {
  json::object md{{"name", a.key.name},
                  {"namespace", a.key.ns},
                  {"labels", json::object{{kNodeNameLabel, a.node}}},
                  {"finalizers", json::array{json::string(kAaiFinalizer)}}};
  json::object spec{{"azureIdentityRef", identity_snapshot(a.identity, state)},
                    {"azureBindingRef", binding_snapshot(a.binding, state)},
                    {"pod", a.pod.name},
                    {"podNamespace", a.pod.ns},
                    {"nodename", a.node}};
  return json::object{{"apiVersion", kApiVersion},
                      {"kind", "AzureAssignedIdentity"},
                      {"metadata", std::move(md)},
                      {"spec", std::move(spec)}};
}

AaiWriter::AaiWriter(KubeClient& client, EventSink sink, const core::Clock& clock, core::Logger logger,
                     AaiWriterOptions options)
    : client_(client), sink_(std::move(sink)), clock_(clock), logger_(std::move(logger)), options_(options) {}

core::Status AaiWriter::written(core::WriteAction action, core::AssignedIdentity a,
                                const json::object& stored) {
  if (!stored.empty()) {
    if (auto decoded = core::decode_assigned_identity(stored)) {
      a = std::move(*decoded);
    } else if (const auto* md = stored.if_contains("metadata"); md != nullptr && md->is_object()) {
      if (const auto* rv = md->as_object().if_contains("resourceVersion"); rv != nullptr && rv->is_string())
        a.resource_version = std::string(rv->as_string());
    }
  }
  core::AssignedIdentityWritten e;
  e.at_ms = clock_.now_ms();
  e.action = action;
  e.assigned = std::move(a);
  const core::Event event{std::move(e)};
  return sink_(std::span<const core::Event>(&event, 1));
}

asio::awaitable<core::Result<json::object>> AaiWriter::upsert(const core::AssignedIdentity& a,
                                                              json::object desired, bool create_first) {
  if (create_first) {
    auto created = co_await client_.create(aais(), a.key.ns, desired);
    if (created) {
      ++counters_.created;
      co_return std::move(*created);
    }
    if (created.error().code != core::ErrorCode::conflict) co_return created.error();
    ++counters_.conflicts;  // AlreadyExists: left by us or an older controller; take it over
  }
  for (int attempt = 0;; ++attempt) {
    auto current = co_await client_.get(aais(), a.key.ns, a.key.name);
    if (!current && current.error().code == core::ErrorCode::not_found) {
      auto created = co_await client_.create(aais(), a.key.ns, desired);
      if (created) ++counters_.created;
      if (created || created.error().code != core::ErrorCode::conflict ||
          attempt >= options_.max_conflict_retries)
        co_return created;
      ++counters_.conflicts;
      continue;
    }
    if (!current) co_return current.error();
    merge_into(*current, desired, a.node);
    auto updated = co_await client_.update(aais(), a.key.ns, std::move(*current));
    if (updated) {
      ++counters_.updated;
      co_return updated;
    }
    if (updated.error().code != core::ErrorCode::conflict || attempt >= options_.max_conflict_retries)
      co_return updated.error();
    ++counters_.conflicts;
  }
}

asio::awaitable<core::Result<json::object>> AaiWriter::put_status(const core::AssignedIdentity& a) {
  // A merge patch of status only: no resourceVersion precondition, so no conflict with the spec writer.
  json::object status{{"status", a.status}, {"availableReplicas", 1}};
  if (a.reason.empty()) {
    status["reason"] = nullptr;
  } else {
    status["reason"] = a.reason;
  }
  PatchOptions options;
  options.subresource = "status";
  json::object body{{"status", std::move(status)}};
  auto patched = co_await client_.patch(aais(), a.key.ns, a.key.name, PatchType::merge, std::move(body),
                                        std::move(options));
  if (patched) ++counters_.status_writes;
  co_return patched;
}

asio::awaitable<core::Status> AaiWriter::remove(const core::AssignedIdentity& a) {
  for (int attempt = 0;; ++attempt) {
    auto current = co_await client_.get(aais(), a.key.ns, a.key.name);
    if (!current) {
      if (current.error().code == core::ErrorCode::not_found) co_return core::ok();
      co_return current.error();
    }
    if (!has_finalizer(*current)) break;
    auto& fins = (*current)["metadata"].as_object()["finalizers"].as_array();
    json::array kept;
    for (const auto& f : fins)
      if (!(f.is_string() && f.as_string() == kAaiFinalizer)) kept.push_back(f);
    fins = std::move(kept);
    auto updated = co_await client_.update(aais(), a.key.ns, std::move(*current));
    if (updated) break;
    if (updated.error().code == core::ErrorCode::not_found) co_return core::ok();
    if (updated.error().code != core::ErrorCode::conflict || attempt >= options_.max_conflict_retries)
      co_return updated.error();
    ++counters_.conflicts;
  }
  DeleteOptions options;  // a named value: g++ 12 frees a temporary argument of a coroutine twice
  auto removed = co_await client_.remove(aais(), a.key.ns, a.key.name, std::move(options));
  if (!removed && removed.error().code != core::ErrorCode::not_found) co_return removed.error();
  co_return core::ok();
}

asio::awaitable<core::Status> AaiWriter::write(core::AaiWrite w, json::object object) {
  const auto& a = w.assigned;
  core::Result<json::object> stored = json::object{};
  core::WriteAction action = core::WriteAction::updated;
  switch (w.kind) {
    case core::AaiWriteKind::create:
    case core::AaiWriteKind::update: {
      action = w.kind == core::AaiWriteKind::create ? core::WriteAction::created : core::WriteAction::updated;
      stored = co_await upsert(a, std::move(object), w.kind == core::AaiWriteKind::create);
      if (stored && !a.status.empty()) {
        auto with_status = co_await put_status(a);
        if (with_status) {
          stored = std::move(with_status);
        } else {
          // The object exists without its status: record that, the next plan writes the status again.
          logger_.warn("Status write failed.", {{"aai", a.key.to_string().c_str()},
                                                {"error", with_status.error().describe().c_str()}});
        }
      }
      break;
    }
    case core::AaiWriteKind::status:
      stored = co_await put_status(a);
      break;
    case core::AaiWriteKind::remove: {
      const auto removed = co_await remove(a);
      if (!removed) {
        stored = removed.error();
      } else {
        ++counters_.deleted;
        action = core::WriteAction::deleted;
      }
      break;
    }
  }
  if (!stored) {
    ++counters_.failures;
    logger_.warn("AzureAssignedIdentity write failed.",
                 {{"aai", a.key.to_string().c_str()}, {"error", stored.error().describe().c_str()}});
    co_return stored.error();
  }
  logger_.debug("AzureAssignedIdentity written.",
                {{"aai", a.key.to_string().c_str()}, {"status", a.status.c_str()}});
  if (action == core::WriteAction::deleted) stored = json::object{};
  co_return written(action, a, *stored);
}

}  // namespace podid::watch
