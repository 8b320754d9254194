// The CUDA backend's kernels, each mirroring one of the CPU encoder's
// (bert/kernels.hpp, bert/attention.hpp), and the cuBLAS calls of its linear
// layers. Activations are row-major tokens x features in device memory;
// weights are PyTorch's out x in. Every launcher takes the stream it runs on.
//
// Kernels are templates over their float type F (float here; deduced from
// their arguments), which also lets this header be included by many
// translation units: a plain __global__ function defined in a header would
// be defined once per unit.
//
// Determinism: no kernel uses atomics. Sums that several rows feed (an
// entity's slots, a packed row requested twice, the attention keys' and
// values' gradients) are computed by the one block that owns the result, in
// a fixed order, from index lists the host builds.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cfloat>
#include <cstdint>

#include "kplug/backend/cuda/error.cuh"
#include "kplug/backend/cuda/memory.cuh"
#include "kplug/bert/config.hpp"

namespace kplug::cuda::kernels {

inline constexpr int row_threads = 256;  // one block per row for row-wise kernels

namespace detail {

// Sum of `v` over the block (blockDim.x a multiple of 32, at most 1024);
// every thread gets the result. `scratch`: 32 floats of shared memory.
__device__ inline float block_sum(float v, float* scratch) {
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  __syncthreads();  // scratch may still be read from a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) / 32;
  v = lane < warps ? scratch[lane] : 0.0f;
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ inline float block_max(float v, float* scratch) {
  for (int o = 16; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) / 32;
  v = lane < warps ? scratch[lane] : -FLT_MAX;
  for (int o = 16; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// The sequence holding packed row `row`: offsets[s] <= row < offsets[s + 1].
__device__ inline int sequence_of(const std::int32_t* offsets, int sequences, int row) {
  int lo = 0, hi = sequences;  // offsets[lo] <= row < offsets[hi]
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (offsets[mid] <= row) lo = mid; else hi = mid;
  }
  return lo;
}

__device__ inline float activate(bert::activation a, float x) {
  switch (a) {
    case bert::activation::gelu: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case bert::activation::gelu_tanh: {
      const float c = 0.7978845608028654f;
      return 0.5f * x * (1.0f + tanhf(c * (x + 0.044715f * x * x * x)));
    }
    case bert::activation::relu: return fmaxf(x, 0.0f);
  }
  return x;
}

__device__ inline float activation_derivative(bert::activation a, float x) {
  switch (a) {
    case bert::activation::gelu:
      return 0.5f * (1.0f + erff(x * 0.70710678118654752f)) + x * 0.3989422804014327f * expf(-0.5f * x * x);
    case bert::activation::gelu_tanh: {
      const float c = 0.7978845608028654f;
      const float t = tanhf(c * (x + 0.044715f * x * x * x));
      return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * c * (1.0f + 3.0f * 0.044715f * x * x);
    }
    case bert::activation::relu: return x > 0.0f ? 1.0f : 0.0f;
  }
  return 1.0f;
}

// ------------------------------------------------------------------ kernels

// sum[r] = (entity_of[r] >= 0 ? entities[entity_of[r]] : word[token_ids[r]])
//          + position[position_ids[r]] + token_type[segment_ids[r]]
template <class F>
__global__ void embed_rows(const std::int32_t* token_ids, const std::int32_t* position_ids,
                           const std::int32_t* segment_ids, const std::int32_t* entity_of, const F* word,
                           const F* position, const F* token_type, const F* entities, int hidden,
                           F* sum) {
  const int r = blockIdx.x;
  const int e = entity_of[r];
  const float* src = e >= 0 ? entities + std::size_t(e) * hidden : word + std::size_t(token_ids[r]) * hidden;
  const float* pos = position + std::size_t(position_ids[r]) * hidden;
  const float* seg = token_type + std::size_t(segment_ids[r]) * hidden;
  float* out = sum + std::size_t(r) * hidden;
  for (int c = threadIdx.x; c < hidden; c += blockDim.x) out[c] = src[c] + pos[c] + seg[c];
}

// y = LN(x [+ residual]) * gamma + beta per row; xhat / rstd kept when given.
// y may alias x or residual (each thread reads its elements before writing).
template <class F>
__global__ void layer_norm(const F* x, const F* residual, const F* gamma, const F* beta, float eps,
                           int hidden, F* y, F* xhat, F* rstd) {
  __shared__ float scratch[32];
  const std::size_t base = std::size_t(blockIdx.x) * hidden;
  float local = 0.0f;
  for (int c = threadIdx.x; c < hidden; c += blockDim.x)
    local += x[base + c] + (residual ? residual[base + c] : 0.0f);
  const float mean = block_sum(local, scratch) / float(hidden);
  local = 0.0f;
  for (int c = threadIdx.x; c < hidden; c += blockDim.x) {
    const float z = x[base + c] + (residual ? residual[base + c] : 0.0f) - mean;
    local += z * z;
  }
  const float inv = rsqrtf(block_sum(local, scratch) / float(hidden) + eps);
  for (int c = threadIdx.x; c < hidden; c += blockDim.x) {
    const float n = (x[base + c] + (residual ? residual[base + c] : 0.0f) - mean) * inv;
    if (xhat) xhat[base + c] = n;
    y[base + c] = n * gamma[c] + beta[c];
  }
  if (rstd && threadIdx.x == 0) rstd[blockIdx.x] = inv;
}

// One row of the layer norm's backward, by the whole block:
// dx = rstd * (g - mean(g) - xhat * mean(g . xhat)), g = dy . gamma; written,
// or added to dx when `accumulate`. dx may be dy.
__device__ inline void layer_norm_backward_row(const float* dy, const float* xhat, float rstd, const float* gamma,
                                               int hidden, float* dx, bool accumulate, float* scratch) {
  float sg = 0.0f, sgn = 0.0f;
  for (int c = threadIdx.x; c < hidden; c += blockDim.x) {
    const float g = dy[c] * gamma[c];
    sg += g;
    sgn += g * xhat[c];
  }
  const float mean_g = block_sum(sg, scratch) / float(hidden);
  const float mean_gn = block_sum(sgn, scratch) / float(hidden);
  for (int c = threadIdx.x; c < hidden; c += blockDim.x) {
    const float v = rstd * (dy[c] * gamma[c] - mean_g - xhat[c] * mean_gn);
    dx[c] = accumulate ? dx[c] + v : v;
  }
}

template <class F>
__global__ void layer_norm_backward(const F* dy, const F* xhat, const F* rstd, const F* gamma, int hidden, F* dx) {
  __shared__ float scratch[32];
  const std::size_t base = std::size_t(blockIdx.x) * hidden;
  layer_norm_backward_row(dy + base, xhat + base, rstd[blockIdx.x], gamma, hidden, dx + base, false, scratch);
}

// y += bias per column; with `pre`, pre = y + bias and y = act(pre) (tanh
// when `tanh_act`, else `act`); elementwise over rows x cols.
template <class F>
__global__ void bias_activation(F* y, const F* bias, std::size_t rows, int cols, bool apply,
                                bert::activation act, bool tanh_act, F* pre) {
  const std::size_t n = rows * std::size_t(cols);
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x) {
    float v = y[i] + (bias ? bias[i % cols] : 0.0f);
    if (pre) pre[i] = v;
    if (apply) v = tanh_act ? tanhf(v) : activate(act, v);
    y[i] = v;
  }
}

// grad *= act'(pre), or (1 - out^2) for tanh given its output.
template <class F>
__global__ void activation_backward(const F* pre, F* grad, std::size_t n, bert::activation act,
                                    bool tanh_of_output) {
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x)
    grad[i] *= tanh_of_output ? 1.0f - pre[i] * pre[i] : activation_derivative(act, pre[i]);
}

// out[r] = in[rows[r]]: the rows a head reads.
template <class F>
__global__ void gather_rows(const F* in, const std::int32_t* rows, int cols, F* out) {
  const float* src = in + std::size_t(rows[blockIdx.x]) * cols;
  float* dst = out + std::size_t(blockIdx.x) * cols;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) dst[c] = src[c];
}

// *flag = 1 when a[i] and b[i] differ in any bit, for i < n (every writer
// writes the same 1: no atomics needed). Bits, not values: NaN == NaN here.
template <class F>
__global__ void rows_differ(const F* a, const F* b, std::size_t n, int* flag) {
  const auto* x = reinterpret_cast<const std::uint32_t*>(a);
  const auto* y = reinterpret_cast<const std::uint32_t*>(b);
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n; i += std::size_t(gridDim.x) * blockDim.x)
    if (x[i] != y[i]) *flag = 1;
}

