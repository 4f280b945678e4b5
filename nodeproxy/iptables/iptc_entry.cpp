#include "nodeproxy/iptables/iptc_entry.hpp"

#include <arpa/inet.h>
#include <libiptc/libiptc.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/xt_owner.h>
#include <linux/netfilter/xt_physdev.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace podid::iptables::detail {
namespace {

constexpr std::size_t align(std::size_t s) {
  constexpr std::size_t a = alignof(struct _xt_align);
  return (s + a - 1) & ~(a - 1);
}

constexpr std::size_t kEntry = align(sizeof(ipt_entry));
constexpr std::size_t kTcpMatch = align(sizeof(xt_entry_match)) + align(sizeof(xt_tcp));
constexpr std::size_t kOwnerMatch = align(sizeof(xt_entry_match)) + align(sizeof(xt_owner_match_info));
constexpr std::size_t kPhysdevMatch = align(sizeof(xt_entry_match)) + align(sizeof(xt_physdev_info));
constexpr std::size_t kStandardTarget = align(sizeof(xt_standard_target));
constexpr std::size_t kDnatTarget = align(sizeof(xt_entry_target)) + align(sizeof(nf_nat_range2));
constexpr std::size_t kRejectTarget = align(sizeof(xt_entry_target)) + align(sizeof(ipt_reject_info));

template <class T>
T* at(unsigned char* base, std::size_t offset) {
  return reinterpret_cast<T*>(base + offset);
}
template <class T>
const T* at(const unsigned char* base, std::size_t offset) {
  return reinterpret_cast<const T*>(base + offset);
}

void set_name(char* dst, std::size_t cap, std::string_view name) {
  std::memset(dst, 0, cap);
  std::memcpy(dst, name.data(), std::min(name.size(), cap - 1));
}

std::size_t target_size(RuleAction action) {
  switch (action) {
    case RuleAction::dnat:
      return kDnatTarget;
    case RuleAction::reject:
      return kRejectTarget;
    default:
      return kStandardTarget;
  }
}

Rule unknown() {
  Rule r;
  r.action = RuleAction::unknown;
  return r;
}

}  // namespace

ipt_entry* EntryBuffer::entry() noexcept {
  return reinterpret_cast<ipt_entry*>(storage_.data());
}
unsigned char* EntryBuffer::bytes() noexcept {
  return reinterpret_cast<unsigned char*>(storage_.data());
}

