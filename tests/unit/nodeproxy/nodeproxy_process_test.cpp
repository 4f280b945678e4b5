// The parts podid-nodeproxy composes besides the pipeline: pod interfaces from the node's routes, the rule
// spec and the rule loop (with a recording fake of InterceptionRules), the taint-removal patch, Secret
// decoding, and the flag validation.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include "cli/nodeproxy_config.hpp"
#include "nodeproxy/interception_loop.hpp"
#include "nodeproxy/kube_secret_reader.hpp"
#include "nodeproxy/node_taint.hpp"

using namespace podid;
using namespace podid::nodeproxy;

namespace {

// Columns as the kernel prints them: addresses in hex, network byte order on a little-endian machine.
constexpr const char* kRoutes =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"   // default via 10.0.0.1
    "eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"   // 10.0.0.0/24 dev eth0
    "cali1\t0501F40A\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0\n"  // 10.244.1.5/32 dev cali1
    "cali2\t0601F40A\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0\n"  // 10.244.1.6/32 dev cali2
    "eth0\t0002F40A\t0100000A\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";  // 10.244.2.0/24 via 10.0.0.1

iptables::Ipv4Address ip(const char* text) {
  return iptables::Ipv4Address::parse(text).value();
}

SnapshotPod pod(const std::string& name, const std::string& address, const std::string& phase = "Running") {
  SnapshotPod p;
  p.key = {"default", name};
  p.ip = address;
  p.phase = phase;
  return p;
}

class RecordingRules final : public iptables::InterceptionRules {
 public:
  core::Result<bool> ensure(const iptables::RuleSpec& spec) override {
    calls.push_back("ensure");
    const bool changed = !installed || *installed != spec;
    installed = spec;
    return changed;
  }
  core::Status remove() override {
    calls.push_back("remove");
    installed.reset();
    return core::ok();
  }
  core::Result<iptables::InstalledRules> inspect() override { return iptables::InstalledRules{}; }
  std::vector<std::string> calls;
  std::optional<iptables::RuleSpec> installed;
};

}  // namespace

TEST_CASE("A pod's interface is the one of its directly connected longest-prefix route", "[unit]") {
  const auto routes = parse_proc_net_route(kRoutes);
  REQUIRE(routes.has_value());
  REQUIRE(routes->size() == 5);
  CHECK(routes->at(2) == IpRoute{iptables::Cidr::parse("10.244.1.5/32").value(), "cali1", false});
  CHECK(pod_interface(*routes, ip("10.244.1.5")) == "cali1");
  CHECK(pod_interface(*routes, ip("10.244.1.6")) == "cali2");
  CHECK(pod_interface(*routes, ip("10.0.0.9")) == "eth0");            // on a directly connected subnet
  CHECK_FALSE(pod_interface(*routes, ip("10.244.2.7")).has_value());  // another node's pod: via a gateway
  CHECK_FALSE(pod_interface(*routes, ip("192.0.2.1")).has_value());   // only the default route
  CHECK(parse_proc_net_route("Iface\tDestination\neth0\tnothex\t0\n").error().code ==
        core::ErrorCode::corrupt);
}

TEST_CASE("The rule spec binds live pod IPs to their interfaces and leaves unrouted pods unbound", "[unit]") {
  NodeSnapshot s;
  s.pods = {pod("a", "10.244.1.5"),   pod("b", "10.244.1.6"),       pod("done", "10.244.1.7", "Succeeded"),
            pod("far", "10.244.2.7"), pod("same-ip", "10.244.1.5"), pod("pending", "")};
  auto host = pod("host", "10.0.0.4");
  host.host_network = true;
  s.pods.push_back(host);
  InterceptionOptions o;
  o.proxy = {ip("10.0.0.4"), 2579};
  const auto d = desired_rules(s, parse_proc_net_route(kRoutes).value(), o);
  REQUIRE(d.spec.bindings.size() == 2);
  CHECK(d.spec.bindings[0] == iptables::PodBinding{ip("10.244.1.5"), "cali1"});
  CHECK(d.spec.bindings[1] == iptables::PodBinding{ip("10.244.1.6"), "cali2"});
  CHECK(d.unrouted == std::vector<std::string>{"default/far"});
  CHECK(d.spec.proxy == o.proxy);
  CHECK(d.spec.reject_unbound);
  CHECK(d.spec.validate());
}

