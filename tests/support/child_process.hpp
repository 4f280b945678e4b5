// Child processes of the test control plane: each in its own process group, killed with the test binary.
// A child gets PR_SET_PDEATHSIG, which fires when the *forking thread* exits, so children are forked on a
// SpawnThread that lives as long as they do. SIGINT/SIGTERM handlers (re-armed by install_kill_handlers)
// SIGTERM every registered group, then chain to the previous handler.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace podid::testing {

class ChildProcess {
 public:
  // fork, setpgid, prctl(PR_SET_PDEATHSIG), exec argv[0]; stdout+stderr appended to log_path.
  // Throws std::runtime_error when the log cannot be opened or fork fails.
  ChildProcess(std::string name, const std::vector<std::string>& argv, const std::string& log_path);
  ~ChildProcess();  // stop()
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  const std::string& name() const { return name_; }
  const std::string& log_path() const { return log_path_; }
  pid_t pid() const { return pid_; }
  // False once the child has exited; exit_description() then says how.
  bool running();
  std::string exit_description() const { return exit_description_; }
  // SIGTERM to the group, wait up to grace, then SIGKILL. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // The last max_bytes of the log file.
  std::string log_tail(size_t max_bytes = 3000) const;

 private:
  void record_exit(int status);

  std::string name_;
  std::string log_path_;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string exit_description_;
};

// (Re-)installs the SIGINT/SIGTERM handlers unless they are already ours. Catch2 swaps signal handlers
// around every test case, so shared() calls this on every use.
void install_kill_handlers();

// A thread that runs submitted jobs in order; used to fork the children (see the header comment).
class SpawnThread {
 public:
  SpawnThread();
  ~SpawnThread();  // finishes queued jobs, then joins
  SpawnThread(const SpawnThread&) = delete;
  SpawnThread& operator=(const SpawnThread&) = delete;
  // Runs job on the thread and waits; an exception thrown by job is rethrown here.
  void run(const std::function<void()>& job);

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace podid::testing
