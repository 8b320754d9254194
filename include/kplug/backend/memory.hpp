// The small matrices that cross the backend boundary (mapped entity rows,
// outputs at the requested rows, their gradients) for generic code that
// fills or reads them on the host: a mirrored_matrix<B> is one host buffer
// on a host backend, where upload() and download() do nothing, and a host
// buffer plus one in the backend's memory otherwise (device_memory_owner).
//
//   mirrored_matrix<B> m;
//   m.resize(backend, rows, cols);
//   fill(m.host());  m.upload(backend);           // host -> backend
//   backend.forward(in, m.device(), ...);          // the backend's view
//   m.download(backend);  read(m.host());          // backend -> host
#pragma once

#include <optional>
#include <type_traits>
#include <utility>

#include "kplug/backend/concepts.hpp"
#include "kplug/core/matrix_view.hpp"

namespace kplug {

namespace detail {
template <class B, bool Host = is_host_memory_v<memory_space_of<B>>>
struct device_storage {
  using type = std::remove_cvref_t<decltype(std::declval<B&>().allocate(index_t{}, index_t{}))>;
};
struct no_device_storage {};
template <class B>
struct device_storage<B, true> {
  using type = no_device_storage;
};
}  // namespace detail

template <model_backend B>
class mirrored_matrix {
 public:
  static constexpr bool on_host = is_host_memory_v<memory_space_of<B>>;

  mirrored_matrix() = default;

  // Both copies become rows x cols (contents unspecified).
  void resize(B& backend, index_t rows, index_t cols) {
    host_.resize(rows, cols);
    if constexpr (!on_host) {
      if (device_)
        device_->resize(rows, cols);
      else
        device_.emplace(backend.allocate(rows, cols));
    }
  }

  index_t rows() const noexcept { return host_.rows(); }
  index_t cols() const noexcept { return host_.cols(); }

  matrix_view<float> host() noexcept { return host_.view(); }
  matrix_view<const float> host() const noexcept { return host_.view(); }

  // The backend's copy; on a host backend the same memory as host().
  backend_view<B, float> device() noexcept {
    if constexpr (on_host)
      return host_.view();
    else
      return device_->view();
  }

  void upload(B& backend) {
    if constexpr (!on_host) backend.upload(host_.view(), device_->view());
  }
  void download(B& backend) {
    if constexpr (!on_host) backend.download(backend_view<B, const float>(device_->view()), host_.view());
  }

 private:
  matrix<float> host_;
  std::optional<typename detail::device_storage<B>::type> device_;
};

}  // namespace kplug
