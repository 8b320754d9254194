// GEMM against weights packed once at load time.
//
// A general GEMM (Eigen's included) repacks both operands on every call. For
// a frozen encoder the weights never change, so kplug packs each weight
// matrix once into 16-column panels and multiplies with a register-blocked
// 6 x 16 kernel: on AVX2/FMA that is 12 accumulators, two panel loads and six
// broadcasts per step, and no per-call packing at all, which matters most for
// short batches where packing costs as much as the arithmetic.
//
// The kernel is written with GCC/Clang vector extensions and is only fast
// where 8-float vectors are native: kplug uses it when compiled with AVX2 and
// FMA (-mavx2 -mfma, or -march=native on such a machine); elsewhere
// packed_gemm_available is false and the encoder uses Eigen's GEMM instead.
// gemm_packed itself is correct, if slow, on any target.
#pragma once

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

#include "kplug/core/matrix_view.hpp"
#include "kplug/core/thread_pool.hpp"


namespace kplug::bert::kernels {

#if defined(__AVX2__) && defined(__FMA__)
inline constexpr bool packed_gemm_available = true;
#else
inline constexpr bool packed_gemm_available = false;
#endif

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

namespace detail {

// Macros, not functions: a function taking or returning an 8-float vector
// has a different ABI with and without AVX, which would be unsafe in a header
// compiled by translation units with different flags. GCC/Clang vector
// types throughout (not __m256, whose may_alias attribute makes GCC keep the
// twelve accumulators in memory); the FMA builtin where FMA is enabled.
typedef float v8f __attribute__((vector_size(32)));
#define KPLUG_LOAD8(src) (__extension__({ v8f kplug_v_; std::memcpy(&kplug_v_, (src), sizeof(v8f)); kplug_v_; }))
#define KPLUG_STORE8(dst, v) (__extension__({ v8f kplug_s_ = (v); std::memcpy((dst), &kplug_s_, sizeof(v8f)); }))
// A splat of a loaded scalar compiles to a broadcast load (a load-port uop);
// "v8f{} + x" would cost an add and a shuffle on the FP pipes.
#define KPLUG_BROADCAST(p) (__extension__({ const float kplug_x_ = *(p); v8f{kplug_x_, kplug_x_, kplug_x_, kplug_x_, kplug_x_, kplug_x_, kplug_x_, kplug_x_}; }))
#if defined(__FMA__) && defined(__AVX__)
#define KPLUG_FMADD(a, b, c) __builtin_ia32_vfmaddps256((a), (b), (c))
#else
#define KPLUG_FMADD(a, b, c) ((a) * (b) + (c))
#endif

// C[0..R) x [0..n) (=|+=) A[0..R) x [0..inner) * panel (+ bias), n <= 16.
template <int R>
inline void micro_kernel(const float* a, index_t lda, const float* panel, index_t inner, float* c, index_t ldc,
                         const float* bias, index_t n, bool accumulate) noexcept {
  v8f acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = v8f{};
  for (index_t k = 0; k < inner; ++k) {
    const v8f b0 = KPLUG_LOAD8(panel + k * 16);
    const v8f b1 = KPLUG_LOAD8(panel + k * 16 + 8);
    for (int r = 0; r < R; ++r) {
      const v8f av = KPLUG_BROADCAST(a + r * lda + k);
      acc[r][0] = KPLUG_FMADD(av, b0, acc[r][0]);
      acc[r][1] = KPLUG_FMADD(av, b1, acc[r][1]);
    }
  }
  if (bias) {
    float bb[16] = {};
    std::copy_n(bias, n, bb);
    const v8f t0 = KPLUG_LOAD8(bb);
    const v8f t1 = KPLUG_LOAD8(bb + 8);
    for (int r = 0; r < R; ++r) {
      acc[r][0] = acc[r][0] + t0;
      acc[r][1] = acc[r][1] + t1;
    }
  }
  for (int r = 0; r < R; ++r) {
    float* out = c + r * ldc;
    if (n == 16) {
      if (accumulate) {
        acc[r][0] += KPLUG_LOAD8(out);
        acc[r][1] += KPLUG_LOAD8(out + 8);
      }
      KPLUG_STORE8(out, acc[r][0]);
      KPLUG_STORE8(out + 8, acc[r][1]);
    } else {
      float tmp[16];
      KPLUG_STORE8(tmp, acc[r][0]);
      KPLUG_STORE8(tmp + 8, acc[r][1]);
      for (index_t j = 0; j < n; ++j) out[j] = accumulate ? out[j] + tmp[j] : tmp[j];
    }
  }
}

// Rows [r0, r1) x panels [p0, p1).
inline void gemm_block(matrix_view<const float> a, const packed_panels& b, const float* bias, matrix_view<float> c,
                       bool accumulate, index_t r0, index_t r1, index_t p0, index_t p1) noexcept {
  constexpr index_t rows_per_chunk = 96;  // A chunk stays in L2 while every panel passes over it
  const index_t inner = b.inner();
  for (index_t m0 = r0; m0 < r1; m0 += rows_per_chunk) {
    const index_t m1 = std::min(r1, m0 + rows_per_chunk);
    for (index_t p = p0; p < p1; ++p) {
      const index_t col = p * packed_panels::width;
      const index_t n = std::min(packed_panels::width, b.cols() - col);
      const float* pb = bias ? bias + col : nullptr;
      index_t r = m0;
      for (; r + 6 <= m1; r += 6)
        micro_kernel<6>(a.row(r).data(), a.row_stride(), b.panel(p), inner, c.row(r).data() + col, c.row_stride(), pb,
                        n, accumulate);
      switch (m1 - r) {
        case 5: micro_kernel<5>(a.row(r).data(), a.row_stride(), b.panel(p), inner, c.row(r).data() + col, c.row_stride(), pb, n, accumulate); break;
        case 4: micro_kernel<4>(a.row(r).data(), a.row_stride(), b.panel(p), inner, c.row(r).data() + col, c.row_stride(), pb, n, accumulate); break;
        case 3: micro_kernel<3>(a.row(r).data(), a.row_stride(), b.panel(p), inner, c.row(r).data() + col, c.row_stride(), pb, n, accumulate); break;
        case 2: micro_kernel<2>(a.row(r).data(), a.row_stride(), b.panel(p), inner, c.row(r).data() + col, c.row_stride(), pb, n, accumulate); break;
        case 1: micro_kernel<1>(a.row(r).data(), a.row_stride(), b.panel(p), inner, c.row(r).data() + col, c.row_stride(), pb, n, accumulate); break;
        default: break;
      }
    }
  }
}

#undef KPLUG_LOAD8
#undef KPLUG_STORE8
#undef KPLUG_FMADD
#undef KPLUG_BROADCAST

}  // namespace detail

// C (=|+=) A B (+ bias).  A: m x inner, B packed: inner x cols, C: m x cols,
// bias: cols entries or empty. C must not alias A.
inline void gemm_packed(thread_pool& pool, matrix_view<const float> a, const packed_panels& b,
                        std::span<const float> bias, matrix_view<float> c, bool accumulate) {
  const index_t m = a.rows();
  const float* bp = bias.empty() ? nullptr : bias.data();
  if (m >= 48 * pool.size())
    pool.parallel_for(m, [&](index_t r0, index_t r1) { detail::gemm_block(a, b, bp, c, accumulate, r0, r1, 0, b.panels()); }, 6);
  else
    pool.parallel_for(b.panels(), [&](index_t p0, index_t p1) { detail::gemm_block(a, b, bp, c, accumulate, 0, m, p0, p1); });
}

}  // namespace kplug::bert::kernels
