// The isolation matrix (issue 8): pods and identities in mixed bindings across two namespaces, a binding to a
// missing identity, an annotated namespaced identity, a service principal, an exception pod and a pod on
// another node. The real controller (standard or managed mode, forceNamespaced on or off) runs against the
// real kube-apiserver and the Azure emulator; its State's snapshot of the node feeds the real node proxy;
// every pod (a 127.0.0.N source address) asks over HTTP for every identity by client_id, msi_res_id,
// mi_res_id, object_id and by nothing. The expected outcome comes from isolation_oracle.hpp (the original's
// rules written down again, not our matcher). Every managed identity is attached to the node's scale set, so
// the emulator's IMDS would serve any identity the proxy asked for: a leak could not hide behind Azure.
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <iomanip>
#include <sstream>
#include <thread>

#include "integration/controller/behaviour_env.hpp"
#include "integration/isolation/isolation_oracle.hpp"
#include "integration/nodeproxy/proxy_env.hpp"
#include "nodeproxy/node_snapshot.hpp"
#include "nodeproxy/snapshot_source.hpp"
#include "support/control_plane_catch.hpp"

namespace core = podid::core;
namespace emu = podid::emulator;
namespace t = podid::testing;
namespace iso = podid::testing::isolation;
using podid::testing::Cluster;
using namespace std::chrono_literals;

namespace {

const std::string kVault = "https://vault.azure.net";

struct Config {
  bool managed;
  bool force_namespaced;
  std::string name() const {
    return std::string(managed ? "managed" : "standard") + ", forceNamespaced " +
           (force_namespaced ? "on" : "off");
  }
};

std::string percent_encode(const std::string& s) {
  std::ostringstream out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out << c;
    else
      out << '%' << std::uppercase << std::hex << std::setw(2) << std::setfill('0') << int(c);
  }
  return out.str();
}

// The scenario. Selectors carry `tag` (unique per run) so objects of other runs never match.
iso::World scenario(Cluster& c, const std::string& a, const std::string& b, const std::string& tag,
                    Config cfg) {
  iso::World w;
  w.force_namespaced = cfg.force_namespaced;
  w.managed = cfg.managed;
  auto msi = [&](const std::string& ns, const std::string& name, const std::string& azure, bool annotated) {
    const auto m = c.azure_identity(azure);
    w.identities.push_back({ns, name, 0, annotated, m.client_id, m.id, m.principal_id, true});
  };
  msi(a, "id-1", "m1", false);
  msi(a, "id-2", "m2", false);
  msi(b, "id-3", "m3", false);
  msi(b, "id-4", "m4", true);   // Behavior: namespaced
  msi(b, "id-6", "m5", false);  // bound by nobody
  w.identities.push_back({a, "id-5", 1, false, emu::testing::kClient, "", emu::testing::kAppOid, false});
  const auto sel = [&](const char* s) { return tag + "-" + s; };
  w.bindings = {{a, "b-1", "id-1", sel("a")},      {a, "b-2", "id-2", sel("a")},
                {a, "b-3", "id-2", sel("shared")}, {b, "b-4", "id-3", sel("shared")},
                {b, "b-5", "id-4", sel("b")},      {a, "b-6", "id-5", sel("sp")},
                {b, "b-7", "id-1", sel("b")},   // no id-1 in b: a binding to a missing identity
                {a, "b-8", "id-4", sel("b")}};  // no id-4 in a
  auto pod = [&](const std::string& ns, const std::string& name, int ip, const std::string& selector,
                 bool here = true, std::map<std::string, std::string> extra = {}) {
    if (!selector.empty()) extra["aadpodidbinding"] = sel(selector.c_str());
    w.pods.push_back({ns, name, "127.0.0." + std::to_string(ip), std::move(extra), here});
  };
  pod(a, "p-a", 11, "a");
  pod(a, "p-shared", 12, "shared");
  pod(b, "p-shared", 13, "shared");
  pod(b, "p-b", 14, "b");
  pod(a, "p-b", 15, "b");
  pod(a, "p-none", 16, "");
  pod(a, "p-exempt", 17, "a", true, {{"app", "Exempt"}});
  pod(b, "p-a", 18, "a");
  pod(a, "p-sp", 19, "sp");
  pod(a, "p-far", 20, "a", false);                             // on the other node
  pod(b, "p-not-exempt", 21, "b", true, {{"app", "exempt"}});  // the exception is of namespace a only
  w.exceptions.push_back({a, {{"app", "exempt"}}});
  return w;
}

boost::json::object labels_json(const std::map<std::string, std::string>& labels) {
  boost::json::object o;
  for (const auto& [k, v] : labels) o[k] = v;
  return o;
}

