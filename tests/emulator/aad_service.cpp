#include "tests/emulator/aad_service.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <map>

#include "tests/emulator/arm_service.hpp"

namespace podid::emulator {

namespace {

constexpr std::string_view kJwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

AadFailure missing(const std::string& parameter) {
  return AadFailure{400, "invalid_request", 900144,
                    "The request body must contain the following parameter: '" + parameter + "'."};
}

std::string authority_host(const std::string& url) {
  const std::size_t scheme = url.find("://");
  return scheme == std::string::npos ? url : url.substr(scheme + 3);
}

}  // namespace

HttpResponse aad_error(const HttpRequest& request, const AadFailure& failure) {
  const std::string trace = new_guid();
  std::string correlation = request.header("client-request-id");
  if (correlation.empty()) correlation = new_guid();
  const std::string ts = iso8601_utc(unix_now(), false);
  const std::string code = std::to_string(failure.code);
  boost::json::object body{
      {"error", failure.error},
      {"error_description", "AADSTS" + code + ": " + failure.description + " Trace ID: " + trace +
                                " Correlation ID: " + correlation + " Timestamp: " + ts},
      {"error_codes", boost::json::array{failure.code}},
      {"timestamp", ts},
      {"trace_id", trace},
      {"correlation_id", correlation},
      {"error_uri", request.base_url + "/error?code=" + code}};
  return json_response(failure.status, body);
}

HttpResponse AadService::handle(const HttpRequest& request) {
  const std::vector<std::string> s = split_path(request.path);
  cloud_.counters.add("aad.requests");
  if (s.size() == 3 && iequals(s[0], "common") && iequals(s[1], "discovery") && iequals(s[2], "instance")) {
    return instance_discovery(request);
  }
  if (s.empty()) return json_response(404, boost::json::object{{"error", "not_found"}});
  const std::string& tenant = s[0];
  const bool known = cloud_.directory.has_tenant(tenant);
  const auto tenant_not_found = [&] {
    return aad_error(request, AadFailure{400, "invalid_request", 90002,
                                         "Tenant '" + tenant +
                                             "' not found. Check to make sure you have the correct "
                                             "tenant ID and are signing into the correct cloud."});
  };
  const bool post = request.method == "POST";
  if (post && s.size() == 3 && iequals(s[1], "oauth2") && iequals(s[2], "token")) {
    return known ? token(request, tenant, false) : tenant_not_found();
  }
  if (post && s.size() == 4 && iequals(s[1], "oauth2") && iequals(s[2], "v2.0") && iequals(s[3], "token")) {
    return known ? token(request, tenant, true) : tenant_not_found();
  }
  if (request.method != "GET")
    return json_response(405, boost::json::object{{"error", "method_not_allowed"}});
  const bool v2_config = s.size() == 4 && iequals(s[1], "v2.0") && iequals(s[2], ".well-known") &&
                         iequals(s[3], "openid-configuration");
  const bool v1_config =
      s.size() == 3 && iequals(s[1], ".well-known") && iequals(s[2], "openid-configuration");
  if (v2_config || v1_config)
    return known ? openid_configuration(request, tenant, v2_config) : tenant_not_found();
  const bool keys =
      (s.size() == 4 && iequals(s[1], "discovery") && iequals(s[2], "v2.0") && iequals(s[3], "keys")) ||
      (s.size() == 3 && iequals(s[1], "discovery") && iequals(s[2], "keys"));
  if (keys) {
    cloud_.counters.add("aad.keys");
    return known ? json_response(200, cloud_.directory.jwks(tenant)) : tenant_not_found();
  }
  return json_response(404, boost::json::object{{"error", "not_found"}});
}

HttpResponse AadService::openid_configuration(const HttpRequest& request, const std::string& tenant,
                                              bool v2) {
  cloud_.counters.add("aad.discovery");
  const std::string base = request.base_url + "/" + tenant;
  const std::string oauth = base + (v2 ? "/oauth2/v2.0" : "/oauth2");
  boost::json::object body{
      {"token_endpoint", oauth + "/token"},
      {"token_endpoint_auth_methods_supported",
       boost::json::array{"client_secret_post", "private_key_jwt", "client_secret_basic"}},
      {"jwks_uri", base + (v2 ? "/discovery/v2.0/keys" : "/discovery/keys")},
      {"response_modes_supported", boost::json::array{"query", "fragment", "form_post"}},
      {"subject_types_supported", boost::json::array{"pairwise"}},
      {"id_token_signing_alg_values_supported", boost::json::array{"RS256"}},
      {"response_types_supported", boost::json::array{"code", "id_token", "code id_token", "id_token token"}},
      {"scopes_supported", boost::json::array{"openid", "profile", "email", "offline_access"}},
      {"issuer", v2 ? base + "/v2.0" : "https://sts.windows.net/" + tenant + "/"},
      {"request_uri_parameter_supported", false},
      {"authorization_endpoint", oauth + "/authorize"},
      {"device_authorization_endpoint", oauth + "/devicecode"},
      {"end_session_endpoint", oauth + "/logout"},
      {"http_logout_supported", true},
      {"frontchannel_logout_supported", true},
      {"claims_supported", boost::json::array{"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"}},
      {"tenant_region_scope", "NA"},
      {"cloud_instance_name", "microsoftonline.com"},
      {"cloud_graph_host_name", "graph.windows.net"},
      {"msgraph_host", "graph.microsoft.com"},
      {"rbac_url", "https://pas.windows.net"}};
  return json_response(200, body);
}

HttpResponse AadService::instance_discovery(const HttpRequest& request) {
  cloud_.counters.add("aad.instance_discovery");
  // authorization_endpoint = https://host/{tenant}/oauth2/v2.0/authorize
  const std::string endpoint = request.query_param("authorization_endpoint").value_or("");
  std::string tenant = "common";
  const std::size_t host_start = endpoint.find("://");
  if (host_start != std::string::npos) {
    const auto parts = split_path(endpoint.substr(endpoint.find('/', host_start + 3)));
    if (!parts.empty()) tenant = parts[0];
  }
  const std::string host = authority_host(request.base_url);
  boost::json::object body{
      {"tenant_discovery_endpoint",
       request.base_url + "/" + tenant + "/v2.0/.well-known/openid-configuration"},
      {"api-version", "1.1"},
      {"metadata",
       boost::json::array{boost::json::object{
           {"preferred_network", host}, {"preferred_cache", host}, {"aliases", boost::json::array{host}}}}}};
  return json_response(200, body);
}

namespace {

using Form = std::map<std::string, std::string>;

std::string form_value(const Form& form, const char* name) {
  const auto it = form.find(name);
  return it == form.end() ? std::string() : it->second;
}

// v1: `resource`; v2: the first scope that ends with /.default, without that suffix.
std::optional<AadFailure> requested_resource(const Form& form, bool v2, std::string& resource) {
  if (!v2) {
    resource = form_value(form, "resource");
    return resource.empty() ? std::optional<AadFailure>(missing("resource")) : std::nullopt;
  }
  const std::string scopes = form_value(form, "scope");
  if (scopes.empty()) return missing("scope");
  std::string_view rest(scopes);
  while (!rest.empty() && resource.empty()) {
    const std::size_t space = rest.find(' ');
    const std::string_view one = rest.substr(0, space);
    if (one.size() > 9 && one.substr(one.size() - 9) == "/.default") resource = one.substr(0, one.size() - 9);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  if (!resource.empty()) return std::nullopt;
  return AadFailure{
      400, "invalid_scope", 1002012,
      "The provided value for scope " + scopes +
          " is not valid. Client credential flows must have a scope value with /.default suffixed to "
          "the resource identifier (application ID URI)."};
}

HttpResponse injected(const HttpRequest& request, const Fault& fault) {
  HttpResponse r;
  if (fault.hang) {
    r.hang = true;
    return r;
  }
  r = aad_error(request, AadFailure{fault.status, "temporarily_unavailable", 90033,
                                    "A transient error has occurred. Please try again (injected fault)."});
  if (fault.status == 429 || fault.status >= 500)
    r.set_header("Retry-After", std::to_string(fault.retry_after.count()));
  return r;
}

}  // namespace

std::optional<AadFailure> AadService::authenticate_client(const HttpRequest& request,
                                                          const std::string& tenant, const RegisteredApp& app,
                                                          const Form& form) {
  const std::string secret = form_value(form, "client_secret");
  const std::string assertion = form_value(form, "client_assertion");
  if (!secret.empty()) {
    if (std::find(app.secrets.begin(), app.secrets.end(), secret) != app.secrets.end()) return std::nullopt;
    return AadFailure{
        401, "invalid_client", 7000215,
        "Invalid client secret provided. Ensure the secret being sent in the request is the client "
        "secret value, not the client secret ID, for a secret added to app '" +
            app.client_id + "'."};
  }
  if (assertion.empty()) {
    return AadFailure{401, "invalid_client", 7000218,
                      "The request body must contain the following parameter: 'client_assertion' or "
                      "'client_secret'."};
  }
  if (form_value(form, "client_assertion_type") != kJwtBearer) {
    return AadFailure{400, "invalid_request", 50027, "Invalid client_assertion_type."};
  }
  const std::string base = request.base_url + "/" + tenant + "/oauth2";
  return check_client_assertion(cloud_.directory, tenant, app, assertion,
                                {base + "/token", base + "/v2.0/token"});
}

HttpResponse AadService::token(const HttpRequest& request, const std::string& tenant, bool v2) {
  cloud_.counters.add("aad.token");
  if (auto fault = cloud_.faults.next("aad.token")) {
    cloud_.counters.add("aad.faults");
    return injected(request, *fault);
  }
  const Form form = parse_form(request.body);
  const auto fail = [&](const AadFailure& f) {
    cloud_.counters.add("aad.token.failed");
    return aad_error(request, f);
  };
  const std::string grant = form_value(form, "grant_type");
  if (grant.empty()) return fail(missing("grant_type"));
  if (grant != "client_credentials") {
    return fail(AadFailure{400, "unsupported_grant_type", 70003,
                           "The app requested an unsupported grant type '" + grant + "'."});
  }
  const std::string client_id = form_value(form, "client_id");
  if (client_id.empty()) return fail(missing("client_id"));
  std::string resource;
  if (auto failure = requested_resource(form, v2, resource)) return fail(*failure);
  const auto app = cloud_.directory.find_app(tenant, client_id);
  if (!app) {
    return fail(AadFailure{400, "unauthorized_client", 700016,
                           "Application with identifier '" + client_id +
                               "' was not found in the directory '" + tenant +
                               "'. This can happen if the application has not been installed by the "
                               "administrator of the tenant or consented to by any user in the tenant."});
  }
  if (auto failure = authenticate_client(request, tenant, *app, form)) return fail(*failure);
  const TokenRequest tr{TokenSubject{tenant, app->object_id, app->client_id, {}}, resource, v2,
                        cloud_.config.token_lifetime, cloud_.aad_url};
  const auto issued = cloud_.directory.issue(tr);
  if (!issued) return fail(AadFailure{500, "server_error", 90033, issued.error().message});
  cloud_.counters.add(v2 ? "aad.token.v2" : "aad.token.v1");
  const long long lifetime = cloud_.config.token_lifetime.count();
  if (v2) {
    return json_response(200, boost::json::object{{"token_type", "Bearer"},
                                                  {"expires_in", lifetime},
                                                  {"ext_expires_in", lifetime},
                                                  {"access_token", issued->access_token}});
  }
  return json_response(200, boost::json::object{{"token_type", "Bearer"},
                                                {"expires_in", std::to_string(lifetime)},
                                                {"ext_expires_in", std::to_string(lifetime)},
                                                {"expires_on", std::to_string(issued->expires_on)},
                                                {"not_before", std::to_string(issued->issued_at)},
                                                {"resource", resource},
                                                {"access_token", issued->access_token}});
}

}  // namespace podid::emulator
