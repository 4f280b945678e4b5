#include "store/checkpoint_codec.hpp"

#include <zstd.h>

#include <memory>

#include "core/state_codec.hpp"

namespace podid::store {
namespace {

// zstd's frame magic number 0xFD2FB528, little-endian.
constexpr std::string_view kZstdMagic{"\x28\xB5\x2F\xFD", 4};
// Fast enough to checkpoint 10,000 pods in tens of milliseconds; higher levels gain little on this JSON.
constexpr int kLevel = 3;

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* d) const noexcept { ZSTD_freeDCtx(d); }
};

std::string zstd_message(std::size_t code) {
  return ZSTD_getErrorName(code);
}

}  // namespace

bool is_compressed_checkpoint(std::string_view stored) noexcept {
  return stored.starts_with(kZstdMagic);
}

core::Result<std::string> encode_checkpoint(const core::State& state) {
  const std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx(ZSTD_createCCtx());
  if (!cctx) return core::make_error(core::ErrorCode::io, "checkpoint: cannot create a zstd context");
  for (const auto& [param, value] :
       {std::pair{ZSTD_c_compressionLevel, kLevel}, std::pair{ZSTD_c_checksumFlag, 1}}) {
    const auto r = ZSTD_CCtx_setParameter(cctx.get(), param, value);
    if (ZSTD_isError(r) != 0U)
      return core::make_error(core::ErrorCode::io, "checkpoint: zstd parameter: " + zstd_message(r));
  }
  std::string out;
  std::string block(ZSTD_CStreamOutSize(), '\0');
  std::size_t failure = 0;
  // Feeds `in` to the compressor; `end` finishes the frame. Output is appended block by block.
  const auto feed = [&](std::string_view in, ZSTD_EndDirective mode) {
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    for (;;) {
      ZSTD_outBuffer output{block.data(), block.size(), 0};
      const auto left = ZSTD_compressStream2(cctx.get(), &output, &input, mode);
      if (ZSTD_isError(left) != 0U) {
        failure = left;
        return;
      }
      out.append(block.data(), output.pos);
      const bool done = mode == ZSTD_e_end ? left == 0 : input.pos == input.size;
      if (done) return;
    }
  };
  core::encode_state_text(state, [&](std::string_view piece) {
    if (failure == 0) feed(piece, ZSTD_e_continue);
  });
  if (failure == 0) feed({}, ZSTD_e_end);
  if (failure != 0)
    return core::make_error(core::ErrorCode::io, "checkpoint: zstd compression: " + zstd_message(failure));
  return out;
}

core::Result<std::string> checkpoint_text(std::string_view stored, std::size_t max_text) {
  if (!is_compressed_checkpoint(stored)) return std::string(stored);
  const auto corrupt = [](const std::string& why) {
    return core::make_error(core::ErrorCode::corrupt, "compressed checkpoint: " + why);
  };
  const std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx(ZSTD_createDCtx());
  if (!dctx) return core::make_error(core::ErrorCode::io, "checkpoint: cannot create a zstd context");
  std::string text;
  std::string block(ZSTD_DStreamOutSize(), '\0');
  ZSTD_inBuffer input{stored.data(), stored.size(), 0};
  for (;;) {
    ZSTD_outBuffer output{block.data(), block.size(), 0};
    const auto left = ZSTD_decompressStream(dctx.get(), &output, &input);
    if (ZSTD_isError(left) != 0U) return corrupt(zstd_message(left));
    if (text.size() + output.pos > max_text)
      return corrupt("more than " + std::to_string(max_text) + " bytes once decompressed");
    text.append(block.data(), output.pos);
    if (left == 0) break;  // the frame is complete (checksum verified)
    // The decoder wants more input: with none left and its output not full, the frame was cut short.
    if (input.pos == input.size && output.pos < output.size) return corrupt("the frame is truncated");
  }
  if (input.pos < input.size) return corrupt("bytes after the end of the frame");
  return text;
}

}  // namespace podid::store