// out[r] = sum over k in [first[r], first[r + 1]) of in[list[k]]; zero when none.
template <class F>
__global__ void sum_listed_rows(const F* in, const std::int32_t* first, const std::int32_t* list, int cols,
                                F* out) {
  const int r = blockIdx.x;
  float* dst = out + std::size_t(r) * cols;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    float s = 0.0f;
    for (int k = first[r]; k < first[r + 1]; ++k) s += in[std::size_t(list[k]) * cols + c];
    dst[c] = s;
  }
}

// The embedding layer norm's backward at an entity's slot rows, summed into
// its row: grad_entities[e] = sum over its slots k of LN0'(dx[slot_rows[k]]).
template <class F>
__global__ void entity_gradients(const F* dx, const F* xhat, const F* rstd, const F* gamma,
                                 const std::int32_t* first, const std::int32_t* slot_rows, int hidden,
                                 F* grad_entities) {
  __shared__ float scratch[32];
  float* dst = grad_entities + std::size_t(blockIdx.x) * hidden;
  for (int c = threadIdx.x; c < hidden; c += blockDim.x) dst[c] = 0.0f;
  for (int k = first[blockIdx.x]; k < first[blockIdx.x + 1]; ++k) {
    const std::size_t base = std::size_t(slot_rows[k]) * hidden;
    layer_norm_backward_row(dx + base, xhat + base, rstd[slot_rows[k]], gamma, hidden, dst, true, scratch);
  }
}

