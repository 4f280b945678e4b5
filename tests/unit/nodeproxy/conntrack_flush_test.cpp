// The conntrack flush after the first rule install (issue 8), with a working fake of the ConntrackTable seam
// and of the rules: when it runs, how often, what a failure does; the flag; the destination's spellings;
// the metrics. Through the kernel: tests/root/conntrack_flush_test.cpp.
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <optional>

#include "cli/nodeproxy_config.hpp"
#include "nodeproxy/interception_loop.hpp"
#include "nodeproxy/iptables/conntrack_table.hpp"
#include "nodeproxy/proxy_metrics.hpp"

using namespace podid;
using namespace podid::nodeproxy;
using iptables::FlowDestination;

namespace {

// A conntrack table of (source, destination) TCP entries; `failure` makes the next calls fail.
class FakeConntrack final : public iptables::ConntrackTable {
 public:
  core::Result<std::size_t> delete_tcp_to(const FlowDestination& destination) override {
    calls.push_back(destination);
    if (failure) return *failure;
    const auto before = entries.size();
    std::erase_if(entries, [&](const auto& e) { return e.second == destination; });
    return before - entries.size();
  }
  std::vector<std::pair<std::string, FlowDestination>> entries;
  std::vector<FlowDestination> calls;
  std::optional<core::Error> failure;
};

class FakeRules final : public iptables::InterceptionRules {
 public:
  core::Result<bool> ensure(const iptables::RuleSpec&) override {
    ++ensures;
    if (fail) return core::make_error(core::ErrorCode::io, "iptables broken");
    return ensures == 1;
  }
  core::Status remove() override { return core::ok(); }
  core::Result<iptables::InstalledRules> inspect() override { return iptables::InstalledRules{}; }
  int ensures{0};
  bool fail{false};
};

FlowDestination dest(const char* ip, std::uint16_t port) {
  return FlowDestination::parse(ip, port).value();
}

struct LoopFixture {
  boost::asio::io_context io;
  FakeRules rules;
  FakeConntrack conntrack;
  MemorySnapshotSource snapshots;
  core::SystemClock clock;
  core::MemorySink sink;
  InterceptionLoop loop{io.get_executor(), rules,
                        snapshots,         [] { return core::Result<std::string>("Iface\tDestination\n"); },
                        options(),         core::Logger(sink, clock, "iptables"),
                        &conntrack};
  static InterceptionOptions options() {
    InterceptionOptions o;
    o.proxy = {iptables::Ipv4Address::parse("10.0.0.4").value(), 2579};
    return o;
  }
  bool logged(const std::string& text) const {
    for (const auto& line : sink.lines())
      if (line.find(text) != std::string::npos) return true;
    return false;
  }
};

}  // namespace

TEST_CASE("The flush deletes the IMDS's TCP entries once, after the first successful install", "[unit]") {
  LoopFixture f;
  const auto imds = dest("169.254.169.254", 80);
  f.conntrack.entries = {
      {"10.244.1.5", imds}, {"10.244.1.6", imds}, {"10.244.1.5", dest("169.254.169.254", 81)}};
  f.rules.fail = true;
  REQUIRE_FALSE(f.loop.ensure_now());
  CHECK(f.conntrack.calls.empty());  // no rules yet: a flush now would let the connection be tracked again

  f.rules.fail = false;
  REQUIRE(f.loop.ensure_now());
  REQUIRE(f.conntrack.calls == std::vector<FlowDestination>{imds});
  CHECK(f.conntrack.entries.size() == 1);  // another port is not the metadata endpoint
  CHECK(f.loop.counters().conntrack_flushed);
  CHECK(f.loop.counters().conntrack_deleted == 2);
  CHECK(f.logged(R"("msg":"Conntrack entries flushed.")"));
  CHECK(f.logged(R"("deleted":2)"));

  REQUIRE(f.loop.ensure_now());
  CHECK(f.conntrack.calls.size() == 1);  // the periodic checks do not flush again
}

TEST_CASE("A failed flush is logged and counted, leaves the rules in place, and is retried at the next check",
          "[unit]") {
  LoopFixture f;
  f.conntrack.entries = {{"10.244.1.5", dest("169.254.169.254", 80)}};
  f.conntrack.failure = core::make_error(core::ErrorCode::permission, "ctnetlink refused");
  // Not fatal: the guard chain already rejects the old connections, and a failed start would remove the
  // rules.
  REQUIRE(f.loop.ensure_now());
  CHECK(f.loop.counters().installed);
  CHECK_FALSE(f.loop.counters().conntrack_flushed);
  CHECK(f.loop.counters().conntrack_failures == 1);
  CHECK(f.logged(R"("level":"error")"));
  CHECK(f.logged(R"("msg":"Conntrack entries not flushed.")"));
  CHECK(f.logged("ctnetlink refused"));

  REQUIRE(f.loop.ensure_now());
  CHECK(f.loop.counters().conntrack_failures == 2);
  f.conntrack.failure.reset();
  REQUIRE(f.loop.ensure_now());
  CHECK(f.loop.counters().conntrack_flushed);
  CHECK(f.loop.counters().conntrack_deleted == 1);
  CHECK(f.conntrack.entries.empty());
  CHECK(f.conntrack.calls.size() == 3);
  REQUIRE(f.loop.ensure_now());
  CHECK(f.conntrack.calls.size() == 3);
}

TEST_CASE("The conntrack flush is on by default and --conntrack-flush=false turns it off", "[unit]") {
  const auto parse = [](const std::string& extra) {
    CLI::App app;
    cli::NodeProxyConfig c;
    cli::add_nodeproxy_flags(app, c);
    app.parse("--node-name n1 --controller-url https://controller:8443 " + extra, false);
    return c.conntrack_flush;
  };
  CHECK(parse(""));
  CHECK_FALSE(parse("--conntrack-flush=false"));
  CHECK(parse("--conntrack-flush"));
  CHECK_FALSE(parse("--enable-conntrack-deletion=false"));  // the original's name
  CHECK(parse("--enable-conntrack-deletion"));
}

TEST_CASE("A flow destination is IPv4 or IPv6 by its spelling", "[unit]") {
  const auto v4 = FlowDestination::from({iptables::Ipv4Address::parse("169.254.169.254").value(), 80});
  CHECK(v4 == dest("169.254.169.254", 80));
  CHECK(v4.family == FlowDestination::Family::ipv4);
  CHECK(v4.to_string() == "169.254.169.254:80");
  const auto v6 = dest("fd00:ec2::254", 80);
  CHECK(v6.family == FlowDestination::Family::ipv6);
  CHECK(v6.to_string() == "[fd00:ec2::254]:80");
  for (const char* bad : {"", "169.254.169.254:80", "imds", "1.2.3", "::g"})
    CHECK(FlowDestination::parse(bad, 80).error().code == core::ErrorCode::invalid);
}

TEST_CASE("Flushed entries and failed flushes are exported as metrics", "[unit]") {
  core::MetricsRegistry registry;
  NodeProxyMetrics metrics(registry);
  InterceptionCounters rules{.conntrack_deleted = 3, .conntrack_failures = 1};
  metrics.update({nullptr, nullptr, &rules, true});
  const auto text = registry.expose();
  CHECK(text.find("aadpodidentity_nmi_conntrack_entries_deleted_total 3\n") != std::string::npos);
  CHECK(text.find("aadpodidentity_nmi_conntrack_flush_failures_total 1\n") != std::string::npos);
}
