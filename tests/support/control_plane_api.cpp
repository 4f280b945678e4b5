// Admin requests, namespaces, create-or-update of manifests and the CRD installation of ControlPlane.
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/control_plane.hpp"
#include "support/curl_client.hpp"
#include "support/yaml_json.hpp"

namespace podid::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string api_prefix(const std::string& api_version) {
  return api_version.find('/') == std::string::npos ? "/api/" + api_version : "/apis/" + api_version;
}

std::string string_at(const json::object& obj, std::initializer_list<const char*> path) {
  const json::value* v = nullptr;
  const json::object* cur = &obj;
  for (const char* key : path) {
    if (cur == nullptr) return {};
    v = cur->if_contains(key);
    if (v == nullptr) return {};
    cur = v->if_object();
  }
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool ok_status(long status) {
  return status >= 200 && status < 300;
}

std::string describe(const HttpReply& r) {
  return "HTTP " + std::to_string(r.status) + ": " + r.body;
}

// A CRD has the condition type with status True.
bool condition_true(const json::value& crd, std::string_view type) {
  const auto* status = crd.as_object().if_contains("status");
  const auto* conditions =
      status != nullptr && status->is_object() ? status->as_object().if_contains("conditions") : nullptr;
  if (conditions == nullptr || !conditions->is_array()) return false;
  return std::any_of(conditions->as_array().begin(), conditions->as_array().end(), [&](const json::value& c) {
    const auto& o = c.as_object();
    return string_at(o, {"type"}) == type && string_at(o, {"status"}) == "True";
  });
}

}  // namespace

HttpReply ControlPlane::request(std::string_view method, std::string_view path, std::string_view body,
                                std::string_view content_type) {
  return request(method, path, body, content_type, {});
}

HttpReply ControlPlane::request(std::string_view method, std::string_view path, std::string_view body,
                                std::string_view content_type, const std::vector<std::string>& headers) {
  CurlRequest req;
  req.method = std::string(method);
  req.url = info_.server + std::string(path);
  req.body = std::string(body);
  req.ca_file = info_.ca_file;
  req.cert_file = info_.client_cert_file;
  req.key_file = info_.client_key_file;
  req.keep_alive = true;
  const bool has_accept = std::any_of(headers.begin(), headers.end(), [](const std::string& h) {
    return h.size() >= 7 && std::equal(h.begin(), h.begin() + 7, "accept:", [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == b;
           });
  });
  if (!has_accept) req.headers.emplace_back("Accept: application/json");
  if (!body.empty()) req.headers.push_back("Content-Type: " + std::string(content_type));
  req.headers.insert(req.headers.end(), headers.begin(), headers.end());
  CurlReply reply = curl_perform(req);
  return HttpReply{reply.status, std::move(reply.body)};
}

std::string ControlPlane::create_namespace(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  std::string name;
  for (char c : prefix) {
    const auto u = static_cast<unsigned char>(c);
    name += std::isalnum(u) != 0 ? static_cast<char>(std::tolower(u)) : '-';
    if (name.size() >= 40) break;
  }
  while (!name.empty() && name.front() == '-') name.erase(name.begin());
  while (!name.empty() && name.back() == '-') name.pop_back();
  if (name.empty()) name = "test";
  std::random_device random;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "-%u-%04x", ++counter, random() & 0xffffU);
  name += suffix;
  json::object ns{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", json::object{{"name", name}}}};
  HttpReply r = request("POST", "/api/v1/namespaces", json::serialize(ns));
  if (r.status != 201) throw std::runtime_error("creating namespace " + name + " failed: " + describe(r));
  return name;
}

void ControlPlane::apply_yaml_file(const std::string& path) {
  apply_yaml_file(path, "default");
}

void ControlPlane::apply_yaml_file(const std::string& path, std::string_view default_namespace) {
  apply_yaml(read_file(path), default_namespace);
}

void ControlPlane::apply_yaml(std::string_view yaml_text, std::string_view default_namespace) {
  for (const auto& doc : yaml_documents_to_json(yaml_text)) {
    apply_json_document(json::serialize(doc), default_namespace);
  }
}

