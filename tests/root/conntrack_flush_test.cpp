// Connections opened before the rules on a node whose conntrack tracks them (issue 8; docs/security.md row
// 11). On a real node kube-proxy's stateful rules keep conntrack on in the host namespace, so a pod's
// keep-alive connection to the IMDS opened before the node proxy's rules has an entry saying "not NATed":
// DNAT never applies to it again. Here a stand-in for kube-proxy (a rule matching on conntrack state that
// decides nothing) is installed before the pod connects, and the test asserts that conntrack tracked the
// connection before it relies on it. Then, with the guard chain off (so that only the flush protects):
// without the flush the old connection still reaches the IMDS, with it the connection is reset and the IMDS
// receives nothing; a pre-rule connection to another port survives the flush. With the guard chain on (the
// default) the tracked connection is rejected even without the flush. Both backends. Last, the flush's
// filter on the node's own connections: IPv6 and IPv4, port 80 and another port.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <cstring>
#include <type_traits>

#include "nodeproxy/interception_loop.hpp"
#include "nodeproxy/iptables/netlink_conntrack_table.hpp"
#include "root/backends.hpp"
#include "root/held_connection.hpp"
#include "root/root_env.hpp"

using namespace podid;
using namespace podid::testing;
using iptables::FlowDestination;

namespace {

// kube-proxy's stand-in in the node namespace, in the backend's own tool: a rule on conntrack state
// (counting NEW connections, no verdict) makes the kernel track every connection from now on.
template <class Backend>
void track_connections(RootEnv& env) {
  if constexpr (std::is_same_v<Backend, LegacyBackend>) {
    (void)env.node_exec(
        {"iptables-legacy", "-t", "filter", "-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW"});
  } else {
    (void)env.node_exec({"nft", "add", "table", "ip", "kube-standin"});
    (void)env.node_exec(
        {"nft", "add", "chain", "ip", "kube-standin", "input", "{ type filter hook input priority 0 ; }"});
    (void)env.node_exec(
        {"nft", "add", "rule", "ip", "kube-standin", "input", "ct", "state", "new", "counter"});
  }
}

std::size_t tracked_connections(RootEnv& env) {
  return std::stoul(env.node_exec({"cat", "/proc/sys/net/netfilter/nf_conntrack_count"}));
}

int listen_in_node(RootEnv& env, const char* ip, std::uint16_t port) {
  core::Result<int> fd = core::make_error(core::ErrorCode::io, "not run");
  env.net->node().run([&] { fd = TcpResponder::listen_socket(ip, port); });
  INFO((fd ? std::string() : fd.error().message));
  REQUIRE(fd.has_value());
  return *fd;
}

int connect_from(const Pod& pod, std::uint16_t port) {
  int fd = -1;
  pod.ns->run([&] { fd = connect_to(NodeNetwork::kMetadataAddress, port); });
  REQUIRE(fd >= 0);
  return fd;
}

std::string describe(const Exchange& e) {
  return "body '" + e.body + "', errno " + std::to_string(e.error) + " (" + std::strerror(e.error) + ")";
}

}  // namespace

