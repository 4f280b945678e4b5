#pragma once
// A tiny HTTP responder and client for the root tests. The responder stands in for the node proxy or the
// IMDS: it answers every request with "<tag> <peer-ip>" and records the peers it saw. The client connects
// with a deadline (no sleeps), optionally from a chosen source address.

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.hpp"

namespace podid::testing {

class TcpResponder {
 public:
  // Binds ip:port in the calling thread's network namespace (call it inside NetNamespace::run()).
  [[nodiscard]] static core::Result<int> listen_socket(const std::string& ip, std::uint16_t port);

  // Takes ownership of a listening socket and serves it on a thread until destruction.
  TcpResponder(std::string tag, int listen_fd);
  ~TcpResponder();
  TcpResponder(const TcpResponder&) = delete;
  TcpResponder& operator=(const TcpResponder&) = delete;

  [[nodiscard]] std::vector<std::string> peers() const;

 private:
  void serve();
  std::string tag_;
  int fd_;
  mutable std::mutex mu_;
  std::vector<std::string> peers_;
  std::thread thread_;
};

struct GetResult {
  bool connected{false};
  int error{0};      // errno of the failed connect (ETIMEDOUT for the deadline)
  std::string body;  // what the responder answered
};

// GET / from the calling thread's namespace to ip:port, bound to source_ip when non-empty.
[[nodiscard]] GetResult http_get(const std::string& ip, std::uint16_t port, const std::string& source_ip,
                                 std::chrono::milliseconds deadline);

}  // namespace podid::testing