// What an attention block (row blockIdx.x, head blockIdx.y) works on: the
// row, the head, the head's width d, the row's sequence [begin, begin + len)
// and the score scale 1/sqrt(d).
struct attention_block {
  int row, head, d, begin, len;
  float scale;
};

__device__ inline attention_block this_attention_block(const std::int32_t* offsets, int sequences, int hidden,
                                                       int heads) {
  const int row = int(blockIdx.x), d = hidden / heads;
  const int s = sequence_of(offsets, sequences, row);
  return {row, int(blockIdx.y), d, offsets[s], offsets[s + 1] - offsets[s], rsqrtf(float(d))};
}

// Attention scores of query row i (block) and head h against the keys of its
// sequence, masked and scaled as on the CPU (bert/attention.hpp): a masked
// key scores the lowest float, so a fully masked sequence attends uniformly.
// Leaves p_j (unnormalised exp) in `p`, returns the row max and sum.
__device__ inline void softmax_row(const float* qkv, const std::uint8_t* mask, int begin, int len, int i, int h,
                                   int hidden, int d, float scale, float* p, float* scratch, float& row_max,
                                   float& row_sum) {
  const std::size_t stride = 3 * std::size_t(hidden);
  const float* q = qkv + std::size_t(i) * stride + std::size_t(h) * d;
  float local_max = -FLT_MAX;
  for (int j = threadIdx.x; j < len; j += blockDim.x) {
    const float* k = qkv + std::size_t(begin + j) * stride + hidden + std::size_t(h) * d;
    float s = 0.0f;
    for (int t = 0; t < d; ++t) s += q[t] * k[t];
    s = mask[begin + j] ? s * scale : -FLT_MAX;
    p[j] = s;
    local_max = fmaxf(local_max, s);
  }
  row_max = block_max(local_max, scratch);
  float local_sum = 0.0f;
  for (int j = threadIdx.x; j < len; j += blockDim.x) {
    p[j] = expf(p[j] - row_max);
    local_sum += p[j];
  }
  row_sum = block_sum(local_sum, scratch);
}

