#include "support/curl_client.hpp"

#include <curl/curl.h>

#include <memory>

namespace podid::testing {
namespace {

size_t append_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t append_header(char* data, size_t size, size_t count, void* user) {
  std::string line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (!line.empty()) static_cast<std::vector<std::string>*>(user)->push_back(std::move(line));
  return size * count;
}

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

CurlReply curl_perform(const CurlRequest& request) {
  CurlReply reply;
  thread_local std::unique_ptr<CURL, CurlDeleter>
      kept;  // keep_alive: this thread's handle and its connections
  std::unique_ptr<CURL, CurlDeleter> fresh;
  if (request.keep_alive && kept) {
    curl_easy_reset(kept.get());  // options cleared; the connection cache and TLS sessions stay
  } else if (request.keep_alive) {
    kept.reset(curl_easy_init());
  } else {
    fresh.reset(curl_easy_init());
  }
  CURL* h = request.keep_alive ? kept.get() : fresh.get();
  if (h == nullptr) {
    reply.body = "curl_easy_init failed";
    return reply;
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&headers](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next != nullptr) {
      static_cast<void>(headers.release());
      headers.reset(next);
    }
  };
  for (const auto& line : request.headers) add_header(line);
  add_header("Expect:");  // no 100-continue round trip for bodies

  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, request.timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  if (!request.body.empty()) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  if (!request.ca_file.empty()) {
    curl_easy_setopt(h, CURLOPT_CAINFO, request.ca_file.c_str());
    curl_easy_setopt(h, CURLOPT_CAPATH, nullptr);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  }
  if (!request.cert_file.empty()) {
    curl_easy_setopt(h, CURLOPT_SSLCERT, request.cert_file.c_str());
    curl_easy_setopt(h, CURLOPT_SSLKEY, request.key_file.c_str());
  }
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &append_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &append_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &reply.headers);

  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    reply.status = 0;
    reply.body = std::string("curl: ") + curl_easy_strerror(rc);
    return reply;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

}  // namespace podid::testing
