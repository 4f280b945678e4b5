// HttpKubeClient against the real kube-apiserver: credentials, CRUD with optimistic concurrency, patches,
// pagination, watches with bookmarks and resume, 410 Gone, and the error classes.
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <set>

#include "integration/watch/kube_env.hpp"
#include "support/control_plane_catch.hpp"

using podid::core::ErrorCode;
using podid::testing::admin_client;
using podid::testing::config_map;
using podid::testing::make_client;
using podid::testing::name_of;
using podid::testing::run_async;
using podid::testing::run_until;
namespace watch = podid::watch;
namespace kinds = podid::watch::kinds;
namespace json = boost::json;

TEST_CASE("A kubeconfig with client certificates reaches the API server", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("certs");
  boost::asio::io_context io;
  auto client = admin_client(io, *cp);
  auto got = run_async(io, client->get(kinds::namespaces(), "", ns));
  REQUIRE(got.has_value());
  CHECK(name_of(*got) == ns);
  auto listed = run_async(io, client->list(kinds::config_maps(), ns, {}));
  REQUIRE(listed.has_value());
  CHECK_FALSE(listed->resource_version.empty());
}

TEST_CASE("A bearer token works, and a token file is re-read after a 401", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("token");
  boost::asio::io_context io;
  watch::ClusterConfig config;
  config.server = cp->info().server;
  config.tls.ca.file = cp->info().ca_file;
  SECTION("a kubeconfig with a static token") {
    const std::string path = cp->info().dir + "/token-kubeconfig-" + ns;
    std::ofstream(path) << "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
                        << "contexts: [{name: t, context: {cluster: c, user: u}}]\n"
                        << "clusters: [{name: c, cluster: {server: '" << config.server
                        << "', certificate-authority: '" << config.tls.ca.file << "'}}]\n"
                        << "users: [{name: u, user: {token: '" << cp->info().token << "'}}]\n";
    auto loaded = watch::load_kubeconfig(path);
    REQUIRE(loaded.has_value());
    CHECK(loaded->tls.client_cert.empty());
    auto client = make_client(io, *loaded);
    auto got = run_async(io, client->get(kinds::namespaces(), "", ns));
    REQUIRE(got.has_value());
  }
  SECTION("token file rotated under a running client") {
    const std::string file = cp->info().dir + "/rotating-token-" + ns;
    std::ofstream(file) << "not-a-valid-token\n";
    config.token_file = file;
    auto client = make_client(io, config);
    auto refused = run_async(io, client->get(kinds::namespaces(), "", ns));
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == ErrorCode::permission);
    CHECK(refused.error().http_status == 401);
    std::ofstream(file, std::ios::trunc) << cp->info().token << "\n";
    // The cached token is stale: the 401 makes the client re-read the file and retry once.
    auto got = run_async(io, client->get(kinds::namespaces(), "", ns));
    REQUIRE(got.has_value());
    CHECK(client->tokens().reads() == 3);
  }
}

TEST_CASE("Create, get and update; an update with a stale resourceVersion is a conflict", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("crud");
  boost::asio::io_context io;
  auto client = admin_client(io, *cp);
  auto created = run_async(io, client->create(kinds::config_maps(), ns, config_map("cm", "one")));
  REQUIRE(created.has_value());
  const auto first_rv = watch::resource_version_of(*created);
  auto duplicate = run_async(io, client->create(kinds::config_maps(), ns, config_map("cm", "again")));
  REQUIRE_FALSE(duplicate.has_value());
  CHECK(duplicate.error().code == ErrorCode::conflict);

  auto fresh = run_async(io, client->get(kinds::config_maps(), ns, "cm")).value();
  fresh["data"].as_object()["value"] = "two";
  auto updated = run_async(io, client->update(kinds::config_maps(), ns, fresh));
  REQUIRE(updated.has_value());
  CHECK(updated->at("data").at("value").as_string() == "two");
  CHECK(watch::resource_version_of(*updated) != first_rv);

  auto stale = *created;  // still carries first_rv
  stale["data"].as_object()["value"] = "three";
  auto conflict = run_async(io, client->update(kinds::config_maps(), ns, stale));
  REQUIRE_FALSE(conflict.has_value());
  CHECK(conflict.error().code == ErrorCode::conflict);
  CHECK(conflict.error().http_status == 409);
  CHECK(run_async(io, client->get(kinds::config_maps(), ns, "cm"))->at("data").at("value").as_string() ==
        "two");
}

