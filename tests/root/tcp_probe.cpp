#include "root/tcp_probe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace podid::testing {
namespace {

sockaddr_in address(const std::string& ip, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
  return sa;
}

std::string peer_of(const sockaddr_in& sa) {
  std::array<char, INET_ADDRSTRLEN> buf{};
  ::inet_ntop(AF_INET, &sa.sin_addr, buf.data(), buf.size());
  return buf.data();
}

int wait_for(int fd, short events, std::chrono::steady_clock::time_point until) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count())));
}

}  // namespace

core::Result<int> TcpResponder::listen_socket(const std::string& ip, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return core::make_error(core::ErrorCode::io, "socket failed");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  auto sa = address(ip, port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || ::listen(fd, 16) != 0) {
    const std::string msg = "bind " + ip + ":" + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
    return core::make_error(core::ErrorCode::io, msg);
  }
  return fd;
}

TcpResponder::TcpResponder(std::string tag, int listen_fd)
    : tag_(std::move(tag)), fd_(listen_fd), thread_([this] { serve(); }) {}

TcpResponder::~TcpResponder() {
  ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
  thread_.join();
  ::close(fd_);
}

std::vector<std::string> TcpResponder::peers() const {
  std::lock_guard lock(mu_);
  return peers_;
}

void TcpResponder::serve() {
  for (;;) {
    sockaddr_in peer{};
    socklen_t len = sizeof(peer);
    const int c = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    const std::string who = peer_of(peer);
    {
      std::lock_guard lock(mu_);
      peers_.push_back(who);
    }
    // Read the request head (bounded), then answer and close.
    std::string request;
    std::array<char, 1024> buf{};
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 8192 &&
           wait_for(c, POLLIN, until) > 0) {
      const auto n = ::read(c, buf.data(), buf.size());
      if (n <= 0) break;
      request.append(buf.data(), static_cast<std::size_t>(n));
    }
    const std::string body = tag_ + " " + who;
    const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                                 "\r\nConnection: close\r\n\r\n" + body;
    [[maybe_unused]] const auto w = ::write(c, response.data(), response.size());
    ::close(c);
  }
}

GetResult http_get(const std::string& ip, std::uint16_t port, const std::string& source_ip,
                   std::chrono::milliseconds deadline) {
  GetResult result;
  const auto until = std::chrono::steady_clock::now() + deadline;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    result.error = errno;
    return result;
  }
  if (!source_ip.empty()) {
    auto src = address(source_ip, 0);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
      result.error = errno;
      ::close(fd);
      return result;
    }
  }
  auto sa = address(ip, port);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  if (rc != 0 && errno == EINPROGRESS) {
    if (wait_for(fd, POLLOUT, until) <= 0) {
      result.error = ETIMEDOUT;
      ::close(fd);
      return result;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    rc = err == 0 ? 0 : -1;
    errno = err;
  }
  if (rc != 0) {
    result.error = errno;
    ::close(fd);
    return result;
  }
  result.connected = true;
  const std::string request = "GET / HTTP/1.1\r\nHost: " + ip + "\r\nMetadata: true\r\n\r\n";
  [[maybe_unused]] const auto w = ::write(fd, request.data(), request.size());
  std::string response;
  std::array<char, 1024> buf{};
  while (wait_for(fd, POLLIN, until) > 0) {
    const auto n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    response.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto head_end = response.find("\r\n\r\n");
  if (head_end != std::string::npos) result.body = response.substr(head_end + 4);
  return result;
}

}  // namespace podid::testing
