#pragma once
// The isolation matrix's plumbing: a NodeProxy on its own io thread, a GET from a chosen source address (a
// pod IP on loopback), and JWT checks against the emulator's JWKS. Its own namespace: the control-plane
// fixture already defines podid::testing::CurlReply, and tests/integration/nodeproxy/proxy_env another one.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "core/logger.hpp"
#include "nodeproxy/node_proxy.hpp"
#include "tests/emulator/emulator.hpp"
#include "tests/emulator/jwt.hpp"

namespace podid::testing::isolation {

class ProxyThread {
 public:
  ProxyThread(nodeproxy::NodeProxyOptions options, nodeproxy::SnapshotSource& source,
              nodeproxy::SecretReader& secrets);
  ~ProxyThread();  // stops the proxy and joins the thread
  ProxyThread(const ProxyThread&) = delete;
  ProxyThread& operator=(const ProxyThread&) = delete;

  [[nodiscard]] const std::string& error() const { return error_; }  // empty: serving
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  core::SystemClock clock_;
  core::MemorySink sink_;  // written only on the proxy thread
  std::unique_ptr<nodeproxy::NodeProxy> proxy_;
  std::string error_;
  std::uint16_t port_{0};
  std::thread thread_;
};

struct Reply {
  long status{0};  // 0: no HTTP answer (error says why)
  std::string body;
  std::string error;
};

// GET url with `Metadata: true` from source_ip.
[[nodiscard]] Reply get_from(const std::string& url, const std::string& source_ip);

// The JWT if its signature verifies with the key its `kid` names in the tenant's JWKS; else why not.
[[nodiscard]] emulator::Result<emulator::Jwt> verified_jwt(const emulator::Emulator& emu,
                                                           const std::string& tenant,
                                                           const std::string& token);

}  // namespace podid::testing::isolation
