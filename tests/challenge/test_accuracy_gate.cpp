// The accuracy gate (bench/challenge/accuracy_gate.hpp): the reference passes against itself, and
// deliberately broken engines fail it: logits with noise, one wrong token, a batch that changes
// the tokens.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "bench/challenge/accuracy_gate.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/tensors/error.hpp"

namespace llama4::challenge {
namespace {

using ::testing::HasSubstr;

const Model& trained_model() {
  static const Model model = Model::load(trained_model_dir());
  return model;
}

// Three prompts of the trained model's vocabulary, 6 to 10 new tokens each.
Workload three_prompts() {
  Workload workload;
  workload.name = "test";
  workload.context_length = 64;
  workload.accuracy = {.identical_greedy_tokens = 6,
                       .max_mean_kl = 1e-3,
                       .min_top1_agreement = 0.99,
                       .max_perplexity_ratio = 1.01};
  workload.prompts = {{"", {4096, 300, 41, 1020, 77}, 6},
                      {"", {4096, 12, 900}, 8},
                      {"", {4096, 5, 6, 7, 8, 9, 10, 11, 12}, 10}};
  return workload;
}

std::vector<GenerationRequest> requests(const Workload& workload) {
  std::vector<GenerationRequest> out;
  for (const WorkloadPrompt& prompt : workload.prompts)
    out.push_back({prompt.ids, prompt.max_new_tokens});
  return out;
}

CpuEngine reference_engine() {
  return CpuEngine("cpu-f32", with_float_weights(trained_model(), DType::F32), 64);
}

Outputs generate(Engine& engine, const Workload& workload, std::int64_t batch) {
  std::vector<RequestTimes> times;
  return engine.generate(requests(workload), batch, {}, times);
}

// The CPU engine with Gaussian noise of standard deviation `sigma` added to every logit.
class NoisyEngine : public CpuEngine {
 public:
  NoisyEngine(float sigma) : CpuEngine("noisy", trained_model(), 64), sigma_(sigma) {}
  Tensor logits(std::span<const std::int32_t> tokens) override {
    Tensor logits = CpuEngine::logits(tokens);
    std::mt19937 random(7);
    std::normal_distribution<float> noise(0.0f, sigma_);
    float* data = logits.mutable_data<float>();
    for (std::int64_t i = 0; i < logits.numel(); ++i) data[i] += noise(random);
    return logits;
  }

