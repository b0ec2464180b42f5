// Hostile input to chapter 08: the model loader, the KV cache, the generation loop, and the
// chapter08_model and chapter08_compare command lines. Each test is one class of attack (numbered
// as in the project's list); each must end in a clear error and exit status, never a crash, a hang,
// an escaped exception or a silently wrong result.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <string>

#include "common/debugging/activation_dump.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/model/generation.hpp"
#include "common/model/sampler.hpp"
#include "common/model/synthetic_model.hpp"
#include "common/program/thread_count.hpp"
#include "common/tensors/error.hpp"
#include "tests/support/test_support.hpp"

#include <nlohmann/json.hpp>

namespace llama4 {
namespace {

using ::testing::AllOf;
using testing::CommandResult;
using ::testing::HasSubstr;
using testing::run_command;
using testing::TemporaryDirectory;
using ::testing::ThrowsMessage;

std::string model_program() {
  return std::string(LLAMA4_CHAPTER08_MODEL) + " --model " + golden_model_dir("tiny").string();
}

std::string compare_program() {
  return LLAMA4_CHAPTER08_COMPARE;
}

// Runs a command and expects `status` and a message containing every fragment.
void expect_failure(const std::string& command, int status,
                    std::initializer_list<std::string> fragments) {
  const CommandResult result = run_command(command, /*with_errors=*/true);
  EXPECT_EQ(result.status, status) << command << "\n" << result.output;
  for (const std::string& fragment : fragments)
    EXPECT_THAT(result.output, HasSubstr(fragment)) << command;
}

// The tiny checkpoint's config.json with some text_config fields changed.
void write_tiny_config(const std::filesystem::path& path, const nlohmann::json& changes) {
  nlohmann::json config =
      nlohmann::json::parse(testing::read_file(golden_model_dir("tiny") / "config.json"));
  for (const auto& [field, value] : changes.items()) config["text_config"][field] = value;
  testing::write_file(path, config.dump());
}

// A copy of the tiny checkpoint with one weight element replaced by `value`.
void write_tiny_with_weight(const std::filesystem::path& directory, const std::string& weight,
                            float value) {
  const SafetensorsFile original(golden_model_dir("tiny") / "model.safetensors");
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& name : original.names()) {
    Tensor copy = original.tensor(name).clone();
    if (name == weight) copy.set({0, 0}, value);
    tensors.emplace_back(name, copy);
  }
  write_safetensors(directory / "model.safetensors", tensors, original.metadata());
  std::filesystem::copy_file(golden_model_dir("tiny") / "config.json", directory / "config.json");
}

// --- 1. The KV cache's size is checked before anything is allocated, and --ctx is capped by
// max_position_embeddings (128 for the tiny model).
TEST(HostileInput, ContextLengthIsCappedAndItsBytesCannotOverflow) {
  const Model model = Model::load(golden_model_dir("tiny"));
  EXPECT_THAT([&] { model.make_cache(576460752303423489); },
              ThrowsMessage<Error>(HasSubstr("a context of 576460752303423489 tokens is longer "
                                             "than the model's 128 (max_position_embeddings")));
  EXPECT_THAT([&] { model.make_cache(0); }, ThrowsMessage<Error>(HasSubstr("must be positive")));
  EXPECT_NO_THROW(model.make_cache(128));
  // The cache of one layer: 2^62 positions of 2 x 16 floats overflow the byte count.
  EXPECT_THAT([] { LayerKVCache cache(2, 16, 1LL << 62, std::nullopt); },
              ThrowsMessage<Error>(HasSubstr("do not fit in memory (the byte count overflows)")));
  EXPECT_THAT([] { LayerKVCache::bytes_needed(8, 128, 576460752303423489, std::nullopt); },
              ThrowsMessage<Error>(HasSubstr("overflows")));
  EXPECT_EQ(LayerKVCache::bytes_needed(8, 128, 1 << 20, 8192), 2ull * 8192 * 8 * 128 * 4);

  // A cache larger than the machine is refused before it is zero-filled (the kernel would kill
  // the process partway through instead of failing cleanly).
  ModelConfig config = synthetic_config("tiny");
  config.max_position_embeddings = 1 << 30;
  const Model big_context(config, synthetic_checkpoint(config, 1));
  const std::uint64_t memory = static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                               static_cast<std::uint64_t>(::sysconf(_SC_PAGE_SIZE));
  if (check_context_length(config, 1 << 30) > memory) {
    EXPECT_THAT([&] { big_context.make_cache(1 << 30); },
                ThrowsMessage<Error>(HasSubstr("more than this machine's")));
  }

  // Beyond any Llama 4's context: the command line refuses it (exit status 2); beyond this
  // model's: the model does, before any cache is made (exit status 1).
  for (const char* context : {"576460752303423489", "4611686018427387904", "1099511627776"}) {
    expect_failure(model_program() + " --tokens 1,2,3 -n 1 --ctx " + context, 2,
                   {"--ctx: expected an integer from 1 to 10485760"});
  }
  expect_failure(model_program() + " --tokens 1,2,3 -n 1 --ctx 129", 1,
                 {"longer than the model's 128"});
}

// --- 3. Exceptions other than llama4::Error used to escape and abort: an existing file as the
// --dump-activations directory, a non-numeric or huge layer index in a file given to
// chapter08_compare (std::stoll).
TEST(HostileInput, ProgramsTurnEveryFailureIntoAMessage) {
  TemporaryDirectory directory;
  testing::write_file(directory / "file", "x");
  expect_failure(
      model_program() + " --tokens 1,2,3 --dump-activations " + (directory / "file").string(), 1,
      {"exists and is not a directory"});

  const std::string golden = testing::golden_activations("tiny").path().string();
  const auto dump_with = [&](const std::string& name) {
    const auto path = directory / "dump.safetensors";
    write_safetensors(path, {{name, Tensor::zeros({2})}});
    return path.string();
  };
  for (const char* name : {"layers.x.q", "layers.99999999999999999999.q", "layers.-1.q", "layers.5",
                           "layers.10000000.q"}) {
    const auto start = std::chrono::steady_clock::now();
    expect_failure(compare_program() + " " + dump_with(name) + " " + golden + " --case-b full", 2,
                   {"is not named layers.N.<stage> with a layer number N below 1024"});
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20)) << name;
  }
}

