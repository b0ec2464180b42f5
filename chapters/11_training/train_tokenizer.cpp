// Chapter 11: training the tokenizer. Learns byte-level BPE ranks from a text and writes them as a
// tiktoken file that chapter 02's tokenizer loads unchanged.
//
//   build/bin/chapter11_train_tokenizer --text build-data/bible/train.txt --ranks 4096
//       --out bible-4096.tiktoken [--validation build-data/bible/validation.txt]
//
// It prints its progress, the first merges it learned, and how many bytes one token covers on
// average (the compression) on the training text and, with --validation, on held-out text.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "common/program/command_line.hpp"
#include "common/program/run_main.hpp"
#include "common/tensors/atomic_file.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/regular_file.hpp"
#include "common/tokenizer/bpe_training.hpp"
#include "common/tokenizer/tiktoken_ranks.hpp"
#include "common/tokenizer/tokenizer.hpp"

using namespace llama4;

namespace {

constexpr int kMergesShown = 24;

struct Options {
  std::string text_path, out_path, validation_path;
  std::int32_t ranks = 0;
};

// Bytes as a readable literal: printable ASCII as is, the rest escaped ("\n", "\xE2").
std::string show(std::string_view bytes) {
  std::string out = "\"";
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '"' || c == '\\') {
      out += std::string("\\") + c;
    } else if (byte >= 0x20 && byte < 0x7F) {
      out += c;
    } else {
      char hex[5];
      std::snprintf(hex, sizeof(hex), "\\x%02X", byte);
      out += hex;
    }
  }
  return out + "\"";
}

void report_compression(const Tokenizer& tokenizer, const std::string& name,
                        const std::string& text) {
  const std::size_t tokens = tokenizer.encode(text).size();
  std::printf("%s: %zu bytes -> %zu tokens, %.3f bytes per token\n", name.c_str(), text.size(),
              tokens, static_cast<double>(text.size()) / static_cast<double>(tokens));
}

int run(const Options& options) {
  const std::string text = read_regular_file(options.text_path);
  std::printf("training %d ranks on %s (%zu bytes)\n", options.ranks, options.text_path.c_str(),
              text.size());
  const auto start = std::chrono::steady_clock::now();
  const auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  // The bytes of every token so far, to show what each merge joined.
  std::vector<std::string> token_bytes;
  for (int byte = 0; byte < 256; ++byte) token_bytes.emplace_back(1, static_cast<char>(byte));
  std::printf("the first merges (the most frequent pairs of the text):\n");
  const TokenVocabulary vocabulary =
      train_byte_pair_encoding(text, options.ranks, [&](const BpeMerge& merge) {
        if (merge.new_rank) token_bytes.push_back(merge.bytes);
        if (merge.ranks - 256 <= kMergesShown) {
          const std::string left = show(token_bytes[static_cast<std::size_t>(merge.left)]);
          const std::string right = show(token_bytes[static_cast<std::size_t>(merge.right)]);
          std::printf("  rank %d = %-8s + %-8s -> %-12s %9lld times\n", merge.token, left.c_str(),
                      right.c_str(), show(merge.bytes).c_str(),
                      static_cast<long long>(merge.count));
        }
        if (merge.ranks % 512 == 0 || merge.ranks == options.ranks) {
          std::fprintf(stderr, "  %6d / %d ranks  %6.1f s\n", merge.ranks, options.ranks,
                       seconds());
        }
      });
  std::printf("trained in %.1f s\n", seconds());

  write_file_atomically(options.out_path, format_tiktoken_ranks(vocabulary));
  // Load it back as chapter 02 does: the special tokens follow the last rank.
  const Tokenizer tokenizer = Tokenizer::load(options.out_path);
  std::printf("wrote %s: %d ranks; with Llama 4's special tokens %d ids, <|begin_of_text|> = %d\n",
              options.out_path.c_str(), tokenizer.vocabulary().size(), tokenizer.vocab_size(),
              tokenizer.bos_id());
  report_compression(tokenizer, options.text_path, text);
  if (!options.validation_path.empty()) {
    report_compression(tokenizer, options.validation_path,
                       read_regular_file(options.validation_path));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CommandLine command_line(
      "Chapter 11: train the tokenizer. Learns byte-level BPE ranks from a text, over Llama 4's "
      "pre-tokenizer, and writes them as a tiktoken file chapter 02's tokenizer loads unchanged "
      "(Llama 4's 2,048 special tokens come after the ranks).");
  CLI::App& app = command_line.app();
  app.add_option("--text", options.text_path, "the training text (UTF-8)")->required();
  app.add_option("--ranks", options.ranks, "byte tokens to learn, 256 to 200000")
      ->required()
      ->check(integer_in(256, kMaxTrainedRanks));
  app.add_option("--out", options.out_path, "the tiktoken file to write")->required();
  app.add_option("--validation", options.validation_path,
                 "held-out text to measure the compression on");
  command_line.parse(argc, argv);
  return run_main([&] { return run(options); });
}
