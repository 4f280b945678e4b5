// Anti-spoofing on a bridged pod network (kubenet's cbr0, Azure CNI's azure0), through the kernel, on both
// backends: pods A and B share one bridge, so the bridge alone cannot tell them apart; each binding names the
// pod's own port of it. B claims A's address (on its eth0, and in ARP) and must get nowhere.

#include <cerrno>
#include <fstream>
#include <regex>

#include "root/backends.hpp"
#include "root/root_env.hpp"

using namespace podid;
using namespace podid::testing;
using iptables::RuleSpec;

namespace {

using namespace std::chrono_literals;

const iptables::ChainNames kNames = *iptables::ChainNames::from_base(iptables::kDefaultChain);

// RootEnv's bridged layout with the proxy and the fake IMDS listening, and br_netfilter's switch.
struct BridgedEnv : RootEnv {
  void build() {
    build_bridged();
    set_bridge_nf_call_iptables("1");
    auto listen = [&](const char* ip, std::uint16_t port) {
      core::Result<int> fd = core::make_error(core::ErrorCode::io, "not run");
      net->node().run([&] { fd = TcpResponder::listen_socket(ip, port); });
      REQUIRE(fd.has_value());
      return *fd;
    };
    proxy = std::make_unique<TcpResponder>("proxy", listen(NodeNetwork::kNodeAddress, kProxyPort));
    imds = std::make_unique<TcpResponder>("imds", listen(NodeNetwork::kMetadataAddress, 80));
  }
  // br_netfilter's switch in the node namespace (the kernel's default in a new namespace is 1).
  void set_bridge_nf_call_iptables(const char* value) {
    net->node().run([&] { std::ofstream("/proc/sys/net/bridge/bridge-nf-call-iptables") << value; });
  }
  GetResult get_from(const Pod& pod, const std::string& source = {}) {
    GetResult out;
    pod.ns->run([&] { out = http_get(NodeNetwork::kMetadataAddress, 80, source, 1500ms); });
    return out;
  }
  std::string exec(const NetNamespace& ns, const std::vector<std::string>& argv) {
    auto out = ns.exec(argv);
    REQUIRE(out.has_value());
    return out->out + out->err;
  }
  // The node's neighbour entry for a pod: "lladdr <mac>" or whatever `ip neigh` prints.
  std::string node_neighbour(const Pod& pod) {
    return exec(net->node(), {"ip", "neigh", "show", pod.ip, "dev", NodeNetwork::kBridge});
  }
  std::string mac_of(const Pod& pod) {
    auto mac = exec(*pod.ns, {"cat", "/sys/class/net/eth0/address"});
    return mac.substr(0, mac.find('\n'));
  }
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEMPLATE_TEST_CASE(
    "On a bridge, a pod that claims another pod's address and answers ARP for it is never "
    "redirected",
    "[root]", LegacyBackend, NftBackend) {
  BridgedEnv env;
  PODID_REQUIRE_ROOT(env.runner);
  env.build();
  auto rules = TestType::make(env.runner);
  const RuleSpec spec = env.spec();
  const bool nft = std::string(TestType::kName).rfind("nf_tables", 0) == 0;
  INFO("backend: " << TestType::kName);

  // Without rules both pods reach the (fake) IMDS through the bridge: the network works.
  CHECK(env.get_from(*env.a).body == "imds " + env.a->ip);

  auto first = env.in_node([&] { return rules->ensure(spec); });
  INFO((first ? std::string() : first.error().describe()));
  REQUIRE(first.has_value());
  CHECK(*first);
  auto again = env.in_node([&] { return rules->ensure(spec); });
  REQUIRE(again.has_value());
  CHECK_FALSE(*again);  // the bridge ports read back: idempotent
  auto installed = env.in_node([&] { return rules->inspect(); });
  REQUIRE(installed.has_value());
  CHECK(installed->rules == iptables::render(spec, kNames));

  // Each pod is redirected with its real source IP, through its own port.
  CHECK(env.get_from(*env.a).body == "proxy " + env.a->ip);
  CHECK(env.get_from(*env.b).body == "proxy " + env.b->ip);
  const std::string a_mac = env.mac_of(*env.a);
  REQUIRE(contains(env.node_neighbour(*env.a), a_mac));

  // B claims A's address on its eth0 and sends from it (its gateway's MAC is already known: the SYN goes).
  const iptables::Rule dnat_a = iptables::render(spec, kNames).chains[0].rules[0];
  REQUIRE(dnat_a.physdev_in == env.a->bridge_port);
  auto before = env.in_node([&] { return rules->inspect(); });
  REQUIRE(before.has_value());
  REQUIRE(env.b->ns->must({"ip", "addr", "add", env.a->ip + "/32", "dev", "eth0"}).has_value());
  const auto proxy_peers = env.proxy->peers().size();
  const auto imds_peers = env.imds->peers().size();
  const auto spoofed = env.get_from(*env.b, env.a->ip);
  CHECK_FALSE(spoofed.connected);
  auto after = env.in_node([&] { return rules->inspect(); });
  REQUIRE(after.has_value());
  CHECK(after->packets_of(kNames.nat, dnat_a) == before->packets_of(kNames.nat, dnat_a));
  CHECK(env.proxy->peers().size() == proxy_peers);
  CHECK(env.imds->peers().size() == imds_peers);

  // Now in ARP too: B forgets its neighbours, so its next spoofed SYN first asks for the gateway as A.
  REQUIRE(env.b->ns->must({"ip", "neigh", "flush", "all"}).has_value());
  const auto spoofed_arp = env.get_from(*env.b, env.a->ip);
  CHECK_FALSE(spoofed_arp.connected);
  CHECK(env.proxy->peers().size() == proxy_peers);
  CHECK(env.imds->peers().size() == imds_peers);
  // The bridge table (both backends) dropped B's ARP claim: the node still sends A's replies to A, so B
  // cannot read A's token off the wire either.
  const auto table = env.exec(env.net->node(), {"nft", "list", "table", "bridge", "podid"});
  std::smatch m;
  REQUIRE(std::regex_search(table, m, std::regex("arp saddr ip " + env.a->ip + " counter packets (\\d+)")));
  CHECK(std::stoul(m[1]) > 0);
  CHECK(contains(env.node_neighbour(*env.a), a_mac));
  CHECK(env.get_from(*env.a).body == "proxy " + env.a->ip);

  // B's own requests still work.
  REQUIRE(env.b->ns->must({"ip", "addr", "del", env.a->ip + "/32", "dev", "eth0"}).has_value());
  CHECK(env.get_from(*env.b).body == "proxy " + env.b->ip);

  SECTION("tampering with the port binding is repaired") {
    // The port binding lives in the bridge table (both backends) and, for legacy, in the physdev match too.
    (void)env.exec(env.net->node(), {"nft", "flush", "chain", "bridge", "podid", "prerouting"});
    if (!nft) (void)env.exec(env.net->node(), {"iptables-legacy", "-t", "nat", "-D", kNames.nat, "1"});
    auto tampered = env.in_node([&] { return rules->inspect(); });
    REQUIRE(tampered.has_value());
    CHECK_FALSE(tampered->rules == iptables::render(spec, kNames));
    auto repaired = env.in_node([&] { return rules->ensure(spec); });
    REQUIRE(repaired.has_value());
    CHECK(*repaired);
    auto now = env.in_node([&] { return rules->inspect(); });
    REQUIRE(now.has_value());
    CHECK(now->rules == iptables::render(spec, kNames));
  }

  SECTION("remove() leaves nothing, in either table") {
    REQUIRE(env.in_node([&] { return rules->remove(); }).has_value());
    auto gone = env.in_node([&] { return rules->inspect(); });
    REQUIRE(gone.has_value());
    CHECK(gone->rules.chains.empty());
    auto bridge = env.net->node().exec({"nft", "list", "table", "bridge", "podid"});
    REQUIRE(bridge.has_value());
    CHECK(bridge->exit_code != 0);
    CHECK(env.get_from(*env.a).body == "imds " + env.a->ip);
  }
}

TEST_CASE("With bridge-nf-call-iptables off the legacy backend's bridged pods fail closed", "[root]") {
  BridgedEnv env;
  PODID_REQUIRE_ROOT(env.runner);
  env.build();
  auto rules = LegacyBackend::make(env.runner);
  REQUIRE(env.in_node([&] { return rules->ensure(env.spec()); }).has_value());
  CHECK(env.get_from(*env.a).body == "proxy " + env.a->ip);
  // physdev sees no bridge port without br_netfilter: no redirect, and the guard resets instead of passing.
  env.set_bridge_nf_call_iptables("0");
  const auto refused = env.get_from(*env.a);
  CHECK_FALSE(refused.connected);
  CHECK(refused.error == ECONNREFUSED);
  CHECK(env.imds->peers().size() == 0);
  REQUIRE(env.in_node([&] { return rules->remove(); }).has_value());
}

TEST_CASE("The nft backend binds bridge ports without br_netfilter", "[root]") {
  BridgedEnv env;
  PODID_REQUIRE_ROOT(env.runner);
  env.build();
  env.set_bridge_nf_call_iptables("0");
  auto rules = NftBackend::make(env.runner);
  REQUIRE(env.in_node([&] { return rules->ensure(env.spec()); }).has_value());
  // The bridge family sees the port itself: A is still redirected and B still cannot pose as A.
  CHECK(env.get_from(*env.a).body == "proxy " + env.a->ip);
  REQUIRE(env.b->ns->must({"ip", "addr", "add", env.a->ip + "/32", "dev", "eth0"}).has_value());
  const auto peers = env.proxy->peers().size();
  CHECK_FALSE(env.get_from(*env.b, env.a->ip).connected);
  CHECK(env.proxy->peers().size() == peers);
  CHECK(env.imds->peers().size() == 0);
  REQUIRE(env.in_node([&] { return rules->remove(); }).has_value());
}
