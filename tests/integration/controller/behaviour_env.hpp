#pragma once
// Helpers for the controller behaviour tests (podid_integration_controller_behaviour): a Cluster holds the
// emulator (controller_cloud() plus the identities a test names), a Kubernetes client, one or more test
// namespaces, and set-up and assertion helpers: scale-set nodes by instance, pods scheduled and running,
// identities with bindings, label patches, and what the emulated scale set and the controller's State hold.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "integration/controller/controller_env.hpp"

namespace podid::testing {

// The scale-set instance `instance` of ss-0 (small_cloud() has two).
inline boost::json::object scale_set_instance_node(const std::string& name, int instance) {
  return boost::json::object{
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata", {{"name", name}}},
      {"spec",
       {{"providerID", std::string("azure:///subscriptions/") + emu::testing::kSub +
                           "/resourceGroups/nodes/providers/Microsoft.Compute/virtualMachineScaleSets/ss-0/"
                           "virtualMachines/" +
                           std::to_string(instance)}}}};
}

inline emu::EmulatorConfig behaviour_cloud(const std::vector<std::string>& extra_identities) {
  auto c = controller_cloud();
  for (const auto& name : extra_identities)
    c.identities.push_back(emu::IdentityConfig{emu::testing::kSub, "ids", name, "eastus", {}});
  c.latencies.vmss = std::chrono::milliseconds(100);
  c.latencies.retry_after = std::chrono::seconds(0);
  return c;
}

struct Cluster {
  Cluster(ControlPlane& control_plane, const std::vector<std::string>& extra_identities)
      : cp(control_plane), ns(cp.create_namespace("behave")), emulator(behaviour_cloud(extra_identities)) {
    REQUIRE(emulator.start());
    kube = admin_client(io, cp);
    namespaces.push_back(ns);
  }
  // Deletes the pods this test created, so that a later test watching all namespaces does not see them.
  ~Cluster() {
    for (const auto& n : namespaces)
      static_cast<void>(cp.request("DELETE", "/api/v1/namespaces/" + n + "/pods"));
  }
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  std::string create_namespace(const std::string& prefix) {
    namespaces.push_back(cp.create_namespace(prefix));
    return namespaces.back();
  }

  void create(const watch::ResourceKind& kind, const std::string& in_ns, boost::json::object object) {
    auto created = run_async(io, kube->create(kind, in_ns, std::move(object)));
    if (!created) FAIL(created.error().describe());
  }
  // A node on instance `instance` of ss-0; its name is unique to this test.
  std::string create_node(const std::string& suffix, int instance) {
    const auto name = ns + "-" + suffix;
    create(watch::kinds::nodes(), "", scale_set_instance_node(name, instance));
    return name;
  }
  // The pod, scheduled on `node` and running with an IP (set through the status subresource).
  void create_pod(const std::string& in_ns, const std::string& name, const std::string& selector,
                  const std::string& node, const std::string& ip) {
    create(watch::kinds::pods(), in_ns, scheduled_pod(name, selector, node));
    const auto reply = cp.request("PATCH", "/api/v1/namespaces/" + in_ns + "/pods/" + name + "/status",
                                  R"({"status":{"phase":"Running","podIP":")" + ip + R"("}})",
                                  "application/merge-patch+json");
    REQUIRE(reply.status == 200);
  }
  void delete_pod(const std::string& in_ns, const std::string& name) {
    const auto reply =
        cp.request("DELETE", "/api/v1/namespaces/" + in_ns + "/pods/" + name + "?gracePeriodSeconds=0");
    REQUIRE(reply.status == 200);
  }
  void relabel_pod(const std::string& in_ns, const std::string& name, const std::string& selector) {
    const auto reply = cp.request("PATCH", "/api/v1/namespaces/" + in_ns + "/pods/" + name,
                                  R"({"metadata":{"labels":{"aadpodidbinding":")" + selector + R"("}}})",
                                  "application/merge-patch+json");
    REQUIRE(reply.status == 200);
  }
  // The emulator's identity `name` (REQUIREd to exist).
  emu::ManagedIdentity azure_identity(const std::string& name) const {
    const auto found = emulator.identity(emu::testing::identity_id(name));
    REQUIRE(found);
    return *found;
  }
  // An AzureIdentity for the emulator's identity `name` and a binding with `selector`, in `in_ns`.
  void create_identity(const std::string& in_ns, const std::string& name, const std::string& selector) {
    const auto id = azure_identity(name);
    create(watch::kinds::azure_identities(), in_ns, msi_identity(name, id.id, id.client_id));
    create(watch::kinds::azure_identity_bindings(), in_ns, binding(name + "-binding", name, selector));
  }
  // Whether the emulated scale set's model holds the identity (what ARM GET shows).
  bool scale_set_has(const std::string& name) const {
    const auto m = emulator.machine(emu::testing::vmss_id("ss-0"));
    return m && m->user.contains(core::to_lower(emu::testing::identity_id(name)));
  }
  boost::json::value aai(const std::string& in_ns, const std::string& pod,
                         const std::string& identity) const {
    const auto name = core::assigned_identity_name({in_ns, pod}, {in_ns, identity});
    return get_json(
        cp, "/apis/aadpodidentity.k8s.io/v1/namespaces/" + in_ns + "/azureassignedidentities/" + name);
  }
  static const core::Assignment* assignment(const cli::Controller& c, const std::string& in_ns,
                                            const std::string& pod, const std::string& id) {
    const auto it = c.state().assignments.find(core::AssignmentKey{{in_ns, pod}, {in_ns, id}});
    return it == c.state().assignments.end() ? nullptr : &it->second;
  }
  // The assignment is in phase `p` and the AAI the controller observed says so too.
  static bool phase_is(const cli::Controller& c, const std::string& in_ns, const std::string& pod,
                       const std::string& id, core::Phase p) {
    const auto* a = assignment(c, in_ns, pod, id);
    if (a == nullptr || a->phase != p) return false;
    const auto aai = c.state().assigned.find(a->aai);
    return aai != c.state().assigned.end() && aai->second.status == core::to_string(p);
  }
  // Whether the controller's State has any assignment (in any phase) for the pod.
  static bool has_any_assignment(const cli::Controller& c, const std::string& in_ns, const std::string& pod) {
    for (const auto& [key, a] : c.state().assignments)
      if (key.pod == core::PodKey{in_ns, pod}) return true;
    return false;
  }
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
    return podid::testing::run_until(io, pred, limit);
  }

  ControlPlane& cp;
  boost::asio::io_context io;
  std::string ns;
  std::vector<std::string> namespaces;  // ns and those from create_namespace()
  emu::Emulator emulator;
  std::unique_ptr<watch::HttpKubeClient> kube;
};

inline std::string json_str(const boost::json::value& v, std::initializer_list<std::string_view> path) {
  const boost::json::value* at = &v;
  for (const auto key : path) {
    if (!at->is_object() || !at->as_object().contains(key)) return {};
    at = &at->as_object().at(key);
  }
  return at->is_string() ? std::string(at->as_string()) : std::string{};
}

}  // namespace podid::testing