 private:
  float sigma_;
};

TEST(AccuracyGate, TheReferencePassesAgainstItself) {
  const Workload workload = three_prompts();
  CpuEngine reference = reference_engine(), engine = reference_engine();
  const Outputs expected = generate(reference, workload, 1);
  const std::vector<Outputs> runs = {generate(engine, workload, 1), generate(engine, workload, 3)};
  const AccuracyResult result = judge_accuracy(reference, engine, workload, expected, runs);
  EXPECT_TRUE(result.passed) << ::testing::PrintToString(result.failures);
  EXPECT_EQ(result.prompts_identical, 3);
  EXPECT_EQ(result.mean_kl, 0.0);
  EXPECT_EQ(result.top1_agreement, 1.0);
  EXPECT_EQ(result.engine_perplexity, result.reference_perplexity);
  // Teacher forcing covers each prompt and its continuation but the last token: 16 + 21 positions.
  EXPECT_EQ(result.positions, (5 + 5) + (3 + 7) + (9 + 9));
  EXPECT_GT(result.reference_perplexity, 1.0);
}

TEST(AccuracyGate, Bf16WeightsPassTheGateOfTheF32Reference) {
  // The trained model is stored in bf16: widening to f32 is exact, and the arithmetic is f32 in
  // both, so only the order of the sums can differ.
  const Workload workload = three_prompts();
  CpuEngine reference = reference_engine();
  CpuEngine engine("cpu-bf16", with_float_weights(trained_model(), DType::BF16), 64);
  const AccuracyResult result =
      judge_accuracy(reference, engine, workload, generate(reference, workload, 1),
                     std::vector<Outputs>{generate(engine, workload, 2)});
  EXPECT_TRUE(result.passed) << ::testing::PrintToString(result.failures);
  EXPECT_LT(result.mean_kl, 1e-6);
}

TEST(AccuracyGate, LogitsWithNoiseFailOnKl) {
  const Workload workload = three_prompts();
  CpuEngine reference = reference_engine();
  NoisyEngine engine(0.5f);  // the greedy tokens are the model's own: only the logits are off
  const Outputs expected = generate(reference, workload, 1);
  const AccuracyResult result =
      judge_accuracy(reference, engine, workload, expected, std::vector<Outputs>{expected});
  EXPECT_FALSE(result.passed);
  EXPECT_EQ(result.prompts_identical, 3);
  EXPECT_GT(result.mean_kl, workload.accuracy.max_mean_kl);
  EXPECT_THAT(::testing::PrintToString(result.failures), HasSubstr("mean KL"));
}

TEST(AccuracyGate, OneWrongTokenFailsTheGreedyCheckAndIsNamed) {
  const Workload workload = three_prompts();
  CpuEngine reference = reference_engine(), engine = reference_engine();
  const Outputs expected = generate(reference, workload, 1);
  Outputs wrong = expected;
  wrong[1][4] = (wrong[1][4] + 1) % 4096;  // prompt 1, new token 4
  const AccuracyResult result =
      judge_accuracy(reference, engine, workload, expected, std::vector<Outputs>{expected, wrong});
  EXPECT_FALSE(result.passed);
  EXPECT_EQ(result.prompts_identical, 2);
  ASSERT_TRUE(result.first_mismatch.has_value());
  EXPECT_EQ(result.first_mismatch->prompt, 1);
  EXPECT_EQ(result.first_mismatch->position, 4);
  EXPECT_EQ(result.first_mismatch->reference_token, expected[1][4]);
  EXPECT_EQ(result.first_mismatch->engine_token, wrong[1][4]);
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_THAT(result.failures[0], HasSubstr("1 of 3 prompts differ from the reference within the "
                                            "first 6 new tokens (first: prompt 1, new token 4"));
}

TEST(AccuracyGate, ADifferenceAfterTheFirstNTokensIsAllowed) {
  const Workload workload = three_prompts();
  CpuEngine reference = reference_engine(), engine = reference_engine();
  const Outputs expected = generate(reference, workload, 1);
  Outputs late = expected;
  late[2][8] = (late[2][8] + 1) % 4096;  // prompt 2, new token 8: after the first 6
  late[0].pop_back();                    // and prompt 0 one token short, at its 6th
  const AccuracyResult result =
      judge_accuracy(reference, engine, workload, expected, std::vector<Outputs>{late});
  EXPECT_EQ(result.prompts_identical, 2);  // prompt 0 is short within the first 6
  ASSERT_TRUE(result.first_mismatch.has_value());
  EXPECT_EQ(result.first_mismatch->prompt, 0);
  EXPECT_EQ(result.first_mismatch->engine_token, -1);
}

// The engine GPU sessions use (one sequence at a time through an InferenceSession), checked here
// with chapter 08's CPU session: the batched CPU engine's tokens, logits and a time for every
// token.
TEST(Engines, ASessionOneSequenceAtATimeEqualsTheBatchedCpuEngine) {
  const Workload workload = three_prompts();
  CpuEngine batched("cpu-bf16", trained_model(), 64);
  SessionEngine one_at_a_time("session", std::make_unique<CpuSession>(trained_model(), 64),
                              trained_model().checkpoint().total_bytes());
  EXPECT_EQ(one_at_a_time.max_batch(), 1);
  std::vector<RequestTimes> times;
  const Outputs expected = generate(batched, workload, 3);
  EXPECT_EQ(one_at_a_time.generate(requests(workload), 1, {}, times), expected);
  ASSERT_EQ(times.size(), 3u);
  for (std::size_t r = 0; r < times.size(); ++r) {
    ASSERT_EQ(std::ssize(times[r].token_times), workload.prompts[r].max_new_tokens);
    EXPECT_LE(times[r].prefill_start, times[r].token_times.front());
    EXPECT_TRUE(std::is_sorted(times[r].token_times.begin(), times[r].token_times.end()));
  }
  const Tensor a = batched.logits(workload.prompts[2].ids);
  const Tensor b = one_at_a_time.logits(workload.prompts[2].ids);
  for (std::int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data<float>()[i], b.data<float>()[i]);
  EXPECT_THAT([&] { one_at_a_time.generate(requests(workload), 2, {}, times); },
              ::testing::ThrowsMessage<Error>(HasSubstr("decodes one sequence at a time")));
}

TEST(AccuracyGate, OutputsOfTheWrongCountAreAnError) {
  const Workload workload = three_prompts();
  CpuEngine reference = reference_engine();
  const Outputs two(2);
  EXPECT_THROW(judge_accuracy(reference, reference, workload, two, std::vector<Outputs>{two}),
               Error);
}

}  // namespace
}  // namespace llama4::challenge
