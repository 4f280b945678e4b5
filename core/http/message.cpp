#include "core/http/message.hpp"

#include <algorithm>
#include <cctype>

namespace podid::http {

std::optional<std::string_view> find_header(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return std::string_view{value};
    }
  }
  return std::nullopt;
}

}  // namespace podid::http