TEMPLATE_TEST_CASE(
    "A tracked connection opened before the rules reaches the IMDS unless conntrack is flushed", "[root]",
    LegacyBackend, NftBackend) {
  RootEnv env;
  PODID_REQUIRE_ROOT(env.runner);
  env.build(false);
  INFO(TestType::kName);
  auto rules = TestType::make(env.runner);
  track_connections<TestType>(env);
  PatientImds imds("imds", listen_in_node(env, NodeNetwork::kMetadataAddress, 80));
  PatientImds imds81("imds81", listen_in_node(env, NodeNetwork::kMetadataAddress, 81));
  TcpResponder proxy("proxy", listen_in_node(env, NodeNetwork::kNodeAddress, kProxyPort));

  // Before the rules: pod A opens keep-alive connections to the IMDS's port 80 and to port 81.
  const int early = connect_from(*env.a, 80);
  const int early81 = connect_from(*env.a, 81);
  const auto tracked = tracked_connections(env);
  INFO("precondition: conntrack tracks the connections opened before the rules (entries: " << tracked << ")");
  REQUIRE(tracked >= 2);

  iptables::RuleSpec spec = env.spec();
  SECTION("with the guard chain off and no flush, the old connection still reaches the IMDS") {
    spec.reject_unbound = false;
    REQUIRE(env.in_node([&] { return rules->ensure(spec); }).has_value());
    CHECK(env.get_from(*env.a, NodeNetwork::kMetadataAddress, 80).body == "proxy " + env.a->ip);
    const auto old = request_on(early);
    INFO("old connection: " << describe(old) << "; the IMDS received " << imds.request_bytes() << " bytes");
    // The hole the flush closes: if this fails, the environment no longer shows it.
    CHECK(old.body.find("imds") != std::string::npos);
    CHECK(imds.request_bytes() > 0);
  }
  SECTION("with the guard chain off and the flush, the old connection is reset and reaches nothing") {
    spec.reject_unbound = false;
    REQUIRE(env.in_node([&] { return rules->ensure(spec); }).has_value());
    iptables::NetlinkConntrackTable table;
    auto deleted = env.in_node([&] { return table.delete_tcp_to(FlowDestination::from(spec.metadata)); });
    INFO((deleted ? std::string() : deleted.error().describe()));
    REQUIRE(deleted.has_value());
    CHECK(*deleted == 1);  // the port-80 connection; port 81 is not the metadata endpoint
    const auto old = request_on(early);
    INFO("old connection: " << describe(old) << "; the IMDS received " << imds.request_bytes() << " bytes");
    CHECK(old.body.find("imds") == std::string::npos);
    CHECK(old.error == ECONNRESET);
    CHECK(imds.request_bytes() == 0);
    const auto other = request_on(early81);
    INFO("port-81 connection: " << describe(other));
    CHECK(other.body.ends_with("imds81"));
    CHECK(env.get_from(*env.a, NodeNetwork::kMetadataAddress, 80).body == "proxy " + env.a->ip);
  }
  SECTION("with the guard chain on (the default) and no flush, the old connection is reset") {
    REQUIRE(spec.reject_unbound);
    REQUIRE(env.in_node([&] { return rules->ensure(spec); }).has_value());
    const auto old = request_on(early);
    INFO("old connection: " << describe(old) << "; the IMDS received " << imds.request_bytes() << " bytes");
    CHECK(old.body.find("imds") == std::string::npos);
    CHECK(old.error == ECONNRESET);
    CHECK(imds.request_bytes() == 0);
  }
  ::close(early);
  ::close(early81);
  imds.stop();
  imds81.stop();
  REQUIRE(env.in_node([&] { return rules->remove(); }).has_value());
}

TEMPLATE_TEST_CASE("The rule loop flushes the IMDS's conntrack entries right after its first install",
                   "[root]", LegacyBackend, NftBackend) {
  RootEnv env;
  PODID_REQUIRE_ROOT(env.runner);
  env.build(false);
  INFO(TestType::kName);
  auto rules = TestType::make(env.runner);
  track_connections<TestType>(env);
  PatientImds imds("imds", listen_in_node(env, NodeNetwork::kMetadataAddress, 80));
  const int early = connect_from(*env.a, 80);
  const int early_b = connect_from(*env.b, 80);
  REQUIRE(tracked_connections(env) >= 2);

  boost::asio::io_context io;
  nodeproxy::MemorySnapshotSource snapshots;  // no pod yet: nothing redirected, everything rejected
  core::SystemClock clock;
  core::MemorySink sink;
  nodeproxy::InterceptionOptions options;
  options.proxy = {*iptables::Ipv4Address::parse(NodeNetwork::kNodeAddress), kProxyPort};
  iptables::NetlinkConntrackTable table;
  nodeproxy::InterceptionLoop loop(
      io.get_executor(), *rules, snapshots, [] { return core::Result<std::string>("Iface\tDestination\n"); },
      options, core::Logger(sink, clock, "iptables"), &table);
  auto ensured = env.in_node([&] { return loop.ensure_now(); });
  INFO((ensured ? std::string() : ensured.error().describe()));
  REQUIRE(ensured.has_value());
  CHECK(loop.counters().conntrack_flushed);
  CHECK(loop.counters().conntrack_deleted == 2);
  CHECK(loop.counters().conntrack_failures == 0);
  bool logged = false;
  for (const auto& line : sink.lines())
    logged = logged || (line.find("Conntrack entries flushed.") != std::string::npos &&
                        line.find("\"deleted\":2") != std::string::npos &&
                        line.find("169.254.169.254:80") != std::string::npos);
  CHECK(logged);
  // Nothing of them is left to delete.
  auto again = env.in_node([&] { return table.delete_tcp_to(FlowDestination::from(options.metadata)); });
  REQUIRE(again.has_value());
  CHECK(*again == 0);
  const auto old = request_on(early);
  INFO("old connection: " << describe(old));
  CHECK(old.error == ECONNRESET);
  CHECK(imds.request_bytes() == 0);
  ::close(early);
  ::close(early_b);
  imds.stop();
  REQUIRE(env.in_node([&] { return loop.remove(); }).has_value());
}

