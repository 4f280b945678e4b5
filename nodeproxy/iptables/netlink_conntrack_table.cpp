#include "nodeproxy/iptables/netlink_conntrack_table.hpp"

#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace podid::iptables {
namespace {

struct HandleCloser {
  void operator()(nfct_handle* h) const noexcept { nfct_close(h); }
};
struct EntryDestroyer {
  void operator()(nf_conntrack* ct) const noexcept { nfct_destroy(ct); }
};
struct FilterDestroyer {
  void operator()(nfct_filter_dump* f) const noexcept { nfct_filter_dump_destroy(f); }
};
using Handle = std::unique_ptr<nfct_handle, HandleCloser>;
using Entry = std::unique_ptr<nf_conntrack, EntryDestroyer>;
using Filter = std::unique_ptr<nfct_filter_dump, FilterDestroyer>;

core::Error netlink_error(const std::string& what, int err) {
  const auto code = (err == EPERM || err == EACCES) ? core::ErrorCode::permission : core::ErrorCode::io;
  return core::make_error(code, what + ": " + std::strerror(err));
}

std::uint8_t family_of(const FlowDestination& d) {
  return d.family == FlowDestination::Family::ipv4 ? AF_INET : AF_INET6;
}

bool matches(const nf_conntrack* ct, const FlowDestination& want) {
  const bool v4 = want.family == FlowDestination::Family::ipv4;
  const auto address = v4 ? ATTR_ORIG_IPV4_DST : ATTR_ORIG_IPV6_DST;
  if (nfct_attr_is_set(ct, ATTR_ORIG_L3PROTO) <= 0 || nfct_attr_is_set(ct, ATTR_ORIG_L4PROTO) <= 0 ||
      nfct_attr_is_set(ct, ATTR_ORIG_PORT_DST) <= 0 || nfct_attr_is_set(ct, address) <= 0)
    return false;
  if (nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO) != family_of(want)) return false;
  if (nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO) != IPPROTO_TCP) return false;
  if (nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST) != htons(want.port)) return false;
  return std::memcmp(nfct_get_attr(ct, address), want.address.data(), v4 ? 4 : 16) == 0;
}

struct Dump {
  const FlowDestination* want;
  std::vector<Entry> matches;
  bool out_of_memory{false};
};

int collect(nf_conntrack_msg_type /*type*/, nf_conntrack* ct, void* data) {
  auto* dump = static_cast<Dump*>(data);
  if (!matches(ct, *dump->want)) return NFCT_CB_CONTINUE;
  Entry copy(nfct_clone(ct));  // ct belongs to the library and is gone after the callback
  if (copy == nullptr) {
    dump->out_of_memory = true;
    return NFCT_CB_STOP;
  }
  dump->matches.push_back(std::move(copy));
  return NFCT_CB_CONTINUE;
}

// The entries to delete. A dump the kernel interrupted (the table changed under it) is taken again.
core::Result<std::vector<Entry>> matching_entries(nfct_handle* h, const FlowDestination& want) {
  Filter filter(nfct_filter_dump_create());
  if (filter == nullptr) return core::make_error(core::ErrorCode::io, "out of memory for a conntrack filter");
  nfct_filter_dump_set_attr_u8(filter.get(), NFCT_FILTER_DUMP_L3NUM, family_of(want));
  for (int attempt = 1;; ++attempt) {
    Dump dump{&want, {}};
    if (nfct_callback_register(h, NFCT_T_ALL, collect, &dump) < 0)
      return netlink_error("conntrack callback not registered", errno);
    const int rc = nfct_query(h, NFCT_Q_DUMP_FILTER, filter.get());
    const int err = errno;
    nfct_callback_unregister(h);
    if (dump.out_of_memory)
      return core::make_error(core::ErrorCode::io, "out of memory copying conntrack entries");
    if (rc == 0) return std::move(dump.matches);
    if (err != EINTR || attempt == 3) return netlink_error("conntrack table not dumped", err);
  }
}

}  // namespace

core::Result<std::size_t> NetlinkConntrackTable::delete_tcp_to(const FlowDestination& destination) {
  Handle h(nfct_open(CONNTRACK, 0));
  if (h == nullptr) return netlink_error("ctnetlink not opened", errno);
  const auto entries = PODID_TRY(matching_entries(h.get(), destination));
  std::size_t deleted = 0;
  for (const auto& entry : entries) {
    if (nfct_query(h.get(), NFCT_Q_DESTROY, entry.get()) == 0) {
      ++deleted;
      continue;
    }
    if (errno != ENOENT)
      return netlink_error("conntrack entry not deleted", errno);  // ENOENT: gone meanwhile
  }
  return deleted;
}

}  // namespace podid::iptables
