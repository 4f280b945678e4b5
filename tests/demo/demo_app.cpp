// podid-demo-app: the counterpart of the original project's demo image. Run inside a pod, it asks the IMDS
// token API at 169.254.169.254 for a token (without and with a client ID), lists the VMs of its resource
// group through ARM with that token, reads instance metadata, and logs lines in the original's words.
//   podid-demo-app --subscriptionid S --clientid C --resourcegroup RG [--arm-endpoint URL --ca-file F]
// Exit code: 0 when every step succeeded, 1 otherwise (each failure is logged with its reason).

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <iostream>
#include <string>

#include "core/http/http_client.hpp"

namespace {

namespace asio = boost::asio;
using podid::core::Result;

struct Options {
  std::string subscription;
  std::string client_id;
  std::string resource_group;
  std::string imds{"http://169.254.169.254"};
  std::string arm_endpoint{"https://management.azure.com"};
  std::string ca_file;
  std::string resource{"https://management.azure.com/"};
};

void log(const std::string& line) {
  std::cout << line << std::endl;
}

std::string url_encode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4U];
      out += kHex[c & 15U];
    }
  }
  return out;
}

// GET the IMDS token endpoint; returns the access token or a description of the failure.
asio::awaitable<Result<std::string>> get_token(podid::http::HttpClient& http, const Options& o,
                                               const std::string& client_id) {
  podid::http::Request req;
  req.url =
      o.imds + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" + url_encode(o.resource);
  if (!client_id.empty()) req.url += "&client_id=" + client_id;
  req.headers = {{"Metadata", "true"}};
  req.timeout = std::chrono::seconds(30);
  auto resp = co_await http.request(std::move(req));
  if (!resp) co_return resp.error();
  if (resp->status != 200)
    co_return podid::core::make_error(podid::core::ErrorCode::permission,
                                      "HTTP " + std::to_string(resp->status) + ": " + resp->body);
  boost::system::error_code ec;
  const auto json = boost::json::parse(resp->body, ec);
  if (ec || !json.is_object() || !json.as_object().contains("access_token"))
    co_return podid::core::make_error(podid::core::ErrorCode::invalid, "no access_token in " + resp->body);
  co_return std::string(json.at("access_token").as_string());
}

// GET an ARM list; returns its "value" array.
asio::awaitable<Result<boost::json::array>> arm_list(podid::http::HttpClient& http, std::string url,
                                                     const std::string& token) {
  podid::http::Request req;
  req.url = std::move(url);
  req.headers = {{"Authorization", "Bearer " + token}};
  auto resp = co_await http.request(std::move(req));
  if (!resp) co_return resp.error();
  if (resp->status != 200)
    co_return podid::core::make_error(podid::core::ErrorCode::permission,
                                      "HTTP " + std::to_string(resp->status) + ": " + resp->body);
  boost::system::error_code ec;
  auto json = boost::json::parse(resp->body, ec);
  if (ec || !json.is_object() || !json.as_object().contains("value"))
    co_return podid::core::make_error(podid::core::ErrorCode::invalid, "unexpected ARM answer");
  co_return json.at("value").as_array();
}

// Counts the VMs of the resource group: plain VMs plus the instances of its scale sets.
asio::awaitable<Result<std::size_t>> count_vms(podid::http::HttpClient& http, const Options& o,
                                               const std::string& token) {
  const auto base = o.arm_endpoint + "/subscriptions/" + o.subscription + "/resourceGroups/" +
                    o.resource_group + "/providers/";
  std::size_t count = 0;
  auto vms =
      co_await arm_list(http, base + "Microsoft.Compute/virtualMachines?api-version=2022-08-01", token);
  if (!vms) co_return vms.error();
  count += vms->size();
  auto sets = co_await arm_list(
      http, base + "Microsoft.Compute/virtualMachineScaleSets?api-version=2022-08-01", token);
  if (!sets) co_return sets.error();
  for (const auto& set : *sets) {
    const std::string name(set.at("name").as_string());
    auto instances = co_await arm_list(http,
                                       base + "Microsoft.Compute/virtualMachineScaleSets/" + name +
                                           "/virtualMachines?api-version=2022-08-01",
                                       token);
    if (!instances) co_return instances.error();
    count += instances->size();
  }
  co_return count;
}

asio::awaitable<int> run(Options o) {
  podid::http::ClientOptions co;
  if (!o.ca_file.empty()) co.tls.ca.file = o.ca_file;
  auto http = podid::http::HttpClient::create(co_await asio::this_coro::executor, co);
  if (!http) {
    log("failed to create an HTTP client: " + http.error().describe());
    co_return 1;
  }
  int failures = 0;
  const auto endpoint = o.imds + "/metadata/identity/oauth2/token";
  auto token = co_await get_token(**http, o, "");
  if (token) {
    log("successfully acquired a token using the MSI, msiEndpoint(" + endpoint + ")");
  } else {
    ++failures;
    log("failed to acquire a token using the MSI, msiEndpoint(" + endpoint +
        "): " + token.error().describe());
  }
  auto by_id = co_await get_token(**http, o, o.client_id);
  if (by_id) {
    log("successfully acquired a token, userAssignedID MSI, msiEndpoint(" + endpoint + ") clientID(" +
        o.client_id + ")");
    auto vms = co_await count_vms(**http, o, *by_id);
    if (vms) {
      log("successfully doARMOperations vm count " + std::to_string(*vms));
    } else {
      ++failures;
      log("failed doARMOperations: " + vms.error().describe());
    }
  } else {
    ++failures;
    log("failed to acquire a token, userAssignedID MSI, clientID(" + o.client_id +
        "): " + by_id.error().describe());
  }
  // Instance metadata: the original demo read it through NMI; our node proxy refuses it by default (it leaks
  // the node's details to every pod), so a refusal is reported, not counted as a failure.
  podid::http::Request md;
  md.url = o.imds + "/metadata/instance?api-version=2021-02-01";
  md.headers = {{"Metadata", "true"}};
  auto meta = co_await (*http)->request(std::move(md));
  if (meta && meta->status == 200) {
    log("successfully made GET on instance metadata");
  } else if (meta && meta->status == 403) {
    log("GET on instance metadata refused by the node proxy (its default): " + meta->body);
  } else {
    ++failures;
    log("failed GET on instance metadata: " +
        (meta ? "HTTP " + std::to_string(meta->status) + " " + meta->body : meta.error().describe()));
  }
  co_return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"podid-demo-app: gets a token through 169.254.169.254 and uses it, like the original demo"};
  Options o;
  app.add_option("--subscriptionid", o.subscription, "Subscription ID")->required();
  app.add_option("--clientid", o.client_id, "Client ID of the user-assigned identity")->required();
  app.add_option("--resourcegroup", o.resource_group, "Resource group whose VMs to list")->required();
  app.add_option("--imds", o.imds, "IMDS base URL")->capture_default_str();
  app.add_option("--arm-endpoint", o.arm_endpoint, "ARM endpoint (a custom cloud's)")->capture_default_str();
  app.add_option("--ca-file", o.ca_file, "Extra CA bundle for ARM (a custom cloud's)");
  CLI11_PARSE(app, argc, argv);
  asio::io_context io;
  int rc = 1;
  asio::co_spawn(io, run(o), [&](std::exception_ptr e, int r) {
    if (e) std::rethrow_exception(e);
    rc = r;
  });
  io.run();
  return rc;
}
