// A backend whose memory is not the host's, for testing generic code without
// a GPU: foreign_memory_backend<B> runs a host backend B, but every matrix it
// takes or gives is a view tagged `foreign_memory`, which host code cannot
// index (matrix_view offers element access for host_memory only). Code that
// compiles and passes against it reaches the backend's matrices only through
// kplug::device_memory_owner (allocate, upload, download), as it must for a
// CUDA backend. Transfers are counted, so a test can see that they happen.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "kplug/backend/concepts.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/model_input.hpp"

namespace kplug::test {

struct foreign_memory {};

// An owning matrix in foreign memory (ordinary heap memory underneath).
class foreign_matrix {
 public:
  foreign_matrix(index_t rows, index_t cols) { resize(rows, cols); }
  void resize(index_t rows, index_t cols) {
    rows_ = rows;
    cols_ = cols;
    data_.assign(static_cast<std::size_t>(rows * cols), -12345.0f);  // garbage until written
  }
  index_t rows() const noexcept { return rows_; }
  index_t cols() const noexcept { return cols_; }
  matrix_view<float, foreign_memory> view() noexcept { return {data_.data(), rows_, cols_}; }

 private:
  index_t rows_ = 0, cols_ = 0;
  std::vector<float> data_;
};

template <class Backend>
class foreign_memory_backend {
 public:
  using memory_space = foreign_memory;
  template <class T>
  using view = matrix_view<T, foreign_memory>;

  explicit foreign_memory_backend(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}

  index_t hidden_size() const { return inner_->hidden_size(); }
  index_t vocab_size() const { return inner_->vocab_size(); }
  index_t output_size() const { return inner_->output_size(); }
  void embed_tokens(std::span<const token_id> ids, matrix_view<float> out) const {
    inner_->embed_tokens(ids, out);
  }

  foreign_matrix allocate(index_t rows, index_t cols) { return {rows, cols}; }
  void upload(matrix_view<const float> host, view<float> device) {
    require_shape(device, host.rows(), host.cols(), "foreign_memory_backend::upload", "device");
    for (index_t r = 0; r < host.rows(); ++r)
      std::memcpy(device.data() + r * device.row_stride(), host.row(r).data(),
                  sizeof(float) * std::size_t(host.cols()));
    ++uploads;
  }
  void download(view<const float> device, matrix_view<float> host) {
    require_shape(host, device.rows(), device.cols(), "foreign_memory_backend::download", "host");
    for (index_t r = 0; r < host.rows(); ++r)
      std::memcpy(host.row(r).data(), device.data() + r * device.row_stride(),
                  sizeof(float) * std::size_t(host.cols()));
    ++downloads;
  }

  void forward(const model_input& in, view<const float> entities, std::span<const std::int32_t> positions,
               view<float> out) {
    inner_->forward(in, on_host(entities), positions, on_host(out));
  }
  void backward(const model_input& in, view<const float> entities, std::span<const std::int32_t> positions,
                view<const float> grad_out, view<float> grad_entities) {
    inner_->backward(in, on_host(entities), positions, on_host(grad_out), on_host(grad_entities));
  }

  Backend& inner() noexcept { return *inner_; }
  std::size_t uploads = 0, downloads = 0;

 private:
  // "The device" reads its own memory: the one place the tag is dropped.
  template <class T>
  static matrix_view<T> on_host(view<T> v) {
    return {v.data(), v.rows(), v.cols(), v.row_stride()};
  }

  std::unique_ptr<Backend> inner_;
};

}  // namespace kplug::test
