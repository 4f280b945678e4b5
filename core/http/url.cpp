#include "core/http/url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace podid::http {

std::string Url::authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + port;
}

core::Result<Url> parse_url(std::string_view url) {
  Url out;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return core::make_error(core::ErrorCode::invalid, "URL has no scheme");
  out.scheme = std::string{url.substr(0, scheme_end)};
  std::transform(out.scheme.begin(), out.scheme.end(), out.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (out.scheme != "http" && out.scheme != "https") {
    return core::make_error(core::ErrorCode::invalid, "URL scheme is neither http nor https");
  }
  auto rest = url.substr(scheme_end + 3);
  const auto slash = rest.find_first_of("/?");
  auto authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string{rest.substr(slash)};
  if (!out.target.empty() && out.target.front() == '?') out.target.insert(0, "/");
  if (authority.empty()) return core::make_error(core::ErrorCode::invalid, "URL has no host");
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      return core::make_error(core::ErrorCode::invalid, "URL has a bad IPv6 host");
    out.host = std::string{authority.substr(1, close - 1)};
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return core::make_error(core::ErrorCode::invalid, "URL has a bad port");
      out.port = std::string{after.substr(1)};
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string{authority.substr(0, colon)};
    if (colon != std::string_view::npos) out.port = std::string{authority.substr(colon + 1)};
  }
  if (out.host.empty()) return core::make_error(core::ErrorCode::invalid, "URL has no host");
  if (out.port.empty()) out.port = out.tls() ? "443" : "80";
  if (!std::all_of(out.port.begin(), out.port.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
    return core::make_error(core::ErrorCode::invalid, "URL has a bad port");
  }
  return out;
}

std::string url_encode(std::string_view value) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4U]);
      out.push_back(kHex[c & 0x0FU]);
    }
  }
  return out;
}

bool is_ip_literal(std::string_view host) {
  std::array<unsigned char, 16> buf{};
  const std::string h{host};
  return inet_pton(AF_INET, h.c_str(), buf.data()) == 1 || inet_pton(AF_INET6, h.c_str(), buf.data()) == 1;
}

}  // namespace podid::http
