// One instruction set's kernels for the packed GEMM. gemm.hpp includes this
// file once per level (no include guard, by design), each time with:
//   KPLUG_ISA_NS      the namespace: isa_portable, isa_avx2 or isa_avx512
//   KPLUG_ISA_TARGET  the function attribute enabling the level (may be empty)
//   KPLUG_ISA_LANES   floats per vector: 4, 8 or 16
//   KPLUG_ISA_PANELS  16-column panels per micro-tile: 1 or 2
//   KPLUG_ISA_ROWS    rows per micro-tile
//   KPLUG_ISA_FMA(a, b, c)  a * b + c, fused where the level has FMA
// and undefines them at its end. Every function here carries
// KPLUG_ISA_TARGET, so the code is generated for that level whatever flags
// the including file was compiled with, and only gemm.hpp's dispatch (after
// checking the CPU) calls into it. Vectors never
// cross a call between levels: the entry points take pointers and views.

namespace KPLUG_ISA_NS {

constexpr int lanes = KPLUG_ISA_LANES;
constexpr int per_panel = packed_panels::width / lanes;  // vectors across one panel
constexpr int tile_panels = KPLUG_ISA_PANELS;
constexpr int tile_rows_max = KPLUG_ISA_ROWS;
constexpr int tile_vectors = tile_panels * per_panel;
// GCC/Clang vector types (not __m256/__m512, whose may_alias attribute makes
// GCC keep the accumulators in memory).
typedef float vf __attribute__((vector_size(lanes * sizeof(float))));
typedef std::int32_t vi __attribute__((vector_size(lanes * sizeof(float))));

#define KPLUG_VEC static inline KPLUG_ISA_TARGET __attribute__((always_inline))

KPLUG_VEC vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
KPLUG_VEC void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
// A splat of a loaded scalar compiles to a broadcast load (or an embedded
// broadcast operand), not an add and a shuffle on the FP pipes.
KPLUG_VEC vf broadcast(const float* p) {
  const float x = *p;
#if KPLUG_ISA_LANES == 4
  return vf{x, x, x, x};
#elif KPLUG_ISA_LANES == 8
  return vf{x, x, x, x, x, x, x, x};
#else
  return vf{x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
#endif
}
KPLUG_VEC vf splat(float x) { return vf{} + x; }
KPLUG_VEC vf fmadd(vf a, vf b, vf c) { return KPLUG_ISA_FMA(a, b, c); }
// m ? a : b, lane by lane; m is a comparison result (all ones or zeros).
KPLUG_VEC vf select(vi m, vf a, vf b) { return (vf)(((vi)a & m) | ((vi)b & ~m)); }

// e^x: x = n ln2 + r with |r| <= ln2 / 2, e^r by its Taylor series to r^7
// (truncation under 1e-8 relative), 2^n built in the exponent bits. Inputs
// are clamped to [-87, 88], where 2^n stays a normal float; below, 0.
KPLUG_VEC vf exp(vf x0) {
  vf x = select(x0 < splat(-87.0f), splat(-87.0f), x0);
  x = select(x > splat(88.0f), splat(88.0f), x);
  const vf y = x * splat(1.44269504088896341f) + splat(0.5f);
  vi n = __builtin_convertvector(y, vi);                  // truncates toward zero...
  n += (vi)(__builtin_convertvector(n, vf) > y);          // ...so step down where that rounded up: floor
  const vf nf = __builtin_convertvector(n, vf);
  // ln2 = 0.693359375 (9 significant bits: n times it is exact) - 2.12194440054e-4.
  const vf r = fmadd(nf, splat(2.12194440054e-4f), fmadd(nf, splat(-0.693359375f), x));
  vf p = splat(1.0f / 5040.0f);
  p = fmadd(p, r, splat(1.0f / 720.0f));
  p = fmadd(p, r, splat(1.0f / 120.0f));
  p = fmadd(p, r, splat(1.0f / 24.0f));
  p = fmadd(p, r, splat(1.0f / 6.0f));
  p = fmadd(p, r, splat(0.5f));
  p = fmadd(p, r, splat(1.0f));
  p = fmadd(p, r, splat(1.0f));
  // Below -87 the true value is under float's normal range: 0, as a masked
  // attention score needs.
  return select(x0 < splat(-87.0f), splat(0.0f), p * (vf)((n + 127) << 23));
}

// x Phi(x), Phi the standard normal CDF, through erfc from Abramowitz and
// Stegun 7.1.26 (absolute error under 1.5e-7): for z = |x| / sqrt(2),
// q = erfc(z) = t P(t) e^{-z^2} with t = 1 / (1 + 0.3275911 z). Then
// 2 Phi(x) is q for x < 0 and 2 - q otherwise, so no 1 - erf cancels.
KPLUG_VEC vf gelu(vf x) {
  const vf z = (vf)((vi)x & (vi{} + 0x7fffffff)) * splat(0.70710678118654752f);  // |x| / sqrt(2)
  const vf t = splat(1.0f) / fmadd(z, splat(0.3275911f), splat(1.0f));
  vf p = splat(1.061405429f);
  p = fmadd(p, t, splat(-1.453152027f));
  p = fmadd(p, t, splat(1.421413741f));
  p = fmadd(p, t, splat(-0.284496736f));
  p = fmadd(p, t, splat(0.254829592f));
  const vf q = p * t * exp(-(z * z));
  return splat(0.5f) * x * select(x < splat(0.0f), q, splat(2.0f) - q);
}

// The tanh approximation of GELU, 0.5 x (1 + tanh(u)) = x / (1 + e^{-2u}),
// u = sqrt(2 / pi) (x + 0.044715 x^3).
KPLUG_VEC vf gelu_tanh(vf x) {
  const vf u = splat(0.7978845608028654f) * fmadd(splat(0.044715f) * x, x * x, x);
  return x / (splat(1.0f) + exp(splat(-2.0f) * u));
}

// d/dx [x Phi(x)] = Phi(x) + x phi(x), with Phi and e^{-x^2/2} from the
// same erfc evaluation as gelu().
KPLUG_VEC vf gelu_gradient(vf x) {
  const vf z = (vf)((vi)x & (vi{} + 0x7fffffff)) * splat(0.70710678118654752f);
  const vf t = splat(1.0f) / fmadd(z, splat(0.3275911f), splat(1.0f));
  vf p = splat(1.061405429f);
  p = fmadd(p, t, splat(-1.453152027f));
  p = fmadd(p, t, splat(1.421413741f));
  p = fmadd(p, t, splat(-0.284496736f));
  p = fmadd(p, t, splat(0.254829592f));
  const vf gauss = exp(-(z * z));  // e^{-x^2/2}
  const vf q = p * t * gauss;
  const vf cdf = splat(0.5f) * select(x < splat(0.0f), q, splat(2.0f) - q);
  return fmadd(x * gauss, splat(0.3989422804014327f), cdf);
}

// gelu_tanh = x s with s = 1 / (1 + e^{-2u}): s + 2 x s (1 - s) u'.
KPLUG_VEC vf gelu_tanh_gradient(vf x) {
  const vf u = splat(0.7978845608028654f) * fmadd(splat(0.044715f) * x, x * x, x);
  const vf s = splat(1.0f) / (splat(1.0f) + exp(splat(-2.0f) * u));
  const vf du = splat(0.7978845608028654f) * fmadd(splat(3.0f * 0.044715f) * x, x, splat(1.0f));
  return fmadd(splat(2.0f) * x * s * (splat(1.0f) - s), du, s);
}

KPLUG_VEC vf activation_gradient(epilogue_activation act, vf x) {
  switch (act) {
    case epilogue_activation::none: return splat(1.0f);
    case epilogue_activation::gelu: return gelu_gradient(x);
    case epilogue_activation::gelu_tanh: return gelu_tanh_gradient(x);
    case epilogue_activation::relu: return select(x > splat(0.0f), splat(1.0f), splat(0.0f));
  }
  return splat(1.0f);
}

KPLUG_VEC vf activate(epilogue_activation act, vf v) {
  switch (act) {
    case epilogue_activation::none: return v;
    case epilogue_activation::gelu: return gelu(v);
    case epilogue_activation::gelu_tanh: return gelu_tanh(v);
    case epilogue_activation::relu: return select(v > splat(0.0f), v, splat(0.0f));
  }
  return v;
}

// Row i of p (len x len, row stride ld) becomes softmax(scale * p[i] with
// the columns j where mask[j] == 0 at the lowest float), as Hugging Face BERT
// masks keys. A row whose every key is masked comes out uniform.
KPLUG_ISA_TARGET inline void masked_softmax(float* p, index_t len, index_t ld, const std::uint8_t* mask,
                                            float scale) noexcept {
  constexpr float lowest = std::numeric_limits<float>::lowest();
  for (index_t i = 0; i < len; ++i) {
    float* row = p + i * ld;
    float top = lowest;
    for (index_t j = 0; j < len; ++j) {
      const float v = mask[j] ? row[j] * scale : lowest;
      row[j] = v;
      top = std::max(top, v);
    }
    vf sum = vf{};
    index_t j = 0;
    for (; j + lanes <= len; j += lanes) {
      const vf e = exp(load(row + j) - splat(top));
      store(row + j, e);
      sum += e;
    }
    float rest = 0.0f;
    if (j < len) {  // the tail through a padded buffer
      float tail[lanes];
      std::fill_n(tail, lanes, lowest);
      std::copy(row + j, row + len, tail);
      const vf e = exp(load(tail) - splat(top));
      store(tail, e);
      for (index_t k = j; k < len; ++k) rest += tail[k - j];
      std::copy_n(tail, len - j, row + j);
    }
    float total = rest;
    for (int l = 0; l < lanes; ++l) total += sum[l];
    const vf inv = splat(1.0f / total);
    j = 0;
    for (; j + lanes <= len; j += lanes) store(row + j, load(row + j) * inv);
    for (; j < len; ++j) row[j] *= 1.0f / total;
  }
}

// C[0..R) x [col, col + n) from A[0..R) x [0..inner) and the tile's panels
// (panel j at panel + j * panel_stride), then the epilogue: + bias, + C
// (accumulate), pre-activation copy, activation. n < 16 * tile only at the
// matrix's last panel, whose tile is one panel wide.
template <int R, int P>
KPLUG_ISA_TARGET inline void micro_kernel(const float* a, index_t lda, const float* panel, index_t panel_stride,
                                          index_t inner, const gemm_epilogue& ep, matrix_view<float> c,
                                          index_t row, index_t col, index_t n) noexcept {
  constexpr int V = P * per_panel;
  vf acc[R][V];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < V; ++j) acc[r][j] = vf{};
  for (index_t k = 0; k < inner; ++k) {
    vf b[V];
    for (int j = 0; j < V; ++j) b[j] = load(panel + (j / per_panel) * panel_stride + k * 16 + (j % per_panel) * lanes);
    for (int r = 0; r < R; ++r) {
      const vf av = broadcast(a + r * lda + k);
      for (int j = 0; j < V; ++j) acc[r][j] = fmadd(av, b[j], acc[r][j]);
    }
  }
  constexpr index_t width = V * lanes;
  float bias[width] = {};
  if (ep.bias) std::copy_n(ep.bias + col, n, bias);
  float tile[width];
  for (int r = 0; r < R; ++r) {
    float* out = c.row(row + r).data() + col;
    const bool whole = n == width;
    if (!whole) std::copy_n(out, n, tile);
    float* dst = whole ? out : tile;
    for (int j = 0; j < V; ++j) {
      vf v = acc[r][j];
      if (ep.bias) v += load(bias + j * lanes);
      if (ep.accumulate) v += load(dst + j * lanes);
      if (ep.act != epilogue_activation::none) {
        if (ep.activation_input.data()) {  // v is dL/d(act's output): times act'(input)
          const float* in = ep.activation_input.row(row + r).data() + col;
          vf x{};
          if (whole) x = load(in + j * lanes);
          else
            for (int i = 0; i < lanes && j * lanes + i < n; ++i) x[i] = in[j * lanes + i];
          v *= activation_gradient(ep.act, x);
        } else {
          float* pre = ep.pre.data() ? ep.pre.row(row + r).data() + col : nullptr;
          if (pre && whole) store(pre + j * lanes, v);
          else if (pre)
            for (int i = 0; i < lanes && j * lanes + i < n; ++i) pre[j * lanes + i] = v[i];
          v = activate(ep.act, v);
        }
      }
      store(dst + j * lanes, v);
    }
    if (!whole) std::copy_n(tile, n, out);
  }
}

// micro_kernel<rows, P> for a run-time count of rows under tile_rows_max.
template <int P, int R = tile_rows_max - 1>
KPLUG_ISA_TARGET inline void row_remainder(index_t rows, const float* a, index_t lda, const float* panel,
                                           index_t panel_stride, index_t inner, const gemm_epilogue& ep,
                                           matrix_view<float> c, index_t row, index_t col, index_t n) noexcept {
  if constexpr (R > 0) {
    if (rows == R)
      micro_kernel<R, P>(a, lda, panel, panel_stride, inner, ep, c, row, col, n);
    else
      row_remainder<P, R - 1>(rows, a, lda, panel, panel_stride, inner, ep, c, row, col, n);
  }
}

// Rows [r0, r1) x panels [p0, p1) of C = A B with the epilogue.
template <int P>
KPLUG_ISA_TARGET inline void tile_rows(matrix_view<const float> a, const packed_panels& b, const gemm_epilogue& ep,
                                       matrix_view<float> c, index_t r0, index_t r1, index_t p) noexcept {
  const index_t col = p * packed_panels::width;
  const index_t n = std::min<index_t>(P * packed_panels::width, b.cols() - col);
  const index_t stride = b.inner() * packed_panels::width;
  const float* panel = b.panel(p);
  index_t r = r0;
  for (; r + tile_rows_max <= r1; r += tile_rows_max)
    micro_kernel<tile_rows_max, P>(a.row(r).data(), a.row_stride(), panel, stride, b.inner(), ep, c, r, col, n);
  if (r < r1) row_remainder<P>(r1 - r, a.row(r).data(), a.row_stride(), panel, stride, b.inner(), ep, c, r, col, n);
}

KPLUG_ISA_TARGET inline void gemm_block(matrix_view<const float> a, const packed_panels& b, const gemm_epilogue& ep,
                                        matrix_view<float> c, index_t r0, index_t r1, index_t p0,
                                        index_t p1) noexcept {
  constexpr index_t rows_per_chunk = 96;  // an A chunk stays in L2 while every panel passes over it
  // Wide tiles over whole panels; the last, possibly partial, panel alone.
  const index_t whole = std::min(p1, b.cols() / packed_panels::width);
  for (index_t m0 = r0; m0 < r1; m0 += rows_per_chunk) {
    const index_t m1 = std::min(r1, m0 + rows_per_chunk);
    index_t p = p0;
    for (; p + tile_panels <= whole; p += tile_panels) tile_rows<tile_panels>(a, b, ep, c, m0, m1, p);
    for (; p < p1; ++p) tile_rows<1>(a, b, ep, c, m0, m1, p);
  }
}

#undef KPLUG_VEC

}  // namespace KPLUG_ISA_NS

#undef KPLUG_ISA_NS
#undef KPLUG_ISA_TARGET
#undef KPLUG_ISA_LANES
#undef KPLUG_ISA_PANELS
#undef KPLUG_ISA_ROWS
#undef KPLUG_ISA_FMA
