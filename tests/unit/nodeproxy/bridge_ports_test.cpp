// Bridged CNIs: the CNI result cache parser, which port of a bridge a pod must arrive on, the rule spec for
// bridged pods (bound to bridge and port, or left unbound: fail closed), the rule loop's reports, and the
// reader of sysfs and the cache directory (on a temporary tree standing in for both).
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "cli/nodeproxy_bridges.hpp"
#include "core/clock.hpp"
#include "nodeproxy/cni_cache.hpp"
#include "nodeproxy/interception_loop.hpp"

using namespace podid;
using namespace podid::nodeproxy;
namespace fs = std::filesystem;

namespace {

// As libcni (containerd) writes it for the bridge plugin with host-local IPAM, "config" shortened.
constexpr const char* kBridgeEntry = R"({"kind":"cniCacheV1",
  "containerId":"3f6940ab5ab43bc522569d15b23f8c1bbde1d7678b080398506924fc01d72755",
  "config":"eyJjbmlWZXJzaW9uIjoiMC4zLjEifQ==","ifName":"eth0","networkName":"cbr0",
  "netns":"/var/run/netns/cni-8b8677c8","cniArgs":[["K8S_POD_NAMESPACE","default"],["K8S_POD_NAME","a"]],
  "result":{"cniVersion":"0.4.0",
    "interfaces":[{"name":"cbr0","mac":"2a:4b:1c:8d:00:01"},{"name":"veth1a2b3c4d","mac":"6e:1f:aa:02:03:04"},
                  {"name":"eth0","mac":"0a:58:0a:f4:01:05","sandbox":"/var/run/netns/cni-8b8677c8"}],
    "ips":[{"version":"4","interface":2,"address":"10.244.1.5/24","gateway":"10.244.1.1"},
           {"version":"6","interface":2,"address":"fd00:10:244:1::5/64"}],
    "routes":[{"dst":"0.0.0.0/0"}],"dns":{}}})";

// libcni before 0.8 cached the bare result.
constexpr const char* kBareEntry = R"({"cniVersion":"0.3.1",
  "interfaces":[{"name":"cbr0"},{"name":"vethfeed0001"},{"name":"eth0","sandbox":"/proc/42/ns/net"}],
  "ips":[{"version":"4","interface":2,"address":"10.244.1.6/24"}]})";

iptables::Ipv4Address ip(const char* text) {
  return iptables::Ipv4Address::parse(text).value();
}

SnapshotPod pod(const std::string& name, const std::string& address) {
  SnapshotPod p;
  p.key = {"default", name};
  p.ip = address;
  p.phase = "Running";
  return p;
}

// 10.244.1.0/24 dev cbr0; 10.244.9.9/32 dev cali9 (a routed pod on the same node).
constexpr const char* kRoutes =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "cbr0\t0001F40A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    "cali9\t0909F40A\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0\n";

BridgePorts node_view() {
  BridgePorts v;
  v.bridges["cbr0"] = {"veth1a2b3c4d", "vethfeed0001", "vethb0b0b0b0"};
  v.add(parse_cni_cache_entry(kBridgeEntry).value());
  v.add(parse_cni_cache_entry(kBareEntry).value());
  return v;
}

}  // namespace

TEST_CASE("A CNI cache entry of the bridge plugin names the pod's IPv4 address and its host-side interfaces",
          "[unit]") {
  const auto entry = parse_cni_cache_entry(kBridgeEntry);
  REQUIRE(entry.has_value());
  CHECK(entry->container_id.starts_with("3f6940ab"));
  CHECK(entry->ips == std::vector<iptables::Ipv4Address>{ip("10.244.1.5")});
  CHECK(entry->host_interfaces == std::vector<std::string>{"cbr0", "veth1a2b3c4d"});
  const auto bare = parse_cni_cache_entry(kBareEntry);
  REQUIRE(bare.has_value());
  CHECK(bare->ips == std::vector<iptables::Ipv4Address>{ip("10.244.1.6")});
  CHECK(bare->host_interfaces == std::vector<std::string>{"cbr0", "vethfeed0001"});
}

