#pragma once
// Keep-alive connections for the tests of connections opened before the rules: an IMDS stand-in that holds
// one connection until a request arrives, a client connection opened early and used later.

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace podid::testing {

// An IMDS stand-in that takes one connection and waits (up to 10 s, or until stop()) for a request before
// answering "<tag>": unlike TcpResponder it does not answer on its own while the test installs the rules.
// Takes ownership of a listening socket (TcpResponder::listen_socket).
class PatientImds {
 public:
  PatientImds(std::string tag, int listen_fd);
  ~PatientImds();
  PatientImds(const PatientImds&) = delete;
  PatientImds& operator=(const PatientImds&) = delete;

  void stop();
  [[nodiscard]] std::size_t request_bytes() const { return bytes_.load(); }

 private:
  void serve();
  std::string tag_;
  int fd_;
  std::atomic<int> conn_{-1};
  std::atomic<std::size_t> bytes_{0};
  std::thread thread_;
};

// A connected socket from the calling thread's namespace (blocking connect; -1 on failure).
[[nodiscard]] int connect_to(const std::string& ip, std::uint16_t port);

struct Exchange {
  std::string body;  // what came back
  int error{0};      // errno of the failed read or write (0: none)
};

// Sends a request on an already open connection and reads the answer (3 s at most).
[[nodiscard]] Exchange request_on(int fd);

}  // namespace podid::testing
