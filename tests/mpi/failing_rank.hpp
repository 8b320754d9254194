// The failing-rank job (failing_rank.cpp), reached through test_mpi's main:
// one program for both MPI suites, so the tuner is compiled once.
#pragma once

#include <string_view>

namespace kplug_test {

// Whether test_mpi's first argument names a failing-rank mode (die, throw, verify).
bool is_failing_rank_mode(std::string_view word);
// `test_mpi die|throw|verify DIR`; see failing_rank.cpp.
int failing_rank_main(int argc, char** argv);

}  // namespace kplug_test