namespace {

// A listening socket on ip:port and a connection to it, both in the calling thread's namespace (the
// handshake completes in the backlog; nothing is accepted). Returns {listener, client} or {-1, -1}.
std::pair<int, int> local_connection(const std::string& ip, std::uint16_t port) {
  sockaddr_storage sa{};
  socklen_t len = 0;
  if (ip.find(':') != std::string::npos) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&sa);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    ::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr);
    len = sizeof(sockaddr_in6);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&sa);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr);
    len = sizeof(sockaddr_in);
  }
  const int listener = ::socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int client = ::socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const auto* addr = reinterpret_cast<const sockaddr*>(&sa);
  if (listener < 0 || client < 0 || ::bind(listener, addr, len) != 0 || ::listen(listener, 4) != 0 ||
      ::connect(client, addr, len) != 0) {
    if (listener >= 0) ::close(listener);
    if (client >= 0) ::close(client);
    return {-1, -1};
  }
  return {listener, client};
}

}  // namespace

TEST_CASE("The flush deletes only TCP entries to the given IPv6 or IPv4 address and port", "[root]") {
  RootEnv env;
  PODID_REQUIRE_ROOT(env.runner);
  env.build(false);
  const std::string v6 = "fd00::a9fe:a9fe";
  (void)env.node_exec({"ip", "-6", "addr", "add", v6 + "/128", "dev", "lo", "nodad"});
  // Both families tracked, for the node's own (locally generated) connections.
  (void)env.node_exec({"nft", "add", "table", "inet", "kube-standin"});
  (void)env.node_exec(
      {"nft", "add", "chain", "inet", "kube-standin", "output", "{ type filter hook output priority 0 ; }"});
  (void)env.node_exec(
      {"nft", "add", "rule", "inet", "kube-standin", "output", "ct", "state", "new", "counter"});

  std::vector<std::pair<int, int>> connections;
  env.net->node().run([&] {
    connections = {local_connection(v6, 80), local_connection(v6, 81),
                   local_connection(NodeNetwork::kMetadataAddress, 80)};
  });
  for (const auto& [listener, client] : connections) REQUIRE(client >= 0);
  REQUIRE(tracked_connections(env) >= 3);

  iptables::NetlinkConntrackTable table;
  const auto delete_to = [&](const std::string& ip, std::uint16_t port) {
    auto deleted = env.in_node([&] { return table.delete_tcp_to(FlowDestination::parse(ip, port).value()); });
    INFO((deleted ? std::string() : deleted.error().describe()));
    REQUIRE(deleted.has_value());
    return *deleted;
  };
  CHECK(delete_to(v6, 80) == 1);
  CHECK(delete_to(v6, 80) == 0);
  CHECK(delete_to(v6, 81) == 1);  // was untouched by the port-80 flush
  CHECK(delete_to(NodeNetwork::kMetadataAddress, 80) == 1);
  CHECK(delete_to(NodeNetwork::kMetadataAddress, 80) == 0);
  for (const auto& [listener, client] : connections) {
    ::close(client);
    ::close(listener);
  }
}