// ctx[i, head h] = softmax(q_i K^T) V over row i's sequence. Grid: tokens x heads.
template <class F>
__global__ void attention_forward(const F* qkv, const std::int32_t* offsets, int sequences,
                                  const std::uint8_t* mask, int hidden, int heads, F* ctx) {
  extern __shared__ float p[];  // the sequence's length
  __shared__ float scratch[32];
  const auto [i, h, d, begin, len, scale] = this_attention_block(offsets, sequences, hidden, heads);
  float row_max, row_sum;
  softmax_row(qkv, mask, begin, len, i, h, hidden, d, scale, p, scratch, row_max, row_sum);
  __syncthreads();
  const std::size_t stride = 3 * std::size_t(hidden);
  for (int t = threadIdx.x; t < d; t += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j < len; ++j) acc += p[j] * qkv[std::size_t(begin + j) * stride + 2 * hidden + h * d + t];
    ctx[std::size_t(i) * hidden + h * d + t] = acc / row_sum;
  }
}

// Attention backward, pass 1, per query row i and head h: dq_i and the row's
// softmax statistics (max, sum, delta = sum_j p_ij dp_ij) for pass 2.
template <class F>
__global__ void attention_backward_queries(const F* qkv, const std::int32_t* offsets, int sequences,
                                           const std::uint8_t* mask, int hidden, int heads, const F* dctx,
                                           F* dqkv, F* stats) {
  extern __shared__ float shared[];  // p and dp, 2 x the sequence's length
  __shared__ float scratch[32];
  const auto [i, h, d, begin, len, scale] = this_attention_block(offsets, sequences, hidden, heads);
  float* p = shared;
  float* dp = shared + len;
  float row_max, row_sum;
  softmax_row(qkv, mask, begin, len, i, h, hidden, d, scale, p, scratch, row_max, row_sum);
  const std::size_t stride = 3 * std::size_t(hidden);
  const float* g = dctx + std::size_t(i) * hidden + h * d;
  float local = 0.0f;
  for (int j = threadIdx.x; j < len; j += blockDim.x) {
    p[j] /= row_sum;
    const float* v = qkv + std::size_t(begin + j) * stride + 2 * hidden + h * d;
    float acc = 0.0f;
    for (int t = 0; t < d; ++t) acc += g[t] * v[t];
    dp[j] = acc;
    local += p[j] * acc;
  }
  const float delta = block_sum(local, scratch);
  __syncthreads();
  for (int t = threadIdx.x; t < d; t += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j < len; ++j)
      acc += p[j] * (dp[j] - delta) * qkv[std::size_t(begin + j) * stride + hidden + h * d + t];
    dqkv[std::size_t(i) * stride + h * d + t] = acc * scale;
  }
  if (threadIdx.x == 0) {
    float* st = stats + (std::size_t(i) * heads + h) * 3;
    st[0] = row_max;
    st[1] = row_sum;
    st[2] = delta;
  }
}

// Pass 2, per key row j and head h: dk_j and dv_j from the queries of its
// sequence, with their statistics from pass 1 (no atomics: the block of key j
// owns its two gradients).
template <class F>
__global__ void attention_backward_keys(const F* qkv, const std::int32_t* offsets, int sequences,
                                        const std::uint8_t* mask, int hidden, int heads, const F* dctx,
                                        const F* stats, F* dqkv) {
  extern __shared__ float shared[];  // p_ij and ds_ij over the queries i
  const auto [j, h, d, begin, len, scale] = this_attention_block(offsets, sequences, hidden, heads);
  float* p = shared;
  float* ds = shared + len;
  const std::size_t stride = 3 * std::size_t(hidden);
  const float* k = qkv + std::size_t(j) * stride + hidden + h * d;
  const float* v = qkv + std::size_t(j) * stride + 2 * hidden + h * d;
  for (int i = threadIdx.x; i < len; i += blockDim.x) {
    const float* q = qkv + std::size_t(begin + i) * stride + h * d;
    const float* g = dctx + std::size_t(begin + i) * hidden + h * d;
    float score = 0.0f, dp = 0.0f;
    for (int t = 0; t < d; ++t) {
      score += q[t] * k[t];
      dp += g[t] * v[t];
    }
    score = mask[j] ? score * scale : -FLT_MAX;
    const float* st = stats + (std::size_t(begin + i) * heads + h) * 3;
    p[i] = expf(score - st[0]) / st[1];
    ds[i] = p[i] * (dp - st[2]);
  }
  __syncthreads();
  for (int t = threadIdx.x; t < d; t += blockDim.x) {
    float dk = 0.0f, dv = 0.0f;
    for (int i = 0; i < len; ++i) {
      dk += ds[i] * qkv[std::size_t(begin + i) * stride + h * d + t];
      dv += p[i] * dctx[std::size_t(begin + i) * hidden + h * d + t];
    }
    dqkv[std::size_t(j) * stride + hidden + h * d + t] = dk * scale;
    dqkv[std::size_t(j) * stride + 2 * hidden + h * d + t] = dv;
  }
}

