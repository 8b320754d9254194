#!/usr/bin/env bash
# The sanitizer builds of the test suite, each in its own build directory
# (Debug at -O1; no CUDA, MPI, benchmarks or examples):
#   build-asan: AddressSanitizer + UndefinedBehaviorSanitizer, any error fatal;
#   build-tsan: ThreadSanitizer, over the concurrency tests and the thread pool.
# Run by .ci/run after scripts/test.sh (which installs the dependencies).
#
#   bash scripts/test-sanitizers.sh            # CI's subset: parsers and core
#   KPLUG_SANITIZE_ALL=1 bash scripts/test-sanitizers.sh   # every test program
#
# The subset is what CI's time allows; the full run adds the mapping
# networks, training, the encoder, WordNet and the command-line tool.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=${KPLUG_JOBS:-$(nproc)}

# The readers of outside data (.npy, entity maps, word2vec, alias TSVs,
# vocab.txt, safetensors and plugin files) and the core they use. The
# mapping networks, training, encoder and WordNet tests are numeric or slow
# to build under ASan; the full run covers them.
asan_tests=(test_core test_io test_kb test_link test_text test_splice test_plugin)
tsan_tests=(test_concurrency)
tools=OFF
if [[ ${KPLUG_SANITIZE_ALL:-0} == 1 ]]; then
  asan_tests=(all)
  tsan_tests=(test_concurrency test_bert)
  tools=ON
fi

# configure DIR FLAGS: a Debug build with FLAGS on the test programs, file
# by file (KPLUG_UNITY_BUILD=OFF), so that a test file that would compile only
# next to another in the unity build of scripts/test.sh is caught here. GCC 12
# warns "may be used uninitialized" inside libstdc++'s <regex> once the
# sanitizers instrument it: a false positive that -Werror would make fatal.
configure() {
  cmake -S "$root" -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1 -Wno-maybe-uninitialized $2" \
    -DCMAKE_EXE_LINKER_FLAGS="$2" -DKPLUG_ENABLE_CUDA=OFF -DKPLUG_ENABLE_MPI=OFF \
    -DKPLUG_BUILD_BENCHMARKS=OFF -DKPLUG_BUILD_EXAMPLES=OFF -DKPLUG_BUILD_TOOLS=$tools \
    -DKPLUG_INSTALL=OFF -DKPLUG_UNITY_BUILD=OFF >/dev/null
}

# run_tests DIR TARGET...: builds the targets and runs their tests.
run_tests() {
  local dir=$1
  shift
  cmake --build "$dir" -j "$jobs" --target "$@"
  local labels=()
  for t in "$@"; do [[ $t == all ]] || labels+=("${t#test_}"); done
  local filter=()
  if ((${#labels[@]})); then filter=(-L "^($(IFS='|'; echo "${labels[*]}"))\$"); fi
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" "${filter[@]}"
}

# halt_on_error: the first report fails the test (UBSan too, with
# -fno-sanitize-recover); stacks are symbolised for the log.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

configure "$root/build-asan" "-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
run_tests "$root/build-asan" "${asan_tests[@]}"

configure "$root/build-tsan" "-fsanitize=thread"
run_tests "$root/build-tsan" "${tsan_tests[@]}"
