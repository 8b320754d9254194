// An independent double-precision implementation of the mock backend's
// documented model (plain loops, written from the formula in mock.hpp's
// header comment, not from its code), with its exact gradient. As a
// rows_engine behind backend::rows_adapter it is the mock's reference in
// the backend parity suite.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kplug/core/encoder_input.hpp"
#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"

namespace kplug::test {

// SplitMix64's finaliser, written out again from its published definition.
inline std::uint64_t ref_mix(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline double ref_u(std::uint64_t seed, std::uint64_t table, std::uint64_t row, std::uint64_t col) {
  const std::uint64_t h = ref_mix(ref_mix(ref_mix(ref_mix(seed) ^ table) ^ row) ^ col);
  return static_cast<double>(h >> 40) / 8388608.0 - 1.0;
}

// The documented parameters in double precision.
struct reference_model {
  index_t hidden, output;
  std::uint64_t seed;

  double word(index_t t, index_t k) const { return ref_u(seed, 0, std::uint64_t(t), std::uint64_t(k)); }
  double pos(index_t p, index_t k) const { return ref_u(seed, 1, std::uint64_t(p), std::uint64_t(k)); }
  double seg(index_t g, index_t k) const { return ref_u(seed, 2, std::uint64_t(g), std::uint64_t(k)); }
  double a(index_t j, index_t k) const {
    return ref_u(seed, 3, std::uint64_t(j), std::uint64_t(k)) / std::sqrt(double(hidden));
  }
  double b(index_t j) const { return ref_u(seed, 4, 0, std::uint64_t(j)) / 2.0; }
  double w(index_t o, index_t k) const {
    return ref_u(seed, 5, std::uint64_t(o), std::uint64_t(k)) / std::sqrt(double(hidden));
  }
};

// The per-token arrays of a packed batch.
struct reference_layout {
  std::span<const std::int32_t> offsets, position_ids, segment_ids;
  std::span<const std::uint8_t> mask;
};

// h (tokens x hidden) of the model for inputs x (tokens x hidden, double).
inline std::vector<double> reference_hidden(const reference_model& m, const reference_layout& in,
                                            const std::vector<double>& x) {
  const auto n = static_cast<index_t>(in.position_ids.size());
  const index_t d = m.hidden;
  std::vector<double> h(std::size_t(n * d));
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < d; ++j) {
      double pre = m.b(j);
      for (index_t k = 0; k < d; ++k)
        pre += m.a(j, k) * (x[std::size_t(i * d + k)] + m.pos(in.position_ids[std::size_t(i)], k) +
                            m.seg(in.segment_ids[std::size_t(i)], k));
      h[std::size_t(i * d + j)] = std::tanh(pre);
    }
  return h;
}

inline std::size_t sequence_of(const reference_layout& in, std::int32_t p) {
  std::size_t s = 0;
  while (!(in.offsets[s] <= p && p < in.offsets[s + 1])) ++s;
  return s;
}

// The masked mean of h over sequence s, and how many rows it averaged.
inline std::vector<double> reference_context(const reference_model& m, const reference_layout& in,
                                             const std::vector<double>& h, std::size_t s, int& count) {
  std::vector<double> c(std::size_t(m.hidden), 0.0);
  count = 0;
  for (std::int32_t j = in.offsets[s]; j < in.offsets[s + 1]; ++j)
    if (in.mask[std::size_t(j)]) {
      ++count;
      for (index_t k = 0; k < m.hidden; ++k) c[std::size_t(k)] += h[std::size_t(j * m.hidden + k)];
    }
  for (double& v : c) v = count ? v / count : 0.0;
  return c;
}

// y (positions.size() x output) for inputs x.
inline std::vector<double> reference_forward(const reference_model& m, const reference_layout& in,
                                             const std::vector<double>& x,
                                             std::span<const std::int32_t> positions) {
  const std::vector<double> h = reference_hidden(m, in, x);
  std::vector<double> y;
  for (const std::int32_t p : positions) {
    int count = 0;
    const std::vector<double> c = reference_context(m, in, h, sequence_of(in, p), count);
    for (index_t o = 0; o < m.output; ++o) {
      double acc = 0;
      for (index_t k = 0; k < m.hidden; ++k)
        acc += m.w(o, k) * (h[std::size_t(p * m.hidden + k)] + c[std::size_t(k)]);
      y.push_back(acc);
    }
  }
  return y;
}

// dL/dx for L = sum(grad_out .* y): through W into h_p and, for unmasked
// rows of p's sequence, into the context mean; then through tanh and A.
inline std::vector<double> reference_backward(const reference_model& m, const reference_layout& in,
                                              const std::vector<double>& x,
                                              std::span<const std::int32_t> positions,
                                              const std::vector<double>& grad_out) {
  const index_t d = m.hidden;
  const std::vector<double> h = reference_hidden(m, in, x);
  std::vector<double> dh(h.size(), 0.0);
  for (std::size_t r = 0; r < positions.size(); ++r) {
    const std::int32_t p = positions[r];
    const std::size_t s = sequence_of(in, p);
    int count = 0;
    for (std::int32_t j = in.offsets[s]; j < in.offsets[s + 1]; ++j) count += in.mask[std::size_t(j)] ? 1 : 0;
    for (index_t k = 0; k < d; ++k) {
      double g = 0;
      for (index_t o = 0; o < m.output; ++o)
        g += m.w(o, k) * grad_out[r * std::size_t(m.output) + std::size_t(o)];
      dh[std::size_t(p * d + k)] += g;
      for (std::int32_t j = in.offsets[s]; j < in.offsets[s + 1]; ++j)
        if (in.mask[std::size_t(j)]) dh[std::size_t(j * d + k)] += g / count;
    }
  }
  std::vector<double> dx(h.size(), 0.0);
  for (std::size_t i = 0; i < in.position_ids.size(); ++i)
    for (index_t j = 0; j < d; ++j) {
      const double dpre =
          dh[i * std::size_t(d) + std::size_t(j)] *
          (1 - h[i * std::size_t(d) + std::size_t(j)] * h[i * std::size_t(d) + std::size_t(j)]);
      for (index_t k = 0; k < d; ++k) dx[i * std::size_t(d) + std::size_t(k)] += m.a(j, k) * dpre;
    }
  return dx;
}

// The reference as an engine that runs from embedding rows (a
// backend::differentiable_rows_engine), with the mock's checks.
class mock_reference_engine {
 public:
  mock_reference_engine(index_t vocab, index_t hidden, index_t output, index_t max_positions,
                        std::uint64_t seed)
      : model_{hidden, output, seed}, vocab_(vocab), max_positions_(max_positions) {}

