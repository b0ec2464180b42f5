// Chapter 12: quantization. Weights in 8 and 4 bits, in blocks of 32 with one scale each.
//
//   build/bin/chapter12_quantize                 the trained model in Q8_0, Q4_0 and Q4_1, each
//                                                compared with bf16 on a validation passage
//   ... --evaluate --text FILE [--model DIR]     the same comparison over a text of yours
//   ... --model DIR --format q4_0 --out DIR2     write a quantized checkpoint (chapter08_model
//                                                --model DIR2 runs it)
//
// It prints one block quantized by hand (what the scale and the small integers are), then a table:
// bits per weight, file size, and how far each format's next-token distributions are from
// bf16's (mean and 99th-percentile KL divergence, top-1 agreement) with the perplexity of each.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/debugging/data_paths.hpp"
#include "common/model/inference_session.hpp"
#include "common/model/model.hpp"
#include "common/model/synthetic_model.hpp"
#include "common/program/command_line.hpp"
#include "common/program/progress_bar.hpp"
#include "common/program/run_main.hpp"
#include "common/program/thread_count.hpp"
#include "common/quantization/block_formats.hpp"
#include "common/quantization/logit_agreement.hpp"
#include "common/quantization/quantized_checkpoint.hpp"
#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/regular_file.hpp"
#include "common/tensors/safetensors.hpp"
#include "common/tokenizer/tokenizer.hpp"

using namespace llama4;

