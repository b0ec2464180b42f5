// Chapter 08: the programs chapter08_model and chapter08_compare, run as a user or a script would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <span>

#include "common/debugging/data_paths.hpp"
#include "common/model/sampler.hpp"
#include "common/tensors/bfloat16.hpp"
#include "common/tensors/bfloat16_dot.hpp"
#include "common/tensors/safetensors.hpp"
#include "tests/support/golden_model.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using testing::comma_separated;
using testing::CommandResult;
using testing::golden_model;
using ::testing::HasSubstr;
using testing::matches_golden;
using ::testing::Not;
using testing::read_dumped_logits;
using testing::run_command;
using testing::TemporaryDirectory;

const std::string kProgram = LLAMA4_CHAPTER08_MODEL;
const std::string kCompare = LLAMA4_CHAPTER08_COMPARE;

std::string on_tiny() {
  return kProgram + " --model " + golden_model_dir("tiny").string();
}

// A copy of the golden tiny checkpoint in `directory`, with `config` as its config.json.
void copy_tiny(const TemporaryDirectory& directory, const std::string& config) {
  testing::write_file(directory / "config.json", config);
  std::filesystem::copy_file(golden_model_dir("tiny") / "model.safetensors",
                             directory / "model.safetensors");
}

// ---------------------------------------------------------------------------------------------
// The command line

TEST(CommandLine, DumpLogitsWritesFloat32RowsAndNothingOnStandardOutput) {
  TemporaryDirectory directory;
  const std::string list = comma_separated(golden_model("tiny").tokens("full"));
  const std::string out = (directory / "logits.bin").string();
  const CommandResult result =
      run_command(on_tiny() + " --tokens " + list + " --dump-logits " + out);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.output, "");
  EXPECT_TRUE(matches_golden(read_dumped_logits(out, 24, 512),
                             golden_model("tiny").golden("full", "logits"), tolerance::kModel));
}

// Prefill then decode one id at a time through the KV cache gives every position the logits of
// one pass over all the ids: the golden logits (positions 8 and 16 cross the tiny model's chunks).
TEST(CommandLine, DumpLogitsWithPrefillTokensThenDecodeStepsEqualsOnePass) {
  TemporaryDirectory directory;
  const std::string list = comma_separated(golden_model("tiny").tokens("full"));
  const std::string out = (directory / "logits.bin").string();
  const CommandResult result =
      run_command(on_tiny() + " --tokens " + list + " --prefill-tokens 5 --dump-logits " + out);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.output, "");
  EXPECT_TRUE(matches_golden(read_dumped_logits(out, 24, 512),
                             golden_model("tiny").golden("full", "logits"), tolerance::kModel));
  // More prefill than ids: an error, and no file.
  const CommandResult too_many = run_command(
      on_tiny() + " --tokens 1,2,3 --prefill-tokens 4 --dump-logits " + out + "-2", true);
  EXPECT_EQ(too_many.status, 1);
  EXPECT_THAT(too_many.output, HasSubstr("--prefill-tokens 4 is more than the 3 ids given"));
  EXPECT_FALSE(std::filesystem::exists(out + "-2"));
}

TEST(CommandLine, TokensFromAFileAndBadTokens) {
  TemporaryDirectory directory;
  testing::write_file(directory / "ids.txt", "286 227\n468, 301");
  EXPECT_EQ(
      run_command(on_tiny() + " --tokens @" + (directory / "ids.txt").string() + " -n 2").status,
      0);
  // What the ids say is checked when they are read: an error of the run (1), naming the id.
  const CommandResult bad = run_command(on_tiny() + " --tokens 1,x,3", true);
  EXPECT_EQ(bad.status, 1);
  EXPECT_THAT(bad.output, HasSubstr("error: --tokens: \"x\" is not a token id"));
  EXPECT_EQ(run_command(on_tiny() + " --ctx 4 --tokens 1,2,3,4,5").status, 1);
}

