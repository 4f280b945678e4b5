// Expired replication tokens against the real API server (issue 8, "Replication channel"). TokenRequest will
// not mint a token shorter than ten minutes, so the expired tokens here are the genuine pod-bound token's
// claims with `iat`/`nbf`/`exp` moved, signed (ES256) with the fixture's own service-account key: the API
// server accepts that signature (the same claims with fresh times pass), so expiry alone decides.
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "integration/replication/replication_env.hpp"
#include "tests/emulator/jwt.hpp"

using namespace podid;
using namespace podid::testing;
using nodeproxy::MemorySnapshotSource;
using namespace std::chrono_literals;

namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// ES256 (the fixture's service-account key is EC P-256): ECDSA over SHA-256, the signature as r || s.
std::string es256(const emulator::Key& key, const std::string& input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t der_len = 0;
  REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1);
  REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &der_len, reinterpret_cast<const unsigned char*>(input.data()),
                         input.size()) == 1);
  std::string der(der_len, '\0');
  REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &der_len,
                         reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)), ECDSA_SIG_free);
  REQUIRE(sig != nullptr);
  std::string raw(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  REQUIRE(BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, 32) == 32);
  REQUIRE(BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + 32, 32) == 32);
  return raw;
}

// `genuine`'s header and claims with exp = now + exp_in (iat and nbf ten minutes before exp, never in the
// future), signed with the API server's own service-account key.
std::string with_expiry(ControlPlane& cp, const std::string& genuine, std::int64_t exp_in) {
  auto jwt = emulator::jwt_parse(genuine);
  REQUIRE(jwt.has_value());
  auto key = emulator::Key::from_private_pem(read_text(cp.info().sa_signing_key_file));
  REQUIRE(key.has_value());
  const auto exp = unix_now() + exp_in;
  jwt->claims["exp"] = exp;
  const auto issued = std::min(unix_now() - 1, exp - 600);
  jwt->claims["iat"] = issued;
  jwt->claims["nbf"] = issued;
  REQUIRE(jwt->header_string("alg") == "ES256");
  const auto input = emulator::base64url_encode(boost::json::serialize(jwt->header)) + "." +
                     emulator::base64url_encode(boost::json::serialize(jwt->claims));
  return input + "." + emulator::base64url_encode(es256(*key, input));
}

// What the API server's own TokenReview says of `token`.
bool api_server_authenticates(ControlPlane& cp, const std::string& token) {
  const auto review = cp.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                                 R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview",)"
                                 R"("spec":{"token":")" +
                                     token + R"("}})");
  REQUIRE(review.status == 201);
  const auto parsed = boost::json::parse(review.body);
  const auto* status = parsed.as_object().if_contains("status");
  REQUIRE(status != nullptr);
  const auto* authenticated = status->as_object().if_contains("authenticated");
  return authenticated != nullptr && authenticated->is_bool() && authenticated->as_bool();
}

// The env's server, but with a review cache that outlives the short tokens below.
void start_server(ReplicationEnv& env, std::chrono::milliseconds review_ttl) {
  nodeproxy::ReplicationServerOptions o;
  o.tls = http::TlsServerConfig{{"", env.leaf.cert_pem}, {"", env.leaf.key_pem}, {}};
  o.heartbeat = 300ms;
  o.review_ttl = review_ttl;
  o.allowed_users = {"system:serviceaccount:" + env.ns + ":podid-nmi"};
  auto created = nodeproxy::ReplicationServer::create(
      env.io.get_executor(), o, *env.kube,
      [&env](const std::string& node) -> std::shared_ptr<const nodeproxy::NodeSnapshot> {
        auto it = env.snapshots.find(node);
        if (it == env.snapshots.end()) return nullptr;
        return std::make_shared<const nodeproxy::NodeSnapshot>(it->second);
      },
      core::Logger(env.sink, env.clock, "replication"));
  REQUIRE(created.has_value());
  env.server = std::move(*created);
  env.server->start();
  env.port = env.server->port();
}

// A projected token file, replaced the way the kubelet does it: a new file renamed over the old one.
struct TokenFile {
  TokenFile() {
    char pattern[] = "/tmp/podid-faults-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    dir = pattern;
    path = dir + "/token";
  }
  ~TokenFile() { std::filesystem::remove_all(dir); }
  void write(const std::string& token) const {
    const auto next = dir + "/.token.next";
    std::ofstream(next, std::ios::binary) << token << '\n';
    std::filesystem::rename(next, path);
  }
  std::string dir, path;
};

// Runs the context until the wall clock passes `unix_seconds` (waiting for a token to expire).
void run_past(ReplicationEnv& env, std::int64_t unix_seconds) {
  REQUIRE(run_until(
      env.io, [&] { return unix_now() > unix_seconds; }, 60s));
}

}  // namespace