TEST_CASE("Merge and JSON patches apply; a failed JSON-patch test leaves the object unchanged",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("patch");
  boost::asio::io_context io;
  auto client = admin_client(io, *cp);
  REQUIRE(run_async(io, client->create(kinds::config_maps(), ns, config_map("cm", "one"))).has_value());
  auto merged = run_async(io, client->patch(kinds::config_maps(), ns, "cm", watch::PatchType::merge,
                                            json::parse(R"({"data":{"extra":"x","value":null}})"), {}));
  REQUIRE(merged.has_value());
  CHECK(merged->at("data").as_object().contains("extra"));
  CHECK_FALSE(merged->at("data").as_object().contains("value"));
  const auto rv = watch::resource_version_of(*merged);
  auto tested = run_async(
      io, client->patch(kinds::config_maps(), ns, "cm", watch::PatchType::json,
                        json::parse(R"([{"op":"test","path":"/metadata/resourceVersion","value":")" + rv +
                                    R"("},{"op":"add","path":"/data/j","value":"y"}])"),
                        {}));
  REQUIRE(tested.has_value());
  CHECK(tested->at("data").at("j").as_string() == "y");
  auto failed = run_async(
      io, client->patch(kinds::config_maps(), ns, "cm", watch::PatchType::json,
                        json::parse(R"([{"op":"test","path":"/metadata/resourceVersion","value":")" + rv +
                                    R"("},{"op":"add","path":"/data/k","value":"z"}])"),
                        {}));
  REQUIRE_FALSE(failed.has_value());
  CHECK_FALSE(
      run_async(io, client->get(kinds::config_maps(), ns, "cm"))->at("data").as_object().contains("k"));
}

TEST_CASE("Delete honours preconditions; a deleted object is not found", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("delete");
  boost::asio::io_context io;
  auto client = admin_client(io, *cp);
  auto created = run_async(io, client->create(kinds::config_maps(), ns, config_map("cm", "one"))).value();
  watch::DeleteOptions wrong;
  wrong.precondition_uid = "00000000-0000-0000-0000-000000000000";
  auto refused = run_async(io, client->remove(kinds::config_maps(), ns, "cm", wrong));
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == ErrorCode::conflict);
  watch::DeleteOptions right;
  right.precondition_uid = std::string{created.at("metadata").at("uid").as_string()};
  right.grace_period_seconds = 0;
  REQUIRE(run_async(io, client->remove(kinds::config_maps(), ns, "cm", right)).has_value());
  auto gone = run_async(io, client->get(kinds::config_maps(), ns, "cm"));
  REQUIRE_FALSE(gone.has_value());
  CHECK(gone.error().code == ErrorCode::not_found);
  CHECK(gone.error().http_status == 404);
}

TEST_CASE("A list with limit 2 over 5 objects pages with continue tokens", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("pages");
  boost::asio::io_context io;
  auto client = admin_client(io, *cp);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(run_async(io, client->create(kinds::config_maps(), ns, config_map("cm" + std::to_string(i), "v")))
                .has_value());
  }
  watch::ListOptions options;
  options.limit = 2;
  options.label_selector = "app=podid-test";
  auto first = run_async(io, client->list(kinds::config_maps(), ns, options));
  REQUIRE(first.has_value());
  CHECK(first->items.size() == 2);
  CHECK_FALSE(first->continue_token.empty());
  auto all = run_async(io, watch::list_all(*client, kinds::config_maps(), ns, options));
  REQUIRE(all.has_value());
  std::set<std::string> names;
  for (const auto& item : all->items) names.insert(name_of(item));
  CHECK(names == std::set<std::string>{"cm0", "cm1", "cm2", "cm3", "cm4"});
  CHECK(all->continue_token.empty());
  options.label_selector = "app=nothing";
  CHECK(run_async(io, watch::list_all(*client, kinds::config_maps(), ns, options))->items.empty());
}

namespace {

struct Recorded {
  std::vector<watch::WatchEvent> events;
  std::optional<podid::core::Status> result;
  [[nodiscard]] std::vector<std::string> types(bool with_bookmarks) const {
    std::vector<std::string> out;
    for (const auto& e : events) {
      if (with_bookmarks || e.type != watch::WatchEventType::bookmark)
        out.emplace_back(watch::to_string(e.type));
    }
    return out;
  }
};

void start_watch(boost::asio::io_context& io, watch::KubeClient& client, const std::string& ns,
                 watch::WatchOptions options, Recorded& out) {
  boost::asio::co_spawn(io,
                        client.watch(kinds::config_maps(), ns, std::move(options),
                                     [&out](watch::WatchEvent e) {
                                       out.events.push_back(std::move(e));
                                       return podid::core::ok();
                                     }),
                        [&out](std::exception_ptr, podid::core::Status s) { out.result = std::move(s); });
}

}  // namespace

