// Connections opened before the rules existed (issue 8), on a node whose conntrack did NOT track them. A pod
// opens a connection to the IMDS, then the rules are installed and it sends its request on that connection:
// it must be reset and the IMDS must receive nothing. A fresh network namespace has no conntrack hooks until
// a rule needs conntrack (the kernel registers them per namespace on demand), so the connection opened before
// our rules is untracked (nf_conntrack_count 0, asserted); its next packet is then picked up mid-stream as
// new, redirected to the node proxy, and reset there. The tracked case (a real node, where kube-proxy's
// stateful rules keep conntrack on) and the conntrack flush are in conntrack_flush_test.cpp.

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "root/backends.hpp"
#include "root/held_connection.hpp"
#include "root/root_env.hpp"

using namespace podid;
using namespace podid::testing;

TEMPLATE_TEST_CASE(
    "A connection a pod opened to the IMDS before the rules existed is reset and reaches nothing", "[root]",
    LegacyBackend, NftBackend) {
  RootEnv env;
  PODID_REQUIRE_ROOT(env.runner);
  env.build(false);
  INFO(TestType::kName);
  auto rules = TestType::make(env.runner);
  const iptables::RuleSpec spec = env.spec();  // reject_unbound: the default
  REQUIRE(spec.reject_unbound);

  core::Result<int> listen = core::make_error(core::ErrorCode::io, "not run");
  env.net->node().run([&] { listen = TcpResponder::listen_socket(NodeNetwork::kMetadataAddress, 80); });
  REQUIRE(listen.has_value());
  PatientImds imds("imds", *listen);
  core::Result<int> proxy_fd = core::make_error(core::ErrorCode::io, "not run");
  env.net->node().run([&] { proxy_fd = TcpResponder::listen_socket(NodeNetwork::kNodeAddress, kProxyPort); });
  REQUIRE(proxy_fd.has_value());
  TcpResponder proxy("proxy", *proxy_fd);

  // Before the rules: pod A opens a connection to the real IMDS and keeps it.
  int early = -1;
  env.a->ns->run([&] { early = connect_to(NodeNetwork::kMetadataAddress, 80); });
  REQUIRE(early >= 0);
  // The case this test is about: nothing in the node namespace tracks connections yet.
  REQUIRE(env.node_exec({"cat", "/proc/sys/net/netfilter/nf_conntrack_count"}) == "0\n");

  REQUIRE(env.in_node([&] { return rules->ensure(spec); }).has_value());
  // New connections are redirected.
  CHECK(env.get_from(*env.a, NodeNetwork::kMetadataAddress, 80).body == "proxy " + env.a->ip);

  const auto old = request_on(early);
  ::close(early);
  INFO("old connection: body '" << old.body << "', errno " << old.error << " (" << std::strerror(old.error)
                                << "), the IMDS received " << imds.request_bytes() << " bytes");
  CHECK(old.body.find("imds") == std::string::npos);
  CHECK(old.error == ECONNRESET);
  CHECK(imds.request_bytes() == 0);
  imds.stop();
  REQUIRE(env.in_node([&] { return rules->remove(); }).has_value());
}
