#pragma once
// Internal to the legacy backend: translating our Rule to and from libiptc's ipt_entry bytes. Only the
// shapes LegacyIptablesRules writes are decoded; anything else reads back as RuleAction::unknown.

#include <cstdint>
#include <string_view>
#include <vector>

#include "nodeproxy/iptables/rule_set.hpp"

struct ipt_entry;

namespace podid::iptables::detail {

// An ipt_entry with its matches and target in 8-byte aligned, zero-filled storage.
class EntryBuffer {
 public:
  explicit EntryBuffer(std::size_t bytes) : storage_((bytes + 7) / 8, 0) {}
  [[nodiscard]] ipt_entry* entry() noexcept;
  [[nodiscard]] unsigned char* bytes() noexcept;

 private:
  std::vector<std::uint64_t> storage_;
};

// "-d <dst>/32 [-s src] [-i if] -p tcp -m tcp --dport p [-m owner --uid-owner u] -j <target>".
[[nodiscard]] EntryBuffer encode_rule(const Rule& rule);

// "-j <chain>": the hook rule jumping to one of our chains.
[[nodiscard]] EntryBuffer encode_jump(std::string_view chain);

// target_name is what iptc_get_target() reported for the entry.
[[nodiscard]] Rule decode_rule(const ipt_entry& entry, std::string_view target_name);

// True when the entry is a bare "-j <chain>" with no matches.
[[nodiscard]] bool is_bare_jump(const ipt_entry& entry, std::string_view target_name, std::string_view chain);

}  // namespace podid::iptables::detail
