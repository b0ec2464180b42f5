// Chapter 02 benchmarks: loading tokenizer.model, and encoding a few MB of mixed text on one
// thread (MB/s of UTF-8 input), split into its stages.
//
//   build/bin/bench_tokenizer                       # text built in-process (see built_in_corpus)
//   LLAMA4_BENCH_CORPUS=corpus.json build/bin/bench_tokenizer   # a JSON array of documents
//
// bench/tokenizer_vs_tiktoken.sh runs this and npm tiktoken on the same corpus in the same run
// and prints both speeds; the numbers go in bench/RESULTS.md. Needs Meta's tokenizer.model
// ($LLAMA4_TOKENIZER or ../shared/llama4/tokenizer.model); without it only the toy runs.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/debugging/data_paths.hpp"
#include "common/tokenizer/byte_pair_encoding.hpp"
#include "common/tokenizer/long_run_splitter.hpp"
#include "common/tokenizer/tiktoken_ranks.hpp"
#include "common/tokenizer/tokenizer.hpp"
#include "common/tokenizer/toy_vocabulary.hpp"
#include "common/tokenizer/utf8.hpp"

namespace llama4 {
namespace {

// Without a corpus file: English, code, numbers, whitespace and other scripts, repeated to 4 MB.
std::vector<std::string> built_in_corpus() {
  const std::vector<std::string> samples = {
      "The quick brown fox jumps over the lazy dog. It's 2025-04-05, and the model's context is "
      "10,000,000 tokens long; we'll see how it goes.\n\n",
      "int main(int argc, char** argv) {\n  for (int i = 0; i < argc; ++i) {\n    "
      "std::printf(\"%s\\n\", "
      "argv[i]);\n  }\n  return 0;\n}\n",
      "def forward(self, x):\n    h = self.attention_norm(x)\n    return x + self.attention(h)\n\n",
      "東京は日本の首都です。北京是中国的首都。\n"
      "서울은 대한민국의 수도입니다. नमस्ते दुनिया।\n"
      "مرحبا بالعالم. שלום עולם.\n",
      "Café naïve résumé — «quotes» “curly”\n"
      "👋🏽 👨‍👩‍👧‍👦 🇺🇸 3.14159 1,234,567   \t  trailing   \r\n",
  };
  std::vector<std::string> documents;
  std::size_t bytes = 0;
  for (std::size_t i = 0; bytes < (4u << 20); ++i) {
    documents.push_back(samples[i % samples.size()] + samples[(i / 5) % samples.size()]);
    bytes += documents.back().size();
  }
  return documents;
}

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> documents = [] {
    const char* path = std::getenv("LLAMA4_BENCH_CORPUS");
    if (path == nullptr || *path == '\0') return built_in_corpus();
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return nlohmann::json::parse(text.str()).get<std::vector<std::string>>();
  }();
  return documents;
}

std::size_t corpus_bytes() {
  std::size_t bytes = 0;
  for (const std::string& document : corpus()) bytes += document.size();
  return bytes;
}

bool have_real_tokenizer() {
  return std::filesystem::exists(default_tokenizer_path());
}

const Tokenizer& real_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::load(default_tokenizer_path());
  return tokenizer;
}

void report_text_rate(benchmark::State& state, std::size_t tokens) {
  state.SetBytesProcessed(static_cast<std::int64_t>(corpus_bytes()) * state.iterations());
  state.counters["MB/s"] = benchmark::Counter(static_cast<double>(corpus_bytes()) / 1e6,
                                              benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["corpus_MB"] = static_cast<double>(corpus_bytes()) / 1e6;
}

// Loading Meta's 200,000-line tokenizer.model: base64 decoding and the hash table.
void BM_LoadTiktokenRanks(benchmark::State& state) {
  if (!have_real_tokenizer()) return state.SkipWithError("tokenizer.model not found");
  for (auto _ : state) benchmark::DoNotOptimize(load_tiktoken_ranks(default_tokenizer_path()));
}
BENCHMARK(BM_LoadTiktokenRanks)->Unit(benchmark::kMillisecond);

// The whole Tokenizer::load: ranks, special tokens, and compiling the split pattern.
void BM_LoadTokenizer(benchmark::State& state) {
  if (!have_real_tokenizer()) return state.SkipWithError("tokenizer.model not found");
  for (auto _ : state) benchmark::DoNotOptimize(Tokenizer::load(default_tokenizer_path()));
}
BENCHMARK(BM_LoadTokenizer)->Unit(benchmark::kMillisecond);

// encode() on every document, as a model server would call it. The token count and a checksum
// are printed so the comparison script can check tiktoken produced the same ids.
void BM_Encode(benchmark::State& state) {
  if (!have_real_tokenizer()) return state.SkipWithError("tokenizer.model not found");
  const Tokenizer& tokenizer = real_tokenizer();
  std::size_t tokens = 0;
  std::uint32_t checksum = 0;
  for (auto _ : state) {
    tokens = 0;
    checksum = 0;
    for (const std::string& document : corpus()) {
      const std::vector<std::int32_t> ids = tokenizer.encode(document);
      tokens += ids.size();
      for (const std::int32_t id : ids) checksum = checksum * 31u + static_cast<std::uint32_t>(id);
    }
  }
  report_text_rate(state, tokens);
  state.counters["checksum"] = static_cast<double>(checksum);
}
BENCHMARK(BM_Encode)->Unit(benchmark::kMillisecond);

// Stage 1 alone: UTF-8 check, Meta's cuts and the o200k split pattern (PCRE2).
void BM_Pretokenize(benchmark::State& state) {
  if (!have_real_tokenizer()) return state.SkipWithError("tokenizer.model not found");
  const Tokenizer& tokenizer = real_tokenizer();
  std::vector<std::string_view> pieces;
  std::size_t count = 0;
  for (auto _ : state) {
    count = 0;
    for (const std::string& document : corpus()) {
      benchmark::DoNotOptimize(find_invalid_utf8(document));
      for (const std::string_view chunk : split_long_runs(document)) {
        pieces.clear();
        tokenizer.pretokenizer().split(chunk, pieces);
        count += pieces.size();
      }
    }
  }
  report_text_rate(state, count);
}
BENCHMARK(BM_Pretokenize)->Unit(benchmark::kMillisecond);

void BM_Decode(benchmark::State& state) {
  if (!have_real_tokenizer()) return state.SkipWithError("tokenizer.model not found");
  const Tokenizer& tokenizer = real_tokenizer();
  std::vector<std::vector<std::int32_t>> encoded;
  for (const std::string& document : corpus()) encoded.push_back(tokenizer.encode(document));
  std::size_t tokens = 0;
  for (const auto& ids : encoded) tokens += ids.size();
  for (auto _ : state) {
    for (const auto& ids : encoded) benchmark::DoNotOptimize(tokenizer.decode(ids));
  }
  report_text_rate(state, tokens);
}
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);

// The hand-made vocabulary: almost every piece goes through byte-pair merging, so this measures
// the merge loop rather than the lookup of whole pieces.
void BM_EncodeToyVocabulary(benchmark::State& state) {
  static const Tokenizer tokenizer = Tokenizer::from_vocabulary(toy_vocabulary());
  std::size_t tokens = 0;
  for (auto _ : state) {
    tokens = 0;
    for (const std::string& document : corpus()) tokens += tokenizer.encode(document).size();
  }
  report_text_rate(state, tokens);
}
BENCHMARK(BM_EncodeToyVocabulary)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace llama4

BENCHMARK_MAIN();
