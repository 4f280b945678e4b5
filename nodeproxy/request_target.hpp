#pragma once
// Routing of a request target ("/path?query") for the node proxy, hardened against spelling tricks
// (CVE-2022-23551: `/metadata/identity\oauth2\token` once slipped past the token handler to the proxy).
//
// Rule: the path is matched exactly, never repaired. A path is *clean* when it holds only printable ASCII
// and no backslash, no '%', no empty segment ("//") and no "." or ".." segment. Then:
//  - clean and exactly "/metadata/identity/oauth2/token"           -> token
//  - any other path (clean or not) that, percent-decoded, with '\' read as '/', lower-cased and with empty
//    and dot segments removed, looks like the token path (metadata…identity…oauth2…token) -> token_spelling
//    (400, never proxied)
//  - not clean                                                     -> unclean (400, never proxied)
//  - "/metadata/instance" or below, 'metadata' and 'instance' in any case -> instance (403 unless allowed)
//  - "/host/token" or below                                         -> host_token (disabled, see README)
//  - any other path under "/metadata/"                             -> metadata (proxied to the node's IMDS)
//  - anything else                                                  -> not_found (404, never proxied)

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace podid::nodeproxy {

inline constexpr std::string_view kTokenPath = "/metadata/identity/oauth2/token";

enum class Route { token, token_spelling, unclean, instance, host_token, metadata, not_found };

[[nodiscard]] std::string_view to_string(Route route) noexcept;

struct RoutedTarget {
  Route route{Route::not_found};
  std::string path;   // as received
  std::string query;  // raw, without '?'
};

[[nodiscard]] RoutedTarget route_target(std::string_view target);

// The lenient reading used only to recognise disguised token paths.
[[nodiscard]] std::string loose_path(std::string_view path);
[[nodiscard]] bool is_clean_path(std::string_view path) noexcept;

// Decoded query parameters in order. Errors (invalid): bad percent-encoding.
using QueryParams = std::vector<std::pair<std::string, std::string>>;
[[nodiscard]] core::Result<QueryParams> parse_query(std::string_view query);

// The value of a parameter (exact, case-sensitive name); nullopt when absent. `count` tells duplicates.
[[nodiscard]] std::optional<std::string> query_value(const QueryParams& params, std::string_view name);
[[nodiscard]] std::size_t query_count(const QueryParams& params, std::string_view name);

}  // namespace podid::nodeproxy
