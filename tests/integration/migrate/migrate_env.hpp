#pragma once
// Helpers for the migrate integration tests: objects stored with pre-1.6.0 keys exactly as an old cluster
// stored them (our CRDs declare those keys, so the API server keeps them), and a runner for the migration.

#include <boost/json/object.hpp>
#include <sstream>
#include <string>

#include "cli/migrate.hpp"
#include "integration/watch/kube_env.hpp"

namespace podid::testing {

inline const std::string kGroup = "aadpodidentity.k8s.io/v1";

inline std::string arm_id(const std::string& name) {
  return "/subscriptions/s1/resourcegroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" +
         name;
}

inline boost::json::object legacy_identity(const std::string& name, const std::string& resource_id) {
  return boost::json::object{{"apiVersion", kGroup},
                             {"kind", "AzureIdentity"},
                             {"metadata", {{"name", name}}},
                             {"spec",
                              {{"type", 1},
                               {"ClientID", "client-" + name},
                               {"ResourceID", resource_id},
                               {"TenantID", "tenant-1"},
                               {"ClientPassword", {{"name", "secret-" + name}, {"namespace", "default"}}}}}};
}

inline boost::json::object legacy_binding(const std::string& name, const std::string& identity) {
  return boost::json::object{{"apiVersion", kGroup},
                             {"kind", "AzureIdentityBinding"},
                             {"metadata", {{"name", name}}},
                             {"spec", {{"AzureIdentity", identity}, {"Selector", "sel-" + name}}}};
}

inline boost::json::object legacy_exception(const std::string& name) {
  return boost::json::object{{"apiVersion", kGroup},
                             {"kind", "AzurePodIdentityException"},
                             {"metadata", {{"name", name}}},
                             {"spec", {{"PodLabels", {{"app", "mic"}}}}}};
}

// An AzureAssignedIdentity as MIC <= 1.5 wrote it: lower-case keys outside and inside the snapshots.
inline boost::json::object legacy_assigned(const std::string& name, const std::string& ns) {
  return boost::json::object{{"apiVersion", kGroup},
                             {"kind", "AzureAssignedIdentity"},
                             {"metadata", {{"name", name}}},
                             {"spec",
                              {{"azureidentityref",
                                {{"apiVersion", kGroup},
                                 {"kind", "AzureIdentity"},
                                 {"metadata", {{"name", "id1"}, {"namespace", ns}}},
                                 {"spec", {{"clientid", "client-id1"}, {"resourceid", arm_id("id1")}}}}},
                               {"azurebindingref",
                                {{"apiVersion", kGroup},
                                 {"kind", "AzureIdentityBinding"},
                                 {"metadata", {{"name", "b1"}, {"namespace", ns}}},
                                 {"spec", {{"azureidentity", "id1"}, {"selector", "sel-b1"}}}}},
                               {"pod", "web-0"},
                               {"podnamespace", ns},
                               {"nodename", "node-0"}}},
                             {"status", {{"status", "Assigned"}}}};
}

struct Migrated {
  core::Result<cli::MigrateReport> result;
  std::string output;
};

inline Migrated migrate(boost::asio::io_context& io, watch::KubeClient& client, store::EventLog* log,
                        const core::Clock& clock, cli::MigrateOptions options) {
  std::ostringstream out;
  auto result = run_async(io, cli::run_migration(client, log, clock, std::move(options), out),
                          std::chrono::seconds(60));
  return Migrated{std::move(result), out.str()};
}

inline const boost::json::object& spec_of(const boost::json::object& o) {
  return o.at("spec").as_object();
}

}  // namespace podid::testing
