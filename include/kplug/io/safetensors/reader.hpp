// safetensors reader: a memory-mapped, zero-copy view of a file whose header
// passed the checks of io/safetensors/format.hpp (listed there).
//
// Reading maps the file and parses only the header: a multi-GB checkpoint opens
// in one mmap call and tensor bytes are paged in when touched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/detail/half.hpp"
#include "kplug/io/dtype.hpp"
#include "kplug/io/mapped_file.hpp"
#include "kplug/io/safetensors/format.hpp"

namespace kplug::io {

// A read-only view of one tensor inside a file. Valid as long as the
// safetensors_file it came from (or the one that file was moved into) lives.
class tensor_view {
 public:
  tensor_view(const tensor_info& info, const std::byte* data, std::string_view source) noexcept
      : info_(&info), data_(data), source_(source) {}

  const std::string& name() const noexcept { return info_->name; }
  io::dtype dtype() const noexcept { return info_->dtype; }
  std::span<const index_t> shape() const noexcept { return info_->shape; }
  std::size_t ndim() const noexcept { return info_->shape.size(); }
  std::uint64_t element_count() const noexcept { return info_->element_count; }
  // The raw little-endian bytes (never copied; may be unaligned in files from
  // writers that do not align, such as old safetensors versions).
  std::span<const std::byte> bytes() const noexcept {
    return {data_, static_cast<std::size_t>(info_->end - info_->begin)};
  }
  // The file the tensor lives in (for messages).
  std::string_view source() const noexcept { return source_; }

  // All elements as T, without a copy. Throws unless dtype() is T's dtype and
  // the data is aligned for T (always so in files kplug or the current
  // reference writes; use to_float32() for others).
  template <dtype_element T>
  std::span<const T> values() const;
  // The tensor as a rows x cols matrix without a copy: 2-D, T's dtype, aligned.
  template <dtype_element T = float>
  matrix_view<const T> as_matrix() const;

  // Every element converted to float32 (F32 copied, F16/BF16 widened exactly,
  // F64 rounded to nearest). Other dtypes throw. `out` must hold
  // element_count() floats; any alignment is fine.
  void to_float32(std::span<float> out) const;
  std::vector<float> to_float32() const;
  // The same for a 2-D tensor, as an owned rows x cols matrix.
  matrix<float> to_float32_matrix() const;

 private:
  [[noreturn]] void fail(const char* what, const std::string& why) const;

  const tensor_info* info_;
  const std::byte* data_;
  std::string_view source_;
};

// A memory-mapped safetensors file. Move-only.
class safetensors_file {
 public:
  safetensors_file() = default;
  // Maps `path` and validates its header (see the top of this file).
  explicit safetensors_file(std::string path);

  const std::string& path() const noexcept { return state().file.path(); }
  const safetensors_header& header() const noexcept { return state().header; }
  const safetensors_metadata& metadata() const noexcept { return state().header.metadata; }
  // Number of tensors.
  std::size_t size() const noexcept { return state().header.tensors.size(); }
  // Tensor entries, sorted by name.
  std::span<const tensor_info> tensors() const noexcept { return state().header.tensors; }
  // Tensor names, sorted.
  std::vector<std::string_view> names() const;
  bool contains(std::string_view name) const noexcept { return find_info(name) != nullptr; }

  // The tensor `name`; throws naming the file and the tensor if it is absent.
  tensor_view tensor(std::string_view name) const;
  std::optional<tensor_view> find(std::string_view name) const noexcept;

  // The whole mapped file.
  std::span<const std::byte> file_bytes() const noexcept { return state().file.bytes(); }

 private:
  struct file_state {
    mapped_file file;
    safetensors_header header;
  };
  const file_state& state() const noexcept {
    static const file_state empty{};
    return state_ ? *state_ : empty;
  }
  const tensor_info* find_info(std::string_view name) const noexcept;
  tensor_view view_of(const tensor_info& info) const noexcept;

