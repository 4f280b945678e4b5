#include "soak/soak_world.hpp"

#include <stdexcept>

#include "tests/emulator/tests/test_client.hpp"

namespace podid::soak {
namespace et = emulator::testing;
using namespace std::chrono_literals;

namespace {

constexpr int kFirstHost = 100;  // slot i: 127.0.0.(100 + 2i) and 127.0.0.(101 + 2i)

std::string token_target(const std::string& client_id) {
  std::string target = testing::kTokenTarget;
  if (!client_id.empty()) target += "&client_id=" + client_id;
  return target;
}

std::string describe(const testing::LoopbackReply& r) {
  return r.status == 0 ? r.error : std::to_string(r.status) + " " + r.body.substr(0, 300);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Sleeps up to `d`, waking early once `stop` is set.
void nap(const std::atomic<bool>& stop, std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stop && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(100ms, until - std::chrono::steady_clock::now()));
}

}  // namespace

SoakWorld::SoakWorld(testing::ControlPlane& cp, const Options& options)
    : options_(options),
      world_(cp),
      replica_file_(world_.dir.path() + "/replica.json"),
      export_dir_(world_.dir.path() + "/retired") {
  const int total = options_.pods + options_.unbound;
  if (options_.identities < 1 || options_.pods < options_.identities || total > 70)
    throw std::invalid_argument("need 1 <= identities <= pods and pods + unbound <= 70");
  for (int i = 0; i < total; ++i) {
    Slot s;
    s.identity = i < options_.pods ? i % options_.identities : -1;
    s.anchor = i < options_.identities;
    s.ips[0] = "127.0.0." + std::to_string(kFirstHost + 2 * i);
    s.ips[1] = "127.0.0." + std::to_string(kFirstHost + 2 * i + 1);
    s.pod = (s.identity >= 0 ? "p" : "u") + std::to_string(i) + "-0";
    slots_.push_back(s);
  }
}

SoakWorld::~SoakWorld() {
  stop_traffic();
}

std::string SoakWorld::selector(const Slot& s) const {
  return s.identity >= 0 ? identity_names_[static_cast<std::size_t>(s.identity)] : std::string();
}

void SoakWorld::set_up() {
  world_.create_node();
  for (int i = 0; i < options_.identities; ++i) {
    const auto name = "soak-" + std::to_string(i);
    const auto created =
        world_.emu->create_identity(emulator::IdentityConfig{et::kSub, "ids", name, "eastus", {}});
    if (!created) throw std::runtime_error("emulator identity " + name + ": " + created.error().describe());
    world_.create_identity(name);
    identity_names_.push_back(name);
    client_ids_.push_back(created->client_id);
  }
  for (auto& s : slots_) {
    world_.create_pod(s.pod, selector(s), s.ips[0]);
    s.live = true;
    s.live_since = std::chrono::steady_clock::now();
  }
  const auto token_file = world_.nodeproxy_token_file();
  world_.start_controller({"--checkpoint-every=" + std::to_string(options_.checkpoint_every),
                           "--retention-max-events=" + std::to_string(options_.retention_max_events),
                           "--retention-max-bytes=" + std::to_string(options_.retention_max_bytes),
                           "--retention-export-dir=" + export_dir_});
  start_nodeproxy(token_file);
}

void SoakWorld::start_nodeproxy(const std::string& token_file) {
  auto argv = testing::nodeproxy_argv({PODID_NODEPROXY_BIN, world_.cp.info().kubeconfig_path, world_.node,
                                       world_.nmi_port, testing::free_port(), world_.replication_port,
                                       world_.imds_port, world_.ca_file, token_file});
  // A deployment's node proxy: a replica file, info logs (debug logs every request), its own metrics port.
  for (auto& a : argv) {
    if (a == "--replica-file=") a += replica_file_;
    if (a == "--log-level=debug") a = "--log-level=info";
  }
  nodeproxy_metrics_port_ = testing::free_port();
  argv.push_back("--prometheus-port=" + std::to_string(nodeproxy_metrics_port_));
  const auto log = world_.dir.path() + "/nodeproxy.log";
  world_.spawner.run(
      [&] { world_.nodeproxy = std::make_unique<testing::ChildProcess>("podid-nodeproxy", argv, log); });
}

std::string SoakWorld::dead_processes() {
  std::string out;
  if (!world_.controller->running()) out += world_.controller->exit_description() + "; ";
  if (!world_.nodeproxy->running()) out += world_.nodeproxy->exit_description() + "; ";
  return out;
}

bool SoakWorld::wait_ready() {
  std::vector<Slot> anchors;
  for (const auto& s : slots_)
    if (s.anchor) anchors.push_back(s);
  std::string last;
  const bool ready = testing::eventually(
      [&] {
        if (!dead_processes().empty()) return true;
        for (const auto& s : anchors) {
          const auto r = testing::loopback_get(world_.nmi_port, token_target(""), s.ips[0]);
          if (r.status != 200) {
            last = s.pod + ": " + describe(r);
            return false;
          }
        }
        return true;
      },
      options_.ready_timeout);
  if (const auto dead = dead_processes(); !dead.empty()) {
    tally_.fail("a process died while starting: " + dead);
    return false;
  }
  if (!ready) tally_.fail("anchor pods got no token before the ready timeout; last answer " + last);
  return ready;
}

void SoakWorld::start_traffic() {
  for (int i = 0; i < options_.token_threads; ++i) threads_.emplace_back([this, i] { token_loop(i); });
  if (options_.churn_per_minute > 0) threads_.emplace_back([this] { churn_loop(); });
}

void SoakWorld::stop_traffic() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void SoakWorld::token_loop(int thread_index) {
  std::mt19937 rng(static_cast<unsigned>(1000 + thread_index));
  for (int n = 1; !stop_; ++n) {
    const std::size_t index = rng() % slots_.size();
    Slot s;
    {
      const std::lock_guard lock(slots_mutex_);
      s = slots_[index];
    }
    if (s.identity < 0)
      ask_unbound(s);
    else if (options_.identities > 1 && options_.wrong_every > 0 && n % options_.wrong_every == 0)
      ask_wrong(s, n);
    else
      ask_own(index, s, n);
    nap(stop_, options_.token_pause);
  }
}

// As a bound pod for its own identity, alternately by default and by client ID.
void SoakWorld::ask_own(std::size_t index, const Slot& s, int n) {
  if (!s.live) return;  // being churned: nothing is expected of its address right now
  const auto& want = client_ids_[static_cast<std::size_t>(s.identity)];
  const auto r =
      testing::loopback_get(world_.nmi_port, token_target(n % 2 == 0 ? want : ""), s.ips[s.ip_index]);
  if (r.status == 200) {
    tally_.count("own 200");
    if (r.field("client_id") != want)
      tally_.fail("pod " + s.pod + " got a token of another identity: " + r.body);
    return;
  }
  if (r.status == 503) {
    tally_.count("own 503");
    if (r.retry_after.empty()) tally_.fail("pod " + s.pod + " got 503 without Retry-After: " + r.body);
    return;
  }
  if (r.status == 0) {
    tally_.count("own no answer");
    tally_.fail("pod " + s.pod + ": no answer from the node proxy: " + r.error);
    return;
  }
  if (s.anchor) {
    tally_.count("own " + std::to_string(r.status) + " anchor");
    tally_.fail("anchor pod " + s.pod + " (never churned) was refused: " + describe(r));
    return;
  }
  bool replaced = false;  // deleted while the request was on its way: its refusal says nothing
  {
    const std::lock_guard lock(slots_mutex_);
    replaced = slots_[index].generation != s.generation || !slots_[index].live;
  }
  if (replaced) {
    tally_.count("own " + std::to_string(r.status) + " churned meanwhile");
    return;
  }
  // A pod recreated a moment ago may not be in the node proxy's replica yet: counted, with its age.
  tally_.count("own " + std::to_string(r.status) + " churned");
  tally_.refused_churned_at(seconds_since(s.live_since));
}

// As a bound pod (live or being churned) for another identity's client ID: must be refused.
void SoakWorld::ask_wrong(const Slot& s, int n) {
  const auto other = (s.identity + 1 + n % (options_.identities - 1)) % options_.identities;
  const auto r = testing::loopback_get(
      world_.nmi_port, token_target(client_ids_[static_cast<std::size_t>(other)]), s.ips[s.ip_index]);
  tally_.count("wrong " + std::to_string(r.status));
  if (r.status == 200)
    tally_.fail("LEAK: pod " + s.pod + " got a token for " +
                identity_names_[static_cast<std::size_t>(other)]);
  else if (r.status != 0)
    tally_.count("refused");
}

// As a pod without a binding: every token is a leak.
void SoakWorld::ask_unbound(const Slot& s) {
  const auto r = testing::loopback_get(world_.nmi_port, token_target(""), s.ips[s.ip_index]);
  tally_.count("unbound " + std::to_string(r.status));
  if (r.status == 200)
    tally_.fail("LEAK: unbound pod " + s.pod + " got a token: " + r.body.substr(0, 200));
  else if (r.status != 0)
    tally_.count("refused");
}

void SoakWorld::churn_loop() {
  std::mt19937 rng(7);
  const auto every = std::chrono::milliseconds(static_cast<long long>(60000.0 / options_.churn_per_minute));
  auto next = std::chrono::steady_clock::now() + every;
  while (!stop_) {
    nap(stop_,
        std::chrono::duration_cast<std::chrono::milliseconds>(next - std::chrono::steady_clock::now()));
    if (stop_) break;
    next += every;
    churn_once(rng);
  }
}

// Deletes one non-anchor pod (at once, as the kubelet would once it stopped) and creates its successor, on
// the slot's other address or the same one.
void SoakWorld::churn_once(std::mt19937& rng) {
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < slots_.size(); ++i)
    if (!slots_[i].anchor) candidates.push_back(i);
  if (candidates.empty()) return;
  const auto i = candidates[rng() % candidates.size()];
  Slot s;
  {
    const std::lock_guard lock(slots_mutex_);
    slots_[i].live = false;
    s = slots_[i];
  }
  const auto del = world_.cp.request(
      "DELETE", "/api/v1/namespaces/" + world_.ns + "/pods/" + s.pod + "?gracePeriodSeconds=0");
  if (del.status != 200) {
    tally_.fail("churn: DELETE pod " + s.pod + ": " + std::to_string(del.status) + " " +
                del.body.substr(0, 200));
    return;
  }
  const bool new_ip = rng() % 2 == 0;
  if (new_ip) s.ip_index = 1 - s.ip_index;
  ++s.generation;
  s.pod = s.pod.substr(0, s.pod.find('-')) + "-" + std::to_string(s.generation);
  try {
    world_.create_pod(s.pod, selector(s), s.ips[s.ip_index]);
  } catch (const std::exception& e) {
    tally_.fail(std::string("churn: create pod: ") + e.what());
    return;
  }
  world_.pod_uids.erase(s.pod.substr(0, s.pod.find('-')) + "-" + std::to_string(s.generation - 1));
  s.live = true;
  s.live_since = std::chrono::steady_clock::now();
  {
    const std::lock_guard lock(slots_mutex_);
    slots_[i] = s;
  }
  tally_.count("churn ops");
  tally_.count(new_ip ? "churn ops, new IP" : "churn ops, same IP");
}

