// The subcommands of the kplug tool. Each takes the arguments after its name
// and returns the exit status; it throws usage_error for a bad command line
// and kplug::error (or another exception) when the work itself fails.
#pragma once

#include <span>

namespace kplug::cli {

int run_encode(std::span<char* const> args);
int run_eval(std::span<char* const> args);
int run_tune(std::span<char* const> args);
int run_train_head(std::span<char* const> args);
int run_export(std::span<char* const> args);

}  // namespace kplug::cli
