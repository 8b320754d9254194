// The one progress line of the long-running commands, on stderr: on a
// terminal it is redrawn in place at most once a second; in a log it is a new
// line every ten seconds. Nothing with --quiet.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <string>

namespace kplug::cli {

class progress_line {
 public:
  explicit progress_line(bool quiet) : quiet_(quiet) {}

  bool quiet() const noexcept { return quiet_; }
  bool on_terminal() const noexcept { return tty_; }

  // Whether a report is due: always when `force`, else once the interval has passed.
  bool due(bool force = false) {
    if (quiet_) return false;
    const auto now = std::chrono::steady_clock::now();
    if (!force && drawn_ && now - last_ < std::chrono::seconds(tty_ ? 1 : 10)) return false;
    last_ = now;
    return true;
  }

  // Draws the line (printf-style): redrawn in place on a terminal.
  [[gnu::format(printf, 2, 3)]] void show(const char* format, ...) {
    if (quiet_) return;
    std::fputs(tty_ ? "\r" : "", stderr);
    va_list args;
    va_start(args, format);
    std::vfprintf(stderr, format, args);
    va_end(args);
    std::fputs(tty_ ? "\033[K" : "\n", stderr);
    drawn_ = true;
  }

  // Erases a redrawn line, for a summary in its place.
  void clear() {
    if (!quiet_ && tty_ && drawn_) std::fputs("\r\033[K", stderr);
  }
  // Keeps a redrawn line and moves past it.
  void finish() {
    if (!quiet_ && tty_ && drawn_) std::fputs("\n", stderr);
  }

 private:
  bool quiet_;
  bool tty_ = ::isatty(2) == 1;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// "m:ss" for an ETA.
inline std::string format_seconds(double s) {
  char buf[32];
  const auto t = static_cast<long long>(s + 0.5);
  std::snprintf(buf, sizeof buf, "%lld:%02lld", t / 60, t % 60);
  return buf;
}

}  // namespace kplug::cli