  // Heap-held so that views (which point at entries and the path) survive a
  // move of the file object.
  std::unique_ptr<const file_state> state_;
};

inline safetensors_file open_safetensors(std::string path) { return safetensors_file(std::move(path)); }

// ---------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------- tensor_view

inline void tensor_view::fail(const char* what, const std::string& why) const {
  throw error(what, detail::at_tensor(source_, info_->name), why);
}

template <dtype_element T>
std::span<const T> tensor_view::values() const {
  constexpr io::dtype wanted = dtype_of<std::remove_const_t<T>>::value;
  if (dtype() != wanted)
    fail("view tensor values",
         "the tensor holds " + std::string(safetensors_dtype_name(dtype())) + ", not " + std::string(safetensors_dtype_name(wanted)));
  if (reinterpret_cast<std::uintptr_t>(data_) % alignof(T) != 0)
    fail("view tensor values", "the data is not aligned to " + std::to_string(alignof(T)) +
                                   " bytes in the file (written without alignment); use to_float32() to copy it");
  return {reinterpret_cast<const T*>(data_), static_cast<std::size_t>(element_count())};
}

template <dtype_element T>
matrix_view<const T> tensor_view::as_matrix() const {
  if (ndim() != 2)
    fail("view tensor as a matrix", "expected a 2-D tensor, got shape " + detail::shape_text(shape()));
  const std::span<const T> v = values<T>();
  return {v.data(), shape()[0], shape()[1]};
}

inline void tensor_view::to_float32(std::span<float> out) const {
  constexpr const char* what = "convert tensor to float32";
  const auto n = static_cast<std::size_t>(element_count());
  if (out.size() != n)
    fail(what, "the output holds " + std::to_string(out.size()) + " floats, the tensor " + std::to_string(n));
  const std::byte* p = data_;
  switch (dtype()) {
    case io::dtype::f32:
      if (n != 0) std::memcpy(out.data(), p, n * 4);
      return;
    case io::dtype::f16: {
      // Convert through an aligned buffer: the file's data may be unaligned.
      std::uint16_t buf[1024];
      for (std::size_t i = 0; i < n; i += 1024) {
        const std::size_t k = std::min<std::size_t>(1024, n - i);
        std::memcpy(buf, p + 2 * i, 2 * k);
        kplug::detail::half_to_float_row(buf, out.data() + i, k);
      }
      return;
    }
    case io::dtype::bf16:
      // bfloat16 is the top half of a binary32: widening is exact.
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t h = 0;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
      }
      return;
    case io::dtype::f64:
      for (std::size_t i = 0; i < n; ++i) {
        double d = 0;
        std::memcpy(&d, p + 8 * i, 8);
        out[i] = static_cast<float>(d);
      }
      return;
    default:
      fail(what, "dtype " + std::string(safetensors_dtype_name(dtype())) + " is not a floating-point type (F32, F16, BF16, F64)");
  }
}

inline std::vector<float> tensor_view::to_float32() const {
  std::vector<float> out(static_cast<std::size_t>(element_count()));
  to_float32(out);
  return out;
}

inline matrix<float> tensor_view::to_float32_matrix() const {
  if (ndim() != 2)
    fail("convert tensor to a float32 matrix", "expected a 2-D tensor, got shape " + detail::shape_text(shape()));
  matrix<float> m(shape()[0], shape()[1]);
  to_float32(std::span<float>(m.data(), static_cast<std::size_t>(element_count())));
  return m;
}

// ---------------------------------------------------------------- safetensors_file

inline safetensors_file::safetensors_file(std::string path) {
  mapped_file file(std::move(path));
  safetensors_header header = parse_safetensors_header(file.bytes(), file.path());
  state_ = std::make_unique<const file_state>(file_state{std::move(file), std::move(header)});
}

inline std::vector<std::string_view> safetensors_file::names() const {
  std::vector<std::string_view> out;
  out.reserve(size());
  for (const auto& t : tensors()) out.emplace_back(t.name);
  return out;
}

inline const tensor_info* safetensors_file::find_info(std::string_view name) const noexcept {
  const auto ts = tensors();
  const auto it = std::lower_bound(ts.begin(), ts.end(), name,
                                   [](const tensor_info& t, std::string_view n) { return t.name < n; });
  return it != ts.end() && it->name == name ? &*it : nullptr;
}

inline tensor_view safetensors_file::view_of(const tensor_info& info) const noexcept {
  const std::byte* base = state().file.data();
  // An empty tensor at the end of an empty data buffer may point one past the map.
  const std::byte* p = base == nullptr ? nullptr : base + header().data_offset + info.begin;
  return tensor_view(info, p, path());
}

inline std::optional<tensor_view> safetensors_file::find(std::string_view name) const noexcept {
  const tensor_info* info = find_info(name);
  if (info == nullptr) return std::nullopt;
  return view_of(*info);
}

inline tensor_view safetensors_file::tensor(std::string_view name) const {
  if (const tensor_info* info = find_info(name)) return view_of(*info);
  std::string have;
  std::size_t shown = 0;
  for (const auto& t : tensors()) {
    if (shown == 8) {
      have += ", ...";
      break;
    }
    have += (shown++ ? ", '" : "'") + t.name + "'";
  }
  throw error("look up tensor", detail::at_tensor(path(), name),
              "the file has no such tensor (it holds " + std::to_string(size()) + ": " +
                  (have.empty() ? std::string("none") : have) + ")");
}

}  // namespace kplug::io