  index_t hidden_size() const { return model_.hidden; }
  index_t vocab_size() const { return vocab_; }
  index_t output_size() const { return model_.output; }

  void embed_tokens(std::span<const token_id> ids, matrix_view<float> out) const {
    require_shape(out, index_t(ids.size()), model_.hidden, "mock_reference_engine::embed_tokens", "out");
    for (std::size_t i = 0; i < ids.size(); ++i)
      for (index_t k = 0; k < model_.hidden; ++k) out(index_t(i), k) = float(model_.word(ids[i], k));
  }

  void forward(const encoder_input& in, std::span<const std::int32_t> positions,
               matrix_view<float> out) const {
    check(in, positions, "mock_reference_engine::forward");
    require_shape(out, index_t(positions.size()), model_.output, "mock_reference_engine::forward", "out");
    const std::vector<double> y = reference_forward(model_, layout(in), rows(in), positions);
    for (index_t r = 0; r < out.rows(); ++r)
      for (index_t o = 0; o < model_.output; ++o) out(r, o) = float(y[std::size_t(r * model_.output + o)]);
  }

  void backward(const encoder_input& in, std::span<const std::int32_t> positions,
                matrix_view<const float> grad_out, matrix_view<float> grad_in) const {
    check(in, positions, "mock_reference_engine::backward");
    require_shape(grad_out, index_t(positions.size()), model_.output, "mock_reference_engine::backward",
                  "grad_out");
    require_shape(grad_in, in.tokens(), model_.hidden, "mock_reference_engine::backward", "grad_in");
    std::vector<double> g;
    for (index_t r = 0; r < grad_out.rows(); ++r)
      for (const float v : grad_out.row(r)) g.push_back(v);
    const std::vector<double> dx = reference_backward(model_, layout(in), rows(in), positions, g);
    for (index_t i = 0; i < in.tokens(); ++i)
      for (index_t k = 0; k < model_.hidden; ++k)
        grad_in(i, k) = float(dx[std::size_t(i * model_.hidden + k)]);
  }

 private:
  void check(const encoder_input& in, std::span<const std::int32_t> positions, const char* what) const {
    validate(in, model_.hidden, max_positions_, what);
    for (std::size_t i = 0; i < in.segment_ids.size(); ++i)
      if (in.segment_ids[i] < 0 || in.segment_ids[i] >= 2)
        throw error(what, "encoder_input.segment_ids[" + std::to_string(i) + "]", "is not 0 or 1");
    for (std::size_t r = 0; r < positions.size(); ++r)
      if (positions[r] < 0 || positions[r] >= in.tokens())
        throw error(what, "positions[" + std::to_string(r) + "]", "is not a row of the batch");
  }
  static reference_layout layout(const encoder_input& in) {
    return {in.offsets, in.position_ids, in.segment_ids, in.attention_mask};
  }
  std::vector<double> rows(const encoder_input& in) const {
    std::vector<double> x;
    for (index_t i = 0; i < in.tokens(); ++i)
      for (const float v : in.embeddings.row(i)) x.push_back(v);
    return x;
  }

  reference_model model_;
  index_t vocab_, max_positions_;
};

}  // namespace kplug::test