namespace {

struct Options {
  std::string model;                           // --model DIR (default: the trained model)
  std::string synthetic;                       // --synthetic NAME
  std::string format;                          // --format F (with --out)
  std::string out;                             // --out DIR2
  std::string text;                            // --text FILE
  std::string formats = "q8_0,q4_0,q4_1";      // --formats
  std::string tokenizer;                       // --tokenizer PATH
  bool keep_lm_head = false;                   // --keep-lm-head
  std::optional<std::int64_t> max_tokens;      // --max-tokens (default 8192; synthetic: 1024)
  std::optional<std::int64_t> context_length;  // --ctx
  std::optional<int> threads;
};

std::filesystem::path model_directory(const Options& options) {
  return options.model.empty() ? trained_model_dir() : std::filesystem::path(options.model);
}

// --out: a quantized checkpoint on disk, tensor by tensor.
int write_checkpoint(const Options& options) {
  const QuantizationPlan plan{parse_quantization_format(options.format), !options.keep_lm_head};
  const std::filesystem::path model = model_directory(options);
  const auto start = std::chrono::steady_clock::now();
  write_quantized_checkpoint(model, options.out, plan, [](std::uint64_t done, std::uint64_t total) {
    draw_progress("quantizing", done, total);
  });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Checkpoint before = Checkpoint::open(model), after = open_checkpoint(options.out);
  std::printf("wrote %s in %.1f s: %.2f MB -> %.2f MB (%s%s)\n", options.out.c_str(), seconds,
              static_cast<double>(before.total_bytes()) / 1e6,
              static_cast<double>(after.total_bytes()) / 1e6, dtype_name(plan.format).data(),
              plan.lm_head ? "" : ", LM head kept");
  std::printf("run it: build/bin/chapter08_model --model %s\n", options.out.c_str());
  return 0;
}

// The first block of layer 0's query projection, by hand: what a learner should see once.
void show_one_block(const Checkpoint& checkpoint) {
  const WeightNames names(checkpoint);
  const Tensor weight = checkpoint.tensor(names.layer(0, "self_attn.q_proj.weight"));
  const Tensor first = weight.select(0).slice(0, 0, kQuantBlock).to(DType::F32);  // [32]
  std::printf("layer 0 q_proj, row 0, weights 0..31 (bf16):\n  ");
  for (int j = 0; j < 8; ++j) std::printf("%+.4f ", first.flat(j));
  std::printf("...\n");
  for (const DType format : {DType::Q8_0, DType::Q4_0, DType::Q4_1}) {
    std::vector<std::byte> block(dtype_bytes(format, kQuantBlock));
    quantize_row(first.data<float>(), kQuantBlock, format, block.data());
    // Every format's block starts with its f16 scale d, so any block struct reads it.
    std::printf("  %-4s %2zu bytes  d = %+.6f", dtype_name(format).data(), block.size(),
                to_float(reinterpret_cast<const BlockQ8_0*>(block.data())->scale));
    if (format == DType::Q4_1)
      std::printf(" m = %+.4f",
                  to_float(reinterpret_cast<const BlockQ4_1*>(block.data())->minimum));
    std::printf("  ->");
    for (int j = 0; j < 8; ++j) std::printf(" %+.4f", dequantize_element(block.data(), format, j));
    std::printf(" ...\n");
  }
}

// The tokens to evaluate on: --text through the tokenizer, or the validation passage whose
// reference logits golden/trained_model_logits.py wrote (Genesis 10, never trained on).
std::vector<std::int32_t> evaluation_tokens(const Options& options, const ModelConfig& config,
                                            std::string& description) {
  const std::int64_t max_tokens =
      options.max_tokens.value_or(options.synthetic.empty() ? 8192 : 1024);
  std::vector<std::int32_t> ids;
  if (options.text.empty() && !options.synthetic.empty()) {
    // Random weights predict nothing in particular, so any ids serve: bench_model's sequence.
    for (std::int64_t i = 0; i < max_tokens; ++i)
      ids.push_back(static_cast<std::int32_t>((i * 7919) % config.vocab_size));
    description = "token ids i * 7919 mod " + std::to_string(config.vocab_size);
  } else if (options.text.empty()) {
    const SafetensorsFile passage(golden_data_dir() / "logits-llama4-bible.safetensors");
    const Tensor tokens = passage.tensor("tokens");
    ids.assign(tokens.data<std::int32_t>(), tokens.data<std::int32_t>() + tokens.numel());
    description = "a validation passage (Genesis 10, KJV)";
  } else {
    std::filesystem::path tokenizer_path = options.tokenizer;
    if (tokenizer_path.empty() && options.synthetic.empty())
      tokenizer_path = checkpoint_tokenizer_path(model_directory(options));
    if (tokenizer_path.empty()) tokenizer_path = default_tokenizer_path();
    const Tokenizer tokenizer = Tokenizer::load(tokenizer_path);
    ids = tokenizer.encode(read_regular_file(options.text), {.bos = true});
    description = options.text;
  }
  if (static_cast<std::int64_t>(ids.size()) > max_tokens)
    ids.resize(static_cast<std::size_t>(max_tokens));
  for (const std::int32_t id : ids) {
    if (id < 0 || id >= config.vocab_size)
      fail("token id ", id, " is outside this model's vocabulary of ", config.vocab_size);
  }
  return ids;
}

std::vector<DType> parse_formats(const std::string& list) {
  std::vector<DType> formats;
  std::stringstream stream(list);
  for (std::string name; std::getline(stream, name, ',');)
    formats.push_back(parse_quantization_format(name));
  if (formats.empty()) fail("--formats: no format given");
  return formats;
}

// Bits per weight over the tensors a format quantizes (what their bytes cost per number).
double bits_per_quantized_weight(const Checkpoint& checkpoint) {
  double bits = 0, weights = 0;
  for (const std::string& name : checkpoint.names()) {
    const Tensor tensor = checkpoint.tensor(name);
    if (!is_quantizable(name)) continue;
    bits += 8.0 * static_cast<double>(tensor.nbytes());
    weights += static_cast<double>(tensor.numel());
  }
  return weights > 0 ? bits / weights : 0;
}

// --evaluate (the default): each format against bf16 on one text.
int evaluate(const Options& options) {
  Model reference_model = [&] {
    if (options.synthetic.empty()) return Model::load(model_directory(options));
    const ModelConfig config = synthetic_config(options.synthetic);
    return Model(config, synthetic_checkpoint(config, 1));
  }();
  const ModelConfig config = reference_model.config();
  const Checkpoint checkpoint = reference_model.checkpoint();
  if (options.text.empty() && options.model.empty() && options.synthetic.empty())
    show_one_block(checkpoint);
  std::string description;
  const std::vector<std::int32_t> tokens = evaluation_tokens(options, config, description);
  const std::int64_t window = options.context_length.value_or(std::min<std::int64_t>(
      {512, config.max_position_embeddings, static_cast<std::int64_t>(tokens.size())}));

  const std::vector<DType> formats = parse_formats(options.formats);
  std::vector<std::unique_ptr<CpuSession>> variants;
  std::vector<InferenceSession*> variant_pointers;
  std::vector<double> sizes, bits;
  for (const DType format : formats) {
    Checkpoint quantized = quantize_checkpoint(checkpoint, {format, !options.keep_lm_head});
    sizes.push_back(static_cast<double>(quantized.total_bytes()) / 1e6);
    bits.push_back(bits_per_quantized_weight(quantized));
    variants.push_back(std::make_unique<CpuSession>(Model(config, std::move(quantized)), window));
    variant_pointers.push_back(variants.back().get());
  }
  const double reference_bits = bits_per_quantized_weight(checkpoint);
  const double reference_size = static_cast<double>(checkpoint.total_bytes()) / 1e6;
  CpuSession reference(std::move(reference_model), window);
  std::printf("\n%s on %s: %zu tokens, windows of %lld%s\n",
              options.synthetic.empty() ? model_directory(options).c_str()
                                        : ("synthetic " + options.synthetic).c_str(),
              description.c_str(), tokens.size(), static_cast<long long>(window),
              options.keep_lm_head ? ", LM head kept in bf16" : "");
  const std::vector<LogitAgreement> results = compare_logits(reference, variant_pointers, tokens);
  std::printf(
      "\n| format | bits/weight | size MB | mean KL | p99 KL | top-1 same | perplexity |\n");
  std::printf("|--------|------------:|--------:|--------:|-------:|-----------:|-----------:|\n");
  std::printf("| bf16   | %11.2f | %7.2f |       - |      - |          - | %10.3f |\n",
              reference_bits, reference_size, results.front().reference_perplexity);
  for (std::size_t i = 0; i < formats.size(); ++i) {
    const LogitAgreement& r = results[i];
    std::printf("| %-6s | %11.2f | %7.2f | %7.5f | %6.4f | %9.2f%% | %10.3f |\n",
                dtype_name(formats[i]).data(), bits[i], sizes[i], r.mean_kl, r.p99_kl,
                100 * r.top1_agreement, r.variant_perplexity);
  }
  std::printf(
      "\nKL: nats, over %lld predicted positions; bits/weight over the matrices a format may "
      "quantize\n",
      static_cast<long long>(results.front().positions));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CommandLine command_line(
      "Chapter 12: quantization. Compares Q8_0, Q4_0 and Q4_1 weights with bf16 over a text "
      "(KL divergence of the next-token distributions, top-1 agreement, perplexity), or writes a "
      "quantized checkpoint (--format with --out).");
  CLI::App& app = command_line.app();
  command_line.add_model(options.model,
                         "a Hugging Face checkpoint directory (default: the trained model, "
                         "golden/llama4-bible)");
  CLI::Option* synthetic = app.add_option("--synthetic", options.synthetic,
                                          "a synthetic model of that shape (random weights)");
  CLI::Option* format =
      app.add_option("--format", options.format, "q8_0, q4_0 or q4_1 (with --out)");
  CLI::Option* out =
      app.add_option("--out", options.out, "write the quantized checkpoint to this directory");
  format->needs(out);
  out->needs(format);
  out->excludes(synthetic);
  app.add_option("--text", options.text,
                 "the text to evaluate on (default: a validation passage; synthetic models: "
                 "token ids i * 7919 mod vocabulary)");
  app.add_option("--formats", options.formats, "formats to compare, comma-separated");
  app.add_option("--tokenizer", options.tokenizer, "tokenizer for --text");
  app.add_flag("--keep-lm-head", options.keep_lm_head, "leave the LM head in bf16");
  app.add_option("--max-tokens", options.max_tokens,
                 "evaluate on at most N tokens (default 8192; synthetic models: 1024)")
      ->check(integer_in(2, kLongestContext));
  command_line.add_context_length(options.context_length, "512: the window of the evaluation");
  command_line.add_threads(options.threads);
  command_line.parse(argc, argv);
  return run_main([&] {
    if (options.threads) set_thread_count(*options.threads);
    return options.out.empty() ? evaluate(options) : write_checkpoint(options);
  });
}