TEST_CASE("A malformed CNI cache entry is a clear corrupt error, whatever its damage", "[unit]") {
  const auto [text, says] = GENERATE(table<std::string, std::string>({
      {"", "not JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"kind":"cniCacheV2","result":{}})", "unknown kind"},
      {R"({"kind":"cniCacheV1"})", "no result"},
      {R"({"kind":"cniCacheV1","result":{"interfaces":[]}})", "no ips"},
      {R"({"interfaces":{},"ips":[]})", "interfaces is not an array"},
      {R"({"interfaces":[{"mac":"x"}],"ips":[]})", "an interface without a name"},
      {R"({"ips":[{"interface":0}]})", "an IP entry without an address"},
      {R"({"ips":[{"address":"10.244.1.300/24"}]})", "malformed address"},
  }));
  const auto parsed = parse_cni_cache_entry(text);
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.error().code == core::ErrorCode::corrupt);
  CHECK_THAT(parsed.error().message, Catch::Contains(says));
}

TEST_CASE("Every truncation of a CNI cache entry is refused, never half read", "[unit]") {
  const std::string full = kBridgeEntry;
  for (std::size_t n = 0; n < full.size(); ++n) {
    INFO("length " << n);
    CHECK_FALSE(parse_cni_cache_entry(full.substr(0, n)).has_value());
  }
}

TEST_CASE("A pod's bridge port is the one cached host interface that is a port of its bridge", "[unit]") {
  BridgePorts v = node_view();
  CHECK(bridge_port(v, "cbr0", ip("10.244.1.5")) == "veth1a2b3c4d");
  CHECK(bridge_port(v, "cbr0", ip("10.244.1.6")) == "vethfeed0001");
  CHECK_FALSE(bridge_port(v, "cbr0", ip("10.244.1.7")).has_value());  // no cache entry
  CHECK_FALSE(bridge_port(v, "azure0", ip("10.244.1.5")).has_value());
  SECTION("a stale entry whose veth left the bridge names no port") {
    v.bridges["cbr0"].erase("veth1a2b3c4d");
    CHECK_FALSE(bridge_port(v, "cbr0", ip("10.244.1.5")).has_value());
  }
  SECTION("two entries naming two ports for one IP: neither is trusted") {
    CniAttachment other{"c2", {ip("10.244.1.5")}, {"cbr0", "vethb0b0b0b0"}};
    v.add(other);
    CHECK_FALSE(bridge_port(v, "cbr0", ip("10.244.1.5")).has_value());
  }
}

TEST_CASE("Bridged pods are bound to bridge and port; without a known port they stay unbound", "[unit]") {
  NodeSnapshot s;
  s.pods = {pod("a", "10.244.1.5"), pod("b", "10.244.1.6"), pod("nocache", "10.244.1.7"),
            pod("routed", "10.244.9.9")};
  InterceptionOptions o;
  o.proxy = {ip("10.0.0.4"), 2579};
  const auto routes = parse_proc_net_route(kRoutes).value();
  const auto d = desired_rules(s, routes, o, node_view());
  REQUIRE(d.spec.bindings.size() == 3);
  CHECK(d.spec.bindings[0] == iptables::PodBinding{ip("10.244.1.5"), "cbr0", "veth1a2b3c4d"});
  CHECK(d.spec.bindings[1] == iptables::PodBinding{ip("10.244.1.6"), "cbr0", "vethfeed0001"});
  CHECK(d.spec.bindings[2] == iptables::PodBinding{ip("10.244.9.9"), "cali9", ""});
  CHECK(d.unported == std::vector<std::string>{"default/nocache"});
  CHECK(d.spec.validate());

  SECTION("--bridge-port-required=false binds the unported pod to the bridge alone") {
    o.bridge_only = true;
    const auto weak = desired_rules(s, routes, o, node_view());
    REQUIRE(weak.spec.bindings.size() == 4);
    CHECK(weak.spec.bindings[2] == iptables::PodBinding{ip("10.244.1.7"), "cbr0", ""});
    CHECK(weak.unported == std::vector<std::string>{"default/nocache"});
  }
  SECTION("without a bridge view the bridge is an ordinary interface (the routed behaviour)") {
    CHECK(desired_rules(s, routes, o).spec.bindings.size() == 4);
  }
}

