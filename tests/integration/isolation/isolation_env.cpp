#include "integration/isolation/isolation_env.hpp"

#include <curl/curl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <future>

namespace podid::testing::isolation {

ProxyThread::ProxyThread(nodeproxy::NodeProxyOptions options, nodeproxy::SnapshotSource& source,
                         nodeproxy::SecretReader& secrets)
    : guard_(io_.get_executor()) {
  std::promise<void> started;
  thread_ = std::thread([&, options]() mutable {
    auto created = nodeproxy::NodeProxy::create(io_.get_executor(), options, source, secrets, clock_,
                                                core::Logger(sink_, clock_, "nodeproxy"));
    if (created) {
      proxy_ = std::move(*created);
      if (auto st = proxy_->start(); !st) error_ = st.error().describe();
      port_ = proxy_->port();
    } else {
      error_ = created.error().describe();
    }
    started.set_value();
    io_.run();
  });
  started.get_future().wait();
}

ProxyThread::~ProxyThread() {
  if (proxy_) {
    auto stopped = boost::asio::co_spawn(io_, proxy_->stop(), boost::asio::use_future);
    stopped.wait();
  }
  guard_.reset();
  boost::asio::post(io_, [this] { proxy_.reset(); });
  thread_.join();
}

namespace {

std::size_t collect(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

}  // namespace

Reply get_from(const std::string& url, const std::string& source_ip) {
  Reply reply;
  CURL* curl = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Metadata: true");
  const std::string iface = "host!" + source_ip;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_INTERFACE, iface.c_str());
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK)
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  else
    reply.error = curl_easy_strerror(rc);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

emulator::Result<emulator::Jwt> verified_jwt(const emulator::Emulator& emu, const std::string& tenant,
                                             const std::string& token) {
  auto jwt = PODID_TRY(emulator::jwt_parse(token));
  const auto kid = jwt.header_string("kid");
  const auto jwks = boost::json::parse(emu.jwks_json(tenant));
  for (const auto& k : jwks.at("keys").as_array()) {
    const auto& o = k.as_object();
    if (o.at("kid").as_string() != kid) continue;
    const auto key = PODID_TRY(emulator::Key::from_rsa_jwk(o.at("n").as_string(), o.at("e").as_string()));
    if (!emulator::jwt_verify(jwt, key))
      return core::make_error(core::ErrorCode::permission, "JWT signature does not verify");
    return jwt;
  }
  return core::make_error(core::ErrorCode::not_found, "No key " + kid + " in the tenant's JWKS");
}

}  // namespace podid::testing::isolation
