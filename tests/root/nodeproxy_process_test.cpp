// The shipped podid-nodeproxy process with real interception (--interception=legacy and =nft), run with
// `ip netns exec` in a node namespace this test creates, following the real podid-controller over
// replication, against the real kube-apiserver and the emulator's IMDS at 169.254.169.254 inside the node
// namespace. Pods are namespaces with veths (root_env): A is bound to identity "demo", B runs on the node
// without a binding, C is a namespace Kubernetes does not know. Nothing leaves the namespaces the test
// made except the node proxy's loopback connections to the API server and the controller (relayed).
#include <signal.h>

#include <catch2/catch.hpp>

#include "core/model.hpp"
#include "root/backends.hpp"
#include "root/nodeproxy_process_env.hpp"
#include "support/control_plane_catch.hpp"
#include "tests/emulator/tests/test_client.hpp"

using namespace podid;
using namespace podid::testing;
using namespace podid::emulator::testing;
using namespace std::chrono_literals;

namespace {

const iptables::ChainNames kNames = *iptables::ChainNames::from_base(iptables::kDefaultChain);

// What the backend's own tool lists in the node namespace: iptables-legacy-save, or nft's view of our table.
template <class B>
std::string dump(RootEnv& env) {
  auto out = env.net->node().exec(B::dump());
  if (!out) throw std::runtime_error(out.error().describe());
  return out->out + out->err;
}

template <class B>
bool rules_present(RootEnv& env) {
  if constexpr (std::is_same_v<B, NftProcess>) {
    auto out = env.net->node().exec(B::dump());
    return out && out->exit_code == 0 && out->out.find(kNames.guard) != std::string::npos;
  } else {
    const auto text = dump<B>(env);
    return text.find(":" + kNames.nat + " ") != std::string::npos &&
           text.find(":" + kNames.guard + " ") != std::string::npos;
  }
}

template <class B>
bool rules_absent(RootEnv& env) {
  if constexpr (std::is_same_v<B, NftProcess>) {
    auto tables = env.net->node().exec({"nft", "list", "tables"});
    return tables && tables->exit_code == 0 && tables->out.find("podid") == std::string::npos;
  } else {
    return dump<B>(env).find(std::string(iptables::kDefaultChain)) == std::string::npos;
  }
}

// Packet counters of the DNAT rule bound to pod A's veth and of the guard's final reject, as installed.
struct Counters {
  std::optional<std::uint64_t> dnat_a;
  std::optional<std::uint64_t> guard_reject;
};

template <class B>
Counters counters(RootEnv& env) {
  auto rules = B::make(env.runner);
  auto installed = env.in_node([&] { return rules->inspect(); });
  if (!installed) throw std::runtime_error(installed.error().describe());
  Counters c;
  for (std::size_t i = 0; i < installed->rules.chains.size(); ++i) {
    const auto& chain = installed->rules.chains[i];
    for (std::size_t j = 0; j < chain.rules.size(); ++j) {
      if (chain.name == kNames.nat && chain.rules[j].in_interface == env.a->host_interface &&
          chain.rules[j].action == iptables::RuleAction::dnat)
        c.dnat_a = installed->packets[i][j];
      if (chain.name == kNames.guard && j + 1 == chain.rules.size() &&
          chain.rules[j].action == iptables::RuleAction::reject)
        c.guard_reject = installed->packets[i][j];
    }
  }
  return c;
}

}  // namespace

