#include "common/debugging/golden.hpp"

#include <cmath>
#include <sstream>

#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

// The multi-dimensional index of a flat row-major position, as "[7, 12]".
std::string index_string(const Shape& shape, std::int64_t position) {
  Shape index(shape.size());
  for (std::size_t axis = shape.size(); axis-- > 0;) {
    index[axis] = position % shape[axis];
    position /= shape[axis];
  }
  return shape_string(index);
}

}  // namespace

void check_tolerance(const Tolerance& tolerance) {
  const auto valid = [](double bound) { return std::isfinite(bound) && bound >= 0; };
  if (!valid(tolerance.absolute) || !valid(tolerance.relative)) {
    fail("a tolerance must be a finite number >= 0, got ", tolerance.absolute, " + ",
         tolerance.relative, "·|golden|");
  }
}

Comparison compare(const Tensor& ours, const Tensor& golden, Tolerance tolerance) {
  check_tolerance(tolerance);
  Comparison result;
  if (ours.shape() != golden.shape()) {
    result.within_tolerance = false;
    result.problem = "shape " + shape_string(ours.shape()) + " differs from golden " +
                     shape_string(golden.shape());
    return result;
  }
  // The worst element is the one that uses up most of its allowed error. Any NaN is an error.
  double worst_ratio = -1.0;
  for (std::int64_t i = 0; i < golden.numel(); ++i) {
    const float a = ours.flat(i);
    const float b = golden.flat(i);
    const bool nan = std::isnan(a) || std::isnan(b);
    const double error = std::fabs(static_cast<double>(a) - static_cast<double>(b));
    const double bound =
        tolerance.absolute + tolerance.relative * std::fabs(static_cast<double>(b));
    if (nan || error > bound) ++result.elements_outside;
    if (nan && result.problem.empty()) result.problem = "NaN at " + index_string(golden.shape(), i);
    if (!nan && error > result.max_abs_error) result.max_abs_error = error;
    const double ratio =
        nan || (bound == 0 && error > 0) ? INFINITY : (bound > 0 ? error / bound : 0);
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      result.worst_index = i;
      result.ours_at_worst = a;
      result.golden_at_worst = b;
    }
  }
  result.within_tolerance = result.elements_outside == 0 && result.problem.empty();
  return result;
}

std::string summary(const Comparison& comparison, const Tensor& golden, Tolerance tolerance) {
  std::ostringstream line;
  line.precision(3);
  if (!comparison.problem.empty() && comparison.elements_outside == 0) {
    line << comparison.problem;
    return line.str();
  }
  const auto bound_text = [&] {
    std::ostringstream bound;
    bound.precision(2);
    bound << tolerance.absolute << " + " << tolerance.relative << "·|golden|";
    return bound.str();
  };
  if (comparison.within_tolerance) {
    line << "max |Δ| " << comparison.max_abs_error << ", within " << bound_text() << " ✓";
    return line.str();
  }
  line << comparison.elements_outside << " of " << golden.numel() << " elements outside "
       << bound_text() << "; worst at " << index_string(golden.shape(), comparison.worst_index)
       << ": ours " << comparison.ours_at_worst << ", golden " << comparison.golden_at_worst;
  if (!comparison.problem.empty()) line << " (" << comparison.problem << ")";
  return line.str();
}

}  // namespace llama4
