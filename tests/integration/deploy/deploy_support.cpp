#include "integration/deploy/deploy_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/yaml_json.hpp"

namespace json = boost::json;

namespace podid::deploy_test {
namespace {

std::string str_at(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string api_prefix(const std::string& api_version) {
  return api_version.find('/') == std::string::npos ? "/api/" + api_version : "/apis/" + api_version;
}

// The REST path of the object a document names, from discovery (cached per apiVersion/kind).
std::string object_path(testing::ControlPlane& cp, const json::object& doc, const std::string& default_ns) {
  const std::string api_version = str_at(doc, "apiVersion");
  const std::string kind = str_at(doc, "kind");
  const auto& meta = doc.at("metadata").as_object();
  const testing::HttpReply r = cp.request("GET", api_prefix(api_version));
  if (r.status != 200)
    throw std::runtime_error("discovery of " + api_version + ": HTTP " + std::to_string(r.status));
  const json::value list = json::parse(r.body);  // a named local: the loop below iterates into it
  for (const auto& res : list.at("resources").as_array()) {
    const auto& o = res.as_object();
    const std::string plural = str_at(o, "name");
    if (str_at(o, "kind") != kind || plural.find('/') != std::string::npos) continue;
    std::string path = api_prefix(api_version);
    if (o.at("namespaced").as_bool()) {
      const std::string ns = meta.contains("namespace") ? str_at(meta, "namespace") : default_ns;
      path += "/namespaces/" + ns;
    }
    return path + "/" + plural + "/" + str_at(meta, "name");
  }
  throw std::runtime_error("the API server serves no " + kind + " in " + api_version);
}

void collect_args(const json::value& v, const std::string& container,
                  std::vector<std::vector<std::string>>& out) {
  if (v.is_array()) {
    for (const auto& item : v.as_array()) collect_args(item, container, out);
    return;
  }
  if (!v.is_object()) return;
  const auto& o = v.as_object();
  if (const auto* containers = o.if_contains("containers"); containers != nullptr && containers->is_array()) {
    for (const auto& c : containers->as_array()) {
      if (str_at(c.as_object(), "name") != container) continue;
      std::vector<std::string> args;
      if (const auto* a = c.as_object().if_contains("args"); a != nullptr) {
        for (const auto& arg : a->as_array()) args.emplace_back(arg.as_string());
      }
      out.push_back(std::move(args));
    }
  }
  for (const auto& kv : o) collect_args(kv.value(), container, out);
}

// Reads both pipes until both close, so neither child stream can fill up and block the child.
void drain(int out_fd, int err_fd, std::string& out, std::string& err) {
  std::array<pollfd, 2> fds{pollfd{out_fd, POLLIN, 0}, pollfd{err_fd, POLLIN, 0}};
  std::array<char, 8192> buf{};
  int open = 2;
  while (open > 0) {
    if (::poll(fds.data(), fds.size(), -1) < 0) break;
    for (auto& p : fds) {
      if (p.fd < 0 || p.revents == 0) continue;
      const ssize_t n = ::read(p.fd, buf.data(), buf.size());
      if (n <= 0) {
        ::close(p.fd);
        p.fd = -1;
        --open;
        continue;
      }
      (p.fd == out_fd ? out : err).append(buf.data(), static_cast<std::size_t>(n));
    }
  }
}

}  // namespace

std::string source_dir() {
  const char* dir = std::getenv("PODID_SOURCE_DIR");
  return dir != nullptr ? dir : PODID_TEST_SOURCE_DIR;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<json::object> documents(const std::string& yaml_text) {
  std::vector<json::object> docs;
  for (auto& v : testing::yaml_documents_to_json(yaml_text)) {
    if (v.is_object()) docs.push_back(std::move(v.as_object()));
  }
  return docs;
}

std::string describe(const json::object& doc) {
  const auto* meta = doc.if_contains("metadata");
  const json::object empty;
  const json::object& m = meta != nullptr && meta->is_object() ? meta->as_object() : empty;
  return str_at(doc, "kind") + "/" + str_at(m, "namespace") + "/" + str_at(m, "name");
}

testing::HttpReply strict_apply(testing::ControlPlane& cp, json::object doc,
                                const std::string& default_namespace) {
  const std::string path = object_path(cp, doc, default_namespace);
  return cp.request("PATCH", path + "?fieldManager=podid-deploy-test&fieldValidation=Strict&force=true",
                    json::serialize(doc), "application/apply-patch+yaml");
}

testing::HttpReply get_object(testing::ControlPlane& cp, const json::object& doc,
                              const std::string& default_namespace) {
  return cp.request("GET", object_path(cp, doc, default_namespace));
}

std::vector<std::vector<std::string>> container_args(const std::vector<json::object>& docs,
                                                     const std::string& container) {
  std::vector<std::vector<std::string>> out;
  for (const auto& d : docs) {
    if (const auto* spec = d.if_contains("spec"); spec != nullptr) collect_args(*spec, container, out);
  }
  return out;
}

std::string flag_name(const std::string& arg) {
  return arg.substr(0, arg.find('='));
}

CommandResult run_command(const std::vector<std::string>& argv) {
  CommandResult result;
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return result;
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return result;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (pid < 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return result;
  }
  drain(out_pipe[0], err_pipe[0], result.out, result.err);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

std::string helm_binary(std::string& reason) {
  if (const char* env = std::getenv("PODID_HELM"); env != nullptr && *env != '\0') {
    if (::access(env, X_OK) == 0) return env;
    reason = "PODID_HELM=" + std::string(env) + " is not an executable file";
    return {};
  }
  const CommandResult built = run_command({"bash", source_dir() + "/tests/helm/build.sh"});
  std::string path = built.out;
  while (!path.empty() && (path.back() == '\n' || path.back() == '\r')) path.pop_back();
  if (built.exit_code == 0 && !path.empty() && ::access(path.c_str(), X_OK) == 0) return path;
  const std::string tail = built.err.size() > 1500 ? built.err.substr(built.err.size() - 1500) : built.err;
  reason = "tests/helm/build.sh failed (exit " + std::to_string(built.exit_code) + "): " + tail;
  return {};
}

bool allowed(testing::ControlPlane& cp, const std::string& sa_namespace, const std::string& sa,
             const json::object& attributes) {
  const json::object review{
      {"apiVersion", "authorization.k8s.io/v1"},
      {"kind", "SubjectAccessReview"},
      {"spec",
       {{"user", "system:serviceaccount:" + sa_namespace + ":" + sa},
        {"groups", json::array{"system:serviceaccounts", "system:serviceaccounts:" + sa_namespace}},
        {"resourceAttributes", attributes}}}};
  const auto reply =
      cp.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", json::serialize(review));
  if (reply.status != 201)
    throw std::runtime_error("SubjectAccessReview: HTTP " + std::to_string(reply.status) + " " + reply.body);
  const json::value answer = json::parse(reply.body);  // named: `a` points into it
  const auto* a = answer.at("status").as_object().if_contains("allowed");
  return a != nullptr && a->as_bool();
}

json::object attrs(const char* group, const char* resource, const char* verb, const std::string& ns,
                   const char* subresource, const std::string& name) {
  json::object o{{"group", group}, {"resource", resource}, {"verb", verb}, {"namespace", ns}};
  if (*subresource != '\0') o["subresource"] = subresource;
  if (!name.empty()) o["name"] = name;
  return o;
}

}  // namespace podid::deploy_test
