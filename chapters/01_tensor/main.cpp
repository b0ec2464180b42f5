// Chapter 01: tensors and checkpoints.
//
// Opens a Hugging Face Llama 4 checkpoint (by default the golden tiny model), lists what is in it,
// and runs one Linear layer — the query projection of layer 0 — on the golden input, checking the
// result against the golden output.
//
//   build/bin/chapter01_tensor [--model DIR] [--all]     (--help: every option)
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "common/debugging/data_paths.hpp"
#include "common/debugging/golden.hpp"
#include "common/program/command_line.hpp"
#include "common/program/run_main.hpp"
#include "common/tensors/checkpoint.hpp"
#include "common/tensors/matmul.hpp"
#include "common/tensors/safetensors.hpp"
#include "common/tensors/tensor.hpp"

using namespace llama4;

namespace {

void show_what_a_tensor_is() {
  std::cout << "1. A tensor is memory + dtype + shape + strides\n";
  const Tensor x = Tensor::from_values({2, 3}, {0, 1, 2, 3, 4, 5});
  const Tensor x_transposed = x.transpose(0, 1);
  std::cout << "   " << describe(x, "x ") << "   strides " << shape_string(x.strides()) << "\n"
            << "   " << describe(x_transposed, "xᵀ") << "   strides "
            << shape_string(x_transposed.strides()) << "  (same memory, nothing copied)\n";
  const float pi = 3.14159274f;
  const bfloat16 pi_bf16 = float_to_bfloat16(pi);
  std::printf("   bf16 keeps the top 16 bits of a float: %.8f -> %.8f (bits 0x%04x)\n\n", pi,
              bfloat16_to_float(pi_bf16), pi_bf16.bits);
}

// Lists the checkpoint: every tensor of layer 0 and the ones outside the layers; with --all, all.
void list_checkpoint(const Checkpoint& checkpoint, bool all) {
  std::cout << "2. The checkpoint " << checkpoint.location().string() << ": "
            << checkpoint.file_count() << " file(s), " << checkpoint.names().size() << " tensors, "
            << checkpoint.total_bytes() / 1024 << " KiB\n";
  int hidden = 0;
  for (const std::string& name : checkpoint.names()) {
    const bool other_layer =
        name.find(".layers.") != std::string::npos && name.find(".layers.0.") == std::string::npos;
    if (other_layer && !all) {
      ++hidden;
      continue;
    }
    const TensorEntry& entry = checkpoint.entry(name);
    // printable(): a name is text from the file, and may hold terminal escape codes.
    std::printf("   %-70s %-5s %s\n", printable(name).c_str(),
                std::string(dtype_name(entry.dtype)).c_str(), shape_string(entry.shape).c_str());
  }
  if (hidden > 0)
    std::cout << "   ... and " << hidden << " tensors of the other layers (--all lists them)\n";
  std::cout << "\n";
}

// q = x · W_qᵀ for layer 0, compared with the golden q.
bool run_one_linear(const Checkpoint& checkpoint, const std::string& prefix) {
  std::cout << "3. One Linear layer: q = x · W_qᵀ  (nn.Linear stores W as [out, in])\n";
  const SafetensorsFile golden(golden_activations_path("tiny"));
  const Tensor x = golden.tensor("full.layers.0.attn_norm");                          // x: [24, 64]
  const Tensor w_q = checkpoint.tensor(prefix + "layers.0.self_attn.q_proj.weight");  // [64, 64]
  const Tensor q = linear(x, w_q);                                                    // q: [24, 64]
  const Tensor expected = golden.tensor("full.layers.0.q");                           // [24, 4, 16]
  const Tensor expected_flat =
      expected.reshape({expected.dim(0), expected.dim(1) * expected.dim(2)});
  std::cout << "   " << describe(x, "x      ") << "\n"
            << "   " << describe(w_q, "W_q    ") << "\n"
            << "   " << describe(q, "q      ") << "\n"
            << "   " << describe(expected_flat, "golden ") << "\n";
  const Comparison result = compare(q, expected_flat, tolerance::kProjection);
  std::cout << "   match: " << summary(result, expected_flat, tolerance::kProjection) << "\n";
  return result.within_tolerance;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = golden_model_dir("tiny").string();
  bool all = false;
  CommandLine command_line(
      "Chapter 01: tensors and checkpoints. Lists a checkpoint and runs one Linear layer of the "
      "golden tiny model against the golden data.");
  command_line.add_model(model,
                         "a Hugging Face checkpoint directory (default: the golden tiny "
                         "model; the golden comparison needs that one)");
  command_line.app().add_flag("--all", all, "list the tensors of every layer, not only layer 0's");
  command_line.parse(argc, argv);

  return run_main([&] {
    std::cout << "Chapter 01: tensors and checkpoints\n\n";
    show_what_a_tensor_is();
    const Checkpoint checkpoint = Checkpoint::open(model);
    list_checkpoint(checkpoint, all);
    // Released checkpoints nest the text model under "language_model."; text-only ones do not.
    const bool nested = checkpoint.contains("language_model.model.embed_tokens.weight");
    std::error_code ignored;
    if (!std::filesystem::equivalent(model, golden_model_dir("tiny"), ignored)) {
      std::cout << "(the golden comparison uses the tiny model; skipped for " << model << ")\n";
      return 0;
    }
    return run_one_linear(checkpoint, nested ? "language_model.model." : "model.") ? 0 : 1;
  });
}
