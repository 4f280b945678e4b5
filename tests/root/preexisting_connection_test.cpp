// Connections opened before the rules existed (issue 8; the original flushes conntrack for them). A pod
// opens a connection to the IMDS, then the rules are installed and it sends its request on that connection:
// it must be reset and the IMDS must receive nothing. On a node whose conntrack tracked the connection its
// next packet is not NATed and the guard chain (reject_unbound) rejects it; in a fresh test namespace the
// connection was not tracked (nf_conntrack_count stays 0 there), so it is picked up mid-stream as new and
// redirected to the node proxy, which resets it. Either way nothing reaches the IMDS; which of the two
// happened is not asserted. Without the guard a tracked connection would keep reaching the IMDS (not
// reproducible here, see docs/security.md).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "root/backends.hpp"
#include "root/root_env.hpp"

using namespace podid;
using namespace podid::testing;
using namespace std::chrono_literals;

namespace {

sockaddr_in address(const std::string& ip, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
  return sa;
}

// An IMDS stand-in that takes one connection and waits (up to 10 s, or until stop()) for a request before
// answering "imds": unlike TcpResponder it does not answer on its own while the test installs the rules.
class PatientImds {
 public:
  explicit PatientImds(int listen_fd) : fd_(listen_fd), thread_([this] { serve(); }) {}
  ~PatientImds() {
    stop();
    thread_.join();
    ::close(fd_);
  }
  void stop() {
    ::shutdown(fd_, SHUT_RDWR);
    if (const int c = conn_.load(); c >= 0) ::shutdown(c, SHUT_RDWR);
  }
  [[nodiscard]] std::size_t request_bytes() const { return bytes_.load(); }

 private:
  void serve() {
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    conn_ = c;
    std::string request;
    std::array<char, 512> buf{};
    pollfd p{c, POLLIN, 0};
    while (request.find("\r\n\r\n") == std::string::npos && ::poll(&p, 1, 10000) > 0) {
      const auto n = ::read(c, buf.data(), buf.size());
      if (n <= 0) break;
      request.append(buf.data(), static_cast<std::size_t>(n));
      bytes_ = request.size();
    }
    if (!request.empty()) {
      const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nimds";
      [[maybe_unused]] const auto w = ::write(c, response.data(), response.size());
    }
    conn_ = -1;
    ::close(c);
  }
  int fd_;
  std::atomic<int> conn_{-1};
  std::atomic<std::size_t> bytes_{0};
  std::thread thread_;
};

// A connected socket from the calling thread's namespace (blocking connect; the namespace's IMDS is local).
int connect_to(const std::string& ip, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  auto sa = address(ip, port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct Exchange {
  std::string body;  // what came back
  int error{0};      // errno of the failed read or write (0: none)
};

// Sends a request on an already open connection and reads the answer (3 s at most).
Exchange request_on(int fd) {
  Exchange out;
  const std::string req = "GET / HTTP/1.1\r\nHost: 169.254.169.254\r\nMetadata: true\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) < 0) {
    out.error = errno;
    return out;
  }
  std::array<char, 512> buf{};
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, 3000) > 0) {
    const auto n = ::read(fd, buf.data(), buf.size());
    if (n < 0) out.error = errno;
    if (n <= 0) break;
    out.body.append(buf.data(), static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE(
    "A connection a pod opened to the IMDS before the rules existed is reset and reaches nothing", "[root]",
    LegacyBackend, NftBackend) {
  RootEnv env;
  PODID_REQUIRE_ROOT(env.runner);
  env.build(false);
  INFO(TestType::kName);
  auto rules = TestType::make(env.runner);
  const iptables::RuleSpec spec = env.spec();  // reject_unbound: the default
  REQUIRE(spec.reject_unbound);

  core::Result<int> listen = core::make_error(core::ErrorCode::io, "not run");
  env.net->node().run([&] { listen = TcpResponder::listen_socket(NodeNetwork::kMetadataAddress, 80); });
  REQUIRE(listen.has_value());
  PatientImds imds(*listen);
  core::Result<int> proxy_fd = core::make_error(core::ErrorCode::io, "not run");
  env.net->node().run([&] { proxy_fd = TcpResponder::listen_socket(NodeNetwork::kNodeAddress, kProxyPort); });
  REQUIRE(proxy_fd.has_value());
  TcpResponder proxy("proxy", *proxy_fd);

  // Before the rules: pod A opens a connection to the real IMDS and keeps it.
  int early = -1;
  env.a->ns->run([&] { early = connect_to(NodeNetwork::kMetadataAddress, 80); });
  REQUIRE(early >= 0);

  REQUIRE(env.in_node([&] { return rules->ensure(spec); }).has_value());
  // New connections are redirected.
  CHECK(env.get_from(*env.a, NodeNetwork::kMetadataAddress, 80).body == "proxy " + env.a->ip);

  const auto old = request_on(early);
  ::close(early);
  INFO("old connection: body '" << old.body << "', errno " << old.error << " (" << std::strerror(old.error)
                                << "), the IMDS received " << imds.request_bytes() << " bytes");
  CHECK(old.body.find("imds") == std::string::npos);
  CHECK(old.error == ECONNRESET);
  CHECK(imds.request_bytes() == 0);
  imds.stop();
  REQUIRE(env.in_node([&] { return rules->remove(); }).has_value());
}
