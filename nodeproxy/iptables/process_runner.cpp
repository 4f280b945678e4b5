#include "nodeproxy/iptables/process_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace podid::iptables {
namespace {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int get() const { return fd_; }
  int& ref() { return fd_; }

 private:
  int fd_{-1};
};

core::Error io_error(const std::string& what) {
  return core::make_error(core::ErrorCode::io, what + ": " + std::strerror(errno));
}

// Blocks SIGPIPE for this thread while we write to a child that may have exited, and discards a SIGPIPE
// raised meanwhile, so a dying child never kills the caller.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;
  ~SigpipeGuard() {
    const timespec zero{0, 0};
    while (sigtimedwait(&set_, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t set_{};
  sigset_t old_{};
};

// Writes input to `in` and drains `out` and `err` until both reach end of file.
core::Status pump(Fd& in, Fd& out, Fd& err, std::string_view input, CommandOutput& result) {
  std::size_t written = 0;
  if (input.empty()) in.reset();
  std::array<char, 4096> buf{};
  while (out.get() >= 0 || err.get() >= 0) {
    std::array<pollfd, 3> fds{{{in.get(), POLLOUT, 0}, {out.get(), POLLIN, 0}, {err.get(), POLLIN, 0}}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return io_error("poll");
    }
    if (in.get() >= 0 && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      const auto n = ::write(in.get(), input.data() + written, input.size() - written);
      if (n < 0 && errno != EINTR && errno != EAGAIN) {
        in.reset();  // the child closed its stdin; its exit code tells the rest
      } else if (n > 0) {
        written += static_cast<std::size_t>(n);
        if (written == input.size()) in.reset();
      }
    }
    std::array<std::pair<Fd*, std::string*>, 2> sinks{{{&out, &result.out}, {&err, &result.err}}};
    for (std::size_t i = 0; i < sinks.size(); ++i) {
      if (sinks[i].first->get() < 0 || (fds[i + 1].revents & (POLLIN | POLLERR | POLLHUP)) == 0) continue;
      const auto n = ::read(sinks[i].first->get(), buf.data(), buf.size());
      if (n > 0) {
        sinks[i].second->append(buf.data(), static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        sinks[i].first->reset();
      }
    }
  }
  return core::ok();
}

}  // namespace

core::Result<CommandOutput> ProcessRunner::run(const std::vector<std::string>& argv, std::string_view input) {
  if (argv.empty()) return core::make_error(core::ErrorCode::invalid, "empty command");
  std::array<Fd, 2> in, out, err;
  for (auto* p : {&in, &out, &err}) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return io_error("pipe2");
    (*p)[0].ref() = fds[0];
    (*p)[1].ref() = fds[1];
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0].get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out[1].get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err[1].get(), 2);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  SigpipeGuard guard;
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return core::make_error(rc == ENOENT ? core::ErrorCode::not_found : core::ErrorCode::io,
                            "cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  in[0].reset();
  out[1].reset();
  err[1].reset();
  CommandOutput result;
  auto pumped = pump(in[1], out[0], err[0], input, result);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return io_error("waitpid");
  }
  if (!pumped) return pumped.error();
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace podid::iptables
