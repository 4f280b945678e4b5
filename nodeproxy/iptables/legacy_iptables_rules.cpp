#include "nodeproxy/iptables/legacy_iptables_rules.hpp"

#include <fcntl.h>
#include <libiptc/libiptc.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "nodeproxy/iptables/iptc_entry.hpp"
#include "nodeproxy/iptables/nftables_rules.hpp"

namespace podid::iptables {
namespace {

constexpr std::array<const char*, 5> kHookOrder{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"};

// A zero-filled chain label, as libiptc copies the full 32 bytes.
struct Label {
  explicit Label(std::string_view name) {
    std::memcpy(value, name.data(), std::min(name.size(), sizeof(value) - 1));
  }
  xt_chainlabel value{};
};

core::Error iptc_error(std::string_view what, int err) {
  const auto code = (err == EPERM || err == EACCES) ? core::ErrorCode::permission : core::ErrorCode::io;
  return core::make_error(code, std::string(what) + ": " + iptc_strerror(err));
}

// Exclusive flock on the xtables lock file for the lifetime of the object.
class XtablesLock {
 public:
  explicit XtablesLock(int fd) : fd_(fd) {}
  XtablesLock(XtablesLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  XtablesLock(const XtablesLock&) = delete;
  XtablesLock& operator=(const XtablesLock&) = delete;
  XtablesLock& operator=(XtablesLock&&) = delete;
  ~XtablesLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the flock
  }
  [[nodiscard]] static core::Result<XtablesLock> take(const std::string& path) {
    if (path.empty()) return XtablesLock(-1);
    const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
      return core::make_error(core::ErrorCode::io, "cannot open " + path + ": " + std::strerror(errno));
    XtablesLock lock(fd);
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) return core::make_error(core::ErrorCode::io, "cannot lock " + path);
    }
    return lock;
  }

