// Chapter 03: token embedding.
//
// Turns the 24 token ids of the golden `full` case into 24 vectors by copying rows of the embedding
// table, shows that equal ids give equal rows (the embedding knows nothing about position), checks
// the result against the golden embedding bit for bit, and shows the error an out-of-range id
// gives.
//
//   build/bin/chapter03_embedding [--model DIR]     (--help: every option)
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "common/debugging/data_paths.hpp"
#include "common/debugging/golden.hpp"
#include "common/layers/embedding.hpp"
#include "common/program/command_line.hpp"
#include "common/program/run_main.hpp"
#include "common/tensors/checkpoint.hpp"
#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/safetensors.hpp"
#include "common/tensors/tensor.hpp"

using namespace llama4;

namespace {

// The golden token ids, an I32 tensor, as a vector.
std::vector<std::int32_t> token_ids(const Tensor& tokens) {
  const std::int32_t* ids = tokens.data<std::int32_t>();
  return std::vector<std::int32_t>(ids, ids + tokens.numel());
}

void print_ids(const std::vector<std::int32_t>& ids) {
  std::cout << "   ids [" << ids.size() << "]:";
  for (std::int32_t id : ids) std::cout << " " << id;
  std::cout << "\n";
}

// Row t of x is row ids[t] of the table: show the first rows side by side with their table rows.
void show_rows(const std::vector<std::int32_t>& ids, const Tensor& table, const Tensor& x) {
  for (std::int64_t t = 0; t < 3; ++t) {
    const std::int32_t id = ids[static_cast<std::size_t>(t)];
    char x_label[32], table_label[32];
    std::snprintf(x_label, sizeof x_label, "x[%lld]", static_cast<long long>(t));
    std::snprintf(table_label, sizeof table_label, "table[%d]", id);
    std::printf("   %-11s %s\n", x_label, describe(x.select(t), "", 5).c_str());
    std::printf("   %-11s %s\n", table_label, describe(table.select(id), "", 5).c_str());
  }
}

// The same id at two positions gives two identical rows: order is added later, by RoPE (chapter
// 05).
void show_repeated_token(const std::vector<std::int32_t>& ids, const Tensor& x) {
  for (std::size_t a = 0; a < ids.size(); ++a) {
    for (std::size_t b = a + 1; b < ids.size(); ++b) {
      if (ids[a] != ids[b]) continue;
      const Tensor row_a = x.select(static_cast<std::int64_t>(a));
      const Tensor row_b = x.select(static_cast<std::int64_t>(b));
      const bool same = std::memcmp(row_a.raw_data(), row_b.raw_data(), row_a.nbytes()) == 0;
      std::printf("   token %d sits at positions %zu and %zu: rows %s\n", ids[a], a, b,
                  same ? "identical (no position information yet)" : "DIFFER");
      return;
    }
  }
}

// An id outside [0, V) is a clear error, not a read past the end of the table.
void show_out_of_range_error(const Tensor& table) {
  const std::vector<std::int32_t> bad = {5, static_cast<std::int32_t>(table.dim(0))};
  try {
    embed_tokens(bad, table);
    std::cout << "   no error?!\n";
  } catch (const Error& error) {
    std::cout << "   embed_tokens({5, " << table.dim(0) << "}) -> error: " << error.what() << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = golden_model_dir("tiny").string();
  CommandLine command_line(
      "Chapter 03: token embedding. Embeds the 24 golden tokens by copying rows of the table and "
      "checks them against the golden embedding.");
  command_line.add_model(model,
                         "a Hugging Face checkpoint directory (default: the golden tiny "
                         "model; the golden comparison needs that one)");
  command_line.parse(argc, argv);

  return run_main([&] {
    std::cout << "Chapter 03: token embedding\n\n";
    const Checkpoint checkpoint = Checkpoint::open(model);
    const WeightNames names(checkpoint);
    const Tensor table = checkpoint.tensor(names.embedding());  // table: [V, H], bf16
    const std::int64_t vocab = table.dim(0), hidden = table.dim(1);
    std::printf("1. The table: %s\n", names.embedding().c_str());
    std::cout << "   " << describe(table, "table") << "\n";
    std::printf("   %lld rows (one per token id) of %lld numbers: %lld bytes per row in %s\n",
                static_cast<long long>(vocab), static_cast<long long>(hidden),
                static_cast<long long>(table.nbytes() / static_cast<std::size_t>(vocab)),
                std::string(dtype_name(table.dtype())).c_str());
    std::cout << "   (Scout: [202048, 5120] bf16, 2.07 GB, 10240 bytes per row; a token reads one "
                 "row)\n\n";

    std::cout << "2. Embed the 24 tokens of the golden `full` case: x[t] = table[ids[t]]\n";
    const SafetensorsFile golden(golden_activations_path("tiny"));
    const std::vector<std::int32_t> ids = token_ids(golden.tensor("full.tokens"));  // [24]
    print_ids(ids);
    const Tensor x = embed_tokens(ids, table);  // x: [24, H], f32
    std::cout << "   " << describe(x, "x") << "\n";
    show_rows(ids, table, x);
    show_repeated_token(ids, x);
    std::cout << "\n";

    std::cout << "3. An id outside the vocabulary\n";
    show_out_of_range_error(table);
    std::cout << "\n";

    if (!std::filesystem::equivalent(model, golden_model_dir("tiny"))) {
      std::cout << "(the golden comparison uses the tiny model; skipped for " << model << ")\n";
      return 0;
    }
    std::cout << "4. Against the golden embedding (bf16 -> f32 is exact, so the tolerance is 0)\n";
    const Tensor expected = golden.tensor("full.embedding");  // [24, 64]
    std::cout << "   " << describe(expected, "golden") << "\n";
    const Comparison result = compare(x, expected, tolerance::kExact);
    std::cout << "   match: " << summary(result, expected, tolerance::kExact) << "\n";
    return result.within_tolerance ? 0 : 1;
  });
}
