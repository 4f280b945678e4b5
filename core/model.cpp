#include "core/model.hpp"

#include <array>
#include <vector>

namespace podid::core {
namespace {

char lower_ascii(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Splits on '/', keeping empty segments.
std::vector<std::string_view> split_path(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const auto slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

bool all_non_empty(const std::vector<std::string_view>& parts, std::initializer_list<std::size_t> at) {
  for (auto i : at)
    if (parts[i].empty()) return false;
  return true;
}

std::uint32_t fnv1a32(std::string_view s, std::uint32_t h = 2166136261u) noexcept {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

}  // namespace

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower_ascii(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower_ascii(a[i]) != lower_ascii(b[i])) return false;
  return true;
}

std::string_view to_string(IdentityType type) noexcept {
  switch (type) {
    case IdentityType::user_assigned_msi:
      return "user_assigned_msi";
    case IdentityType::service_principal:
      return "service_principal";
    case IdentityType::service_principal_certificate:
      return "service_principal_certificate";
    case IdentityType::unknown:
      break;
  }
  return "unknown";
}

IdentityType identity_type_from(std::int64_t raw) noexcept {
  switch (raw) {
    case 0:
      return IdentityType::user_assigned_msi;
    case 1:
      return IdentityType::service_principal;
    case 2:
      return IdentityType::service_principal_certificate;
    default:
      return IdentityType::unknown;
  }
}

std::string_view to_string(VmKind kind) noexcept {
  return kind == VmKind::vmss ? "vmss" : "vm";
}

std::string ArmTarget::to_string() const {
  return std::string(core::to_string(kind)) + "/" + subscription + "/" + resource_group + "/" + name;
}

std::string ArmTarget::arm_id() const {
  return "/subscriptions/" + subscription + "/resourceGroups/" + resource_group +
         "/providers/Microsoft.Compute/" +
         (kind == VmKind::vmss ? "virtualMachineScaleSets/" : "virtualMachines/") + name;
}

ArmTarget target_of(const VmRef& vm) {
  return ArmTarget{vm.kind, to_lower(vm.subscription), to_lower(vm.resource_group), to_lower(vm.name)};
}

Result<ArmTarget> parse_target(std::string_view text) {
  const auto parts = split_path(text);
  if (parts.size() != 4 || (parts[0] != "vm" && parts[0] != "vmss") || !all_non_empty(parts, {1, 2, 3}))
    return make_error(ErrorCode::invalid,
                      "expected vm|vmss/<subscription>/<group>/<name>, got \"" + std::string(text) + "\"");
  return ArmTarget{parts[0] == "vmss" ? VmKind::vmss : VmKind::vm, to_lower(parts[1]), to_lower(parts[2]),
                   to_lower(parts[3])};
}

bool is_valid_identity_resource_id(std::string_view id) {
  // "", "subscriptions", s, "resourcegroups", rg, "providers", "Microsoft.ManagedIdentity",
  // "userAssignedIdentities", name
  const auto p = split_path(id);
  return p.size() == 9 && p[0].empty() && iequals(p[1], "subscriptions") && iequals(p[3], "resourcegroups") &&
         iequals(p[5], "providers") && iequals(p[6], "Microsoft.ManagedIdentity") &&
         iequals(p[7], "userAssignedIdentities") && all_non_empty(p, {2, 4, 8});
}

Result<VmRef> parse_provider_id(std::string_view provider_id) {
  constexpr std::string_view kScheme = "azure://";
  auto fail = [&] {
    return make_error(ErrorCode::invalid, "providerID \"" + std::string(provider_id) +
                                              "\" is not an Azure virtual machine or scale-set instance");
  };
  if (provider_id.size() <= kScheme.size() || !iequals(provider_id.substr(0, kScheme.size()), kScheme))
    return fail();
  // "", "subscriptions", s, "resourceGroups", rg, "providers", "Microsoft.Compute", kind, name[, vms, i]
  const auto p = split_path(provider_id.substr(kScheme.size()));
  const bool prefix_ok = p.size() >= 9 && p[0].empty() && iequals(p[1], "subscriptions") &&
                         iequals(p[3], "resourcegroups") && iequals(p[5], "providers") &&
                         iequals(p[6], "Microsoft.Compute") && all_non_empty(p, {2, 4, 8});
  if (!prefix_ok) return fail();
  if (p.size() == 9 && iequals(p[7], "virtualMachines"))
    return VmRef{VmKind::vm, std::string(p[2]), std::string(p[4]), std::string(p[8]), {}};
  if (p.size() == 11 && iequals(p[7], "virtualMachineScaleSets") && iequals(p[9], "virtualMachines") &&
      !p[10].empty())
    return VmRef{VmKind::vmss, std::string(p[2]), std::string(p[4]), std::string(p[8]), std::string(p[10])};
  return fail();
}

namespace {

constexpr std::size_t kMaxAssignedName = 253;

// Writes assigned_identity_name(pod, identity) into `out` and returns its length (≤ kMaxAssignedName).
std::size_t write_assigned_name(std::array<char, kMaxAssignedName>& out, const PodKey& pod,
                                const IdentityKey& identity) noexcept {
  std::uint32_t h = fnv1a32(pod.ns);
  for (const auto* part : {&pod.name, &identity.ns, &identity.name}) {
    h = fnv1a32(std::string_view("/", 1), h);
    h = fnv1a32(*part, h);
  }
  // <pod>-<podns>-<identity>, cut to leave room for "-" and 8 hex digits, without a trailing '-' or '.'.
  constexpr std::size_t room = kMaxAssignedName - 1 - 8;
  std::size_t n = 0;
  for (const std::string_view part :
       {std::string_view(pod.name), std::string_view("-"), std::string_view(pod.ns), std::string_view("-"),
        std::string_view(identity.name)})
    for (const char c : part)
      if (n < room) out[n++] = c;
  while (n > 0 && (out[n - 1] == '-' || out[n - 1] == '.')) --n;
  out[n++] = '-';
  constexpr std::string_view kHex = "0123456789abcdef";
  for (int shift = 28; shift >= 0; shift -= 4) out[n++] = kHex[(h >> shift) & 0xfu];
  return n;
}

}  // namespace

std::string assigned_identity_name(const PodKey& pod, const IdentityKey& identity) {
  std::array<char, kMaxAssignedName> name;  // NOLINT(cppcoreguidelines-pro-type-member-init): written first
  return std::string(name.data(), write_assigned_name(name, pod, identity));
}

bool is_assigned_identity_name(std::string_view name, const PodKey& pod, const IdentityKey& identity) {
  std::array<char, kMaxAssignedName> expected;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  return name == std::string_view(expected.data(), write_assigned_name(expected, pod, identity));
}

}  // namespace podid::core
