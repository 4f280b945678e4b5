#pragma once
// Shared by the start-up tests (migrations, the original MIC's Endpoints lock): a namespace with a scale-set
// node and the emulator, object helpers, and the probe answers of a replica.
#include <catch2/catch.hpp>
#include <string>

#include "integration/controller/controller_env.hpp"

namespace podid::testing {

struct StartupScenario {
  explicit StartupScenario(ControlPlane& control_plane)
      : cp(control_plane),
        ns(cp.create_namespace("start")),
        node("node-" + ns),
        emulator(controller_cloud()) {
    REQUIRE(emulator.start());
    kube = admin_client(io, cp);
    create(watch::kinds::nodes(), "", scale_set_node(node));
  }

  void create(const watch::ResourceKind& kind, const std::string& in_ns, boost::json::object object) {
    auto created = run_async(io, kube->create(kind, in_ns, std::move(object)));
    if (!created) FAIL(created.error().describe());
  }
  // The pod, scheduled on the node and running with an IP (set through the status subresource).
  void create_pod(const std::string& name, const std::string& selector, const std::string& ip) {
    create(watch::kinds::pods(), ns, scheduled_pod(name, selector, node));
    const auto reply = cp.request("PATCH", "/api/v1/namespaces/" + ns + "/pods/" + name + "/status",
                                  R"({"status":{"phase":"Running","podIP":")" + ip + R"("}})",
                                  "application/merge-patch+json");
    REQUIRE(reply.status == 200);
  }
  bool assigned(const cli::Controller& c, const std::string& pod, const std::string& id) const {
    const auto it = c.state().assignments.find(core::AssignmentKey{{ns, pod}, {ns, id}});
    return it != c.state().assignments.end() && it->second.phase == core::Phase::assigned;
  }
  bool scale_set_has(const std::string& resource_id) const {
    const auto m = emulator.machine(emulator::testing::vmss_id("ss-0"));
    return m && m->user.contains(core::to_lower(resource_id));
  }
  std::string path(const std::string& plural, const std::string& name) const {
    return "/apis/aadpodidentity.k8s.io/v1/namespaces/" + ns + "/" + plural + "/" + name;
  }

  ControlPlane& cp;
  boost::asio::io_context io;
  std::string ns;
  std::string node;
  emulator::Emulator emulator;
  std::unique_ptr<watch::HttpKubeClient> kube;
};

inline http::Response probe(const cli::Controller& c, const std::string& url) {
  http::Request r;
  r.method = "GET";
  r.url = url;
  return cli::probe_response(c, r);
}

}  // namespace podid::testing
