// One blocking HTTP(S) request through libcurl, for test set-up code only (product code uses core/http).
// Thread-safe: every call uses its own easy handle.
#pragma once

#include <string>
#include <vector>

namespace podid::testing {

struct CurlRequest {
  std::string method = "GET";
  std::string url;
  std::string body;                  // sent when non-empty (any method)
  std::vector<std::string> headers;  // "Name: value"
  std::string ca_file;               // verify the server against this CA (host name too); empty: plain HTTP
  std::string cert_file, key_file;   // client certificate, optional
  long timeout_ms = 60000;
  // Reuse this thread's connection (and TLS session) to the same server instead of a new handshake per
  // request: the API-server helpers, whose thousands of requests would otherwise each pay a TLS handshake
  // with a client certificate. Off for everything that tests connection behaviour.
  bool keep_alive = false;
};

struct CurlReply {
  long status = 0;                   // 0 when the transport failed
  std::string body;                  // response body, or the curl error when status is 0
  std::vector<std::string> headers;  // response header lines without CRLF
};

[[nodiscard]] CurlReply curl_perform(const CurlRequest& request);

}  // namespace podid::testing