 private:
  int fd_;
};

// The libiptc handle of one table; freed on destruction whether or not it was committed.
class IptcTable {
 public:
  IptcTable(const IptcTable&) = delete;
  IptcTable& operator=(const IptcTable&) = delete;
  IptcTable(IptcTable&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  IptcTable& operator=(IptcTable&&) = delete;
  ~IptcTable() {
    if (h_ != nullptr) iptc_free(h_);
  }
  [[nodiscard]] static core::Result<IptcTable> open(Table table) {
    const std::string name(to_string(table));
    xtc_handle* h = iptc_init(name.c_str());
    if (h == nullptr) return iptc_error("iptc_init " + name, errno);
    return IptcTable(h);
  }
  [[nodiscard]] xtc_handle* get() const noexcept { return h_; }
  [[nodiscard]] core::Status check(int rc, std::string_view what) const {
    if (rc == 0) return iptc_error(what, errno);
    return core::ok();
  }

 private:
  explicit IptcTable(xtc_handle* h) : h_(h) {}
  xtc_handle* h_;
};

struct ChainRead {
  Chain chain;
  std::vector<std::uint64_t> packets;
};

// Built-in chains of this table that jump to `name`: "HOOK" when the jump is the first rule, "HOOK@n" for
// a jump elsewhere, so that a misplaced or duplicated jump never compares equal to the desired hooks.
std::vector<std::string> read_hooks(const IptcTable& t, std::string_view name) {
  std::vector<std::string> hooks;
  for (const char* hook : kHookOrder) {
    if (!iptc_is_chain(hook, t.get()) || !iptc_builtin(hook, t.get())) continue;
    unsigned n = 0;
    for (const ipt_entry* e = iptc_first_rule(hook, t.get()); e != nullptr;
         e = iptc_next_rule(e, t.get()), ++n) {
      if (name != iptc_get_target(e, t.get())) continue;
      hooks.push_back(n == 0 && detail::is_bare_jump(*e, name, name)
                          ? hook
                          : std::string(hook) + "@" + std::to_string(n));
    }
  }
  return hooks;
}

ChainRead read_chain(const IptcTable& t, Table table, const std::string& name) {
  ChainRead out{Chain{table, name, read_hooks(t, name), {}}, {}};
  for (const ipt_entry* e = iptc_first_rule(name.c_str(), t.get()); e != nullptr;
       e = iptc_next_rule(e, t.get())) {
    out.chain.rules.push_back(detail::decode_rule(*e, iptc_get_target(e, t.get())));
    out.packets.push_back(e->counters.pcnt);
  }
  return out;
}

// Deletes every jump to `name` from the built-in chains, last first so rule numbers stay valid.
core::Status delete_jumps(const IptcTable& t, std::string_view name) {
  for (const char* hook : kHookOrder) {
    if (!iptc_is_chain(hook, t.get()) || !iptc_builtin(hook, t.get())) continue;
    std::vector<unsigned> found;
    unsigned n = 0;
    for (const ipt_entry* e = iptc_first_rule(hook, t.get()); e != nullptr;
         e = iptc_next_rule(e, t.get()), ++n) {
      if (name == iptc_get_target(e, t.get())) found.push_back(n);
    }
    for (auto it = found.rbegin(); it != found.rend(); ++it) {
      PODID_TRY(t.check(iptc_delete_num_entry(Label(hook).value, *it, t.get()), "delete jump"));
    }
  }
  return core::ok();
}

core::Status install_chain(const IptcTable& t, const Chain& c) {
  const Label label(c.name);
  if (iptc_is_chain(c.name.c_str(), t.get())) {
    PODID_TRY(t.check(iptc_flush_entries(label.value, t.get()), "flush " + c.name));
  } else {
    PODID_TRY(t.check(iptc_create_chain(label.value, t.get()), "create " + c.name));
  }
  for (const auto& r : c.rules) {
    auto buf = detail::encode_rule(r);
    PODID_TRY(t.check(iptc_append_entry(label.value, buf.entry(), t.get()), "append to " + c.name));
  }
  for (const auto& hook : c.hooks) {
    auto jump = detail::encode_jump(c.name);
    PODID_TRY(
        t.check(iptc_insert_entry(Label(hook).value, jump.entry(), 0, t.get()), "insert jump in " + hook));
  }
  return core::ok();
}

bool has_physdev(const RuleSet& rules) {
  for (const auto& c : rules.chains)
    for (const auto& r : c.rules)
      if (!r.physdev_in.empty()) return true;
  return false;
}

std::vector<std::pair<Table, std::string>> owned(const ChainNames& n) {
  return {{Table::nat, n.nat}, {Table::filter, n.guard}, {Table::filter, n.host}};
}

}  // namespace

LegacyIptablesRules::LegacyIptablesRules(LegacyIptablesConfig config, CommandRunner* runner)
    : config_(std::move(config)), runner_(runner), names_(ChainNames::from_base(config_.chain)) {}

core::Result<bool> LegacyIptablesRules::ensure(const RuleSpec& spec) {
  PODID_TRY(spec.validate());
  if (!names_) return names_.error();
  const auto& names = *names_;
  const RuleSet desired = render(spec, names);
  const bool bridged = std::any_of(spec.bindings.begin(), spec.bindings.end(),
                                   [](const PodBinding& b) { return !b.bridge_port.empty(); });
  if (bridged && runner_ == nullptr)
    return core::make_error(core::ErrorCode::invalid, "bridged bindings need nft for the bridge table");
  // The ip tables first: if nft fails, bridged pods are still bound to their port for new connections.
  const bool changed = PODID_TRY(sync(&desired));
  const bool bridge_changed = PODID_TRY(sync_bridge(&desired));
  return changed || bridge_changed;
}

core::Status LegacyIptablesRules::remove() {
  PODID_TRY(sync(nullptr));
  PODID_TRY(sync_bridge(nullptr));
  return core::ok();
}

core::Result<bool> LegacyIptablesRules::sync_bridge(const RuleSet* desired) {
  if (runner_ == nullptr) return false;
  auto listed = nft_list_table(*runner_, config_.nft, "bridge", config_.bridge_table);
  // A routed node needs no bridge table, and nft (or the kernel's bridge family) may be absent there.
  if (!listed && (desired == nullptr || !has_physdev(*desired))) return false;
  const auto json = PODID_TRY(std::move(listed));
  if (!json) {
    const auto script = desired != nullptr ? nft_bridge_script(*desired, config_.bridge_table, false) : "";
    if (script.empty()) return false;
    PODID_TRY(nft_apply(*runner_, config_.nft, script));
    return true;
  }
  if (desired == nullptr) {
    PODID_TRY(nft_apply(*runner_, config_.nft, "delete table bridge " + config_.bridge_table + "\n"));
    return true;
  }
  // Folded into the desired rules, the table changes nothing exactly when it holds the pairs they need.
  InstalledRules probe{*desired, {}};
  for (const auto& c : desired->chains) probe.packets.emplace_back(c.rules.size(), 0);
  PODID_TRY(merge_nft_bridge_json(*json, probe, *names_));
  if (probe.rules == *desired) return false;
  PODID_TRY(nft_apply(*runner_, config_.nft, nft_bridge_script(*desired, config_.bridge_table, true)));
  return true;
}

core::Result<bool> LegacyIptablesRules::sync(const RuleSet* desired) {
  if (!names_) return names_.error();
  const auto& names = *names_;
  auto lock = PODID_TRY(XtablesLock::take(config_.xtables_lock));
  bool changed = false;
  for (Table table : {Table::nat, Table::filter}) {
    auto t = PODID_TRY(IptcTable::open(table));
    std::vector<Chain> want, have;
    if (desired != nullptr) {
      for (const auto& c : desired->chains)
        if (c.table == table) want.push_back(c);
    }
    for (const auto& [tb, name] : owned(names)) {
      if (tb == table && iptc_is_chain(name.c_str(), t.get()))
        have.push_back(read_chain(t, table, name).chain);
    }
    if (want == have) continue;
    for (const auto& [tb, name] : owned(names)) {
      if (tb != table) continue;
      PODID_TRY(delete_jumps(t, name));
      const std::string& chain = name;  // clang 14 (clang-tidy) cannot capture a structured binding
      const bool wanted =
          std::any_of(want.begin(), want.end(), [&](const Chain& c) { return c.name == chain; });
      if (!wanted && iptc_is_chain(name.c_str(), t.get())) {
        const Label label(name);
        PODID_TRY(t.check(iptc_flush_entries(label.value, t.get()), "flush " + name));
        PODID_TRY(t.check(iptc_delete_chain(label.value, t.get()), "delete " + name));
      }
    }
    for (const auto& c : want) PODID_TRY(install_chain(t, c));
    PODID_TRY(t.check(iptc_commit(t.get()), "commit " + std::string(to_string(table))));
    changed = true;
  }
  return changed;
}

core::Result<InstalledRules> LegacyIptablesRules::inspect() {
  if (!names_) return names_.error();
  const auto& names = *names_;
  InstalledRules out;
  for (Table table : {Table::nat, Table::filter}) {
    auto t = PODID_TRY(IptcTable::open(table));
    for (const auto& [tb, name] : owned(names)) {
      if (tb != table || !iptc_is_chain(name.c_str(), t.get())) continue;
      auto read = read_chain(t, table, name);
      out.rules.chains.push_back(std::move(read.chain));
      out.packets.push_back(std::move(read.packets));
    }
  }
  if (runner_ != nullptr) {
    // The bridge table must hold each physdev rule's pair; anything missing or extra reads as unknown.
    auto listed = nft_list_table(*runner_, config_.nft, "bridge", config_.bridge_table);
    if (!listed && !has_physdev(out.rules)) return out;
    const auto json = PODID_TRY(std::move(listed));
    if (json) {
      PODID_TRY(merge_nft_bridge_json(*json, out, names));
    } else {
      for (auto& c : out.rules.chains)
        for (auto& r : c.rules)
          if (!r.physdev_in.empty()) r.action = RuleAction::unknown;
    }
  }
  return out;
}

}  // namespace podid::iptables