// A bad command line stops before any work with exit status 2 and a message naming the option.
TEST(CommandLine, BadValuesNameTheOptionAndExitWith2) {
  const std::pair<std::string, std::string> cases[] = {
      {"--no-such-option", "--no-such-option"},
      {"--temperature hot --tokens 1", "--temperature"},
      {"--temperature nan --tokens 1", "--temperature"},
      {"--temperature -1 --tokens 1", "--temperature"},
      {"--top-p 1.5 --tokens 1", "--top-p"},
      {"--top-k -1 --tokens 1", "--top-k"},
      {"--threads 0 --tokens 1", "--threads"},
      {"--threads 5000 --tokens 1", "--threads"},
      {"--ctx 0 --tokens 1", "--ctx"},
      {"--ctx 12abc --tokens 1", "--ctx"},
      {"-n -1 --tokens 1", "-n"},
      {"--seed -1 --tokens 1", "--seed"},
      {"--seed 99999999999999999999 --tokens 1", "--seed"},
      {"--synthetic huge", "--synthetic"},
      {"--synthetic tiny --model DIR", "--model"},
      {"--dump-logits out.bin", "--dump-logits"},
      {"--tokens 1 --prefill-tokens 1", "--prefill-tokens"},
      {"--tokens 1 --dump-logits o.bin --prefill-tokens 0", "--prefill-tokens"},
      {"--check-golden --chat", "--chat"},
      {"--ctx", "--ctx"},
  };
  for (const auto& [arguments, option] : cases) {
    const CommandResult result = run_command(kProgram + " " + arguments, true);
    EXPECT_EQ(result.status, 2) << arguments << "\n" << result.output;
    EXPECT_THAT(result.output, HasSubstr("error: ")) << arguments;
    EXPECT_THAT(result.output, HasSubstr(option)) << arguments;
  }
}

TEST(CommandLine, HelpDescribesTheModesAndEverySyntheticShapeAndExitsWith0) {
  const CommandResult result = run_command(kProgram + " --help", true);
  EXPECT_EQ(result.status, 0);
  for (const char* mode : {"--check-golden", "--chat", "--perplexity", "--dump-logits"})
    EXPECT_THAT(result.output, HasSubstr(mode));
  for (const char* shape : {"tiny,", "tiny-202k", "100m", "1b", "scout-layer"})
    EXPECT_THAT(result.output, HasSubstr(shape));
  EXPECT_THAT(result.output, HasSubstr("1 to 1024"));  // --threads says its range
}

// ---------------------------------------------------------------------------------------------
// The golden check

TEST(CheckGolden, WithoutArgumentsTheTrainedModelWritesAndPointsToTheCheck) {
  const CommandResult result = run_command(kProgram, true);
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("And it came to pass"));
  EXPECT_THAT(result.output, HasSubstr("--check-golden for the stage-by-stage check"));
}

TEST(CheckGolden, ShowsTheScheduleEveryStageAndTheNextTokens) {
  const CommandResult result = run_command(kProgram + " --check-golden");
  ASSERT_EQ(result.status, 0) << result.output;
  const std::string& out = result.output;
  // The schedule of the tiny model: layers 0-2 RoPE and chunked, layer 3 NoPE and global; MoE on
  // the odd layers.
  EXPECT_THAT(out, HasSubstr("    0  RoPE      chunked, C = 8      dense SwiGLU, width 96"));
  EXPECT_THAT(out, HasSubstr("    1  RoPE      chunked, C = 8      MoE: 4 experts, top-1"));
  EXPECT_THAT(out, HasSubstr("    3  NoPE      global              MoE: 4 experts, top-1"));
  // One row per stage; a stage a layer does not have is a dot (layer 3 has no q_rope).
  EXPECT_THAT(out, HasSubstr("q_rope"));
  EXPECT_THAT(out, HasSubstr("q_temperature"));
  // Every stage of the golden `full` case is compared (all its tensors but the ids and positions).
  std::size_t stages = 0;
  for (const std::string& name : testing::golden_activations("tiny").names())
    stages += name.starts_with("full.") && name != "full.tokens" && name != "full.positions";
  EXPECT_THAT(out, HasSubstr("all " + std::to_string(stages) + " stages agree with golden"));
  EXPECT_THAT(out, Not(HasSubstr("✗")));
  // The most likely next token after the golden prompt, with its probability and golden's:
  // computed here from the golden logits, it must be the first row of the table.
  const Tensor golden_logits = golden_model("tiny").golden("greedy", "logits").select(0);
  const std::vector<Candidate> golden =
      sorted_probabilities(std::span<const float>(golden_logits.data<float>(), 512), 1.0f);
  EXPECT_EQ(golden[0].id, golden_model("tiny").ids("greedy", "tokens")[0]);
  const std::size_t table = out.find("   token  probability  golden\n");
  ASSERT_NE(table, std::string::npos) << out;
  int id = -1;
  float ours = 0, theirs = 0;
  ASSERT_EQ(std::sscanf(out.c_str() + table + 31, "%d %f %f", &id, &ours, &theirs), 3);
  EXPECT_EQ(id, golden[0].id);
  EXPECT_NEAR(ours, golden[0].probability, 1e-4);
  EXPECT_NEAR(theirs, golden[0].probability, 1e-4);
}

