// GEMM against weights packed once at load time.
//
// A general GEMM (Eigen's included) repacks both operands on every call. For
// a frozen encoder the weights never change, so kplug packs each weight
// matrix once into 16-column panels and multiplies with register-blocked
// micro-tiles: on AVX2/FMA 6 rows x 16 columns (12 accumulators, two panel
// loads and six broadcasts per step), on AVX-512 6 rows x 32 columns in
// 16-float registers; no per-call packing at all, which matters most for
// short batches where packing costs as much as the arithmetic. The epilogue
// adds the bias and can apply the activation (GELU fused into the GEMM that
// feeds it) while the tile is still in registers.
//
// The kernels (gemm_kernels.inl) are compiled for each instruction set in
// every including file, whatever its flags, and gemm_packed runs the one
// kplug::cpu::active_isa() names. At the portable level gemm_packed is
// correct, if slow; the encoder then uses Eigen's GEMM on the unpacked
// weights instead (packed_gemm_preferred()).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include "kplug/core/cpu_features.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/thread_pool.hpp"

namespace kplug::bert::kernels {

// Whether the encoder should pack its weights and use gemm_packed: true
// wherever the active instruction set has the fast kernels.
inline bool packed_gemm_preferred() { return cpu::active_isa() != cpu::isa::portable; }

// B (inner x cols) in panels of 16 columns: panel p is rows 0..inner of
// columns [16p, 16p + 16), row-major, zero-padded past `cols`.
class packed_panels {
 public:
  static constexpr index_t width = 16;

  packed_panels() = default;
  index_t inner() const noexcept { return inner_; }
  index_t cols() const noexcept { return cols_; }
  index_t panels() const noexcept { return (cols_ + width - 1) / width; }
  const float* panel(index_t p) const noexcept { return data_.data() + p * inner_ * width; }

  // B = W^T, for y = x W^T (W is out x in, PyTorch's layout).
  static packed_panels transposed(matrix_view<const float> w) {
    packed_panels b;
    b.assign_transposed(w);
    return b;
  }
  // B = W, for dx = dy W.
  static packed_panels plain(matrix_view<const float> w) {
    packed_panels b;
    b.assign_plain(w);
    return b;
  }
  // The same into this object, reusing its storage (attention packs small
  // per-head blocks many times).
  void assign_transposed(matrix_view<const float> w) {
    reset(w.cols(), w.rows());
    for (index_t p = 0; p < panels(); ++p)
      for (index_t j = 0; j < width && p * width + j < w.rows(); ++j) {
        const float* row = w.row(p * width + j).data();
        float* out = data_.data() + p * inner_ * width + j;
        for (index_t k = 0; k < inner_; ++k) out[k * width] = row[k];
      }
  }
  void assign_plain(matrix_view<const float> w) {
    reset(w.rows(), w.cols());
    for (index_t p = 0; p < panels(); ++p) {
      const index_t n = std::min(width, cols_ - p * width);
      for (index_t k = 0; k < inner_; ++k)
        std::copy_n(w.row(k).data() + p * width, n, data_.data() + (p * inner_ + k) * width);
    }
  }

