// File access shared by the WordNet readers and writers: where WordNet lives,
// reading a file with an error that names the Debian package to install,
// decoding its bytes to UTF-8, and writing outputs atomically.
#pragma once

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "kplug/core/error.hpp"
#include "kplug/io/atomic_file.hpp"
#include "kplug/text/utf8.hpp"

namespace kplug::wordnet {

// Where Debian's wordnet-base package installs the WordNet 3.0 database.
inline constexpr const char* default_directory = "/usr/share/wordnet";

// The contents of `dir`/`name`. A missing directory or file is a kplug::error
// saying to install the Debian package `package` (wordnet-base for the data
// files, wordnet-sense-index for index.sense).
inline std::string read_wordnet_file(const std::string& dir, std::string_view name, std::string_view package);

// WordNet's files are ASCII, but copies edited elsewhere carry Latin-1 bytes:
// every well-formed UTF-8 sequence is kept, every other byte is read as a
// Latin-1 character and written as UTF-8. Pure ASCII is returned unchanged.
inline std::string to_utf8(std::string_view bytes);

// Outputs are written with io::write_file_atomically (io/atomic_file.hpp), so
// an interrupted run leaves either the old file or the complete new one.
using io::write_file_atomically;

// ---------------------------------------------------------------------------
// Implementation

inline std::string read_wordnet_file(const std::string& dir, std::string_view name, std::string_view package) {
  namespace fs = std::filesystem;
  const std::string path = (fs::path(dir) / std::string(name)).string();
  const std::string install = "install the Debian package " + std::string(package) + " (apt-get install " +
                              std::string(package) + ") or pass the WordNet 3.0 directory";
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw error("read WordNet", at_file(dir), "no such directory; " + install);
  if (!fs::is_regular_file(path, ec)) throw error("read WordNet", at_file(path), "no such file; " + install);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw error("read WordNet", at_file(path), std::string("cannot open: ") + std::strerror(errno));
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw error("read WordNet", at_file(path), "read failed");
  return bytes;
}

inline std::string to_utf8(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size() && static_cast<unsigned char>(bytes[i]) < 0x80) ++i;
  if (i == bytes.size()) return std::string(bytes);
  std::string out(bytes.substr(0, i));
  while (i < bytes.size()) {
    const text::utf8_char c = text::decode_utf8(bytes, i);
    if (c.defect == nullptr) {
      out.append(bytes.substr(i, c.length));
      i += c.length;
    } else {  // one byte, read as Latin-1
      text::append_utf8(static_cast<char32_t>(static_cast<unsigned char>(bytes[i])), out);
      ++i;
    }
  }
  return out;
}

}  // namespace kplug::wordnet
