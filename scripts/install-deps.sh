#!/usr/bin/env bash
# Installs what building and testing kplug needs on Debian 12, plus any
# Debian packages named as arguments, and nothing that is already there.
# Safe to run any number of times.
#   bash scripts/install-deps.sh [PACKAGE...]
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config git unzip python3-pip
  libeigen3-dev libxtensor-dev nlohmann-json3-dev libutf8proc-dev
  libxxhash-dev xxhash  # XXH64 compiled inline from xxhash.h; the tests compare with xxhsum
  libcli11-dev  # the kplug tool's command-line parser (header-only)
  clang  # checks that each header compiles on its own (tests/header_check.cmake)
  libgtest-dev libgmock-dev libbenchmark-dev doctest-dev
  wordnet-base wordnet-sense-index  # the WordNet tests read the real files
  libopenmpi-dev openmpi-bin  # data-parallel map-tuning (kplug::mpi); its tests run mpirun
  qemu-user  # the tool run on emulated CPUs without AVX-512 or AVX (kernels chosen at run time)
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
