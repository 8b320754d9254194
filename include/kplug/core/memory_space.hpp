// Where the memory behind a view lives. A memory space is an empty tag type;
// matrix_view carries it as its second parameter, so that host code cannot
// read a device view by accident: host_memory views convert to Eigen and
// index on the host, views of any other space only pass through to the
// backend that owns them (see backend/memory.hpp for moving data across).
#pragma once

#include <concepts>
#include <type_traits>

namespace kplug {

// Ordinary process memory, readable by host code. The default of every view.
struct host_memory {};

// A memory-space tag: an empty, default-constructible type naming where data lives.
template <class S>
concept memory_space = std::is_empty_v<S> && std::default_initializable<S>;

template <memory_space S>
inline constexpr bool is_host_memory_v = std::same_as<S, host_memory>;

}  // namespace kplug