EntryBuffer encode_rule(const Rule& rule) {
  const std::size_t matches =
      kTcpMatch + (rule.uid_owner ? kOwnerMatch : 0) + (rule.physdev_in.empty() ? 0 : kPhysdevMatch);
  const std::size_t total = kEntry + matches + target_size(rule.action);
  EntryBuffer buf(total);
  unsigned char* base = buf.bytes();
  ipt_entry* e = buf.entry();
  e->ip.dst.s_addr = htonl(rule.destination.address.value);
  e->ip.dmsk.s_addr = 0xFFFFFFFFu;
  if (rule.source) {
    e->ip.src.s_addr = htonl(rule.source->address.value);
    e->ip.smsk.s_addr = htonl(rule.source->mask());
  }
  if (!rule.in_interface.empty()) {
    set_name(e->ip.iniface, sizeof(e->ip.iniface), rule.in_interface);
    std::memset(e->ip.iniface_mask, 0xFF, std::min(rule.in_interface.size() + 1, sizeof(e->ip.iniface_mask)));
  }
  e->ip.proto = IPPROTO_TCP;
  e->target_offset = static_cast<std::uint16_t>(kEntry + matches);
  e->next_offset = static_cast<std::uint16_t>(total);

  std::size_t off = kEntry;
  auto* tcp_match = at<xt_entry_match>(base, off);
  tcp_match->u.user.match_size = static_cast<std::uint16_t>(kTcpMatch);
  set_name(tcp_match->u.user.name, sizeof(tcp_match->u.user.name), "tcp");
  auto* tcp = at<xt_tcp>(base, off + align(sizeof(xt_entry_match)));
  tcp->spts[0] = 0;
  tcp->spts[1] = 0xFFFF;
  tcp->dpts[0] = tcp->dpts[1] = rule.destination.port;
  off += kTcpMatch;
  if (rule.uid_owner) {
    auto* m = at<xt_entry_match>(base, off);
    m->u.user.match_size = static_cast<std::uint16_t>(kOwnerMatch);
    m->u.user.revision = 1;
    set_name(m->u.user.name, sizeof(m->u.user.name), "owner");
    auto* owner = at<xt_owner_match_info>(base, off + align(sizeof(xt_entry_match)));
    owner->uid_min = owner->uid_max = *rule.uid_owner;
    owner->match = XT_OWNER_UID;
    off += kOwnerMatch;
  }
  if (!rule.physdev_in.empty()) {
    // Revision 0, as iptables writes `-m physdev --physdev-in <port>`: name and mask as for -i.
    auto* m = at<xt_entry_match>(base, off);
    m->u.user.match_size = static_cast<std::uint16_t>(kPhysdevMatch);
    set_name(m->u.user.name, sizeof(m->u.user.name), "physdev");
    auto* info = at<xt_physdev_info>(base, off + align(sizeof(xt_entry_match)));
    set_name(info->physindev, sizeof(info->physindev), rule.physdev_in);
    std::memset(info->in_mask, 0xFF, std::min(rule.physdev_in.size() + 1, sizeof(info->in_mask)));
    info->bitmask = XT_PHYSDEV_OP_IN;
    off += kPhysdevMatch;
  }

  auto* t = at<xt_entry_target>(base, off);
  t->u.user.target_size = static_cast<std::uint16_t>(target_size(rule.action));
  auto* data = base + off + align(sizeof(xt_entry_target));
  switch (rule.action) {
    case RuleAction::dnat: {
      // Revision 2 (nf_nat_range2), the one iptables 1.8 writes and iptables-save prints.
      set_name(t->u.user.name, sizeof(t->u.user.name), "DNAT");
      t->u.user.revision = 2;
      auto* range = reinterpret_cast<nf_nat_range2*>(data);
      range->flags = NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED;
      range->min_addr.ip = range->max_addr.ip = htonl(rule.to.address.value);
      range->min_proto.tcp.port = range->max_proto.tcp.port = htons(rule.to.port);
      break;
    }
    case RuleAction::reject: {
      set_name(t->u.user.name, sizeof(t->u.user.name), "REJECT");
      reinterpret_cast<ipt_reject_info*>(data)->with = IPT_TCP_RESET;
      break;
    }
    default:
      set_name(t->u.user.name, sizeof(t->u.user.name), IPTC_LABEL_RETURN);
      break;
  }
  return buf;
}

EntryBuffer encode_jump(std::string_view chain) {
  EntryBuffer buf(kEntry + kStandardTarget);
  ipt_entry* e = buf.entry();
  e->target_offset = static_cast<std::uint16_t>(kEntry);
  e->next_offset = static_cast<std::uint16_t>(kEntry + kStandardTarget);
  auto* t = at<xt_entry_target>(buf.bytes(), kEntry);
  t->u.user.target_size = static_cast<std::uint16_t>(kStandardTarget);
  set_name(t->u.user.name, sizeof(t->u.user.name), chain);
  return buf;
}

