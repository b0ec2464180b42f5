// Chapter 09: the whole model on the GPU against the golden data (every stage of every case, like
// tests/chapter08/test_model.cpp does for the CPU), the greedy continuation against golden and
// against chapter 08's CPU model, a synthetic model against the CPU, and the chapter09_hip program.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/debugging/activation_dump.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/model/generation.hpp"
#include "common/model/model.hpp"
#include "common/model/sampler.hpp"
#include "common/model/synthetic_model.hpp"
#include "common/quantization/quantized_checkpoint.hpp"
#include "common/tensors/error.hpp"
#include "gpu/gpu_model.hpp"
#include "gpu/gpu_session.hpp"
#include "tests/chapter09/gpu_test.hpp"
#include "tests/support/golden_model.hpp"
#include "tests/support/test_support.hpp"

namespace llama4::testing {
namespace {

using gpu::GpuModel;
using ::testing::HasSubstr;

const Model& model_of(const char* name) {
  static std::map<std::string, std::unique_ptr<Model>> models;
  auto& slot = models[name];
  if (!slot) slot = std::make_unique<Model>(Model::load(golden_model_dir(name)));
  return *slot;
}

std::vector<std::int64_t> prefill_then_single_tokens(std::int64_t prefill, std::int64_t total) {
  std::vector<std::int64_t> calls = {prefill};
  for (std::int64_t t = prefill; t < total; ++t) calls.push_back(1);
  return calls;
}

// Runs the case's tokens on the GPU in calls of the given lengths with one cache, recording every
// stage.
ActivationRecorder run_case(const char* model_name, const std::string& case_name,
                            const std::vector<std::int64_t>& calls) {
  GpuModel model(model_of(model_name), 64);
  const std::vector<std::int32_t> tokens = golden_model(model_name).tokens(case_name);
  ActivationRecorder recorder;
  std::int64_t start = 0;
  for (const std::int64_t length : calls) {
    model.forward(std::span(tokens).subspan(static_cast<std::size_t>(start),
                                            static_cast<std::size_t>(length)),
                  LogitRows::all, &recorder);
    start += length;
  }
  EXPECT_EQ(start, static_cast<std::int64_t>(tokens.size()));
  return recorder;
}

// Every recorded stage against golden at its tolerance (tolerance::kModel, exact for the embedding
// and the expert choices), as chapter 08 checks the CPU model.
void expect_every_stage_matches(const char* model_name, const std::string& case_name,
                                const ActivationRecorder& recorder) {
  const GoldenModel& golden = golden_model(model_name);
  int compared = 0;
  for (const std::string& stage : stage_order(golden.config.num_hidden_layers)) {
    if (stage.ends_with("attn_probs")) continue;  // not recorded on the GPU
    if (!golden.activations->contains(case_name + "." + stage)) continue;
    ASSERT_TRUE(recorder.contains(stage))
        << model_name << " " << case_name << ": the GPU did not record " << stage;
    const std::string short_stage =
        stage.starts_with("layers.") ? stage.substr(stage.find('.', 7) + 1) : stage;
    EXPECT_TRUE(matches_golden(recorder.concatenated(stage), golden.golden(case_name, stage),
                               stage_tolerance(short_stage)))
        << model_name << " " << case_name << " " << stage;
    ++compared;
  }
  EXPECT_GT(compared, 60);
}

class GpuFullModel : public GpuTestWithParam<const char*> {};

TEST_P(GpuFullModel, TwentyFourTokensAtOnceMatchGoldenAtEveryStage) {
  expect_every_stage_matches(GetParam(), "full", run_case(GetParam(), "full", {24}));
}

TEST_P(GpuFullModel, PrefillOf10Then14DecodeStepsMatchGoldenAtEveryStage) {
  expect_every_stage_matches(GetParam(), "decode",
                             run_case(GetParam(), "decode", prefill_then_single_tokens(10, 24)));
}

// Greedy decoding three ways, which must all give golden's 16 tokens: logits downloaded and argmax
// on the host, argmax on the device (forward_greedy), and chapter 08's CPU model.
TEST_P(GpuFullModel, GreedyTokensEqualGoldenAndTheCpuModel) {
  const GoldenModel& golden = golden_model(GetParam());
  const std::vector<std::int32_t> prompt = golden.ids("greedy", "prompt");
  const Tensor expected = golden.golden("greedy", "tokens");
  const Model& cpu = model_of(GetParam());
  KVCache cpu_cache = cpu.make_cache(64);
  GpuModel host_argmax(cpu, 64);
  GpuModel device_argmax(cpu, 64);
  Tensor logit_rows = Tensor::zeros({expected.numel(), cpu.config().vocab_size});
  std::vector<std::int32_t> cpu_input = prompt, host_input = prompt, device_input = prompt;
  for (std::int64_t step = 0; step < expected.numel(); ++step) {
    const Tensor cpu_logits = cpu.forward(cpu_input, cpu_cache, LogitRows::last);
    const std::int32_t cpu_token =
        argmax(std::span(cpu_logits.data<float>(), static_cast<std::size_t>(cpu_logits.numel())));
    const Tensor logits = host_argmax.forward(host_input, LogitRows::last);
    std::memcpy(logit_rows.mutable_data<float>() + step * logits.numel(), logits.data<float>(),
                logits.nbytes());
    const std::int32_t host_token =
        argmax(std::span(logits.data<float>(), static_cast<std::size_t>(logits.numel())));
    const std::int32_t device_token = device_argmax.forward_greedy(device_input);
    const auto golden_token = static_cast<std::int32_t>(expected.at({step}));
    ASSERT_EQ(cpu_token, golden_token) << "CPU, greedy step " << step;
    ASSERT_EQ(host_token, golden_token) << "GPU logits, greedy step " << step;
    ASSERT_EQ(device_token, golden_token) << "GPU argmax, greedy step " << step;
    cpu_input = host_input = device_input = {golden_token};
  }
  EXPECT_TRUE(matches_golden(logit_rows, golden.golden("greedy", "logits"), tolerance::kModel));
}

// The program's path: GpuSession behind InferenceSession, through chapter 08's generation loop.
TEST_P(GpuFullModel, GenerateThroughTheSessionGivesTheGoldenContinuation) {
  const GoldenModel& golden = golden_model(GetParam());
  const std::vector<std::int32_t> prompt = golden.ids("greedy", "prompt");
  const Tensor expected = golden.golden("greedy", "tokens");
  gpu::GpuSession session(model_of(GetParam()), 64);
  EXPECT_THAT(session.device(),
              ::testing::AnyOf(::testing::StartsWith("nvidia: "), ::testing::StartsWith("amd: ")));
  Sampler greedy({});
  const GenerationResult result = generate(session, greedy, prompt, expected.numel(), {}, nullptr);
  ASSERT_EQ(static_cast<std::int64_t>(result.tokens.size()), expected.numel());
  for (std::int64_t i = 0; i < expected.numel(); ++i) {
    EXPECT_EQ(result.tokens[static_cast<std::size_t>(i)],
              static_cast<std::int32_t>(expected.at({i})))
        << i;
  }
  EXPECT_EQ(session.position(), static_cast<std::int64_t>(prompt.size()) + expected.numel() - 1);
  session.reset();
  EXPECT_EQ(session.position(), 0);
}

// Two identical runs give identical bits: every kernel adds in a fixed order.
TEST_P(GpuFullModel, ARunRepeatedGivesTheSameBits) {
  const std::vector<std::int32_t> tokens = golden_model(GetParam()).tokens("full");
  GpuModel model(model_of(GetParam()), 32);
  const Tensor first = model.forward(tokens);
  model.reset();
  const Tensor second = model.forward(tokens);
  ASSERT_EQ(first.shape(), second.shape());
  EXPECT_EQ(std::memcmp(first.raw_data(), second.raw_data(), first.nbytes()), 0);
}

std::string model_test_name(const ::testing::TestParamInfo<const char*>& test) {
  return std::string(test.param) == "tiny" ? "Tiny" : "TinyMaverick";
}

INSTANTIATE_TEST_SUITE_P(Models, GpuFullModel, ::testing::Values("tiny", "tiny-maverick"),
                         model_test_name);

TEST_F(GpuTest, SecondPrefillAtOffset5MatchesGoldenAtEveryStage) {
  expect_every_stage_matches("tiny", "offset", run_case("tiny", "offset", {5, 7}));
}

TEST_F(GpuTest, LastRowLogitsEqualTheLastRowOfAllLogits) {
  const std::vector<std::int32_t> tokens = golden_model("tiny").tokens("full");
  GpuModel a(model_of("tiny"), 32), b(model_of("tiny"), 32);
  const Tensor all = a.forward(tokens, LogitRows::all);
  const Tensor last = b.forward(tokens, LogitRows::last);
  EXPECT_TRUE(matches_golden(last, all.slice(0, 23, 24), tolerance::kExact));
}

TEST_F(GpuTest, BadInputsAreTheCpuModelsErrors) {
  GpuModel model(model_of("tiny"), 8);
  EXPECT_THAT([&] { model.forward(std::vector<std::int32_t>{}); },
              ::testing::ThrowsMessage<Error>(HasSubstr("no tokens")));
  EXPECT_THAT([&] { model.forward(std::vector<std::int32_t>(9, 5)); },
              ::testing::ThrowsMessage<Error>(HasSubstr("past the context length 8")));
  EXPECT_THAT(
      [&] {
        model.forward(std::vector<std::int32_t>{3, 999});
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("token id 999 at position 1")));
  EXPECT_EQ(model.position(), 0);  // nothing ran
  EXPECT_NO_THROW(model.forward(std::vector<std::int32_t>(8, 5)));
  EXPECT_EQ(model.position(), 8);
}

TEST_F(GpuTest, AContextTheModelCannotHoldIsTheCpuModelsError) {
  const Model& cpu = model_of("tiny");  // max_position_embeddings 128
  EXPECT_THAT([&] { GpuModel model(cpu, 129); },
              ::testing::ThrowsMessage<Error>(HasSubstr("max_position_embeddings")));
  EXPECT_THAT([&] { GpuModel model(cpu, 0); },
              ::testing::ThrowsMessage<Error>(HasSubstr("must be positive")));
}

TEST_F(GpuTest, UploadsEveryWeightOnce) {
  const Model& cpu = model_of("tiny");
  GpuModel model(cpu, 16);
  EXPECT_EQ(model.weight_bytes(),
            cpu.config().total_parameters() * sizeof(bfloat16));  // bf16, as stored
  EXPECT_EQ(model.bytes_read_per_token(), cpu.bytes_read_per_token());
  EXPECT_GT(model.cache_bytes(), 0u);
}

// A model of realistic proportions (hidden 640, 8 experts, vocab 32000): the GPU's logits after a
// prefill and three decode steps against the CPU's. (Random weights have no golden data; the CPU
// model, checked against golden in chapter 08, is the reference.)
TEST_F(GpuTest, Synthetic100mMatchesTheCpuModel) {
  const ModelConfig config = synthetic_config("100m");
  const Model cpu(config, synthetic_checkpoint(config, 1));
  KVCache cache = cpu.make_cache(64);
  GpuModel model(cpu, 64);
  std::vector<std::int32_t> input = {1, 500, 17, 29999, 4242, 7, 123, 31000, 64, 2};
  for (int step = 0; step < 4; ++step) {
    const Tensor want = cpu.forward(input, cache, LogitRows::all);
    const Tensor got = model.forward(input, LogitRows::all);
    EXPECT_LT(nmse(to_vector(got), to_vector(want)), 1e-8) << "call " << step;
    input = {static_cast<std::int32_t>(100 + step * 1000)};
  }
}

// Chapter 12's formats on the GPU: the 100m model with its matrices quantized, the GPU's logits
// against the CPU's (which GpuTest sets to multiply by the dequantized weights in f32, as the GPU
// does).
TEST_F(GpuTest, Synthetic100mQuantizedMatchesTheCpuModel) {
  const ModelConfig config = synthetic_config("100m");
  const Model bf16(config, synthetic_checkpoint(config, 1));
  for (const DType format : {DType::Q8_0, DType::Q4_0, DType::Q4_1}) {
    const Model cpu(config, quantize_checkpoint(bf16.checkpoint(), QuantizationPlan{format}));
    KVCache cache = cpu.make_cache(64);
    GpuModel model(cpu, 64);
    EXPECT_LT(model.weight_bytes(), cpu.config().total_parameters() * sizeof(bfloat16))
        << dtype_name(format) << ": the matrices stay packed on the GPU";
    std::vector<std::int32_t> input = {1, 500, 17, 29999, 4242, 7, 123, 31000, 64, 2};
    for (int step = 0; step < 3; ++step) {
      const Tensor want = cpu.forward(input, cache, LogitRows::all);
      const Tensor got = model.forward(input, LogitRows::all);
      EXPECT_LT(nmse(to_vector(got), to_vector(want)), 1e-8)
          << dtype_name(format) << ", call " << step;
      input = {static_cast<std::int32_t>(100 + step * 1000)};
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The chapter09_hip program

std::string chapter09_hip() {
  return std::string(LLAMA4_CHAPTER09_HIP) + " --model " + golden_model_dir("tiny").string();
}

// gpu/standalone_test.sh builds the tests without the program (it needs the tokenizer's PCRE2).
#define SKIP_WITHOUT_THE_PROGRAM()                    \
  if (!std::filesystem::exists(LLAMA4_CHAPTER09_HIP)) \
  GTEST_SKIP() << LLAMA4_CHAPTER09_HIP << " was not built"

TEST_F(GpuTest, DumpLogitsMatchesGoldenLogits) {
  SKIP_WITHOUT_THE_PROGRAM();
  TemporaryDirectory directory;
  const std::string list = comma_separated(golden_model("tiny").tokens("full"));
  const std::string out = (directory / "logits.bin").string();
  const CommandResult result =
      run_command(chapter09_hip() + " --tokens " + list + " --dump-logits " + out, false);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.output, "");
  EXPECT_TRUE(matches_golden(read_dumped_logits(out, 24, 512),
                             golden_model("tiny").golden("full", "logits"), tolerance::kModel));
}

TEST_F(GpuTest, CheckGoldenRunsTheGoldenTinyModelAndNamesTheGpu) {
  SKIP_WITHOUT_THE_PROGRAM();
  const CommandResult result =
      run_command(std::string(LLAMA4_CHAPTER09_HIP) + " --check-golden", true);
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("all 16 tokens equal the golden continuation"));
  EXPECT_THAT(result.output, HasSubstr("running on " + gpu::describe(gpu::probe())));
}

TEST_F(GpuTest, WithoutArgumentsTheTrainedModelWritesText) {
  SKIP_WITHOUT_THE_PROGRAM();
  const CommandResult result = run_command(LLAMA4_CHAPTER09_HIP, true);
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("And it came to pass"));
  EXPECT_THAT(result.output, HasSubstr("decode"));
}

TEST_F(GpuTest, SyntheticModelsRun) {
  SKIP_WITHOUT_THE_PROGRAM();
  const CommandResult result = run_command(
      std::string(LLAMA4_CHAPTER09_HIP) + " --synthetic 100m -n 8 --prompt-length 16", true);
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("decode"));
}

// Runs where there is no GPU (here, and in CI): the program must say so and exit 1, not crash.
TEST(GpuProgram, WithoutAGpuItSaysSoAndExits1) {
  SKIP_WITHOUT_THE_PROGRAM();
  if (gpu::probe().available)
    GTEST_SKIP() << "there is a GPU; this test is for machines without one";
  const CommandResult result = run_command(chapter09_hip() + " --tokens 1,2,3 -n 2", true);
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.output, HasSubstr("error: no usable GPU: "));
  EXPECT_THAT(result.output, ::testing::Not(HasSubstr("Segmentation")));
}

}  // namespace
}  // namespace llama4::testing