TEST_CASE("A watch sees ADDED, MODIFIED and DELETED in order, BOOKMARKs, and resumes from an RV",
          "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("watch");
  boost::asio::io_context io;
  auto client = admin_client(io, *cp);
  const auto start_rv = run_async(io, client->list(kinds::config_maps(), ns, {}))->resource_version;
  watch::WatchOptions options;
  options.resource_version = start_rv;
  options.timeout = std::chrono::seconds(3);  // the server sends a bookmark shortly before the deadline
  Recorded seen;
  start_watch(io, *client, ns, options, seen);

  auto created = run_async(io, client->create(kinds::config_maps(), ns, config_map("w", "1"))).value();
  created["data"].as_object()["value"] = "2";
  const auto modified = run_async(io, client->update(kinds::config_maps(), ns, created)).value();
  REQUIRE(run_async(io, client->remove(kinds::config_maps(), ns, "w", {})).has_value());
  REQUIRE(run_until(io, [&] { return seen.result.has_value(); }));
  REQUIRE(seen.result->has_value());  // the server ended the watch at its timeout: a clean end
  CHECK(seen.types(false) == std::vector<std::string>{"ADDED", "MODIFIED", "DELETED"});
  CHECK(std::count_if(seen.events.begin(), seen.events.end(),
                      [](const auto& e) { return e.type == watch::WatchEventType::bookmark; }) >= 1);
  CHECK(seen.events.front().resource_version == watch::resource_version_of(created));

  // Resuming from the MODIFIED event's RV delivers only what came after it.
  options.resource_version = watch::resource_version_of(modified);
  options.allow_bookmarks = false;
  options.timeout = std::chrono::seconds(1);
  Recorded resumed;
  start_watch(io, *client, ns, options, resumed);
  REQUIRE(run_until(io, [&] { return resumed.result.has_value(); }));
  REQUIRE(resumed.result->has_value());
  CHECK(resumed.types(true) == std::vector<std::string>{"DELETED"});
}

TEST_CASE("A watch from a resourceVersion older than the watch cache fails as gone", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  podid::testing::ensure_widget_crd(*cp);
  const auto ns = cp->create_namespace("gone");
  boost::asio::io_context io;
  auto client = admin_client(io, *cp);
  watch::WatchOptions options;
  options.resource_version = "1";  // before the Widget kind existed
  options.timeout = std::chrono::seconds(5);
  Recorded seen;
  // Right after the CRD appears its cache may still be initialising: 429 with Retry-After, then 410.
  for (int attempt = 0; attempt < 20; ++attempt) {
    seen = Recorded{};
    boost::asio::co_spawn(io,
                          client->watch(podid::testing::widgets(), ns, options,
                                        [&seen](watch::WatchEvent e) {
                                          seen.events.push_back(std::move(e));
                                          return podid::core::ok();
                                        }),
                          [&seen](std::exception_ptr, podid::core::Status s) { seen.result = std::move(s); });
    REQUIRE(run_until(io, [&] { return seen.result.has_value(); }));
    if (seen.result->has_value() || seen.result->error().code != ErrorCode::throttled) break;
    CHECK(seen.result->error().retry_after.has_value());
    boost::asio::steady_timer wait{io, seen.result->error().retry_after.value_or(std::chrono::seconds(1))};
    run_async(io, wait.async_wait(boost::asio::use_awaitable));
  }
  REQUIRE_FALSE(seen.result->has_value());
  CHECK(seen.result->error().code == ErrorCode::gone);
  CHECK(seen.result->error().http_status == 410);
  CHECK(seen.events.empty());
}

TEST_CASE("Invalid writes are classified as invalid", "[integration]") {
  PODID_CONTROL_PLANE_OR_SKIP(cp);
  const auto ns = cp->create_namespace("invalid");
  boost::asio::io_context io;
  auto client = admin_client(io, *cp);
  auto bad_name = run_async(io, client->create(kinds::config_maps(), ns, config_map("Not_A_Name", "v")));
  REQUIRE_FALSE(bad_name.has_value());
  CHECK(bad_name.error().code == ErrorCode::invalid);
  CHECK(bad_name.error().http_status == 422);
  watch::PatchOptions no_manager;
  auto apply = run_async(io, client->patch(kinds::config_maps(), ns, "x", watch::PatchType::apply,
                                           json::parse("{}"), no_manager));
  REQUIRE_FALSE(apply.has_value());
  CHECK(apply.error().code == ErrorCode::invalid);
}
