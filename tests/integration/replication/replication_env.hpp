#pragma once
// Replication test environment: the real API server (TokenRequest mints pod-bound service-account tokens,
// TokenReview verifies them), a ReplicationServer over TLS (test CA) serving snapshots from a map the test
// edits, and helpers to run replicas. Everything runs on one io_context driven by run_until().

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <stdexcept>

#include "core/clock.hpp"
#include "core/logger.hpp"
#include "integration/watch/kube_env.hpp"
#include "nodeproxy/replica.hpp"
#include "nodeproxy/replication_server.hpp"
#include "support/control_plane_catch.hpp"
#include "unit/http/test_pki.hpp"

namespace podid::testing {

inline std::string must(const HttpReply& reply, long want, const std::string& what) {
  if (reply.status != want)
    throw std::runtime_error(what + ": " + std::to_string(reply.status) + " " + reply.body);
  return reply.body;
}

struct ReplicationEnv {
  explicit ReplicationEnv(ControlPlane& control) : cp(control), pki("replication-test-ca") {
    ns = cp.create_namespace("repl");
    must(cp.request("POST", "/api/v1/namespaces/" + ns + "/serviceaccounts",
                    R"({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"podid-nmi"}})"),
         201, "ServiceAccount");
    pod_uid["nmi-a"] = create_pod("nmi-a", "node-a");
    pod_uid["nmi-b"] = create_pod("nmi-b", "node-b");
    kube = admin_client(io, cp);
    leaf = pki.issue("replication", {"localhost"}, {"127.0.0.1"});
    snapshots["node-a"] = snapshot("node-a", 1, {"pod-1"});
    snapshots["node-b"] = snapshot("node-b", 1, {"b-pod-1"});
  }

  std::string create_pod(const std::string& name, const std::string& node) {
    const auto body = must(cp.request("POST", "/api/v1/namespaces/" + ns + "/pods",
                                      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
                                          R"("},"spec":{"nodeName":")" + node +
                                          R"(","serviceAccountName":"podid-nmi",)"
                                          R"("containers":[{"name":"nmi","image":"podid/nmi:test"}]}})"),
                           201, "Pod " + name);
    return std::string{boost::json::parse(body).at("metadata").at("uid").as_string()};
  }

  // A service-account token bound to the pod (its claims name the pod and the pod's node).
  std::string token_for(const std::string& pod, int seconds = 3600) {
    const auto body = must(
        cp.request(
            "POST", "/api/v1/namespaces/" + ns + "/serviceaccounts/podid-nmi/token",
            R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":)" +
                std::to_string(seconds) + R"(,"boundObjectRef":{"apiVersion":"v1","kind":"Pod","name":")" +
                pod + R"(","uid":")" + pod_uid.at(pod) + R"("}}})"),
        201, "TokenRequest");
    return std::string{boost::json::parse(body).at("status").at("token").as_string()};
  }

  static nodeproxy::NodeSnapshot snapshot(const std::string& node, core::Seq seq,
                                          const std::vector<std::string>& pods) {
    nodeproxy::NodeSnapshot s;
    s.node = node;
    s.seq = seq;
    int n = 2;
    for (const auto& p : pods) {
      nodeproxy::SnapshotPod pod;
      pod.key = {"default", p};
      pod.ip = "10.0.0." + std::to_string(n++);
      pod.phase = "Running";
      s.pods.push_back(std::move(pod));
    }
    return s;
  }

  // Replaces one node's snapshot; every node's seq moves to `seq` (it is the State's last event).
  void publish(const nodeproxy::NodeSnapshot& s) {
    for (auto& [node, snap] : snapshots) snap.seq = s.seq;
    snapshots[s.node] = s;
    if (server) server->notify_changed();
  }

  void start_server(std::uint16_t listen_port = 0) {
    nodeproxy::ReplicationServerOptions o;
    o.port = listen_port;
    o.tls = http::TlsServerConfig{{"", leaf.cert_pem}, {"", leaf.key_pem}, {}};
    o.heartbeat = std::chrono::milliseconds(300);
    o.review_ttl = std::chrono::seconds(2);
    o.allowed_users = {"system:serviceaccount:" + ns + ":podid-nmi"};
    auto created = nodeproxy::ReplicationServer::create(
        io.get_executor(), o, *kube,
        [this](const std::string& node) -> std::shared_ptr<const nodeproxy::NodeSnapshot> {
          auto it = snapshots.find(node);
          if (it == snapshots.end()) return nullptr;
          return std::make_shared<const nodeproxy::NodeSnapshot>(it->second);
        },
        core::Logger(sink, clock, "replication"));
    if (!created) throw std::runtime_error(created.error().describe());
    server = std::move(*created);
    server->start();
    port = server->port();
  }

  void stop_server() {
    run_async(io, server->stop());
    server.reset();
  }

  [[nodiscard]] std::string url() const { return "https://127.0.0.1:" + std::to_string(port); }

  std::unique_ptr<nodeproxy::Replica> replica(const std::string& node,
                                              nodeproxy::MemorySnapshotSource& target,
                                              std::function<core::Result<std::string>()> token) {
    nodeproxy::ReplicaOptions o;
    o.server_url = url();
    o.node = node;
    o.tls.ca.data = pki.ca().cert_pem;
    o.token = std::move(token);
    o.backoff_min = std::chrono::milliseconds(50);
    o.backoff_max = std::chrono::milliseconds(400);
    o.poll_timeout = std::chrono::seconds(5);
    o.idle_timeout = std::chrono::seconds(3);
    auto created =
        nodeproxy::Replica::create(io.get_executor(), o, target, core::Logger(sink, clock, "replica"));
    if (!created) throw std::runtime_error(created.error().describe());
    return std::move(*created);
  }

  // One GET of a node's snapshot with the given Authorization header value ("" = none).
  http::Response get(const std::string& node, const std::string& authorization) {
    http::ClientOptions co;
    co.tls.ca.data = pki.ca().cert_pem;
    auto client = http::HttpClient::create(io.get_executor(), co);
    if (!client) throw std::runtime_error(client.error().describe());
    http::Request r;
    r.url = url() + "/v1/nodes/" + node + "/snapshot";
    if (!authorization.empty()) r.headers.emplace_back("Authorization", authorization);
    auto answer = run_async(io, (*client)->request(std::move(r)));
    if (!answer) throw std::runtime_error(answer.error().describe());
    return *answer;
  }

  ControlPlane& cp;
  TestPki pki;
  CertKey leaf;
  std::string ns;
  std::map<std::string, std::string> pod_uid;
  boost::asio::io_context io;
  std::unique_ptr<watch::HttpKubeClient> kube;
  std::map<std::string, nodeproxy::NodeSnapshot> snapshots;
  core::SystemClock clock;
  core::MemorySink sink;
  std::unique_ptr<nodeproxy::ReplicationServer> server;
  std::uint16_t port{0};
};

}  // namespace podid::testing