TEST_CASE("An expired service-account token, signed by the cluster's own key, is refused with 401",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  ReplicationEnv env(*cp);
  start_server(env, 60s);
  const auto genuine = env.token_for("nmi-a");

  // Why the tokens are signed here: the API server refuses to mint one that expires within ten minutes.
  const auto short_lived = cp->request(
      "POST", "/api/v1/namespaces/" + env.ns + "/serviceaccounts/podid-nmi/token",
      R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":60}})");
  CHECK(short_lived.status == 422);

  // The control: the same claims with fresh times, re-signed with the cluster's key, are accepted by the
  // API server and by the replication server.
  const auto fresh = with_expiry(*cp, genuine, 3600);
  CHECK(api_server_authenticates(*cp, fresh) == true);
  CHECK(env.get("node-a", "Bearer " + fresh).status == 200);

  // Long expired: the API server refuses it, and so does the replication server.
  const auto long_expired = with_expiry(*cp, genuine, -3600);
  CHECK(api_server_authenticates(*cp, long_expired) == false);
  const auto reviews_before = env.server->counters().reviews;
  CHECK(env.get("node-a", "Bearer " + long_expired).status == 401);
  // Just expired: whatever the API server's leeway, refused here from the exp claim, without a review.
  const auto just_expired = with_expiry(*cp, genuine, -5);
  CHECK(env.get("node-a", "Bearer " + just_expired).status == 401);
  CHECK(env.server->counters().expired == 2);
  CHECK(env.server->counters().unauthenticated == 2);
  CHECK(env.server->counters().reviews == reviews_before);  // both refused before any TokenReview
  std::printf("kube-apiserver TokenReview of a token expired 5 s ago: authenticated=%s\n",
              api_server_authenticates(*cp, just_expired) ? "true" : "false");
  env.stop_server();
}

TEST_CASE("A token accepted before its expiry is refused after it, although its review was cached",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  ReplicationEnv env(*cp);
  start_server(env, 60s);  // far longer than the token lives
  const auto expires_in = 4;
  const auto token = with_expiry(*cp, env.token_for("nmi-a"), expires_in);
  const auto exp = unix_now() + expires_in;

  CHECK(env.get("node-a", "Bearer " + token).status == 200);
  CHECK(env.get("node-a", "Bearer " + token).status == 200);
  CHECK(env.server->counters().review_cache_hits >= 1);  // the second answer came from the cache

  run_past(env, exp);
  CHECK(env.get("node-a", "Bearer " + token).status == 401);
  CHECK(env.server->counters().expired == 1);
  env.stop_server();
}

TEST_CASE("A node proxy whose token file is rotated keeps following, and recovers from an expired one",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  ReplicationEnv env(*cp);
  start_server(env, 60s);
  TokenFile file;
  const auto genuine = env.token_for("nmi-a");
  const auto expires_in = 5;
  const auto short_lived = with_expiry(*cp, genuine, expires_in);
  const auto exp = unix_now() + expires_in;
  file.write(short_lived);

  MemorySnapshotSource source;
  auto replica = env.replica("node-a", source, nodeproxy::token_file_reader(file.path));
  replica->start();
  REQUIRE(run_until(env.io, [&] { return source.current()->seq == 1; }));

  SECTION("rotated before expiry: the replica never presents the expired token") {
    file.write(genuine);  // the kubelet's rotation, ahead of expiry
    run_past(env, exp);
    // Several long polls (300 ms heartbeats) after the old token expired, each one a new request.
    const auto heartbeats = replica->counters().heartbeats;
    REQUIRE(run_until(env.io, [&] { return replica->counters().heartbeats >= heartbeats + 3; }));
    env.publish(ReplicationEnv::snapshot("node-a", 2, {"pod-1", "pod-2"}));
    REQUIRE(run_until(env.io, [&] { return source.current()->seq == 2; }));
    CHECK(*source.current() == env.snapshots.at("node-a"));
    CHECK(env.server->counters().unauthenticated == 0);
    CHECK(replica->counters().failures == 0);
  }

  SECTION("not rotated in time: refused, the last snapshot kept, and following again once rotated") {
    run_past(env, exp);
    REQUIRE(run_until(env.io, [&] { return env.server->counters().expired >= 2; }));
    CHECK(replica->counters().failures >= 2);
    env.publish(ReplicationEnv::snapshot("node-a", 3, {"pod-1", "pod-3"}));
    const auto refused = env.server->counters().expired;
    REQUIRE(run_until(env.io, [&] { return env.server->counters().expired >= refused + 2; }));
    CHECK(source.current()->seq == 1);  // fail-static: the held snapshot stays, nothing is cleared
    CHECK(source.current()->pods.size() == 1);

    file.write(genuine);
    REQUIRE(run_until(env.io, [&] { return source.current()->seq == 3; }));
    CHECK(*source.current() == env.snapshots.at("node-a"));
  }

  run_async(env.io, replica->stop());
  env.stop_server();
}
