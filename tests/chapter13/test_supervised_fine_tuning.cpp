// Supervised fine-tuning against PyTorch: the masked loss of three packed conversations, every
// weight's gradient and one AdamW step equal autograd's on the same conversations run one by one
// (golden/finetuning.py). And the two properties that make SFT what it is: a conversation packed
// with others computes exactly what it computes alone, and the prompt's targets teach nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/finetuning/packing.hpp"
#include "common/model/model.hpp"
#include "common/training/adamw.hpp"
#include "tests/chapter11/training_test_support.hpp"
#include "tests/chapter13/finetuning_test_support.hpp"
#include "tests/support/golden_model.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using testing::golden_finetuning;
using testing::matches_gradient;

TEST(SupervisedFineTuning, PackedLossAndEveryGradientEqualPyTorchOnConversationsRunAlone) {
  const testing::GoldenModel& golden = testing::golden_model("tiny");
  TrainableModel model = testing::golden_trainable_model(golden);
  const PackedSequences packed = testing::golden_packed_batch();
  ASSERT_EQ(packed.sequences(), 1);  // all three in one sequence: packing is what is tested

  const double loss = model.forward_backward(packed.batch(0, 1));
  const float golden_loss = golden_finetuning().tensor("sft.loss").flat(0);
  EXPECT_NEAR(loss, golden_loss, 1e-5 * std::abs(golden_loss));
  for (const ParameterInfo& info : model.parameters().infos()) {
    EXPECT_TRUE(matches_gradient(model.parameters().gradient(info.name),
                                 golden_finetuning().tensor("sft.grad." + info.name)))
        << info.name;
  }
}

// Adam's first step moves each weight by lr · g / (|g| + ε) (plus the decay): about ±lr whatever
// the size of g. Where |g| is within a few hundred ε (1e-8), the two sides' rounding of g, tiny in
// absolute terms, is a large part of g and moves the weight by a visibly different fraction of lr;
// those elements are left out. Every other weight must land within 1% of lr of PyTorch's.
::testing::AssertionResult step_matches(const Tensor& ours, const Tensor& expected,
                                        const Tensor& gradient) {
  std::int64_t compared = 0;
  for (std::int64_t i = 0; i < ours.numel(); ++i) {
    if (std::abs(gradient.flat(i)) < 1e-6f) continue;
    ++compared;
    if (std::abs(ours.flat(i) - expected.flat(i)) > 1e-4f) {
      return ::testing::AssertionFailure()
             << "element " << i << ": ours " << ours.flat(i) << ", PyTorch's " << expected.flat(i)
             << " (gradient " << gradient.flat(i) << ")";
    }
  }
  return ::testing::AssertionSuccess() << compared << " elements compared";
}

TEST(SupervisedFineTuning, OneStepEqualsPyTorchs) {
  const testing::GoldenModel& golden = testing::golden_model("tiny");
  TrainableModel model = testing::golden_trainable_model(golden);
  const PackedSequences packed = testing::golden_packed_batch();
  model.forward_backward(packed.batch(0, 1));
  clip_gradient_norm(model.parameters().gradients(), 1.0);
  AdamW optimizer({0.9, 0.95, 1e-8, 0.1}, model.parameters().count());
  optimizer.step(model.parameters(), 1e-2);
  for (const ParameterInfo& info : model.parameters().infos()) {
    EXPECT_TRUE(step_matches(model.parameters().value(info.name),
                             golden_finetuning().tensor("sft.step." + info.name),
                             golden_finetuning().tensor("sft.grad." + info.name)))
        << info.name;
  }
}

// The logits of each conversation inside the packed sequence equal its logits alone: in the
// trainer, and in chapter 08's inference model (which never heard of packing).
TEST(SupervisedFineTuning, APackedConversationsLogitsEqualTheSameConversationAlone) {
  const testing::GoldenModel& golden = testing::golden_model("tiny");
  TrainableModel model = testing::golden_trainable_model(golden);
  const PackedSequences packed = testing::golden_packed_batch();
  const Tensor packed_logits = model.logits(packed.batch(0, 1));  // [47, V]
  const Model inference = Model::load(golden_model_dir("tiny"));
  std::int64_t start = 0;
  for (const SupervisedExample& example : testing::golden_conversations()) {
    const auto n = static_cast<std::int64_t>(example.tokens.size());
    const std::span<const std::int32_t> inputs(example.tokens.data(),
                                               static_cast<std::size_t>(n - 1));
    KVCache cache = inference.make_cache(64);
    const Tensor alone = inference.forward(inputs, cache);  // [n - 1, V]
    const Tensor inside = packed_logits.slice(0, start, start + n - 1).clone();
    EXPECT_TRUE(testing::matches_golden(inside, alone, Tolerance{1e-5, 1e-5})) << example.where;
    start += n;
  }
}

// Changing the target of a prompt token (one the mask excludes) changes no gradient at all;
// changing the target of an assistant token does (so the comparison can fail). A token is both
// the target of the position before it and the input of its own, so each case cuts the
// conversation right after the token changed: there it is a target only.
TEST(SupervisedFineTuning, APromptTokensTargetChangesNoGradient) {
  const testing::GoldenModel& golden = testing::golden_model("tiny");
  const SupervisedExample conversation = testing::golden_conversations()[2];
  const auto gradients = [&](std::size_t last, bool change_it) {
    SupervisedExample prefix = conversation;  // tokens 0..last
    prefix.tokens.resize(last + 1);
    prefix.trained.resize(last + 1);
    if (change_it) prefix.tokens[last] = (prefix.tokens[last] + 1) % 512;
    const PackedSequences packed =
        pack_examples(std::vector{prefix}, static_cast<std::int64_t>(last), 0);
    TrainableModel model = testing::golden_trainable_model(golden);
    model.forward_backward(packed.batch(0, 1));
    const std::span<const float> all = model.parameters().gradients();
    return std::vector<float>(all.begin(), all.end());
  };
  const std::size_t user_token = 12, assistant_token = 16;  // trained: 6..8 and 14..18
  ASSERT_EQ(conversation.trained[user_token], 0);
  ASSERT_EQ(conversation.trained[assistant_token], 1);
  EXPECT_EQ(gradients(user_token, false), gradients(user_token, true));
  EXPECT_NE(gradients(assistant_token, false), gradients(assistant_token, true));
}

}  // namespace
}  // namespace llama4