TEMPLATE_TEST_CASE(
    "podid-nodeproxy in a node namespace intercepts pods' IMDS calls through the kernel, is ready only "
    "after replication synced, removes its rules on SIGTERM and leaves them on SIGKILL",
    "[root]", LegacyProcess, NftProcess) {
  RootEnv env;
  PODID_REQUIRE_ROOT(env.runner);
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  env.build(false);  // node, 169.254.169.254 on the node, pods A, B, C
  INFO("backend: " << TestType::kName);
  ProcessWorld w(*cp, env);
  const auto demo = w.emu->identity(identity_id("demo"));
  REQUIRE(demo);
  w.create_node();
  w.create_identity(*demo);
  w.create_pod("pod-a", w.ns, env.a->ip);  // the selector: unique per case
  w.create_pod("pod-b", "", env.b->ip);
  const auto token = w.nodeproxy_token_file();
  const auto alive = [&] {
    if (!w.nodeproxy->running()) FAIL(w.nodeproxy->exit_description() << "\n" << w.logs());
  };

  // 1. Node proxy first, no controller yet: rules in place (fail closed), not ready, taint stays.
  w.start_nodeproxy(TestType::kMode, token, 1);
  REQUIRE(eventually(
      [&] {
        alive();
        return rules_present<TestType>(env);
      },
      60s));
  CHECK(w.probe_status() == 503);
  const auto early = curl_in(*env.a->ns, kTokenUrl);
  CHECK(early.status == 0);
  CHECK(early.exit_code == 7);  // reset by the guard: no binding before the replica synced
  CHECK(w.node_has_taint(kReadyTaint));

  // 2. The controller assigns the identity and serves replication: pod A gets its token via the kernel.
  w.start_controller();
  CurlResult a;
  const bool served = eventually(
      [&] {
        alive();
        if (!w.controller->running()) FAIL(w.controller->exit_description() << "\n" << w.logs());
        a = curl_in(*env.a->ns, kTokenUrl);
        return a.status == 200;
      },
      120s);
  INFO(a.status << " " << a.body << "\n" << w.logs());
  REQUIRE(served);
  CHECK(json_field(a.body, "client_id") == demo->client_id);
  const auto jwt = verified_jwt(*w.emu, kTenant, json_field(a.body, "access_token"));
  REQUIRE(jwt.has_value());
  CHECK(core::to_lower(jwt->claim_string("xms_mirid")) == core::to_lower(demo->id));

  // Ready, and only then untainted: the log says ready before it says the taint was removed.
  CHECK(eventually([&] { return !w.node_has_taint(kReadyTaint); }, 30s));
  CHECK(w.node_has_taint(kOtherTaint));
  CHECK(w.probe_status() == 200);
  const auto log1 = w.nodeproxy->log_tail(1 << 20);
  const auto ready_at = log1.find("Node proxy ready.");
  const auto untainted_at = log1.find("Ready taint removed.");
  REQUIRE(ready_at != std::string::npos);
  REQUIRE(untainted_at != std::string::npos);
  CHECK(ready_at < untainted_at);

  // 3. Refusals; none reaches the IMDS.
  const auto imds_before = w.emu->counter("imds.requests");
  const auto b = curl_in(*env.b->ns, kTokenUrl);  // known pod, no binding: the node proxy refuses
  CHECK((b.status == 400 || b.status == 403));
  CHECK(!json_field(b.body, "error").empty());
  CHECK(json_field(b.body, "access_token").empty());
  const auto c = curl_in(*env.c->ns, kTokenUrl);  // unknown pod: no binding, the guard resets
  CHECK(c.status == 0);
  CHECK(c.exit_code == 7);
  // Spoofer: pod C puts pod A's address on its eth0 and sends from it. A's DNAT rule is bound to A's veth,
  // so the packet is not redirected: the guard rejects it.
  const auto before = counters<TestType>(env);
  REQUIRE(before.dnat_a.has_value());
  REQUIRE(before.guard_reject.has_value());
  REQUIRE(env.c->ns->must({"ip", "addr", "add", env.a->ip + "/32", "dev", "eth0"}).has_value());
  const auto spoofed = curl_in(*env.c->ns, kTokenUrl, env.a->ip, 3);
  CHECK(spoofed.status == 0);
  CHECK(spoofed.body.find("access_token") == std::string::npos);
  const auto after = counters<TestType>(env);
  CHECK(after.dnat_a == before.dnat_a);
  REQUIRE(after.guard_reject.has_value());
  CHECK(*after.guard_reject > *before.guard_reject);
  CHECK(w.emu->counter("imds.requests") == imds_before);

  // 4. SIGTERM: rules removed, exit 0; pods then reach the node's IMDS directly (no interception at all).
  w.nodeproxy->stop();
  CHECK(w.nodeproxy->exit_description() == "podid-nodeproxy exited with status 0");
  CHECK_THAT(w.nodeproxy->log_tail(1 << 20), Catch::Contains("Interception rules removed."));
  INFO(dump<TestType>(env));
  CHECK(rules_absent<TestType>(env));
  const auto direct = curl_in(*env.a->ns, kTokenUrl);
  CHECK(direct.status == 200);
  CHECK(w.emu->counter("imds.requests") > imds_before);

  // 5. SIGKILL: no cleanup runs, the rules stay. Pods stay fail-closed (the DNAT target is closed) until a
  // node proxy starts again and takes the rules over, or someone removes them (see tests/root/README.md).
  w.start_nodeproxy(TestType::kMode, token, 2);
  REQUIRE(eventually(
      [&] {
        alive();
        return w.probe_status() == 200;
      },
      60s));
  REQUIRE(curl_in(*env.a->ns, kTokenUrl).status == 200);
  REQUIRE(::kill(w.nodeproxy->pid(), SIGKILL) == 0);
  REQUIRE(eventually([&] { return !w.nodeproxy->running(); }, 10s));
  CHECK(w.nodeproxy->exit_description() == "podid-nodeproxy was killed by signal 9");
  CHECK(rules_present<TestType>(env));
  const auto imds_orphaned = w.emu->counter("imds.requests");
  const auto orphan = curl_in(*env.a->ns, kTokenUrl);
  CHECK(orphan.status == 0);
  CHECK(orphan.exit_code == 7);
  CHECK(w.emu->counter("imds.requests") == imds_orphaned);

  // 6. The next start adopts the leftover rules and its SIGTERM removes them.
  w.start_nodeproxy(TestType::kMode, token, 3);
  REQUIRE(eventually(
      [&] {
        alive();
        return curl_in(*env.a->ns, kTokenUrl).status == 200;
      },
      60s));
  w.nodeproxy->stop();
  CHECK(w.nodeproxy->exit_description() == "podid-nodeproxy exited with status 0");
  CHECK(rules_absent<TestType>(env));

  w.controller->stop();
  CHECK(w.controller->exit_description() == "podid-controller exited with status 0");
}
