#pragma once
// The JSON form of State, for the store's checkpoints: {"format": 1, ...}. decode_state(encode_state(s)) == s
// (the indexes are rebuilt). Decoding a bad or newer checkpoint is ErrorCode::corrupt.

#include <boost/json/value.hpp>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/state.hpp"

namespace podid::core {

inline constexpr int kStateFormat = 1;

[[nodiscard]] boost::json::value encode_state(const State& s);
// The same document as serialize(encode_state(s)), written one element at a time: a checkpoint of 10,000
// pods never holds the whole State as a JSON tree (tens of MiB at once), only its text.
[[nodiscard]] std::string encode_state_text(const State& s);
// The same text handed to `sink` in pieces of about `chunk` bytes (never empty) as it is written, so that a
// checkpoint can be compressed while it is encoded without ever holding its whole text.
void encode_state_text(const State& s, const std::function<void(std::string_view)>& sink,
                       std::size_t chunk = std::size_t{64} << 10U);
[[nodiscard]] Result<State> decode_state(const boost::json::value& v);

}  // namespace podid::core
