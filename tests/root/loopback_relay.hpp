#pragma once
// LoopbackRelay: lets a process inside a test's node namespace reach a server on the host's loopback
// without touching the host's network (no veth into the host namespace, no host routes). The listening
// socket is made inside the namespace (NetNamespace::run) on the same 127.0.0.1:<port> the host server
// uses, so URLs and TLS names in kubeconfigs and certificates stay valid; each accepted connection is
// relayed byte for byte to 127.0.0.1:<port> of the namespace the relay was constructed in (the host's).
// Thread-safety: construct and destroy on one thread; one thread per relayed connection meanwhile.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace podid::testing {

class LoopbackRelay {
 public:
  // Takes ownership of listen_fd. Must be constructed on a thread of the target namespace.
  LoopbackRelay(int listen_fd, std::uint16_t target_port);
  ~LoopbackRelay();  // closes every relayed connection, joins its threads
  LoopbackRelay(const LoopbackRelay&) = delete;
  LoopbackRelay& operator=(const LoopbackRelay&) = delete;

  [[nodiscard]] std::size_t connections() const noexcept { return accepted_.load(); }

 private:
  void accept_loop();
  void pump(int a, int b) const;

  int listen_fd_;
  std::uint16_t port_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> accepted_{0};
  std::mutex mu_;
  std::vector<std::thread> pumps_;
  std::thread acceptor_;
};

}  // namespace podid::testing
