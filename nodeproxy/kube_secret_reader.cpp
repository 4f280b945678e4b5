#include "nodeproxy/kube_secret_reader.hpp"

#include "watch/kubeconfig.hpp"
#include "watch/resource.hpp"

namespace podid::nodeproxy {

core::Result<SecretData> secret_data(const boost::json::object& secret) {
  SecretData out;
  const auto* data = secret.if_contains("data");
  if (data == nullptr || data->is_null()) return out;
  if (!data->is_object()) return core::make_error(core::ErrorCode::corrupt, "Secret data is not an object");
  for (const auto& [key, value] : data->as_object()) {
    if (!value.is_string())
      return core::make_error(core::ErrorCode::corrupt,
                              "Secret key " + std::string(key) + " is not a string");
    auto decoded = watch::base64_decode(value.as_string());
    if (!decoded)
      return core::make_error(core::ErrorCode::corrupt, "Secret key " + std::string(key) + " is not base64");
    out.emplace(std::string(key), core::Secret<std::string>(std::move(*decoded)));
  }
  return out;
}

boost::asio::awaitable<core::Result<SecretData>> KubeSecretReader::read(core::SecretRef ref) {
  auto secret = co_await kube_.get(watch::kinds::secrets(), ref.ns, ref.name);
  if (!secret) {
    auto error = secret.error();
    error.message = "Secret " + ref.ns + "/" + ref.name + ": " + error.message;
    co_return error;
  }
  co_return secret_data(*secret);
}

}  // namespace podid::nodeproxy
