// The shipped podid-nodeproxy on a bridged pod network (kubenet's cbr0 shape): pods A and B share one bridge
// in a node namespace this test creates; the node proxy learns A's bridge port from a CNI result cache (the
// libcni format, in a scratch directory given by --cni-cache-dir), follows the real podid-controller, and
// intercepts through the kernel. B has no cache entry: left unbound (fail closed). B posing as A gets
// nothing.
#include <catch2/catch.hpp>

#include "root/backends.hpp"
#include "root/nodeproxy_process_env.hpp"
#include "support/control_plane_catch.hpp"
#include "tests/emulator/tests/test_client.hpp"

using namespace podid;
using namespace podid::testing;
using namespace podid::emulator::testing;
using namespace std::chrono_literals;

namespace {

// A cache entry as libcni writes it for the bridge plugin.
std::string cache_entry(const Pod& pod, const std::string& container) {
  return R"({"kind":"cniCacheV1","containerId":")" + container +
         R"(","ifName":"eth0","networkName":"cbr0","result":{"cniVersion":"0.4.0","interfaces":[{"name":")" +
         pod.host_interface + R"("},{"name":")" + pod.bridge_port +
         R"("},{"name":"eth0","sandbox":"/var/run/netns/)" + pod.ns->name() +
         R"("}],"ips":[{"version":"4","interface":2,"address":")" + pod.ip + R"(/24"}]}})";
}

}  // namespace

TEMPLATE_TEST_CASE(
    "podid-nodeproxy on a bridge binds a pod to its port from the CNI cache and never serves "
    "a pod posing as it",
    "[root]", LegacyProcess, NftProcess) {
  RootEnv env;
  PODID_REQUIRE_ROOT(env.runner);
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  env.build_bridged();
  INFO("backend: " << TestType::kName);
  ProcessWorld w(*cp, env);
  const auto demo = w.emu->identity(identity_id("demo"));
  REQUIRE(demo);
  w.create_node();
  w.create_identity(*demo);
  w.create_pod("pod-a", w.ns, env.a->ip);
  w.create_pod("pod-b", "", env.b->ip);
  const auto cache = w.dir.path() + "/cni-results";
  std::filesystem::create_directories(cache);
  (void)w.dir.file("cni-results/cbr0-aaaa-eth0", cache_entry(*env.a, "aaaa"));
  (void)w.dir.file("cni-results/cbr0-broken-eth0", "{\"kind\":\"cniCacheV1\",");
  w.nodeproxy_args = {"--cni-cache-dir=" + cache};
  w.start_controller();
  w.start_nodeproxy(TestType::kMode, w.nodeproxy_token_file(), 1);
  const auto alive = [&] {
    if (!w.nodeproxy->running()) FAIL(w.nodeproxy->exit_description() << "\n" << w.logs());
  };

  CurlResult a;
  const bool served = eventually(
      [&] {
        alive();
        a = curl_in(*env.a->ns, kTokenUrl);
        return a.status == 200;
      },
      120s);
  INFO(a.status << " " << a.body << "\n" << w.logs());
  REQUIRE(served);
  CHECK(json_field(a.body, "client_id") == demo->client_id);
  const auto log = w.nodeproxy->log_tail(1 << 20);
  CHECK_THAT(log, Catch::Contains("Bridged pods left unbound: port unknown."));
  CHECK_THAT(log, Catch::Contains("CNI cache files skipped."));

  // B: a pod of this node on the bridge without a cache entry: unbound, reset by the guard.
  const auto imds_before = w.emu->counter("imds.requests");
  const auto b = curl_in(*env.b->ns, kTokenUrl, {}, 3);
  CHECK(b.status == 0);
  CHECK(b.exit_code == 7);
  // B poses as A: A's address on its eth0, its neighbours flushed so that it also claims A's IP in ARP.
  REQUIRE(env.b->ns->must({"ip", "addr", "add", env.a->ip + "/32", "dev", "eth0"}).has_value());
  REQUIRE(env.b->ns->must({"ip", "neigh", "flush", "all"}).has_value());
  const auto spoofed = curl_in(*env.b->ns, kTokenUrl, env.a->ip, 3);
  CHECK(spoofed.status == 0);
  CHECK(spoofed.body.find("access_token") == std::string::npos);
  CHECK(w.emu->counter("imds.requests") == imds_before);
  CHECK(curl_in(*env.a->ns, kTokenUrl).status == 200);  // A's replies still reach A

  // SIGTERM removes both tables.
  w.nodeproxy->stop();
  CHECK(w.nodeproxy->exit_description() == "podid-nodeproxy exited with status 0");
  auto bridge = env.net->node().exec({"nft", "list", "table", "bridge", "podid"});
  REQUIRE(bridge.has_value());
  CHECK(bridge->exit_code != 0);
  w.controller->stop();
}