inline unsigned elementwise_blocks(std::size_t n) {
  const std::size_t blocks = (n + 255) / 256;
  return static_cast<unsigned>(blocks < 4096 ? (blocks == 0 ? 1 : blocks) : 4096);
}

}  // namespace detail

// ------------------------------------------------------------- cuBLAS GEMMs

// y = x W^T (+ bias later).  x: m x k, W: n x k (row-major), y: m x n.
// Row-major y^T = W x^T is column-major y = W^T-as-stored ... : one SGEMM.
inline void linear(cublasHandle_t blas, const float* x, index_t m, index_t k, const float* w, index_t n, float* y) {
  if (m == 0 || n == 0) return;
  const float one = 1.0f, zero = 0.0f;
  KPLUG_CUDA_CHECK(cublasSgemm(blas, CUBLAS_OP_T, CUBLAS_OP_N, int(n), int(m), int(k), &one, w, int(k), x, int(k),
                                 &zero, y, int(n)));
}

// dx = dy W (or dx += dy W).  dy: m x n, W: n x k, dx: m x k.
inline void linear_backward_input(cublasHandle_t blas, const float* dy, index_t m, index_t n, const float* w,
                                  index_t k, float* dx, bool accumulate) {
  if (m == 0 || k == 0) return;
  const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  KPLUG_CUDA_CHECK(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, int(k), int(m), int(n), &one, w, int(k), dy, int(n),
                                 &beta, dx, int(k)));
}

// ---------------------------------------------------------------- launchers

inline void embed_rows(cudaStream_t s, index_t tokens, const std::int32_t* token_ids, const std::int32_t* position_ids,
                       const std::int32_t* segment_ids, const std::int32_t* entity_of, const float* word,
                       const float* position, const float* token_type, const float* entities, index_t hidden,
                       float* sum) {
  if (tokens == 0) return;
  detail::embed_rows<<<unsigned(tokens), row_threads, 0, s>>>(token_ids, position_ids, segment_ids, entity_of, word,
                                                               position, token_type, entities, int(hidden), sum);
  check_launch("embed_rows");
}

inline void layer_norm(cudaStream_t s, index_t rows, index_t hidden, const float* x, const float* residual,
                       const float* gamma, const float* beta, float eps, float* y, float* xhat, float* rstd) {
  if (rows == 0) return;
  detail::layer_norm<<<unsigned(rows), row_threads, 0, s>>>(x, residual, gamma, beta, eps, int(hidden), y, xhat, rstd);
  check_launch("layer_norm");
}

inline void layer_norm_backward(cudaStream_t s, index_t rows, index_t hidden, const float* dy, const float* xhat,
                                const float* rstd, const float* gamma, float* dx) {
  if (rows == 0) return;
  detail::layer_norm_backward<<<unsigned(rows), row_threads, 0, s>>>(dy, xhat, rstd, gamma, int(hidden), dx);
  check_launch("layer_norm_backward");
}

// y = act(y + bias), keeping y + bias in `pre` when given. kind: the
// activation, or tanh (`tanh_act`), or none (`apply` false: bias only).
inline void bias_activation(cudaStream_t s, float* y, const float* bias, index_t rows, index_t cols, bool apply,
                            bert::activation act, bool tanh_act, float* pre) {
  const std::size_t n = std::size_t(rows) * std::size_t(cols);
  if (n == 0) return;
  detail::bias_activation<<<detail::elementwise_blocks(n), 256, 0, s>>>(y, bias, std::size_t(rows), int(cols), apply,
                                                                         act, tanh_act, pre);
  check_launch("bias_activation");
}