// --- 4. Sizes from files are checked against the tensors before anything is built from them.
TEST(HostileInput, ConfigAndWeightsMustDescribeTheSameModel) {
  TemporaryDirectory directory;
  std::filesystem::copy_file(golden_model_dir("tiny") / "model.safetensors",
                             directory / "model.safetensors");
  const auto config = directory / "config.json";
  write_tiny_config(config, {{"num_hidden_layers", 900}, {"no_rope_layers", nullptr}});
  EXPECT_THAT([&] { Model::load(directory.path()); },
              ThrowsMessage<Error>(AllOf(HasSubstr("config.json says 900 layers"),
                                         HasSubstr("layers.899.input_layernorm.weight"))));
  write_tiny_config(config,
                    {{"num_hidden_layers", 3}, {"no_rope_layers", {1, 1, 1}}, {"moe_layers", {1}}});
  EXPECT_THAT([&] { Model::load(directory.path()); },
              ThrowsMessage<Error>(HasSubstr("has \"language_model.model.layers.3.")));
  // The RoPE table is built from head_dim only after layer 0's weights confirm it.
  write_tiny_config(config, {{"head_dim", 4096}});
  EXPECT_THAT([&] { Model::load(directory.path()); },
              ThrowsMessage<Error>(AllOf(HasSubstr("layers.0.self_attn.q_proj.weight"),
                                         HasSubstr("the config implies [16384, 64]"))));
  write_tiny_config(config, {{"num_hidden_layers", 1e9}});
  const auto start = std::chrono::steady_clock::now();
  expect_failure(
      std::string(LLAMA4_CHAPTER08_MODEL) + " --tokens 1 --model " + directory.path().string(), 1,
      {"num_hidden_layers = 1000000000 is larger than this program accepts"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// --- 5. Silent wrong results: NaN weights, perplexity over nothing, a NaN tolerance.
TEST(HostileInput, NonFiniteLogitsAreAnErrorNamingThePositionAndTheStage) {
  TemporaryDirectory directory;
  write_tiny_with_weight(directory.path(), "language_model.model.layers.1.self_attn.q_proj.weight",
                         NAN);
  const std::string program =
      std::string(LLAMA4_CHAPTER08_MODEL) + " --model " + directory.path().string();
  expect_failure(program + " --tokens 1,2,3 -n 4", 1, {"the logits of position 2 are not finite"});
  expect_failure(program + " --tokens 1,2,3 --dump-activations " + (directory / "dump").string(), 1,
                 {"the logits of position 0 are not finite",
                  "the first stage holding one is layers.1.q at [0, 0, 0]"});
  EXPECT_TRUE(std::filesystem::exists(directory / "dump" / "activations.safetensors"));
  expect_failure(program + " --tokens 1,2,3 --dump-logits " + (directory / "l.bin").string(), 1,
                 {"not finite"});
  EXPECT_FALSE(std::filesystem::exists(directory / "l.bin"));

  // An infinity works the same way.
  TemporaryDirectory infinite;
  write_tiny_with_weight(infinite.path(), "language_model.model.embed_tokens.weight", INFINITY);
  expect_failure(std::string(LLAMA4_CHAPTER08_MODEL) + " --model " + infinite.path().string() +
                     " --tokens 0,1 -n 2",
                 1, {"are not finite"});

  // Perplexity with a one-token context predicts nothing.
  CpuSession session(Model::load(golden_model_dir("tiny")), 1);
  EXPECT_THAT(
      [&] {
        perplexity(session, std::vector<std::int32_t>{1, 2, 3});
      },
      ThrowsMessage<Error>(HasSubstr("perplexity needs a context of at least 2 tokens")));

  // A NaN tolerance would make every pair of files agree.
  const std::string golden = testing::golden_activations("tiny").path().string();
  expect_failure(compare_program() + " " + golden + " " + golden +
                     " --case-a full --case-b decode --tolerance nan",
                 2, {"--tolerance: expected a number from 0 to"});
  expect_failure(compare_program() + " " + golden + " " + golden +
                     " --case-a full --case-b decode --tolerance 1e-3x",
                 2, {"--tolerance: expected a number from 0 to"});
  EXPECT_THAT(
      [&] {
        compare(Tensor::zeros({1}), Tensor::zeros({1}), {NAN, 0});
      },
      ThrowsMessage<Error>(HasSubstr("a tolerance must be a finite number")));
}

// --- 7. A flag value that does not fit is refused, not narrowed.
TEST(HostileInput, ThreadCountIsNotNarrowed) {
  // The command line refuses them (exit status 2, naming the option)...
  expect_failure(model_program() + " --tokens 1 -n 1 --threads 4294967297", 2,
                 {"--threads: expected an integer from 1 to 1024"});
  expect_failure(model_program() + " --tokens 1 -n 1 --threads -1", 2, {"--threads"});
  expect_failure(model_program() + " --tokens 1 -n 1 --temperature nan", 2, {"--temperature"});
  // ...and so does the library, for a caller that skips the command line.
  EXPECT_THAT([] { set_thread_count(4294967297LL); },
              ThrowsMessage<Error>(HasSubstr("the thread count must be between 1 and 4096")));
  EXPECT_THAT([] { Sampler sampler({.temperature = NAN}); },
              ThrowsMessage<Error>(HasSubstr("temperature must be a finite number")));
}

// --- 8. Files that are not regular files, closed input, failed writes, invalid UTF-8 in a chat.
TEST(HostileInput, PromptFilesMustBeRegularFilesAndWritesAreAllOrNothing) {
  TemporaryDirectory directory;
  expect_failure(model_program() + " --prompt-file " + directory.path().string(), 1,
                 {"is not a regular file (a directory)"});
  const auto fifo = directory / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_failure(model_program() + " --prompt-file " + fifo.string(), 1,
                 {"is not a regular file (a FIFO)"});
  expect_failure(model_program() + " --tokens @" + fifo.string(), 1, {"(a FIFO)"});
  expect_failure(std::string(LLAMA4_CHAPTER08_MODEL) + " --model " + fifo.string(), 1,
                 {"is not a regular file (a FIFO)"});

  // --dump-logits with the file size limit below what it writes: the reason, and no file at all.
  // (`trap '' XFSZ`: the signal is ignored, so write() fails with EFBIG instead of killing.)
  const std::string out = (directory / "logits.bin").string();
  expect_failure("trap '' XFSZ; ulimit -f 16; " + model_program() +
                     " --tokens 1,2,3,4,5,6,7,8,9,10,11,12 --dump-logits " + out,
                 1, {"logits.bin", "failed: File too large"});
  EXPECT_FALSE(std::filesystem::exists(out));
  for (const auto& entry : std::filesystem::directory_iterator(directory.path()))
    EXPECT_EQ(entry.path().filename(), "fifo");  // no temporary file left either
}

// The same with Meta's tokenizer, on a checkpoint directory with its 202,048-token vocabulary (the
// tiny shape, synthetic weights): a text prompt from a closed or empty standard input, a chat line
// that is not UTF-8, a FIFO to score, perplexity with --ctx 1.
class HostileInputWithTokenizer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    directory_ = new TemporaryDirectory;
    write_tiny_config(*directory_ / "config.json", {{"vocab_size", 202048},
                                                    {"bos_token_id", 200000},
                                                    {"eos_token_id", {200001, 200007, 200008}},
                                                    {"pad_token_id", 200018}});
    const ModelConfig config = load_model_config(directory_->path());
    const Checkpoint weights = synthetic_checkpoint(config, 1);
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const std::string& name : weights.names())
      tensors.emplace_back(name, weights.tensor(name));
    write_safetensors(*directory_ / "model.safetensors", tensors);
  }
  static void TearDownTestSuite() { delete directory_; }
  void SetUp() override {
    if (!std::filesystem::exists(default_tokenizer_path())) {
      GTEST_SKIP() << "Meta's tokenizer.model not found at " << default_tokenizer_path()
                   << "; set LLAMA4_TOKENIZER to its path";
    }
  }
  static TemporaryDirectory* directory_;
  const std::string program =
      std::string(LLAMA4_CHAPTER08_MODEL) + " --model " + directory_->path().string();
};

