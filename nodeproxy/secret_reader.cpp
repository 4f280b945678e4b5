#include "nodeproxy/secret_reader.hpp"

namespace podid::nodeproxy {

namespace {
std::string name_of(const core::SecretRef& ref) {
  return ref.ns + "/" + ref.name;
}
}  // namespace

void MemorySecretReader::put(const core::SecretRef& ref, const std::string& key, std::string value) {
  std::lock_guard lock(mu_);
  secrets_[name_of(ref)][key] = std::move(value);
}

void MemorySecretReader::erase(const core::SecretRef& ref) {
  std::lock_guard lock(mu_);
  secrets_.erase(name_of(ref));
}

boost::asio::awaitable<core::Result<SecretData>> MemorySecretReader::read(core::SecretRef ref) {
  std::lock_guard lock(mu_);
  const auto name = name_of(ref);
  calls_.push_back(name);
  const auto it = secrets_.find(name);
  if (it == secrets_.end())
    co_return core::make_error(core::ErrorCode::not_found, "Secret " + name + " not found");
  SecretData out;
  for (const auto& [k, v] : it->second) out.emplace(k, core::Secret<std::string>(v));
  co_return out;
}

std::vector<std::string> MemorySecretReader::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

}  // namespace podid::nodeproxy