namespace {

// One sample's value on a /metrics page (-1 when absent).
double metric_in(const std::string& page, const std::string& series) {
  const auto at = page.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(page.substr(at + series.size() + 2));
}

MemoryFigures memory_figures(const std::string& page) {
  const auto bytes = [&page](const char* kind) {
    return metric_in(page, std::string("aadpodidentity_event_log_memory_bytes{kind=\"") + kind + "\"}");
  };
  const auto rocks = [&page](const char* what) {
    return metric_in(page, std::string("aadpodidentity_event_log_rocksdb{what=\"") + what + "\"}");
  };
  const auto heap = [&page](const char* kind) {
    return metric_in(page, std::string("aadpodidentity_process_heap_bytes{kind=\"") + kind + "\"}");
  };
  MemoryFigures m;
  m.memtables = bytes("memtables");
  m.flushed_memtables = bytes("flushed_memtables");
  m.table_readers = bytes("table_readers");
  m.block_cache = bytes("block_cache");
  m.block_cache_pinned = bytes("block_cache_pinned");
  m.immutable_memtables = rocks("immutable_memtables");
  m.live_versions = rocks("live_versions");
  m.sst_files = rocks("sst_files");
  m.sst_bytes = rocks("sst_bytes");
  m.heap_in_use = heap("in_use");
  m.heap_free = heap("free");
  m.heap_mmapped = heap("mmapped");
  return m;
}

}  // namespace

Sample SoakWorld::sample(double t_s) const {
  Sample s;
  s.t_s = t_s;
  s.controller = sample_process(world_.controller->pid());
  s.nodeproxy = sample_process(world_.nodeproxy->pid());
  s.store_bytes = tree_bytes(world_.store_path());
  // One scrape for every series (each metric() call would fetch the page again).
  const auto page = world_.metrics();
  s.head_seq = metric_in(page, "aadpodidentity_event_log_head_seq");
  s.memory = memory_figures(page);
  s.retired = retired_events(export_dir_);
  s.retired_bytes = tree_bytes(export_dir_);
  s.controller_log_bytes = file_bytes(world_.controller->log_path());
  s.nodeproxy_log_bytes = file_bytes(world_.nodeproxy->log_path());
  s.replica_bytes = file_bytes(replica_file_);
  s.tokens_ok = tally_.get("own 200");
  s.tokens_pending = tally_.get("own 503");
  s.refusals = tally_.get("refused");
  s.churn_ops = tally_.get("churn ops");
  return s;
}

}  // namespace podid::soak
