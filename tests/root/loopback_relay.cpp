#include "root/loopback_relay.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>

namespace podid::testing {
namespace {

constexpr int kPollMs = 100;  // how soon a stop is noticed

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const auto n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

LoopbackRelay::LoopbackRelay(int listen_fd, std::uint16_t target_port)
    : listen_fd_(listen_fd), port_(target_port), acceptor_([this] { accept_loop(); }) {}

LoopbackRelay::~LoopbackRelay() {
  stop_ = true;
  acceptor_.join();
  for (auto& t : pumps_) t.join();
  ::close(listen_fd_);
}

void LoopbackRelay::accept_loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    // Created on this thread, so in the namespace the relay was constructed in.
    const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port_);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (upstream < 0 || ::connect(upstream, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      if (upstream >= 0) ::close(upstream);
      ::close(client);  // the caller sees the upstream's refusal as a closed connection
      continue;
    }
    ++accepted_;
    std::lock_guard lock(mu_);
    pumps_.emplace_back([this, client, upstream] { pump(client, upstream); });
  }
}

// Both directions until both ended; an end of one direction is passed on as a half-close (SHUT_WR).
void LoopbackRelay::pump(int a, int b) const {
  std::array<bool, 2> open{true, true};  // a->b, b->a
  std::array<char, 16384> buf{};
  while (!stop_ && (open[0] || open[1])) {
    std::array<pollfd, 2> p{pollfd{a, static_cast<short>(open[0] ? POLLIN : 0), 0},
                            pollfd{b, static_cast<short>(open[1] ? POLLIN : 0), 0}};
    if (::poll(p.data(), 2, kPollMs) <= 0) continue;
    bool failed = false;
    for (std::size_t i = 0; i < 2 && !failed; ++i) {
      if (!open[i] || p[i].revents == 0) continue;
      const int from = i == 0 ? a : b;
      const int to = i == 0 ? b : a;
      const auto n = ::recv(from, buf.data(), buf.size(), 0);
      if (n > 0) {
        failed = !write_all(to, buf.data(), static_cast<std::size_t>(n));
      } else if (n == 0) {
        open[i] = false;
        ::shutdown(to, SHUT_WR);
      } else {
        failed = true;
      }
    }
    if (failed) break;
  }
  ::close(a);
  ::close(b);
}

}  // namespace podid::testing
