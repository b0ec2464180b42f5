#include "tests/chapter11/training_test_support.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>

#include "common/debugging/data_paths.hpp"
#include "common/debugging/golden.hpp"

namespace llama4::testing {

const SafetensorsFile& golden_gradients(const char* model_name) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<SafetensorsFile>> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[model_name];
  if (!slot) {
    slot = std::make_unique<SafetensorsFile>(
        golden_data_dir() / ("gradients-" + std::string(model_name) + ".safetensors"));
  }
  return *slot;
}

TrainableModel golden_trainable_model(const GoldenModel& golden) {
  TrainableModel model(golden.config);
  model.load_weights(golden.checkpoint);
  return model;
}

::testing::AssertionResult matches_gradient(const Tensor& ours, const Tensor& golden) {
  double largest = 0.0;
  for (std::int64_t i = 0; i < golden.numel(); ++i) {
    largest = std::max(largest, std::abs(static_cast<double>(golden.flat(i))));
  }
  const Tolerance tolerance{2e-5 * largest, 2e-5};
  const Comparison comparison = compare(ours, golden, tolerance);
  if (comparison.within_tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << summary(comparison, golden, tolerance);
}

Tensor first_rows(const Tensor& golden, std::int64_t rows) {
  return golden.slice(0, 0, rows).clone();
}

}  // namespace llama4::testing
