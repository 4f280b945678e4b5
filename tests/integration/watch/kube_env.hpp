#pragma once
// Integration-test helpers: an io_context, HttpKubeClients for the shared control plane, and loops that
// run the context until a condition holds (bounded by a deadline; never a fixed sleep).

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>

#include "support/control_plane.hpp"
#include "unit/http/run_async.hpp"
#include "watch/http_kube_client.hpp"
#include "watch/kubeconfig.hpp"

namespace podid::testing {

inline std::unique_ptr<watch::HttpKubeClient> make_client(boost::asio::io_context& io,
                                                          const watch::ClusterConfig& config) {
  auto created = watch::HttpKubeClient::create(io.get_executor(), config);
  if (!created) throw std::runtime_error(created.error().describe());
  return std::move(*created);
}

inline std::unique_ptr<watch::HttpKubeClient> admin_client(boost::asio::io_context& io, ControlPlane& cp) {
  auto config = watch::load_kubeconfig(cp.info().kubeconfig_path);
  if (!config) throw std::runtime_error(config.error().describe());
  return make_client(io, *config);
}

// Runs the context until pred() holds; false when the deadline passed first.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& pred,
                      std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  return true;
}

// A throwaway custom resource kind whose watch cache starts when the test first needs it: a watch from an
// RV older than that start ("1") gets a real 410 Expired from the API server's watch cache.
inline const watch::ResourceKind& widgets() {
  static const watch::ResourceKind kind{"watchtest.podid.io", "v1", "widgets", "Widget", true};
  return kind;
}

inline void ensure_widget_crd(ControlPlane& cp) {
  const auto reply =
      cp.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                 R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",)"
                 R"("metadata":{"name":"widgets.watchtest.podid.io"},"spec":{"group":"watchtest.podid.io",)"
                 R"("scope":"Namespaced","names":{"kind":"Widget","plural":"widgets","singular":"widget",)"
                 R"("listKind":"WidgetList"},"versions":[{"name":"v1","served":true,"storage":true,)"
                 R"("schema":{"openAPIV3Schema":{"type":"object",)"
                 R"("x-kubernetes-preserve-unknown-fields":true}}}]}})");
  if (reply.status != 201 && reply.status != 409) throw std::runtime_error("Widget CRD: " + reply.body);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (cp.request("GET", "/apis/watchtest.podid.io/v1/widgets").status != 200) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("Widget CRD never served");
  }
}

inline boost::json::object widget(const std::string& name) {
  return boost::json::object{
      {"apiVersion", "watchtest.podid.io/v1"}, {"kind", "Widget"}, {"metadata", {{"name", name}}}};
}

inline boost::json::object config_map(const std::string& name, const std::string& value) {
  return boost::json::object{{"apiVersion", "v1"},
                             {"kind", "ConfigMap"},
                             {"metadata", {{"name", name}, {"labels", {{"app", "podid-test"}}}}},
                             {"data", {{"value", value}}}};
}

inline std::string name_of(const boost::json::object& object) {
  return std::string{object.at("metadata").at("name").as_string()};
}

}  // namespace podid::testing