TEST_CASE("The rule loop counts bridged and unported pods and reports br_netfilter being off", "[unit]") {
  boost::asio::io_context io;
  struct Rules final : iptables::InterceptionRules {
    core::Result<bool> ensure(const iptables::RuleSpec& spec) override {
      last = spec;
      return true;
    }
    core::Status remove() override { return core::ok(); }
    core::Result<iptables::InstalledRules> inspect() override { return iptables::InstalledRules{}; }
    iptables::RuleSpec last;
  } rules;
  MemorySnapshotSource source;
  NodeSnapshot s;
  s.seq = 1;
  s.pods = {pod("a", "10.244.1.5"), pod("nocache", "10.244.1.7")};
  source.publish(s);
  core::SystemClock clock;
  core::MemorySink sink;
  InterceptionOptions o;
  o.proxy = {ip("10.0.0.4"), 2579};
  o.physdev_needs_br_netfilter = true;
  BridgePorts view = node_view();
  view.bridge_nf_call_iptables = false;
  view.unreadable = {"cbr0-dead-eth0: CNI cache: not JSON"};
  InterceptionLoop loop(
      io.get_executor(), rules, source, [] { return core::Result<std::string>(kRoutes); }, o,
      core::Logger(sink, clock, "iptables"), nullptr, [&view] { return core::Result<BridgePorts>(view); });
  REQUIRE(loop.ensure_now());
  CHECK(loop.counters().bridged_pods == 1);
  CHECK(loop.counters().unported_pods == 1);
  CHECK(loop.counters().br_netfilter_off);
  CHECK(rules.last.bindings.size() == 1);
  std::string logged;
  for (const auto& line : sink.lines()) logged += line + "\n";
  CHECK_THAT(logged, Catch::Contains("bridge-nf-call-iptables is not 1"));
  CHECK_THAT(logged, Catch::Contains("Bridged pods left unbound: port unknown."));
  CHECK_THAT(logged, Catch::Contains("CNI cache files skipped."));
  view.bridge_nf_call_iptables = true;
  REQUIRE(loop.ensure_now());
  CHECK_FALSE(loop.counters().br_netfilter_off);

  SECTION("a bridge view that cannot be read fails the check (nothing is installed from half a view)") {
    InterceptionLoop failing(
        io.get_executor(), rules, source, [] { return core::Result<std::string>(kRoutes); }, o,
        core::Logger(sink, clock, "iptables"), nullptr,
        [] { return core::Result<BridgePorts>(core::make_error(core::ErrorCode::io, "no sysfs")); });
    CHECK_FALSE(failing.ensure_now());
    CHECK(failing.counters().failures == 1);
  }
}

TEST_CASE("The node's bridges, their ports and the CNI cache are read from sysfs and the cache directory",
          "[unit]") {
  const fs::path root = fs::temp_directory_path() / ("podid-bridges-" + std::to_string(::getpid()));
  fs::remove_all(root);
  auto write = [](const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  };
  cli::BridgeSources src;
  src.sys_class_net = (root / "sys").string();
  src.bridge_nf_call_iptables = (root / "bridge-nf-call-iptables").string();
  src.cni_cache_dirs = {(root / "results").string(), (root / "absent").string()};
  fs::create_directories(root / "sys" / "eth0");
  SECTION("a node without bridges reads no cache") {
    write(root / "results" / "broken", "{");
    const auto v = cli::read_bridge_ports(src);
    REQUIRE(v.has_value());
    CHECK(v->bridges.empty());
    CHECK(v->unreadable.empty());
    CHECK_FALSE(v->bridge_nf_call_iptables.has_value());
  }
  SECTION("a bridged node: ports, cache entries, broken files listed, the sysctl") {
    fs::create_directories(root / "sys" / "cbr0" / "bridge");
    fs::create_directories(root / "sys" / "cbr0" / "brif" / "veth1a2b3c4d");
    write(root / "results" / "cbr0-3f69-eth0", kBridgeEntry);
    write(root / "results" / "cbr0-dead-eth0", "{\"kind\":");
    write(root / "bridge-nf-call-iptables", "1\n");
    const auto v = cli::read_bridge_ports(src);
    REQUIRE(v.has_value());
    CHECK(v->bridges.at("cbr0") == std::set<std::string>{"veth1a2b3c4d"});
    CHECK(bridge_port(*v, "cbr0", ip("10.244.1.5")) == "veth1a2b3c4d");
    REQUIRE(v->unreadable.size() == 1);
    CHECK_THAT(v->unreadable[0], Catch::StartsWith("cbr0-dead-eth0: CNI cache: not JSON"));
    CHECK(v->bridge_nf_call_iptables == true);
  }
  fs::remove_all(root);
}
