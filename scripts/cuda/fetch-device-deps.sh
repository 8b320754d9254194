#!/usr/bin/env bash
# Downloads (here, where the registries are) the Debian packages that
# building kplug's CUDA tests and benchmark needs on a device machine, which
# has nvcc, PyTorch and CMake but reaches no registry: Eigen and nlohmann-json
# headers, utf8proc, GoogleTest and Google Benchmark. They land in
# .device-deps/ (ignored by git), which the device tool carries along.
#   bash scripts/cuda/fetch-device-deps.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir="$root/.device-deps"
mkdir -p "$dir"
cd "$dir"
rm -f ./*.deb
apt-get download libeigen3-dev nlohmann-json3-dev libutf8proc-dev libutf8proc2 libgtest-dev libbenchmark-dev \
  libbenchmark1debian >/dev/null
ls -l ./*.deb