// A learner's broken model: one weight of layer 2's output projection changed. The check names the
// first stage that differs, in the order the model computes, and its layer.
TEST(CheckGolden, NamesTheFirstStageAndLayerThatDiffer) {
  TemporaryDirectory directory;
  testing::write_file(directory / "config.json",
                      testing::read_file(golden_model_dir("tiny") / "config.json"));
  const SafetensorsFile original(golden_model_dir("tiny") / "model.safetensors");
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& name : original.names()) {
    Tensor tensor = original.tensor(name).clone();
    if (name == "language_model.model.layers.2.self_attn.o_proj.weight") {
      bfloat16* w = tensor.mutable_data<bfloat16>();  // w: [64, 64]
      w[0] = float_to_bfloat16(bfloat16_to_float(w[0]) + 0.5f);
    }
    tensors.emplace_back(name, tensor);
  }
  write_safetensors(directory / "model.safetensors", tensors);

  const CommandResult result =
      run_command(kProgram + " --check-golden --model " + directory.path().string());
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.output, HasSubstr("first difference: layers.2.attn_out (layer 2)"));
  EXPECT_THAT(result.output, HasSubstr("✗"));
}

// The golden data was made for the tiny shape: another shape is refused, naming both.
TEST(CheckGolden, RefusesAModelOfAnotherShape) {
  const CommandResult result =
      run_command(kProgram + " --check-golden --synthetic tiny-202k", true);
  EXPECT_EQ(result.status, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("this model has 4 layers, hidden 64, vocab 202048"));
}

// Chapter 12: text runs with bf16 products in pairs where the CPU has AVX-512 BF16, and says so;
// --exact-bf16 keeps x exact. (The modes that measure keep it exact always: the --dump-logits
// tests above match the golden logits to 2e-5, which x rounded to bf16 would miss.)
TEST(CommandLine, TextUsesBf16PairsWhereTheCpuHasThemAndExactBf16TurnsThemOff) {
  const std::string says = "bf16 products in pairs";
  const CommandResult text = run_command(on_tiny() + " --tokens 1,2,3 -n 2", true);
  EXPECT_EQ(text.status, 0) << text.output;
  if (cpu_has_bf16_pairs()) {
    EXPECT_THAT(text.output, HasSubstr(says));
  } else {
    EXPECT_THAT(text.output, Not(HasSubstr(says))) << "this CPU has no AVX-512 BF16";
  }
  const CommandResult exact = run_command(on_tiny() + " --tokens 1,2,3 -n 2 --exact-bf16", true);
  EXPECT_EQ(exact.status, 0) << exact.output;
  EXPECT_THAT(exact.output, Not(HasSubstr(says)));
}

// ---------------------------------------------------------------------------------------------
// Random weights say so, every time, in one line; trained weights do not.