TEST_CASE("The rule loop installs at once, follows snapshot changes, and removes the rules", "[unit]") {
  boost::asio::io_context io;
  RecordingRules rules;
  MemorySnapshotSource source;
  core::SystemClock clock;
  core::MemorySink sink;
  InterceptionOptions o;
  o.proxy = {ip("10.0.0.4"), 2579};
  o.interval = std::chrono::hours(1);
  InterceptionLoop loop(
      io.get_executor(), rules, source, [] { return core::Result<std::string>(kRoutes); }, o,
      core::Logger(sink, clock, "iptables"));
  REQUIRE(loop.ensure_now());
  CHECK(loop.counters().installed);
  CHECK(rules.installed->bindings.empty());  // no snapshot yet: nothing redirected, everything rejected

  bool finished = false;
  boost::asio::co_spawn(io, loop.run(), [&](std::exception_ptr) { finished = true; });
  NodeSnapshot s;
  s.seq = 7;
  s.pods = {pod("a", "10.244.1.5")};
  source.publish(s);
  while (rules.calls.size() < 2) io.run_one();
  REQUIRE(rules.installed->bindings.size() == 1);
  CHECK(loop.counters().changes == 2);
  CHECK(loop.counters().bound_pods == 1);
  CHECK(loop.counters().seq == 7);  // what readiness compares with the snapshot served

  loop.stop();
  while (!finished) io.run_one();
  REQUIRE(loop.remove());
  CHECK(rules.calls == std::vector<std::string>{"ensure", "ensure", "remove"});
  CHECK_FALSE(loop.counters().installed);
}

TEST_CASE("A failing route read leaves the rules reported as not installed", "[unit]") {
  boost::asio::io_context io;
  RecordingRules rules;
  MemorySnapshotSource source;
  core::SystemClock clock;
  core::MemorySink sink;
  InterceptionLoop loop(
      io.get_executor(), rules, source,
      [] { return core::Result<std::string>(core::make_error(core::ErrorCode::io, "no /proc")); }, {},
      core::Logger(sink, clock, "iptables"));
  CHECK_FALSE(loop.ensure_now());
  CHECK_FALSE(loop.counters().installed);
  CHECK(loop.counters().failures == 1);
  CHECK(rules.calls.empty());
}

TEST_CASE("The taint patch tests the resourceVersion and the key, and removes only that taint", "[unit]") {
  const auto node = boost::json::parse(R"({"metadata":{"name":"n1","resourceVersion":"42"},
      "spec":{"taints":[{"key":"other","effect":"NoSchedule"},{"key":"ready","effect":"NoSchedule"}]}})")
                        .as_object();
  const auto patch = taint_removal_patch(node, "ready");
  REQUIRE(patch.has_value());
  CHECK(
      boost::json::serialize(*patch) ==
      R"([{"op":"test","path":"/metadata/resourceVersion","value":"42"},)"
      R"({"op":"test","path":"/spec/taints/1/key","value":"ready"},{"op":"remove","path":"/spec/taints/1"}])");
  CHECK_FALSE(taint_removal_patch(node, "absent").has_value());
  CHECK_FALSE(taint_removal_patch(boost::json::parse(R"({"spec":{}})").as_object(), "ready").has_value());
}

TEST_CASE("Secret data is decoded from base64; anything else is corrupt", "[unit]") {
  const auto ok = secret_data(boost::json::parse(R"({"data":{"clientSecret":"czNjcmV0"}})").as_object());
  REQUIRE(ok.has_value());
  CHECK(ok->at("clientSecret").value() == "s3cret");
  CHECK(secret_data(boost::json::parse(R"({})").as_object())->empty());
  CHECK(secret_data(boost::json::parse(R"({"data":{"k":"***"}})").as_object()).error().code ==
        core::ErrorCode::corrupt);
  CHECK(secret_data(boost::json::parse(R"({"data":{"k":1}})").as_object()).error().code ==
        core::ErrorCode::corrupt);
}

