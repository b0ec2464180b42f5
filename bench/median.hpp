// The median of a list of timings, for the plain (non-Google-Benchmark) programs of bench/.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace llama4 {

// The median of `values` (taken by value: it sorts its copy); the mean of the middle two for an
// even count.
inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

}  // namespace llama4
