// chapter08_compare: where do two runs part?
//
//   build/bin/chapter08_compare A.safetensors B.safetensors [--case-a NAME] [--case-b NAME]
//                               [--tolerance T]
//
// A and B are activation dumps (chapter08_model --dump-activations) or golden activation files
// (golden/data/activations-*.safetensors, whose names start with a case such as "full."; pick it
// with --case-a / --case-b). The stages both files hold are compared in the order the forward pass
// computes them; the first one that differs beyond its tolerance is named with the size of the
// difference. Exit status: 0 if they agree, 1 if they part, 2 for a bad command line or file.
#include <iostream>
#include <optional>
#include <string>

#include "common/debugging/activation_dump.hpp"
#include "common/program/command_line.hpp"
#include "common/program/run_main.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/safetensors.hpp"

using namespace llama4;

namespace {

std::string with_dot(const std::string& case_name) {
  return case_name.empty() ? "" : case_name + ".";
}

}  // namespace

int main(int argc, char** argv) {
  std::string paths[2], cases[2];
  std::optional<double> tolerance;
  CommandLine command_line(
      "chapter08_compare: where do two runs part? Compares the stages two activation files both "
      "hold, in the order the forward pass computes them, and names the first that differs. Exit "
      "status 0 if they agree, 1 if they part.");
  CLI::App& app = command_line.app();
  app.add_option("A", paths[0], "an activation dump (--dump-activations) or a golden file")
      ->required();
  app.add_option("B", paths[1], "the other one")->required();
  app.add_option("--case-a", cases[0], "the case in A's names, for a golden file (e.g. full)")
      ->option_text("NAME");
  app.add_option("--case-b", cases[1], "the case in B's names")->option_text("NAME");
  app.add_option("--tolerance", tolerance,
                 "one |Δ| bound for every stage, absolute and relative (default: each stage's own, "
                 "golden/README.md)")
      ->option_text("T")
      ->check(number_in(0, 1e30));
  command_line.parse(argc, argv);

  return run_main(
      [&] {
        const SafetensorsFile a(paths[0]), b(paths[1]);
        const std::int64_t layers = std::max(dump_layer_count(a, with_dot(cases[0])),
                                             dump_layer_count(b, with_dot(cases[1])));
        const Divergence divergence = first_divergence(
            a, with_dot(cases[0]), b, with_dot(cases[1]), layers,
            tolerance ? std::optional<Tolerance>(Tolerance{*tolerance, *tolerance}) : std::nullopt);
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
