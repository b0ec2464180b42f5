// chapter08_compare: where do two runs part?
//
//   build/bin/chapter08_compare A.safetensors B.safetensors [--case-a NAME] [--case-b NAME]
//   [--tolerance T]
//
// A and B are activation dumps (chapter08_model --dump-activations) or golden activation files
// (golden/data/activations-*.safetensors, whose names start with a case such as "full."; pick it
// with
// --case-a / --case-b). The stages both files hold are compared in the order the forward pass
// computes them; the first one that differs beyond its tolerance is named with the size of the
// difference. Exit status: 0 if they agree, 1 if they part, 2 for bad usage.
#include <charconv>
#include <cmath>
#include <cstring>
#include <iostream>
#include <string>

#include "common/debugging/activation_dump.hpp"
#include "common/program/run_main.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/safetensors.hpp"

using namespace llama4;

namespace {

// The whole text as a number ("1e-4"), or NaN if it is not one; compare() refuses a NaN bound.
double parse_tolerance(const std::string& text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() ? value : NAN;
}

std::string with_dot(const std::string& case_name) {
  return case_name.empty() ? "" : case_name + ".";
}

}  // namespace

int main(int argc, char** argv) {
  std::string paths[2], cases[2];
  std::optional<Tolerance> tolerance;
  int path_count = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if ((flag == "--case-a" || flag == "--case-b") && i + 1 < argc) {
      cases[flag == "--case-a" ? 0 : 1] = argv[++i];
    } else if (flag == "--tolerance" && i + 1 < argc) {
      const double t = parse_tolerance(argv[++i]);
      tolerance = Tolerance{t, t};
    } else if (!flag.starts_with("--") && path_count < 2) {
      paths[path_count++] = flag;
    } else {
      std::cerr << "usage: " << argv[0]
                << " A.safetensors B.safetensors [--case-a NAME] [--case-b NAME] [--tolerance T]\n";
      return 2;
    }
  }
  if (path_count != 2) {
    std::cerr << "usage: " << argv[0]
              << " A.safetensors B.safetensors [--case-a NAME] [--case-b NAME] [--tolerance T]\n";
    return 2;
  }
  return run_main(
      [&] {
        const SafetensorsFile a(paths[0]), b(paths[1]);
        const std::int64_t layers = std::max(dump_layer_count(a, with_dot(cases[0])),
                                             dump_layer_count(b, with_dot(cases[1])));
        const Divergence divergence =
            first_divergence(a, with_dot(cases[0]), b, with_dot(cases[1]), layers, tolerance);
        if (divergence.stages_compared == 0) {
          std::cout << "no stage is in both files (wrong --case?)\n";
          return 1;
        }
        if (!divergence.found) {
          std::cout << "all " << divergence.stages_compared << " stages both files hold agree\n";
          return 0;
        }
        std::cout << "first difference at " << divergence.stage;
        if (divergence.layer >= 0) std::cout << " (layer " << divergence.layer << ")";
        std::cout << ", after " << divergence.stages_compared - 1 << " agreeing stages:\n  "
                  << divergence.detail << "\n";
        return 1;
      },
      /*error_status=*/2);
}