ControlPlane::ResourceInfo ControlPlane::resource_for(const std::string& api_version,
                                                      const std::string& kind) {
  const std::string key = api_version + "/" + kind;
  {
    std::lock_guard lock(discovery_mutex_);
    if (auto it = discovery_.find(key); it != discovery_.end()) return it->second;
  }
  // Discovery of a just-installed CRD can lag for a moment: look again for up to 10 s.
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  HttpReply r{0, {}};
  for (;;) {
    r = request("GET", api_prefix(api_version));
    if (r.status == 200) {
      json::value list = json::parse(r.body);
      for (const auto& res : list.at("resources").as_array()) {
        const auto& o = res.as_object();
        const std::string name = string_at(o, {"name"});
        if (string_at(o, {"kind"}) != kind || name.find('/') != std::string::npos) continue;
        ResourceInfo info{name, o.at("namespaced").as_bool()};
        std::lock_guard lock(discovery_mutex_);
        discovery_[key] = info;
        return info;
      }
    }
    if (Clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // discovery polling interval
  }
  throw std::runtime_error("no resource for kind " + kind + " in " + api_prefix(api_version) + " (" +
                           describe(r) + ")");
}

void ControlPlane::apply_json_document(std::string_view json_text, std::string_view default_namespace) {
  json::value doc = json::parse(json_text);
  if (!doc.is_object()) throw std::runtime_error("manifest document is not an object");
  json::object& obj = doc.as_object();
  const std::string api_version = string_at(obj, {"apiVersion"});
  const std::string kind = string_at(obj, {"kind"});
  const std::string name = string_at(obj, {"metadata", "name"});
  if (api_version.empty() || kind.empty() || name.empty()) {
    throw std::runtime_error("manifest needs apiVersion, kind and metadata.name: " + std::string(json_text));
  }
  const ResourceInfo res = resource_for(api_version, kind);
  json::object& meta = obj["metadata"].as_object();
  std::string collection = api_prefix(api_version);
  if (res.namespaced) {
    if (!meta.contains("namespace"))
      meta["namespace"] = default_namespace.empty() ? "default" : default_namespace;
    collection += "/namespaces/" + std::string(meta["namespace"].as_string());
  }
  collection += "/" + res.plural;
  const std::string what = kind + " " + name;
  for (int attempt = 0; attempt < 5; ++attempt) {
    meta.erase("resourceVersion");
    HttpReply created = request("POST", collection, json::serialize(obj));
    if (ok_status(created.status)) return;
    if (created.status != 409) throw std::runtime_error("creating " + what + " failed: " + describe(created));
    HttpReply current = request("GET", collection + "/" + name);
    if (current.status == 404) continue;  // deleted meanwhile: create again
    if (current.status != 200) throw std::runtime_error("reading " + what + " failed: " + describe(current));
    meta["resourceVersion"] = json::parse(current.body).at("metadata").at("resourceVersion");
    HttpReply updated = request("PUT", collection + "/" + name, json::serialize(obj));
    if (ok_status(updated.status)) return;
    if (updated.status != 409) throw std::runtime_error("updating " + what + " failed: " + describe(updated));
  }
  throw std::runtime_error("applying " + what + " kept conflicting");
}

std::string ControlPlane::install_crds() {
  const fs::path crd_dir = fs::path(source_dir_) / "deploy" / "crds";
  if (source_dir_.empty() || !fs::is_directory(crd_dir)) {
    return "CRD directory " + crd_dir.string() + " not found (set PODID_SOURCE_DIR)";
  }
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(crd_dir)) {
    const auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> names;
  std::map<std::string, std::set<std::string>> plurals;  // "/apis/<group>/<version>" -> plurals
  std::vector<std::string> warm_ups;                     // dry-run create: collection path + body
  try {
    for (const auto& file : files) {
      for (const auto& doc : yaml_documents_to_json(read_file(file))) {
        const auto& obj = doc.as_object();
        if (string_at(obj, {"kind"}) != "CustomResourceDefinition") continue;
        apply_json_document(json::serialize(doc), "");
        names.push_back(string_at(obj, {"metadata", "name"}));
        const std::string group = string_at(obj, {"spec", "group"});
        const std::string plural = string_at(obj, {"spec", "names", "plural"});
        for (const auto& v : obj.at("spec").at("versions").as_array()) {
          if (v.as_object().at("served").as_bool()) {
            const std::string version = string_at(v.as_object(), {"name"});
            plurals["/apis/" + group + "/" + version].insert(plural);
            const bool namespaced = string_at(obj, {"spec", "scope"}) == "Namespaced";
            json::object probe{{"apiVersion", group + "/" + version},
                               {"kind", string_at(obj, {"spec", "names", "kind"})},
                               {"metadata", json::object{{"name", "podid-warm-up"}}}};
            warm_ups.push_back("/apis/" + group + "/" + version +
                               (namespaced ? "/namespaces/default/" : "/") + plural + "?dryRun=All\n" +
                               json::serialize(probe));
          }
        }
      }
    }
  } catch (const std::exception& e) {
    return std::string("installing CRDs failed: ") + e.what();
  }
  if (names.empty()) return "no CustomResourceDefinition in " + crd_dir.string();
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  auto poll = [&](const std::string& what, const std::function<bool()>& ready) -> std::string {
    while (!ready()) {
      if (Clock::now() > deadline) return "timed out waiting for " + what;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // CRD readiness polling interval
    }
    return {};
  };
  for (const auto& name : names) {
    std::string error = poll("CRD " + name + " Established", [&] {
      HttpReply r = request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + name);
      if (r.status != 200) return false;
      json::value crd = json::parse(r.body);
      return condition_true(crd, "Established") && condition_true(crd, "NamesAccepted");
    });
    if (!error.empty()) return error;
  }
  for (const auto& [path, wanted] : plurals) {
    std::string error = poll("resources served at " + path, [&, &wanted = wanted, &path = path] {
      HttpReply r = request("GET", path);
      if (r.status != 200) return false;
      std::set<std::string> served;
      const json::value list = json::parse(r.body);  // named: a range-for would not keep a temporary alive
      for (const auto& res : list.at("resources").as_array()) {
        served.insert(string_at(res.as_object(), {"name"}));
      }
      return std::includes(served.begin(), served.end(), wanted.begin(), wanted.end());
    });
    if (!error.empty()) return error;
    // Served is not yet usable: until its watch cache is initialised a resource answers 429
    // "storage is (re)initializing". Wait for a LIST of each resource to succeed.
    for (const auto& plural : wanted) {
      error = poll("LIST " + path + "/" + plural,
                   [&, &p = path] { return request("GET", p + "/" + plural + "?limit=1").status == 200; });
      if (!error.empty()) return error;
    }
  }
  // The first write of a resource whose schema has CEL rules took 2 s on 1.37 (measured); pay it here,
  // not in the first test. The answer (201 or 422) does not matter.
  for (const auto& warm_up : warm_ups) {
    const auto newline = warm_up.find('\n');
    static_cast<void>(request("POST", warm_up.substr(0, newline), warm_up.substr(newline + 1)));
  }
  return {};
}

}  // namespace podid::testing
