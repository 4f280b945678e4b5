#include "support/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>
#include <stdexcept>

namespace podid::testing {
namespace {

// Process groups the signal handler kills; lock-free atomics are safe to read in a handler.
std::array<std::atomic<pid_t>, 16> g_groups{};
struct sigaction g_prev_int {};
struct sigaction g_prev_term {};

void register_group(pid_t pid) {
  for (auto& slot : g_groups) {
    pid_t expected = 0;
    if (slot.compare_exchange_strong(expected, pid)) return;
  }
}

void unregister_group(pid_t pid) {
  for (auto& slot : g_groups) {
    pid_t expected = pid;
    slot.compare_exchange_strong(expected, 0);
  }
}

void on_kill_signal(int sig, siginfo_t* info, void* context) {
  for (auto& slot : g_groups) {
    pid_t pid = slot.load();
    if (pid > 0) kill(-pid, SIGTERM);
  }
  const struct sigaction& prev = sig == SIGINT ? g_prev_int : g_prev_term;
  if ((prev.sa_flags & SA_SIGINFO) != 0) {
    if (prev.sa_sigaction != nullptr) prev.sa_sigaction(sig, info, context);
    return;
  }
  if (prev.sa_handler == SIG_IGN) return;
  if (prev.sa_handler == SIG_DFL) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, nullptr);
    raise(sig);  // delivered when this handler returns
    return;
  }
  prev.sa_handler(sig);
}

void install_one(int sig, struct sigaction& prev) {
  struct sigaction current {};
  sigaction(sig, nullptr, &current);
  if ((current.sa_flags & SA_SIGINFO) != 0 && current.sa_sigaction == &on_kill_signal) return;
  struct sigaction ours {};
  ours.sa_sigaction = &on_kill_signal;
  ours.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&ours.sa_mask);
  sigaction(sig, &ours, &prev);
}

}  // namespace

void install_kill_handlers() {
  install_one(SIGINT, g_prev_int);
  install_one(SIGTERM, g_prev_term);
}

ChildProcess::ChildProcess(std::string name, const std::vector<std::string>& argv,
                           const std::string& log_path)
    : name_(std::move(name)), log_path_(log_path) {
  if (argv.empty()) throw std::runtime_error("ChildProcess: empty argv");
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_path + ": " + std::strerror(errno));
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();

  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(111);  // the parent died before prctl
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGINT, &dfl, nullptr);
    sigaction(SIGTERM, &dfl, nullptr);
    sigaction(SIGPIPE, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    close_range(3, ~0U, 0);
    execv(args[0], args.data());
    _exit(127);
  }
  const int fork_errno = errno;
  close(log_fd);
  if (null_fd >= 0) close(null_fd);
  if (pid < 0) throw std::runtime_error("fork failed: " + std::string(std::strerror(fork_errno)));
  setpgid(pid, pid);  // also from the parent, so the group exists before anyone signals it
  pid_ = pid;
  register_group(pid);
}

ChildProcess::~ChildProcess() {
  stop();
}

void ChildProcess::record_exit(int status) {
  exited_ = true;
  unregister_group(pid_);
  if (WIFEXITED(status)) {
    exit_description_ = name_ + " exited with status " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    exit_description_ = name_ + " was killed by signal " + std::to_string(WTERMSIG(status));
  } else {
    exit_description_ = name_ + " ended";
  }
}

bool ChildProcess::running() {
  if (exited_ || pid_ <= 0) return false;
  int status = 0;
  pid_t rc = waitpid(pid_, &status, WNOHANG);
  if (rc == pid_) {
    record_exit(status);
    return false;
  }
  return true;
}

void ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0 || !running()) return;
  kill(-pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a child's exit, not timing a test
  }
  if (running()) {
    kill(-pid_, SIGKILL);
    int status = 0;
    if (waitpid(pid_, &status, 0) == pid_) record_exit(status);
  }
  kill(-pid_, SIGKILL);  // anything the child left in its group
  unregister_group(pid_);
}

std::string ChildProcess::log_tail(size_t max_bytes) const {
  std::ifstream in(log_path_, std::ios::binary | std::ios::ate);
  if (!in) return {};
  const auto size = static_cast<size_t>(in.tellg());
  const size_t start = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string out(size - start, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

SpawnThread::SpawnThread() : thread_([this] { loop(); }) {}

SpawnThread::~SpawnThread() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SpawnThread::run(const std::function<void()>& job) {
  std::packaged_task<void()> task(job);
  auto result = task.get_future();
  {
    std::lock_guard lock(mutex_);
    jobs_.emplace_back([&task] { task(); });
  }
  cv_.notify_all();
  result.get();
}

void SpawnThread::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return done_ || !jobs_.empty(); });
    if (jobs_.empty()) return;
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

}  // namespace podid::testing
