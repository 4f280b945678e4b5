#include "root/held_connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace podid::testing {

PatientImds::PatientImds(std::string tag, int listen_fd)
    : tag_(std::move(tag)), fd_(listen_fd), thread_([this] { serve(); }) {}

PatientImds::~PatientImds() {
  stop();
  thread_.join();
  ::close(fd_);
}

void PatientImds::stop() {
  ::shutdown(fd_, SHUT_RDWR);
  if (const int c = conn_.load(); c >= 0) ::shutdown(c, SHUT_RDWR);
}

void PatientImds::serve() {
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
    const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(tag_.size()) +
                                 "\r\nConnection: close\r\n\r\n" + tag_;
    [[maybe_unused]] const auto w = ::write(c, response.data(), response.size());
  }
  conn_ = -1;
  ::close(c);
}

int connect_to(const std::string& ip, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

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

}  // namespace podid::testing