TemporaryDirectory* HostileInputWithTokenizer::directory_ = nullptr;

TEST_F(HostileInputWithTokenizer, ClosedInputInvalidChatLinesAndEmptyPerplexity) {
  expect_failure(program + " -n 2 <&-", 1, {"standard input is closed"});
  expect_failure(program + " --chat -n 2 <&-", 1, {"standard input, which is closed"});
  expect_failure(program + " -n 2 < /dev/null", 1, {"standard input was empty"});

  // The bad line is refused and the session goes on to answer the next one.
  const CommandResult chat =
      run_command("printf 'caf\\351\\nHello there\\n' | " + program + " --chat -n 3", true);
  EXPECT_EQ(chat.status, 0) << chat.output;
  EXPECT_THAT(chat.output, HasSubstr("(that line is not valid UTF-8 at byte 3; nothing was sent)"));
  EXPECT_THAT(chat.output, HasSubstr("assistant> "));

  TemporaryDirectory directory;
  const auto fifo = directory / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_failure(program + " --perplexity " + fifo.string(), 1, {"is not a regular file (a FIFO)"});
  testing::write_file(directory / "text.txt", "Some text to score.");
  expect_failure(program + " --ctx 1 --perplexity " + (directory / "text.txt").string(), 1,
                 {"perplexity needs a context of at least 2 tokens"});
}

}  // namespace
}  // namespace llama4
