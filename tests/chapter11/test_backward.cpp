// Backpropagation through the whole model against PyTorch's autograd (golden/generate.py
// training_tensors): the loss, the gradient of every stage's activation, and of every weight.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/debugging/activation_recorder.hpp"
#include "common/debugging/golden.hpp"
#include "tests/chapter11/training_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using testing::first_rows;
using testing::golden_gradients;
using testing::golden_model;
using testing::golden_trainable_model;
using testing::matches_golden;
using testing::matches_gradient;

class WholeModel : public ::testing::TestWithParam<const char*> {
 protected:
  const testing::GoldenModel& golden() const { return golden_model(GetParam()); }
  const SafetensorsFile& gradients() const { return golden_gradients(GetParam()); }
  std::vector<std::int32_t> one_sequence() const {
    const Tensor ids = gradients().tensor("one.tokens");
    return {ids.data<std::int32_t>(), ids.data<std::int32_t>() + ids.numel()};
  }
};

TEST_P(WholeModel, TrainingForwardEqualsTheGoldenActivations) {
  TrainableModel model = golden_trainable_model(golden());
  const std::vector<std::int32_t> tokens = one_sequence();
  ActivationRecorder activations;
  model.forward_backward(tokens, 1, &activations, nullptr);
  const auto rows = static_cast<std::int64_t>(tokens.size()) - 1;
  int compared = 0;
  for (const std::string& name : activations.names()) {
    SCOPED_TRACE(name);
    if (!golden().activations->contains("full." + name)) continue;
    const Tensor expected = first_rows(golden().golden("full", name), rows);
    EXPECT_TRUE(matches_golden(activations.last(name), expected, tolerance::kModel));
    ++compared;
  }
  EXPECT_GE(compared, 4 * 14);  // every stage of every layer, not a handful
}

TEST_P(WholeModel, LossEqualsPyTorch) {
  TrainableModel model = golden_trainable_model(golden());
  const double loss = model.forward_backward(one_sequence(), 1);
  EXPECT_NEAR(loss, gradients().tensor("one.loss").flat(0), 1e-5);
}

TEST_P(WholeModel, EveryStageGradientEqualsAutograd) {
  TrainableModel model = golden_trainable_model(golden());
  ActivationRecorder stage_gradients;
  model.forward_backward(one_sequence(), 1, nullptr, &stage_gradients);
  int compared = 0;
  for (const std::string& name : stage_gradients.names()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(gradients().contains("one.grad." + name)) << "autograd has no gradient for it";
    EXPECT_TRUE(
        matches_gradient(stage_gradients.last(name), gradients().tensor("one.grad." + name)));
    ++compared;
  }
  EXPECT_GE(compared, 4 * 12);
}

TEST_P(WholeModel, EveryWeightGradientEqualsAutograd) {
  TrainableModel model = golden_trainable_model(golden());
  model.forward_backward(one_sequence(), 1);
  for (const ParameterInfo& info : model.parameters().infos()) {
    SCOPED_TRACE(info.name);
    EXPECT_TRUE(matches_gradient(model.parameters().gradient(info.name),
                                 gradients().tensor("one.grad." + info.name)));
  }
}

std::string model_label(const ::testing::TestParamInfo<const char*>& parameter) {
  return std::string(parameter.param) == "tiny" ? "Tiny" : "TinyMaverick";
}
INSTANTIATE_TEST_SUITE_P(Models, WholeModel, ::testing::Values("tiny", "tiny-maverick"),
                         model_label);

TEST(Batch, TwoSequencesGiveAutogradsLossAndWeightGradients) {
  const testing::GoldenModel& golden = golden_model("tiny");
  const SafetensorsFile& expected = golden_gradients("tiny");
  TrainableModel model = golden_trainable_model(golden);
  const Tensor tokens = expected.tensor("batch.tokens");  // [2, 24]
  const double loss = model.forward_backward(
      {tokens.data<std::int32_t>(), static_cast<std::size_t>(tokens.numel())}, 2);
  EXPECT_NEAR(loss, expected.tensor("batch.loss").flat(0), 1e-5);
  for (const ParameterInfo& info : model.parameters().infos()) {
    SCOPED_TRACE(info.name);
    EXPECT_TRUE(matches_gradient(model.parameters().gradient(info.name),
                                 expected.tensor("batch.grad." + info.name)));
  }
}

}  // namespace
}  // namespace llama4