void create_objects(Cluster& c, const iso::World& w, const std::string& here, const std::string& there) {
  namespace kinds = podid::watch::kinds;
  for (const auto& id : w.identities) {
    boost::json::object o =
        id.type == 0 ? t::msi_identity(id.name, id.resource_id, id.client_id)
                     : boost::json::object{{"apiVersion", "aadpodidentity.k8s.io/v1"},
                                           {"kind", "AzureIdentity"},
                                           {"metadata", {{"name", id.name}}},
                                           {"spec",
                                            {{"type", 1},
                                             {"clientID", id.client_id},
                                             {"tenantID", emu::testing::kTenant},
                                             {"clientPassword", {{"name", "sp"}, {"namespace", id.ns}}}}}};
    if (id.annotated_namespaced)
      o["metadata"].as_object()["annotations"] = {{"aadpodidentity.k8s.io/Behavior", "namespaced"}};
    c.create(kinds::azure_identities(), id.ns, o);
  }
  for (const auto& b : w.bindings)
    c.create(kinds::azure_identity_bindings(), b.ns, t::binding(b.name, b.identity, b.selector));
  int n = 0;
  for (const auto& e : w.exceptions)
    c.create(kinds::azure_pod_identity_exceptions(), e.ns,
             {{"apiVersion", "aadpodidentity.k8s.io/v1"},
              {"kind", "AzurePodIdentityException"},
              {"metadata", {{"name", "exception-" + std::to_string(n++)}}},
              {"spec", {{"podLabels", labels_json(e.pod_labels)}}}});
  for (const auto& p : w.pods) {
    boost::json::object o{{"apiVersion", "v1"},
                          {"kind", "Pod"},
                          {"metadata", {{"name", p.name}, {"labels", labels_json(p.labels)}}},
                          {"spec",
                           {{"nodeName", p.on_this_node ? here : there},
                            {"containers", boost::json::array{{{"name", "c"}, {"image", "busybox"}}}}}}};
    c.create(kinds::pods(), p.ns, o);
    const auto reply = c.cp.request("PATCH", "/api/v1/namespaces/" + p.ns + "/pods/" + p.name + "/status",
                                    R"({"status":{"phase":"Running","podIP":")" + p.ip + R"("}})",
                                    "application/merge-patch+json");
    REQUIRE(reply.status == 200);
  }
}

// The controller has observed everything, and (standard mode) every grant the oracle expects is Assigned.
bool settled(const core::State& s, const iso::World& w) {
  for (const auto& p : w.pods)
    if (!s.pods.contains(core::PodKey{p.ns, p.name})) return false;
  for (const auto& b : w.bindings)
    if (!s.bindings.contains(core::BindingKey{b.ns, b.name})) return false;
  for (const auto& i : w.identities)
    if (!s.identities.contains(core::IdentityKey{i.ns, i.name})) return false;
  if (s.exceptions.size() < w.exceptions.size()) return false;
  if (w.managed) return true;
  for (const auto& p : w.pods) {
    if (!p.on_this_node || iso::excepted(w, p)) continue;
    for (const auto* id : iso::allowed(w, p)) {
      const auto a = s.assignments.find(core::AssignmentKey{{p.ns, p.name}, {id->ns, id->name}});
      if (a == s.assignments.end() || a->second.phase != core::Phase::assigned) return false;
    }
  }
  return s.operations.empty();
}

struct Tally {
  int requests{0}, tokens{0}, exception_tokens{0}, refusals{0}, leaks{0};
  std::vector<std::string> mismatches;
};

std::string field(const boost::json::value& v, const char* name) {
  if (!v.is_object() || !v.as_object().contains(name) || !v.at(name).is_string()) return {};
  return std::string(v.at(name).as_string());
}

// One request and its judgement against the oracle.
void judge(Tally& tally, const emu::Emulator& e, const std::string& url, const iso::PodRow& pod,
           const iso::Expected& want, const std::string& what) {
  auto r = podid::testing::curl_get(url, pod.ip);
  // The exception pod is relayed to the IMDS uncached, and the IMDS allows 20 requests a second (as Azure's
  // does): retry a 429 as the SDKs do.
  for (int tries = 0; r.status == 429 && tries < 10; ++tries) {
    std::this_thread::sleep_for(500ms);
    r = podid::testing::curl_get(url, pod.ip);
  }
  ++tally.requests;
  boost::system::error_code ec;
  const auto body = boost::json::parse(r.body, ec);
  const std::string token = ec ? std::string{} : field(body, "access_token");
  const std::string where = pod.ns + "/" + pod.name + " " + what + ": ";
  auto mismatch = [&](const std::string& why) {
    tally.mismatches.push_back(where + why + " (status " + std::to_string(r.status) + ", " +
                               r.body.substr(0, 160) + r.curl_error + ")");
  };
  if (want.outcome != iso::Outcome::token) {
    if (!token.empty() || r.status == 200) {
      ++tally.leaks;
      return mismatch("LEAK: a token where none is allowed");
    }
    const long status = want.outcome == iso::Outcome::unknown_caller ? 403 : 400;
    if (r.status != status) return mismatch("expected " + std::to_string(status));
    if (want.outcome == iso::Outcome::identity_not_found &&
        field(body, "error_description") != "Identity not found")
      return mismatch("expected \"Identity not found\"");
    ++tally.refusals;
    return;
  }
  const auto& id = *want.identity;
  if (r.status != 200 || token.empty()) return mismatch("expected a token of " + id.ns + "/" + id.name);
  auto jwt = emu::testing::verified_jwt(e, emu::testing::kTenant, token);
  if (!jwt) return mismatch("token does not verify: " + jwt.error().describe());
  const bool right =
      jwt->claim_string("appid") == id.client_id && jwt->claim_string("aud") == kVault &&
      jwt->claim_string("oid") == id.principal_id && field(body, "client_id") == id.client_id &&
      (id.type != 0 || iso::lower(jwt->claim_string("xms_mirid")) == iso::lower(id.resource_id));
  if (!right) {
    ++tally.leaks;
    return mismatch("LEAK: token of appid " + jwt->claim_string("appid") + " oid " +
                    jwt->claim_string("oid") + ", expected " + id.ns + "/" + id.name);
  }
  ++(want.via_exception ? tally.exception_tokens : tally.tokens);
}

}  // namespace