TEST_CASE("Node proxy flags: defaults pass; bad values name their flag", "[unit]") {
  const auto base = [] {
    cli::NodeProxyConfig c;
    c.node_name = "n1";
    c.controller_url = "https://controller:8443/";
    return c;
  };
  auto c = base();
  REQUIRE(cli::validate(c));
  CHECK(c.host_ip == "127.0.0.1");
  CHECK(c.controller_url == "https://controller:8443");
  CHECK(c.created_wait_ms == std::chrono::seconds(5));
  CHECK(c.interception_mode == cli::Interception::auto_detect);
  CHECK(c.replica_file == "/var/lib/podid/replica.json");
  CHECK(c.replica_max_age_ms == std::chrono::minutes(10));

  using Edit = std::pair<std::function<void(cli::NodeProxyConfig&)>, const char*>;
  const auto edit =
      GENERATE(Edit{[](auto& x) { x.controller_url = "http://controller"; }, "--controller-url"},
               Edit{[](auto& x) { x.operation_mode = "managed"; }, "--forceNamespaced"},
               Edit{[](auto& x) { x.operation_mode = "other"; }, "--operation-mode"},
               Edit{[](auto& x) { x.created_wait = "5 parsecs"; }, "--created-wait"},
               Edit{[](auto& x) { x.interception = "iptables"; }, "--interception"},
               Edit{[](auto& x) { x.host_ip = "node-1"; }, "--host-ip"},
               Edit{[](auto& x) { x.nmi_port = 70000; }, "--nmi-port"},
               Edit{[](auto& x) { x.ipt_interval = "10ms"; }, "--ipt-update-interval"},
               Edit{[](auto& x) { x.log_level = "loud"; }, "--log-level"},
               Edit{[](auto& x) { x.replica_max_age = "10ms"; }, "--replica-max-age"},
               Edit{[](auto& x) { x.replica_max_age = "soon"; }, "--replica-max-age"},
               Edit{[](auto& x) { x.token_cache_size = -1; }, "--token-cache-size"});
  auto bad = base();
  edit.first(bad);
  const auto result = cli::validate(bad);
  REQUIRE_FALSE(result);
  CHECK(result.error().code == core::ErrorCode::invalid);
  CHECK_THAT(result.error().message, Catch::Contains(edit.second));
  auto managed = base();
  managed.operation_mode = "Managed";
  managed.force_namespaced = true;
  CHECK(cli::validate(managed));
  CHECK(cli::parse_duration("1500ms").value() == std::chrono::milliseconds(1500));
  CHECK(cli::parse_duration("2m").value() == std::chrono::minutes(2));
}

TEST_CASE("--replica-file= (empty, as the chart passes it without a hostPath) turns the replica file off",
          "[unit]") {
  const auto parse = [](const std::string& extra) {
    CLI::App app;
    cli::NodeProxyConfig c;
    cli::add_nodeproxy_flags(app, c);
    app.parse("--node-name n1 --controller-url https://controller:8443 " + extra, false);
    return c.replica_file;
  };
  CHECK(parse("") == "/var/lib/podid/replica.json");
  CHECK(parse("--replica-file=").empty());
  CHECK(parse("--replica-file=/tmp/r.json") == "/tmp/r.json");
}

TEST_CASE("--token-cache-size defaults to 4096 and accepts 0 (no cache)", "[unit]") {
  const auto parse = [](const std::string& extra) {
    CLI::App app;
    cli::NodeProxyConfig c;
    cli::add_nodeproxy_flags(app, c);
    app.parse("--node-name n1 --controller-url https://controller:8443 " + extra, false);
    REQUIRE(cli::validate(c));
    return c.token_cache_size;
  };
  CHECK(parse("") == 4096);
  CHECK(parse("--token-cache-size=0") == 0);
  CHECK(parse("--token-cache-size=16") == 16);
}
