// kplug — plug-and-play knowledge injection into frozen transformer encoders.
// The one source of the version: CMake parses these three lines.
#pragma once

#define KPLUG_VERSION_MAJOR 0
#define KPLUG_VERSION_MINOR 1
#define KPLUG_VERSION_PATCH 0

namespace kplug {
inline constexpr int version_major = KPLUG_VERSION_MAJOR;
inline constexpr int version_minor = KPLUG_VERSION_MINOR;
inline constexpr int version_patch = KPLUG_VERSION_PATCH;
}  // namespace kplug
