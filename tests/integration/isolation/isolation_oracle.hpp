#pragma once
// The isolation matrix's oracle: which identity a request of a pod should get, computed from the original's
// rules (upstream-behaviour.md §1.4, §1.6, §2.4, §3.6, §3.9) written down again here, independently of
// core/matching and nodeproxy/token_decision. Plain data in, expected outcome out; no project code.
//
// Rules, as the original states them:
//  - a pod's label `aadpodidbinding` must be non-empty; every binding (any namespace) whose selector equals
//    it exactly counts, in (namespace, name) order; its identity is looked up in the binding's namespace;
//  - a namespaced identity (forceNamespaced, managed mode, or the Behavior annotation) counts only when
//    identity ns == binding ns == pod ns;
//  - a request naming an identity (client ID, resource ID, or the principal ID of a managed identity: our
//    documented extension, upstream ignored object_id) gets it only if the pod may use it;
//  - a request naming none gets the first the pod may use by (namespace, name) (upstream: "at random");
//  - object_id: in standard mode the node snapshot knows principal IDs from Azure's reads of the VM or scale
//    set; in managed mode nothing reads Azure, so the node proxy asks the node's IMDS for a token by that
//    object ID and hands it out only when the token's claims name an identity the pod may use. Either
//    way a pod gets its own identity by object ID if the identity is attached to the node (IMDS knows it),
//    and never another's (400 "Identity not found");
//  - a pod matched by an AzurePodIdentityException of its namespace (one label, key exact, value any case)
//    is relayed to the node's IMDS, which serves any identity attached to the VM and, with none named and
//    several attached, none (400 "Multiple user assigned identities").

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace podid::testing::isolation {

struct IdentityRow {
  std::string ns, name;
  int type{0};  // 0 managed identity, 1 service principal
  bool annotated_namespaced{false};
  std::string client_id, resource_id, principal_id;  // resource and principal: type 0 only
  bool attached_to_node{false};                      // on the node's VM / scale set in Azure
};

struct BindingRow {
  std::string ns, name, identity, selector;
};

struct PodRow {
  std::string ns, name, ip;
  std::map<std::string, std::string> labels;
  bool on_this_node{true};
};

struct ExceptionRow {
  std::string ns;
  std::map<std::string, std::string> pod_labels;
};

struct World {
  bool force_namespaced{false};
  bool managed{false};
  std::vector<IdentityRow> identities;
  std::vector<BindingRow> bindings;
  std::vector<PodRow> pods;
  std::vector<ExceptionRow> exceptions;
};

enum class Selector { none, client_id, msi_res_id, mi_res_id, object_id };

inline const char* to_string(Selector s) {
  switch (s) {
    case Selector::none:
      return "none";
    case Selector::client_id:
      return "client_id";
    case Selector::msi_res_id:
      return "msi_res_id";
    case Selector::mi_res_id:
      return "mi_res_id";
    case Selector::object_id:
      return "object_id";
  }
  return "?";
}

enum class Outcome { token, identity_not_found, unknown_caller, imds_refused };

struct Expected {
  Outcome outcome{Outcome::identity_not_found};
  const IdentityRow* identity{nullptr};  // Outcome::token: whose token
  bool via_exception{false};
};

inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

inline bool excepted(const World& w, const PodRow& pod) {
  for (const auto& e : w.exceptions) {
    if (e.ns != pod.ns) continue;
    for (const auto& [k, v] : e.pod_labels) {
      const auto label = pod.labels.find(k);
      if (label != pod.labels.end() && lower(label->second) == lower(v)) return true;
    }
  }
  return false;
}

// The identities the pod may use, in (namespace, name) order.
inline std::vector<const IdentityRow*> allowed(const World& w, const PodRow& pod) {
  std::vector<const IdentityRow*> out;
  const auto label = pod.labels.find("aadpodidbinding");
  if (label == pod.labels.end() || label->second.empty()) return out;
  for (const auto& b : w.bindings) {
    if (b.selector != label->second) continue;
    const auto id = std::find_if(w.identities.begin(), w.identities.end(),
                                 [&](const IdentityRow& i) { return i.ns == b.ns && i.name == b.identity; });
    if (id == w.identities.end()) continue;
    const bool namespaced = w.force_namespaced || w.managed || id->annotated_namespaced;
    if (namespaced && !(id->ns == b.ns && b.ns == pod.ns)) continue;
    if (std::find(out.begin(), out.end(), &*id) == out.end()) out.push_back(&*id);
  }
  std::sort(out.begin(), out.end(),
            [](auto* a, auto* b) { return std::tie(a->ns, a->name) < std::tie(b->ns, b->name); });
  return out;
}

// The value a request uses to name `id` with selector `s` (empty: `s` cannot name it).
inline std::string value_for(const IdentityRow& id, Selector s) {
  switch (s) {
    case Selector::none:
      return {};
    case Selector::client_id:
      return id.client_id;
    case Selector::msi_res_id:
    case Selector::mi_res_id:
      return id.resource_id;
    case Selector::object_id:
      return id.principal_id;
  }
  return {};
}

inline bool names(const IdentityRow& id, Selector s, const std::string& value) {
  if (value.empty()) return false;
  switch (s) {
    case Selector::none:
      return false;
    case Selector::client_id:
      return lower(id.client_id) == lower(value);
    case Selector::msi_res_id:
    case Selector::mi_res_id:
      return id.type == 0 && lower(id.resource_id) == lower(value);
    case Selector::object_id:
      return id.type == 0 && lower(id.principal_id) == lower(value);
  }
  return false;
}

// Whether our node proxy can resolve `s` naming `id` (see object_id above): in managed mode an object ID is
// resolved only through the node's IMDS, which knows the identities attached to the node.
inline bool proxy_resolves(const World& w, Selector s, const IdentityRow& id) {
  return !(w.managed && s == Selector::object_id) || id.attached_to_node;
}

// What the pod should get when it asks with selector `s` and `value` (ignored for Selector::none).
inline Expected expect(const World& w, const PodRow& pod, Selector s, const std::string& value) {
  if (!pod.on_this_node) return {Outcome::unknown_caller, nullptr, false};
  if (excepted(w, pod)) {
    // IMDS itself: managed identities attached to the VM, by client, resource or object ID.
    std::vector<const IdentityRow*> attached;
    for (const auto& id : w.identities)
      if (id.type == 0 && id.attached_to_node) attached.push_back(&id);
    if (s == Selector::none)
      return attached.size() == 1 ? Expected{Outcome::token, attached.front(), true}
                                  : Expected{Outcome::imds_refused, nullptr, true};
    for (const auto* id : attached)
      if (names(*id, s, value)) return {Outcome::token, id, true};
    return {Outcome::imds_refused, nullptr, true};
  }
  const auto mine = allowed(w, pod);
  if (s == Selector::none)
    return mine.empty() ? Expected{Outcome::identity_not_found, nullptr, false}
                        : Expected{Outcome::token, mine.front(), false};
  for (const auto* id : mine)
    if (names(*id, s, value) && proxy_resolves(w, s, *id)) return {Outcome::token, id, false};
  return {Outcome::identity_not_found, nullptr, false};
}

}  // namespace podid::testing::isolation