 private:
  void reset(index_t inner, index_t cols) {
    inner_ = inner;
    cols_ = cols;
    data_.assign(static_cast<std::size_t>(inner * panels() * width), 0.0f);
  }
  index_t inner_ = 0;
  index_t cols_ = 0;
  std::vector<float> data_;
};

// What happens to each tile of C = A B before it is stored.
enum class epilogue_activation { none, gelu, gelu_tanh, relu };
struct gemm_epilogue {
  const float* bias = nullptr;  // one per column of C, or null
  bool accumulate = false;      // C += A B instead of C = A B
  epilogue_activation act = epilogue_activation::none;
  // With act: C = act(A B + ...), and `pre`, if set, also receives the
  // values before the activation (the backward needs them).
  matrix_view<float> pre;
  // Backward instead, if set (with act): A B is dL/d(act's output) and
  // C = A B . act'(activation_input), the pre-activation kept by the forward.
  matrix_view<const float> activation_input;
};

namespace detail {

// Each inclusion consumes (undefines) the KPLUG_ISA_* parameters.
// 4-float vectors: native wherever there is SIMD at all (SSE2, NEON), so
// no vector type changes the calling convention between flags.
#define KPLUG_ISA_NS isa_portable
#define KPLUG_ISA_TARGET
#define KPLUG_ISA_LANES 4
#define KPLUG_ISA_PANELS 1
#define KPLUG_ISA_ROWS 6
#define KPLUG_ISA_FMA(a, b, c) ((a) * (b) + (c))
#include "kplug/bert/gemm_kernels.inl"

// Not in a CUDA file's device pass, whose front end cannot take x86 target
// attributes and builtins (these host functions are never device code).
#if (defined(__x86_64__) || defined(__i386__)) && !defined(__CUDA_ARCH__)
#define KPLUG_HAVE_X86_KERNELS 1
#define KPLUG_ISA_NS isa_avx2
#define KPLUG_ISA_TARGET __attribute__((target("avx2,fma")))
#define KPLUG_ISA_LANES 8
#define KPLUG_ISA_PANELS 1
#define KPLUG_ISA_ROWS 6
#define KPLUG_ISA_FMA(a, b, c) __builtin_ia32_vfmaddps256((a), (b), (c))
#include "kplug/bert/gemm_kernels.inl"

#define KPLUG_ISA_NS isa_avx512
#define KPLUG_ISA_TARGET __attribute__((target("avx512f,avx2,fma")))
#define KPLUG_ISA_LANES 16
#define KPLUG_ISA_PANELS 2
#define KPLUG_ISA_ROWS 6  // 8 and 12 rows (16 and 24 accumulators) timed no faster on Zen 4
// The builtin's lane mask is unsigned for GCC and Clang but signed for
// NVCC's front end (the CUDA tests include this header), and all ones
// converts with a sign warning in one or the other.
#ifdef __CUDACC__
#define KPLUG_ISA_FMA(a, b, c) __builtin_ia32_vfmaddps512_mask((a), (b), (c), (short)-1, 4)
#else
#define KPLUG_ISA_FMA(a, b, c) __builtin_ia32_vfmaddps512_mask((a), (b), (c), (unsigned short)0xFFFF, 4)
#endif
#include "kplug/bert/gemm_kernels.inl"
#endif

// One level's entry points; the dispatch reads the level once per call.
struct kernel_table {
  void (*gemm_block)(matrix_view<const float> a, const packed_panels& b, const gemm_epilogue& ep,
                     matrix_view<float> c, index_t r0, index_t r1, index_t p0, index_t p1) noexcept;
  void (*masked_softmax)(float* p, index_t len, index_t ld, const std::uint8_t* mask, float scale) noexcept;
  index_t tile_rows;  // rows of gemm_block's micro-tile
};

inline const kernel_table& kernels_for(cpu::isa level) noexcept {
  static constexpr kernel_table portable{isa_portable::gemm_block, isa_portable::masked_softmax,
                                         isa_portable::tile_rows_max};
#ifdef KPLUG_HAVE_X86_KERNELS
  static constexpr kernel_table avx2{isa_avx2::gemm_block, isa_avx2::masked_softmax, isa_avx2::tile_rows_max};
  static constexpr kernel_table avx512{isa_avx512::gemm_block, isa_avx512::masked_softmax,
                                       isa_avx512::tile_rows_max};
  if (level == cpu::isa::avx512) return avx512;
  if (level == cpu::isa::avx2) return avx2;
#endif
  (void)level;
  return portable;
}

}  // namespace detail

// C = A B with the epilogue.  A: m x inner, B packed: inner x cols, C (and
// ep.pre): m x cols. C must not alias A.
inline void gemm_packed(thread_pool& pool, matrix_view<const float> a, const packed_panels& b, matrix_view<float> c,
                        const gemm_epilogue& ep) {
  const detail::kernel_table& k = detail::kernels_for(cpu::active_isa());
  const auto block = k.gemm_block;
  const index_t m = a.rows();
  // Split in whole micro-tiles, no coarser: at 128 rows on two threads,
  // 4-tile grains gave one thread 72 rows and the other 56.
  if (m >= 48 * pool.size())
    pool.parallel_for(m, [&](index_t r0, index_t r1) { block(a, b, ep, c, r0, r1, 0, b.panels()); },
                      k.tile_rows);
  else
    pool.parallel_for(b.panels(), [&](index_t p0, index_t p1) { block(a, b, ep, c, 0, m, p0, p1); }, 2);
}

// C (=|+=) A B (+ bias), bias: cols entries or empty.
inline void gemm_packed(thread_pool& pool, matrix_view<const float> a, const packed_panels& b,
                        std::span<const float> bias, matrix_view<float> c, bool accumulate) {
  gemm_epilogue ep;
  ep.bias = bias.empty() ? nullptr : bias.data();
  ep.accumulate = accumulate;
  gemm_packed(pool, a, b, c, ep);
}

// The same on the calling thread alone (work already split by the caller,
// like attention's per-head products).
inline void gemm_packed_serial(cpu::isa level, matrix_view<const float> a, const packed_panels& b,
                               matrix_view<float> c, const gemm_epilogue& ep = {}) {
  detail::kernels_for(level).gemm_block(a, b, ep, c, 0, a.rows(), 0, b.panels());
}

// Row-wise softmax of scale * p with masked keys (see masked_softmax in
// gemm_kernels.inl), at `level`, on the calling thread.
inline void masked_softmax(cpu::isa level, matrix_view<float> p, std::span<const std::uint8_t> mask, float scale) {
  detail::kernels_for(level).masked_softmax(p.data(), p.rows(), p.row_stride(), mask.data(), scale);
}

}  // namespace kplug::bert::kernels
