#include "watch/kubeconfig.hpp"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace podid::watch {
namespace fs = std::filesystem;
using core::ErrorCode;

core::Result<std::string> base64_decode(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    int v = 0;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else if (c == '=' || c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      continue;
    } else {
      return core::make_error(ErrorCode::invalid, "Bad base64 data");
    }
    acc = (acc << 6U) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> static_cast<unsigned>(bits)) & 0xFFU));
    }
  }
  return out;
}

namespace {

std::string text_of(const YAML::Node& node, const char* key) {
  const auto child = node[key];
  return child && child.IsScalar() ? child.as<std::string>() : std::string{};
}

YAML::Node find_named(const YAML::Node& list, const std::string& name, const char* field) {
  if (!list || !list.IsSequence()) return YAML::Node{};
  for (const auto& entry : list) {
    if (text_of(entry, "name") == name) return entry[field];
  }
  return YAML::Node{};
}

std::string resolve(const std::string& path, const std::string& base_dir) {
  if (path.empty() || fs::path{path}.is_absolute()) return path;
  return (fs::path{base_dir} / path).string();
}

// Fills one PEM item from "<key>-data" (base64) or "<key>" (a path).
core::Status pem_item(const YAML::Node& node, const std::string& key, const std::string& base_dir,
                      http::PemSource& out) {
  if (const auto data = text_of(node, (key + "-data").c_str()); !data.empty()) {
    out.data = PODID_TRY(base64_decode(data));
  } else {
    out.file = resolve(text_of(node, key.c_str()), base_dir);
  }
  return core::ok();
}

core::Result<ClusterConfig> build(const YAML::Node& root, const std::string& base_dir,
                                  const KubeconfigOptions& options) {
  const std::string context_name =
      options.context.empty() ? text_of(root, "current-context") : options.context;
  if (context_name.empty()) return core::make_error(ErrorCode::invalid, "kubeconfig has no current-context");
  const auto context = find_named(root["contexts"], context_name, "context");
  if (!context) return core::make_error(ErrorCode::invalid, "kubeconfig has no context " + context_name);
  const auto cluster = find_named(root["clusters"], text_of(context, "cluster"), "cluster");
  if (!cluster) return core::make_error(ErrorCode::invalid, "kubeconfig context names an unknown cluster");
  const auto user_name = text_of(context, "user");
  const auto user = find_named(root["users"], user_name, "user");
  if (!user_name.empty() && !user)
    return core::make_error(ErrorCode::invalid, "kubeconfig context names an unknown user");

  ClusterConfig config;
  config.server = text_of(cluster, "server");
  if (config.server.empty()) return core::make_error(ErrorCode::invalid, "kubeconfig cluster has no server");
  if (const auto ns = text_of(context, "namespace"); !ns.empty()) config.default_namespace = ns;
  PODID_TRY(pem_item(cluster, "certificate-authority", base_dir, config.tls.ca));
  config.tls.server_name = text_of(cluster, "tls-server-name");
  if (cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>()) {
    if (!options.allow_insecure) {
      return core::make_error(ErrorCode::invalid,
                              "kubeconfig asks for insecure-skip-tls-verify, which is not allowed");
    }
    config.tls.insecure_skip_verify = true;
  }
  if (user) {
    if (user["exec"] || user["auth-provider"]) {
      return core::make_error(ErrorCode::invalid,
                              "kubeconfig exec and auth-provider credentials are not supported");
    }
    PODID_TRY(pem_item(user, "client-certificate", base_dir, config.tls.client_cert));
    PODID_TRY(pem_item(user, "client-key", base_dir, config.tls.client_key));
    config.token = text_of(user, "token");
    config.token_file = resolve(text_of(user, "tokenFile"), base_dir);
  }
  return config;
}

}  // namespace

core::Result<ClusterConfig> parse_kubeconfig(std::string_view yaml, const std::string& base_dir,
                                             const KubeconfigOptions& options) {
  try {
    return build(YAML::Load(std::string{yaml}), base_dir, options);
  } catch (const YAML::Exception& e) {  // yaml-cpp reports syntax and type errors by throwing
    return core::make_error(ErrorCode::invalid, std::string{"kubeconfig is not valid YAML: "} + e.what());
  }
}

core::Result<ClusterConfig> load_kubeconfig(const std::string& path, const KubeconfigOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error(ErrorCode::io, "Could not read kubeconfig " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return parse_kubeconfig(text.str(), fs::path{path}.parent_path().string(), options);
}

core::Result<ClusterConfig> in_cluster_config(const std::string& host, const std::string& port,
                                              const std::string& root_dir) {
  if (host.empty() || port.empty()) {
    return core::make_error(ErrorCode::invalid,
                            "Not in a cluster: KUBERNETES_SERVICE_HOST or _PORT is empty");
  }
  ClusterConfig config;
  const bool v6 = host.find(':') != std::string::npos;
  config.server = "https://" + (v6 ? "[" + host + "]" : host) + ":" + port;
  const fs::path root{root_dir};
  config.token_file = (root / "token").string();
  config.tls.ca.file = (root / "ca.crt").string();
  std::error_code ec;
  if (!fs::exists(config.token_file, ec))
    return core::make_error(ErrorCode::io, "No service-account token in " + root_dir);
  if (!fs::exists(config.tls.ca.file, ec))
    return core::make_error(ErrorCode::io, "No CA bundle in " + root_dir);
  if (std::ifstream ns_file{root / "namespace"}; ns_file) {
    std::string ns;
    std::getline(ns_file, ns);
    if (!ns.empty()) config.default_namespace = ns;
  }
  return config;
}

}  // namespace podid::watch
