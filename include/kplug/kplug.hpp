// kplug umbrella header: the whole header-only core. Never pulls in CUDA;
// the CUDA backend is opted into by including kplug/backend/cuda/*.cuh.
#pragma once

#include "kplug/version.hpp"

#include "kplug/core/error.hpp"
#include "kplug/core/matrix_view.hpp"
#include "kplug/core/eigen.hpp"
#include "kplug/core/types.hpp"

#include "kplug/io/mapped_file.hpp"
#include "kplug/io/text_lines.hpp"

#include "kplug/backend/concepts.hpp"