inline void activation_backward(cudaStream_t s, const float* pre, float* grad, std::size_t n, bert::activation act,
                                bool tanh_of_output) {
  if (n == 0) return;
  detail::activation_backward<<<detail::elementwise_blocks(n), 256, 0, s>>>(pre, grad, n, act, tanh_of_output);
  check_launch("activation_backward");
}

inline void gather_rows(cudaStream_t s, const float* in, const std::int32_t* rows, index_t count, index_t cols,
                        float* out) {
  if (count == 0) return;
  detail::gather_rows<<<unsigned(count), row_threads, 0, s>>>(in, rows, int(cols), out);
  check_launch("gather_rows");
}

// Sets *flag (device) to 1 when the n floats at a and b differ; the caller
// zeroes it first.
inline void rows_differ(cudaStream_t s, const float* a, const float* b, std::size_t n, int* flag) {
  if (n == 0) return;
  const unsigned blocks = unsigned(std::min<std::size_t>((n + 255) / 256, 1024));
  detail::rows_differ<<<blocks, 256, 0, s>>>(a, b, n, flag);
  check_launch("rows_differ");
}

inline void sum_listed_rows(cudaStream_t s, const float* in, const std::int32_t* first, const std::int32_t* list,
                            index_t out_rows, index_t cols, float* out) {
  if (out_rows == 0) return;
  detail::sum_listed_rows<<<unsigned(out_rows), row_threads, 0, s>>>(in, first, list, int(cols), out);
  check_launch("sum_listed_rows");
}

inline void entity_gradients(cudaStream_t s, index_t entities, index_t hidden, const float* dx, const float* xhat,
                             const float* rstd, const float* gamma, const std::int32_t* first,
                             const std::int32_t* slot_rows, float* grad_entities) {
  if (entities == 0) return;
  detail::entity_gradients<<<unsigned(entities), row_threads, 0, s>>>(dx, xhat, rstd, gamma, first, slot_rows,
                                                                       int(hidden), grad_entities);
  check_launch("entity_gradients");
}

// The attention kernels keep one or two floats per key of a sequence in
// shared memory: max_length is the longest sequence of the batch. 48 KiB
// (what any launch may use without opting in) bounds it; device_plan::upload
// refuses longer sequences with a clear error first.
inline constexpr index_t max_attention_length = 48 * 1024 / (2 * sizeof(float));

inline void attention_forward(cudaStream_t s, const float* qkv, const std::int32_t* offsets, index_t sequences,
                              const std::uint8_t* mask, index_t tokens, index_t hidden, index_t heads,
                              index_t max_length, float* ctx) {
  if (tokens == 0) return;
  detail::attention_forward<<<dim3(unsigned(tokens), unsigned(heads)), 128, sizeof(float) * std::size_t(max_length), s>>>(
      qkv, offsets, int(sequences), mask, int(hidden), int(heads), ctx);
  check_launch("attention_forward");
}

inline void attention_backward(cudaStream_t s, const float* qkv, const std::int32_t* offsets, index_t sequences,
                               const std::uint8_t* mask, index_t tokens, index_t hidden, index_t heads,
                               index_t max_length, const float* dctx, float* stats, float* dqkv) {
  if (tokens == 0) return;
  const dim3 grid{unsigned(tokens), unsigned(heads)};
  const std::size_t shared = 2 * sizeof(float) * std::size_t(max_length);
  detail::attention_backward_queries<<<grid, 128, shared, s>>>(qkv, offsets, int(sequences), mask, int(hidden),
                                                                int(heads), dctx, dqkv, stats);
  check_launch("attention_backward_queries");
  detail::attention_backward_keys<<<grid, 128, shared, s>>>(qkv, offsets, int(sequences), mask, int(hidden), int(heads),
                                                             dctx, stats, dqkv);
  check_launch("attention_backward_keys");
}

}  // namespace kplug::cuda::kernels