TEST_CASE("Every pod gets a token for exactly the identities the binding rules allow, in every mode",
          "[integration][isolation]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto cfg =
      GENERATE(Config{false, false}, Config{false, true}, Config{true, true}, Config{true, false});
  Cluster c(*cp, {"m1", "m2", "m3", "m4", "m5"});
  const auto a = c.ns;
  const auto b = c.create_namespace("iso-b");
  const auto here = c.create_node("n0", 0);
  const auto there = c.create_node("n1", 1);
  for (const char* m : {"m1", "m2", "m3", "m4", "m5"})
    REQUIRE(c.emulator.attach(emu::testing::vmss_id("ss-0"), emu::testing::identity_id(m)).has_value());
  const auto w = scenario(c, a, b, a, cfg);
  create_objects(c, w, here, there);

  auto options = t::controller_options(a);
  options.ingest.ns = "";  // both namespaces
  options.settings.force_namespaced = cfg.force_namespaced;
  options.settings.mode = cfg.managed ? core::Mode::managed : core::Mode::standard;
  t::RunningController replica(c.io, c.cp, c.emulator, options);
  REQUIRE(c.run_until([&] { return settled(replica.controller.state(), w); }, 90s));

  podid::nodeproxy::MemorySnapshotSource source;
  source.publish(podid::nodeproxy::node_snapshot(replica.controller.state(), here));
  podid::nodeproxy::MemorySecretReader secrets;
  secrets.put({"sp", a}, "clientSecret", emu::testing::kSecret);
  podid::nodeproxy::NodeProxyOptions po;
  po.listen_address = "127.0.0.1";
  po.port = 0;
  auto imds = c.emulator.serve_imds(emu::testing::vmss_id("ss-0"), 0);
  REQUIRE(imds.has_value());
  po.imds_url = *imds;
  po.authority_host = c.emulator.authority_host();
  po.aad_tls.ca.data = c.emulator.ca_pem();
  po.pipeline.assignment_wait = 200ms;
  podid::testing::RunningProxy proxy(po, source, secrets);
  REQUIRE(proxy.error().empty());

  const std::string base =
      "http://127.0.0.1:" + std::to_string(proxy.port()) +
      "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" + percent_encode(kVault);
  Tally tally;
  for (const auto& pod : w.pods) {
    judge(tally, c.emulator, base, pod, iso::expect(w, pod, iso::Selector::none, ""), "by nothing");
    for (const auto& id : w.identities) {
      for (const auto s : {iso::Selector::client_id, iso::Selector::msi_res_id, iso::Selector::mi_res_id,
                           iso::Selector::object_id}) {
        const auto value = iso::value_for(id, s);
        if (value.empty()) continue;  // a service principal has no resource ID
        judge(tally, c.emulator, base + "&" + iso::to_string(s) + "=" + percent_encode(value), pod,
              iso::expect(w, pod, s, value),
              std::string("asks for ") + id.ns + "/" + id.name + " by " + iso::to_string(s));
      }
    }
  }
  std::printf(
      "isolation matrix [%s]: %zu pods x %zu identities, %d requests: %d tokens (claims verified), %d "
      "through "
      "the exception pod, %d refused, %d leaks, %zu mismatches\n",
      cfg.name().c_str(), w.pods.size(), w.identities.size(), tally.requests, tally.tokens,
      tally.exception_tokens, tally.refusals, tally.leaks, tally.mismatches.size());
  std::fflush(stdout);
  for (std::size_t i = 0; i < tally.mismatches.size() && i < 20; ++i)
    std::printf("  mismatch: %s\n", tally.mismatches[i].c_str());
  INFO(cfg.name());
  CHECK(tally.leaks == 0);
  CHECK(tally.mismatches.empty());
  CHECK(tally.tokens > 0);  // the matrix is not vacuous
  CHECK(tally.refusals > 0);
}
