#pragma once
// Where the API server is and how to authenticate: the result of loading a kubeconfig or the in-cluster
// environment. Plain values; cli/ builds one and hands it to HttpKubeClient.

#include <string>

#include "core/http/tls_config.hpp"

namespace podid::watch {

struct ClusterConfig {
  std::string server;         // "https://host:port"
  http::TlsClientConfig tls;  // CA, client certificate, server name, insecure flag
  std::string token;          // static bearer token ("" = none)
  std::string token_file;     // bearer token re-read every minute and on 401 ("" = none)
  std::string default_namespace{"default"};
};

}  // namespace podid::watch