TEST(RandomWeights, TheGoldenAndSyntheticModelsSaySoATrainedCheckpointDoesNot) {
  const std::string line = "random weights (";
  const CommandResult golden = run_command(on_tiny() + " --tokens 1,2,3 -n 2", true);
  EXPECT_EQ(golden.status, 0);
  EXPECT_THAT(golden.output, HasSubstr("random weights (golden/generate.py, seed 1000)"));
  const CommandResult check = run_command(kProgram + " --check-golden", true);
  EXPECT_THAT(check.output, HasSubstr(line));
  const CommandResult synthetic =
      run_command(kProgram + " --synthetic tiny --tokens 1,2,3 -n 2", true);
  EXPECT_EQ(synthetic.status, 0);
  EXPECT_THAT(synthetic.output, HasSubstr("random weights (synthetic shape tiny)"));

  // The same weights with a config.json that does not say so: what a trained checkpoint looks like.
  TemporaryDirectory directory;
  std::string config = testing::read_file(golden_model_dir("tiny") / "config.json");
  const std::size_t at = config.find("  \"random_weights\"");
  ASSERT_NE(at, std::string::npos);
  config.erase(at, config.find('\n', at) - at + 1);
  copy_tiny(directory, config);
  const CommandResult trained = run_command(
      kProgram + " --model " + directory.path().string() + " --tokens 1,2,3 -n 2", true);
  EXPECT_EQ(trained.status, 0) << trained.output;
  EXPECT_THAT(trained.output, Not(HasSubstr(line)));
}

// ---------------------------------------------------------------------------------------------
// Text in, text out, through Meta's tokenizer: the tiny model with the real 202048-token
// vocabulary.

class CommandLineWithTokenizer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(default_tokenizer_path())) {
      GTEST_SKIP() << "Meta's tokenizer.model not found at " << default_tokenizer_path()
                   << "; set LLAMA4_TOKENIZER to its path";
    }
  }
  const std::string program = kProgram + " --synthetic tiny-202k";
};

TEST_F(CommandLineWithTokenizer, ChatTakesTwoTurnsFromStandardInput) {
  const CommandResult result =
      run_command("printf 'Hello there\\nAnd a second question?\\n' | " + program +
                  " --chat --system 'Be brief.' -n 6 --temperature 0.8 --seed 3");
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_EQ(testing::count_occurrences(result.output, "assistant> "), 2u) << result.output;
}

TEST_F(CommandLineWithTokenizer, TextPromptAndPerplexity) {
  EXPECT_EQ(run_command(program + " --prompt 'The capital of France is' -n 4").status, 0);
  const CommandResult perplexity = run_command(program + " --ctx 64 --perplexity " +
                                               (golden_model_dir("tiny") / "config.json").string());
  EXPECT_EQ(perplexity.status, 0);
  EXPECT_THAT(perplexity.output, HasSubstr("perplexity "));
}

// A shape whose vocabulary is smaller than the tokenizer's cannot take text: the error says so and
// names the shapes that can.
TEST_F(CommandLineWithTokenizer, TextPromptForASmallerVocabularyNamesAShapeThatCanTakeIt) {
  const CommandResult result = run_command(kProgram + " --synthetic tiny --prompt 'Hello'", true);
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.output, HasSubstr("cannot take text"));
  EXPECT_THAT(result.output, HasSubstr("--synthetic tiny-202k"));
}

// ---------------------------------------------------------------------------------------------
// chapter08_compare

TEST(Compare, NamesTheFirstDivergence) {
  TemporaryDirectory directory;
  const std::string golden = testing::golden_activations("tiny").path().string();
  const std::string dump = (directory / "run").string();
  const std::string list = comma_separated(golden_model("tiny").tokens("full"));
  ASSERT_EQ(run_command(on_tiny() + " --tokens " + list + " --dump-activations " + dump).status, 0);
  const CommandResult agree =
      run_command(kCompare + " " + dump + "/activations.safetensors " + golden + " --case-b full");
  EXPECT_EQ(agree.status, 0) << agree.output;
  EXPECT_THAT(agree.output, HasSubstr("agree"));
  // Against the decode case (the same tokens, run in several calls) with no tolerance at all,
  // something differs by the order of the sums.
  const CommandResult differ = run_command(kCompare + " " + dump + "/activations.safetensors " +
                                           golden + " --case-b decode --tolerance 0");
  EXPECT_EQ(differ.status, agree.status == 0 ? 1 : 0) << differ.output;
  EXPECT_EQ(run_command(kCompare + " a b --tolerance nan").status, 2);
  EXPECT_EQ(run_command(kCompare + " only-one").status, 2);
}

}  // namespace
}  // namespace llama4
