// Helpers of the packaging tests: manifests as JSON documents, strict server-side apply against the test
// control plane, the containers' flags, and running helm (built from its Go module by tests/helm/build.sh).
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <vector>

#include "support/control_plane.hpp"

namespace podid::deploy_test {

[[nodiscard]] std::string source_dir();
[[nodiscard]] std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);

// The non-empty YAML documents of a manifest stream, as JSON objects.
[[nodiscard]] std::vector<boost::json::object> documents(const std::string& yaml_text);

// "<kind>/<namespace>/<name>" for messages.
[[nodiscard]] std::string describe(const boost::json::object& doc);

// Server-side apply (field manager podid-deploy-test, force) with fieldValidation=Strict, so an unknown or
// duplicated field is an error rather than a warning. Namespaced objects without a namespace go to
// `default_namespace`. Returns the API server's reply (200 or 201 when accepted).
[[nodiscard]] testing::HttpReply strict_apply(testing::ControlPlane& cp, boost::json::object doc,
                                              const std::string& default_namespace);

// GET of the object a document names (after apply: to read back what the server stored).
[[nodiscard]] testing::HttpReply get_object(testing::ControlPlane& cp, const boost::json::object& doc,
                                            const std::string& default_namespace);

// Whether service account <sa_namespace>/<sa> may do what `attributes` (a SubjectAccessReview's
// resourceAttributes) describe, according to the API server's RBAC authorizer. Throws when the review fails.
[[nodiscard]] bool allowed(testing::ControlPlane& cp, const std::string& sa_namespace, const std::string& sa,
                           const boost::json::object& attributes);
// resourceAttributes for allowed().
[[nodiscard]] boost::json::object attrs(const char* group, const char* resource, const char* verb,
                                        const std::string& ns = "default", const char* subresource = "",
                                        const std::string& name = "");

// The args of each container called `container` in the pod templates of the documents.
[[nodiscard]] std::vector<std::vector<std::string>> container_args(
    const std::vector<boost::json::object>& docs, const std::string& container);
// "--name" of "--name=value" or "--name".
[[nodiscard]] std::string flag_name(const std::string& arg);

struct CommandResult {
  int exit_code = -1;
  std::string out;  // standard output
  std::string err;  // standard error
};
// Runs argv (no shell) and waits; the exit code is -1 when it could not be started or was killed.
[[nodiscard]] CommandResult run_command(const std::vector<std::string>& argv);

// The helm binary: $PODID_HELM, else what tests/helm/build.sh prints (building it on first use, minutes
// cold). Empty when unavailable; `reason` then says exactly why.
[[nodiscard]] std::string helm_binary(std::string& reason);

}  // namespace podid::deploy_test
