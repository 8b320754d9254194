// The relative L2 error ||got - want|| / ||want|| used by the tests that
// compare a gradient with central differences; shared by the test programs.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

namespace kplug_test {

inline double relative_error(const std::vector<float>& got, const std::vector<double>& want) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    diff += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    norm += want[i] * want[i];
  }
  return std::sqrt(diff / norm);
}

}  // namespace kplug_test
