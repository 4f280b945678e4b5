// Host-network callers (issue 8): with RuleSpec::host set, a process of the host's network namespace reaches
// the metadata endpoint only when its UID is the node proxy's or on the allow-list. Real processes with real
// UIDs (forked, setresuid) connect from the node namespace the test made, on both backends.

#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "root/backends.hpp"
#include "root/root_env.hpp"

using namespace podid;
using namespace podid::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t kProxyUid = 4101;    // the node proxy's own UID
constexpr std::uint32_t kAllowedUid = 4102;  // on the allow-list (e.g. a CSI driver)
constexpr std::uint32_t kOtherUid = 4103;    // any other host-network process

enum class Reached { imds, refused, timed_out, other };

const char* to_string(Reached r) {
  switch (r) {
    case Reached::imds:
      return "reached the IMDS";
    case Reached::refused:
      return "refused";
    case Reached::timed_out:
      return "timed out";
    case Reached::other:
      return "other failure";
  }
  return "?";
}

// Forks a process in the node namespace (the calling thread's) that drops to `uid` and GETs the metadata
// endpoint; reports what it saw through a pipe.
Reached get_metadata_as(RootEnv& env, std::uint32_t uid) {
  Reached out = Reached::other;
  env.net->node().run([&] {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      char code = 'x';
      if (::setgroups(0, nullptr) == 0 && ::setresgid(uid, uid, uid) == 0 &&
          ::setresuid(uid, uid, uid) == 0) {
        const auto got = http_get(NodeNetwork::kMetadataAddress, 80, {}, 1500ms);
        if (got.connected && got.body.rfind("imds ", 0) == 0)
          code = 'i';
        else if (!got.connected && got.error == ECONNREFUSED)
          code = 'r';
        else if (!got.connected && got.error == ETIMEDOUT)
          code = 't';
      }
      static_cast<void>(::write(fds[1], &code, 1));
      ::_exit(0);
    }
    ::close(fds[1]);
    char code = 'x';
    const auto n = ::read(fds[0], &code, 1);
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (n != 1) return;
    out = code == 'i'   ? Reached::imds
          : code == 'r' ? Reached::refused
          : code == 't' ? Reached::timed_out
                        : Reached::other;
  });
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("A host-network process reaches the IMDS only as the node proxy's UID or an allowed UID",
                   "[root]", LegacyBackend, NftBackend) {
  RootEnv env;
  PODID_REQUIRE_ROOT(env.runner);
  env.build(true);
  auto rules = TestType::make(env.runner);
  iptables::RuleSpec spec = env.spec();
  spec.host = iptables::HostPolicy::for_node_proxy(kProxyUid, {kAllowedUid, kProxyUid});
  REQUIRE(spec.host->allowed_uids == std::vector<std::uint32_t>{kProxyUid, kAllowedUid});

  // Before the rules every host UID reaches the IMDS: the hole the policy closes.
  CHECK(get_metadata_as(env, kOtherUid) == Reached::imds);

  REQUIRE(env.in_node([&] { return rules->ensure(spec); }).has_value());
  INFO(TestType::kName);
  const auto proxy = get_metadata_as(env, kProxyUid);
  const auto allowed = get_metadata_as(env, kAllowedUid);
  const auto other = get_metadata_as(env, kOtherUid);
  const auto root = get_metadata_as(env, 0);
  INFO("proxy " << to_string(proxy) << ", allowed " << to_string(allowed) << ", other " << to_string(other)
                << ", root " << to_string(root));
  CHECK(proxy == Reached::imds);
  CHECK(allowed == Reached::imds);
  CHECK(other == Reached::refused);  // at once (tcp-reset), so a client fails fast
  CHECK(root == Reached::refused);   // UID 0 is not special unless listed
  // Pods are not host traffic: still redirected to the node proxy.
  CHECK(env.get_from(*env.a, NodeNetwork::kMetadataAddress, 80).body == "proxy " + env.a->ip);
  // Other destinations of the same UID are untouched.
  CHECK(env.get_from(*env.a, NodeNetwork::kNodeAddress, 8081).body.rfind("other ", 0) == 0);

  // Turning the policy off (the node-proxy flag unset) opens the host path again, nothing else changes.
  spec.host.reset();
  REQUIRE(env.in_node([&] { return rules->ensure(spec); }).has_value());
  CHECK(get_metadata_as(env, kOtherUid) == Reached::imds);
  CHECK(env.get_from(*env.a, NodeNetwork::kMetadataAddress, 80).body == "proxy " + env.a->ip);
  REQUIRE(env.in_node([&] { return rules->remove(); }).has_value());
}

TEST_CASE("A host policy that allows no UID is refused before anything is installed", "[root]") {
  iptables::RuleSpec spec;
  spec.proxy = {*iptables::Ipv4Address::parse("10.255.0.1"), kProxyPort};
  spec.host = iptables::HostPolicy{};
  const auto st = spec.validate();
  REQUIRE_FALSE(st.has_value());
  CHECK(st.error().message.find("allows no UID") != std::string::npos);
}