Rule decode_rule(const ipt_entry& e, std::string_view target_name) {
  const auto* base = reinterpret_cast<const unsigned char*>(&e);
  if (e.ip.invflags != 0 || e.ip.flags != 0 || e.ip.proto != IPPROTO_TCP || e.ip.dmsk.s_addr != 0xFFFFFFFFu ||
      e.ip.outiface[0] != '\0')
    return unknown();
  Rule r;
  r.destination.address.value = ntohl(e.ip.dst.s_addr);
  if (e.ip.smsk.s_addr != 0) {
    const std::uint32_t mask = ntohl(e.ip.smsk.s_addr);
    const int prefix = std::countl_one(mask);
    if (std::popcount(mask) != prefix) return unknown();
    r.source = Cidr{{ntohl(e.ip.src.s_addr)}, static_cast<std::uint8_t>(prefix)};
  }
  r.in_interface.assign(e.ip.iniface, strnlen(e.ip.iniface, sizeof(e.ip.iniface)));
  bool saw_tcp = false;
  for (std::size_t off = kEntry; off < e.target_offset;) {
    const auto* m = at<xt_entry_match>(base, off);
    if (m->u.match_size < sizeof(xt_entry_match)) return unknown();
    const auto* data = base + off + align(sizeof(xt_entry_match));
    const std::string_view name(m->u.user.name, strnlen(m->u.user.name, sizeof(m->u.user.name)));
    if (name == "tcp" && m->u.match_size >= kTcpMatch) {
      const auto* tcp = reinterpret_cast<const xt_tcp*>(data);
      if (tcp->spts[0] != 0 || tcp->spts[1] != 0xFFFF || tcp->dpts[0] != tcp->dpts[1] || tcp->option != 0 ||
          tcp->flg_mask != 0 || tcp->invflags != 0)
        return unknown();
      r.destination.port = tcp->dpts[0];
      saw_tcp = true;
    } else if (name == "owner" && m->u.user.revision == 1 && m->u.match_size >= kOwnerMatch) {
      const auto* owner = reinterpret_cast<const xt_owner_match_info*>(data);
      if (owner->match != XT_OWNER_UID || owner->invert != 0 || owner->uid_min != owner->uid_max)
        return unknown();
      r.uid_owner = owner->uid_min;
    } else if (name == "physdev" && m->u.user.revision == 0 && m->u.match_size >= kPhysdevMatch) {
      const auto* info = reinterpret_cast<const xt_physdev_info*>(data);
      if (info->bitmask != XT_PHYSDEV_OP_IN || info->invert != 0) return unknown();
      r.physdev_in.assign(info->physindev, strnlen(info->physindev, sizeof(info->physindev)));
      if (r.physdev_in.empty()) return unknown();
    } else {
      return unknown();
    }
    off += m->u.match_size;
  }
  if (!saw_tcp) return unknown();
  const auto* t = at<xt_entry_target>(base, e.target_offset);
  const auto* data = base + e.target_offset + align(sizeof(xt_entry_target));
  if (target_name == IPTC_LABEL_RETURN) {
    r.action = RuleAction::pass;
  } else if (target_name == "REJECT" && t->u.target_size >= kRejectTarget) {
    if (reinterpret_cast<const ipt_reject_info*>(data)->with != IPT_TCP_RESET) return unknown();
    r.action = RuleAction::reject;
  } else if (target_name == "DNAT" && t->u.user.revision == 2 && t->u.target_size >= kDnatTarget) {
    const auto* range = reinterpret_cast<const nf_nat_range2*>(data);
    if (range->flags != (NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED) ||
        range->min_addr.ip != range->max_addr.ip || range->min_proto.tcp.port != range->max_proto.tcp.port ||
        range->base_proto.all != 0)
      return unknown();
    r.action = RuleAction::dnat;
    r.to = Endpoint{{ntohl(range->min_addr.ip)}, ntohs(range->min_proto.tcp.port)};
  } else {
    return unknown();
  }
  return r;
}

bool is_bare_jump(const ipt_entry& e, std::string_view target_name, std::string_view chain) {
  return target_name == chain && e.target_offset == kEntry && e.ip.invflags == 0 && e.ip.flags == 0 &&
         e.ip.proto == 0 && e.ip.smsk.s_addr == 0 && e.ip.dmsk.s_addr == 0 && e.ip.iniface[0] == '\0' &&
         e.ip.outiface[0] == '\0';
}

}  // namespace podid::iptables::detail
