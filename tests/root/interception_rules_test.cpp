// Root contract tests of InterceptionRules: every backend, in a node network namespace made by the test.

#include <cerrno>

#include "nodeproxy/iptables/backend_detection.hpp"
#include "root/backends.hpp"
#include "root/root_env.hpp"

using namespace podid;
using namespace podid::testing;
using iptables::InterceptionRules;
using iptables::RuleSpec;

namespace {

const iptables::ChainNames kNames = *iptables::ChainNames::from_base(iptables::kDefaultChain);

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEMPLATE_TEST_CASE("Interception rules install idempotently, repair tampering and remove cleanly", "[root]",
                   LegacyBackend, NftBackend) {
  RootEnv env;
  PODID_REQUIRE_ROOT(env.runner);
  env.build(false);
  auto rules = TestType::make(env.runner);
  const RuleSpec spec = env.spec();
  INFO("backend: " << TestType::kName);

  auto before = env.in_node([&] { return rules->inspect(); });
  REQUIRE(before.has_value());
  CHECK(before->rules.chains.empty());

  auto first = env.in_node([&] { return rules->ensure(spec); });
  INFO((first ? std::string() : first.error().describe()));
  REQUIRE(first.has_value());
  CHECK(*first);
  auto second = env.in_node([&] { return rules->ensure(spec); });
  REQUIRE(second.has_value());
  CHECK_FALSE(*second);

  auto installed = env.in_node([&] { return rules->inspect(); });
  REQUIRE(installed.has_value());
  CHECK(installed->rules == iptables::render(spec, kNames));
  const std::string dump = env.node_exec(TestType::dump());
  for (const auto& line : TestType::expected_lines(iptables::render(spec, kNames))) {
    INFO("expected line: " << line);
    CHECK(contains(dump, line));
  }

  SECTION("tampering is repaired by the next ensure") {
    for (const auto& cmd : TestType::tamper()) (void)env.node_exec(cmd);
    auto tampered = env.in_node([&] { return rules->inspect(); });
    REQUIRE(tampered.has_value());
    CHECK_FALSE(tampered->rules == iptables::render(spec, kNames));
    auto repaired = env.in_node([&] { return rules->ensure(spec); });
    REQUIRE(repaired.has_value());
    CHECK(*repaired);
    auto after = env.in_node([&] { return rules->inspect(); });
    REQUIRE(after.has_value());
    CHECK(after->rules == iptables::render(spec, kNames));
  }

  SECTION("a changed spec replaces the rules and drops chains no longer wanted") {
    RuleSpec smaller = spec;
    smaller.bindings.pop_back();
    smaller.reject_unbound = false;
    auto changed = env.in_node([&] { return rules->ensure(smaller); });
    REQUIRE(changed.has_value());
    CHECK(*changed);
    auto after = env.in_node([&] { return rules->inspect(); });
    REQUIRE(after.has_value());
    CHECK(after->rules == iptables::render(smaller, kNames));
    CHECK(after->rules.chains.size() == 1);
    CHECK_FALSE(contains(env.node_exec(TestType::dump()), kNames.guard));
  }

  SECTION("remove deletes jumps and chains, and is idempotent") {
    REQUIRE(env.in_node([&] { return rules->remove(); }).has_value());
    REQUIRE(env.in_node([&] { return rules->remove(); }).has_value());
    auto after = env.in_node([&] { return rules->inspect(); });
    REQUIRE(after.has_value());
    CHECK(after->rules.chains.empty());
    // Legacy prints the tables without our chains; nft finds no table at all.
    auto gone = env.net->node().exec(TestType::dump());
    REQUIRE(gone.has_value());
    INFO(gone->out << gone->err);
    CHECK((gone->exit_code != 0 || !contains(gone->out, kNames.nat)));
  }
}

TEMPLATE_TEST_CASE("A pod reaches the node proxy with its own source IP and a spoofer is never redirected",
                   "[root]", LegacyBackend, NftBackend) {
  RootEnv env;
  PODID_REQUIRE_ROOT(env.runner);
  env.build(true);
  auto rules = TestType::make(env.runner);
  const RuleSpec spec = env.spec();
  INFO("backend: " << TestType::kName);
  const std::string md = NodeNetwork::kMetadataAddress;

  // Without rules the pod reaches the (fake) IMDS itself: the network works and the responder is real.
  CHECK(env.get_from(*env.a, md, 80).body == "imds " + env.a->ip);

  auto installed = env.in_node([&] { return rules->ensure(spec); });
  REQUIRE(installed.has_value());

  // Bound pod: redirected to the node proxy, which sees the pod's real source IP.
  CHECK(env.get_from(*env.a, md, 80).body == "proxy " + env.a->ip);
  CHECK(env.get_from(*env.b, md, 80).body == "proxy " + env.b->ip);

  // Other destinations are untouched: another port of the metadata address, another node service.
  CHECK(env.get_from(*env.a, md, 81).body == "imds81 " + env.a->ip);
  CHECK(env.get_from(*env.a, NodeNetwork::kNodeAddress, 8081).body == "other " + env.a->ip);

  // Unbound pod: neither redirected nor passed to the IMDS; the guard resets the connection at once.
  const auto unbound = env.get_from(*env.c, md, 80);
  CHECK_FALSE(unbound.connected);
  CHECK(unbound.error == ECONNREFUSED);

  // Spoofer: pod B puts pod A's address on its own eth0 and sends from it.
  iptables::Rule dnat_a = iptables::render(spec, kNames).chains[0].rules[0];
  REQUIRE(dnat_a.in_interface == env.a->host_interface);
  iptables::Rule guard_reject = iptables::render(spec, kNames).chains[1].rules.back();
  auto counters_before = env.in_node([&] { return rules->inspect(); });
  REQUIRE(counters_before.has_value());
  REQUIRE(env.b->ns->must({"ip", "addr", "add", env.a->ip + "/32", "dev", "eth0"}).has_value());
  const auto proxy_peers = env.proxy->peers().size();
  const auto imds_peers = env.imds->peers().size();
  const auto spoofed = env.get_from(*env.b, md, 80, env.a->ip);
  CHECK_FALSE(spoofed.connected);
  auto counters_after = env.in_node([&] { return rules->inspect(); });
  REQUIRE(counters_after.has_value());
  CHECK(counters_after->packets_of(kNames.nat, dnat_a) == counters_before->packets_of(kNames.nat, dnat_a));
  CHECK(*counters_after->packets_of(kNames.guard, guard_reject) >
        *counters_before->packets_of(kNames.guard, guard_reject));
  CHECK(env.proxy->peers().size() == proxy_peers);
  CHECK(env.imds->peers().size() == imds_peers);

  // After remove() the redirect is gone and the pod reaches the IMDS again.
  REQUIRE(env.in_node([&] { return rules->remove(); }).has_value());
  CHECK(env.get_from(*env.a, md, 80).body == "imds " + env.a->ip);
}

TEMPLATE_TEST_CASE("Host-network callers reach the IMDS only from an allowed UID", "[root]", LegacyBackend,
                   NftBackend) {
  RootEnv env;
  PODID_REQUIRE_ROOT(env.runner);
  env.build(true);
  auto rules = TestType::make(env.runner);
  RuleSpec spec = env.spec();
  const std::string md = NodeNetwork::kMetadataAddress;
  auto from_host = [&] {
    GetResult out;
    env.net->node().run([&] { out = http_get(md, 80, {}, std::chrono::milliseconds(1500)); });
    return out;
  };

  // Without a host policy host traffic is untouched, guard chain or not (the node's own calls).
  REQUIRE(env.in_node([&] { return rules->ensure(spec); }).has_value());
  CHECK(from_host().body.rfind("imds ", 0) == 0);

  spec.host = iptables::HostPolicy{{4242}};  // we run as UID 0, which is not allowed
  REQUIRE(env.in_node([&] { return rules->ensure(spec); }).has_value());
  const auto refused = from_host();
  CHECK_FALSE(refused.connected);
  CHECK(refused.error == ECONNREFUSED);
  CHECK(env.get_from(*env.a, md, 80).body == "proxy " + env.a->ip);  // pods are not host traffic

  spec.host = iptables::HostPolicy{{4242, 0}};
  REQUIRE(env.in_node([&] { return rules->ensure(spec); }).has_value());
  CHECK(from_host().body.rfind("imds ", 0) == 0);
  REQUIRE(env.in_node([&] { return rules->remove(); }).has_value());
}

TEST_CASE("Backend detection follows where the node's iptables rules are", "[root]") {
  RootEnv env;
  PODID_REQUIRE_ROOT(env.runner);
  env.build(false);
  auto detect = [&] { return env.in_node([&] { return iptables::detect_backend(env.runner); }); };

  auto empty = detect();
  REQUIRE(empty.has_value());
  CHECK(*empty == iptables::Backend::legacy);  // nothing anywhere: iptables-wrappers' default

  for (const char* port : {"1", "2"})
    (void)env.node_exec({"iptables-nft", "-A", "INPUT", "-p", "tcp", "--dport", port, "-j", "ACCEPT"});
  auto nft = detect();
  REQUIRE(nft.has_value());
  CHECK(*nft == iptables::Backend::nft);

  for (const char* port : {"1", "2", "3"})
    (void)env.node_exec({"iptables-legacy", "-A", "INPUT", "-p", "tcp", "--dport", port, "-j", "ACCEPT"});
  auto legacy = detect();
  REQUIRE(legacy.has_value());
  CHECK(*legacy == iptables::Backend::legacy);
}
