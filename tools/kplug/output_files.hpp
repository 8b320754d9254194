// Output files written while the input streams through: rows appended batch
// by batch, so memory stays at one batch whatever the input size. Each file
// is a library io::atomic_file (a uniquely named PATH.kplug-tmp-<pid>-<n>,
// fsynced and renamed into place by commit()): a run that fails half-way
// never leaves a valid-looking but partial file, and the previous run's files
// stay until the new ones are complete.
#pragma once

#include <kplug/core/error.hpp>
#include <kplug/core/matrix_view.hpp>
#include <kplug/io/atomic_file.hpp>
#include <kplug/io/npy.hpp>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

namespace kplug::cli {

// An output file: write(), overwrite(), commit(); errors say "write output file".
class staged_file : public io::atomic_file {
 public:
  explicit staged_file(std::string path) : io::atomic_file(std::move(path), "write output file") {}
};

// A float32 .npy matrix of `cols` columns whose row count is known only at
// the end: the header is reserved for the largest count and rewritten by
// finish() with the real one (same length: numpy pads headers with spaces).
class npy_row_writer {
 public:
  npy_row_writer(std::string path, index_t cols)
      : file_(std::move(path)),
        cols_(cols),
        header_size_(io::npy_header_bytes(io::dtype::f32, {largest_rows, cols}).size()) {
    file_.write(std::string(header_size_, ' '));
  }

  index_t rows() const noexcept { return rows_; }

  void append(matrix_view<const float> m) {
    require_shape(m, m.rows(), cols_, "append rows to .npy output", file_.path().c_str());
    for (index_t r = 0; r < m.rows(); ++r)
      file_.write(m.row(r).data(), static_cast<std::size_t>(cols_) * sizeof(float));
    rows_ += m.rows();
  }

  void finish() {
    file_.overwrite(0, header_for(rows_));
    file_.commit();
  }

 private:
  static constexpr index_t largest_rows = std::numeric_limits<index_t>::max();

  // The header of a rows x cols float32 array, padded to the reserved size.
  std::string header_for(index_t rows) const {
    std::string h = io::npy_header_bytes(io::dtype::f32, {rows, cols_});
    // Fewer digits can only make it shorter; pad the dict (before its final
    // '\n') and fix the version 1.0 header length, a u16 at byte 8.
    if (h.size() < header_size_) {
      h.insert(h.size() - 1, header_size_ - h.size(), ' ');
      const std::size_t length = h.size() - 10;
      h[8] = static_cast<char>(length & 0xff);
      h[9] = static_cast<char>(length >> 8);
    }
    return h;
  }

  staged_file file_;
  index_t cols_;
  std::size_t header_size_;
  index_t rows_ = 0;
};

}  // namespace kplug::cli
