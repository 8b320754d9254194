// toy_engine_backend: toy::engine (a stand-in for YOUR engine, see
// toy_engine.hpp) as a kplug::trainable_backend. This file is what you write;
// docs/writing-a-backend.md walks through it. The engine runs from word-
// embedding rows on the host, so it plugs in through kplug's ready adapter,
// kplug::backend::rows_adapter, which executes the splice plan (embed the
// tokens, write the mapped entity rows into their slots, sum the entity rows'
// gradients). What is left to write is toy_engine_rows, which:
//   * validates everything first, so that the engine (which trusts its caller)
//     never sees a position or segment it would read out of bounds with;
//   * translates layouts: kplug is row-major tokens x hidden over one PACKED
//     batch, the engine is column-major dim x n over one sequence per call;
//   * evaluates outputs only at the requested packed rows;
//   * re-runs encode() before encode_grad(), because the engine's backward
//     reads activations cached by its LAST encode (of whichever sequence).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <kplug/backend/concepts.hpp>
#include <kplug/backend/rows_adapter.hpp>
#include <kplug/core/encoder_input.hpp>
#include <kplug/core/error.hpp>
#include <kplug/core/matrix_view.hpp>
#include <kplug/core/types.hpp>
#include <span>
#include <string>
#include <vector>

#include "toy_engine.hpp"

class toy_engine_rows {
 public:
  // Non-owning: the engine outlives the adapter.
  explicit toy_engine_rows(toy::engine& engine) : engine_(&engine) {}

  // token_embedder
  kplug::index_t hidden_size() const { return engine_->dim(); }
  kplug::index_t vocab_size() const { return engine_->vocab(); }

  void embed_tokens(std::span<const kplug::token_id> ids, kplug::matrix_view<float> out) const {
    const char* what = "toy_engine_rows::embed_tokens";
    kplug::require_shape(out, kplug::index_t(ids.size()), hidden_size(), what, "out");
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (ids[i] < 0 || ids[i] >= vocab_size())
        throw kplug::error(what, "ids[" + std::to_string(i) + "]",
                           "token id " + std::to_string(ids[i]) + " is not in the vocabulary");
    const toy::tensor rows = engine_->lookup(std::vector<int>(ids.begin(), ids.end()));
    for (int t = 0; t < rows.cols; ++t)  // column-major dim x n -> row-major n x dim
      for (int k = 0; k < rows.rows; ++k) out(t, k) = rows.at(k, t);
  }

  // rows_engine
  kplug::index_t output_size() const { return engine_->labels(); }

  void forward(const kplug::encoder_input& in, std::span<const std::int32_t> positions,
               kplug::matrix_view<float> out) {
    const char* what = "toy_engine_rows::forward";
    check(in, positions, what);
    kplug::require_shape(out, kplug::index_t(positions.size()), output_size(), what, "out");
    for (kplug::index_t s = 0; s < in.sequences(); ++s) {
      const int begin = in.offsets[std::size_t(s)], end = in.offsets[std::size_t(s) + 1];
      if (!wanted(positions, begin, end)) continue;  // outputs only where asked
      const toy::tensor y = encode(in, begin, end);
      for (std::size_t r = 0; r < positions.size(); ++r)
        if (positions[r] >= begin && positions[r] < end)
          for (int o = 0; o < y.rows; ++o) out(kplug::index_t(r), o) = y.at(o, positions[r] - begin);
    }
  }

  // differentiable_rows_engine
  void backward(const kplug::encoder_input& in, std::span<const std::int32_t> positions,
                kplug::matrix_view<const float> grad_out, kplug::matrix_view<float> grad_in) {
    const char* what = "toy_engine_rows::backward";
    check(in, positions, what);
    kplug::require_shape(grad_out, kplug::index_t(positions.size()), output_size(), what, "grad_out");
    kplug::require_shape(grad_in, in.tokens(), hidden_size(), what, "grad_in");
    for (kplug::index_t s = 0; s < in.sequences(); ++s) {
      const int begin = in.offsets[std::size_t(s)], end = in.offsets[std::size_t(s) + 1];
      toy::tensor grad_y(engine_->labels(), end - begin);
      for (std::size_t r = 0; r < positions.size(); ++r)  // a repeated position accumulates
        if (positions[r] >= begin && positions[r] < end)
          for (int o = 0; o < grad_y.rows; ++o)
            grad_y.at(o, positions[r] - begin) += grad_out(kplug::index_t(r), o);
      toy::tensor grad_x(engine_->dim(), end - begin);  // zero: no output of s was asked for
      if (wanted(positions, begin, end)) {
        encode(in, begin, end);  // refresh the engine's cache for THIS sequence
        grad_x = engine_->encode_grad(grad_y);
      }
      for (int t = 0; t < grad_x.cols; ++t)
        for (int k = 0; k < grad_x.rows; ++k) grad_in(begin + t, k) = grad_x.at(k, t);
    }
  }

 private:
  // Everything the engine would trust blindly is checked here.
  void check(const kplug::encoder_input& in, std::span<const std::int32_t> positions,
             const char* what) const {
    kplug::validate(in, hidden_size(), engine_->max_len(), what);
    for (std::size_t i = 0; i < in.segment_ids.size(); ++i)
      if (in.segment_ids[i] < 0 || in.segment_ids[i] >= toy::engine::segment_types)
        throw kplug::error(what, "encoder_input.segment_ids[" + std::to_string(i) + "]",
                           "segment " + std::to_string(in.segment_ids[i]) + " is not 0 or 1");
    for (std::size_t r = 0; r < positions.size(); ++r)
      if (positions[r] < 0 || positions[r] >= in.tokens())
        throw kplug::error(what, "positions[" + std::to_string(r) + "]",
                           "row " + std::to_string(positions[r]) + " is not in the batch");
  }

  static bool wanted(std::span<const std::int32_t> positions, int begin, int end) {
    return std::any_of(positions.begin(), positions.end(),
                       [&](std::int32_t p) { return p >= begin && p < end; });
  }

  // Packed rows [begin, end) -> one engine call on a dim x n column-major tensor.
  toy::tensor encode(const kplug::encoder_input& in, int begin, int end) {
    toy::tensor x(engine_->dim(), end - begin);
    std::vector<int> pos, seg;
    std::vector<float> mask;
    for (int t = begin; t < end; ++t) {
      for (int k = 0; k < x.rows; ++k) x.at(k, t - begin) = in.embeddings(t, k);
      pos.push_back(in.position_ids[std::size_t(t)]);
      seg.push_back(in.segment_ids[std::size_t(t)]);
      mask.push_back(in.attention_mask[std::size_t(t)] ? 1.0f : 0.0f);
    }
    return engine_->encode(x, pos, seg, mask);
  }

  toy::engine* engine_;
};

static_assert(kplug::backend::differentiable_rows_engine<toy_engine_rows>);

// The backend: kplug's adapter around it.
using toy_engine_backend = kplug::backend::rows_adapter<toy_engine_rows>;
static_assert(kplug::trainable_backend<toy_engine_backend>);
