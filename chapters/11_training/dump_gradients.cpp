// chapter11_train --model DIR --tokens IDS --dump-gradients OUT.safetensors
//
// The loss of one sequence and its gradient with respect to every weight, for checking this
// chapter's backward pass with another tool (PyTorch: see golden/README.md). Nothing is updated.
#include <charconv>
#include <iostream>

#include "chapters/11_training/train.hpp"
#include "common/tensors/atomic_file.hpp"
#include "common/tensors/checkpoint.hpp"
#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/regular_file.hpp"
#include "common/tensors/safetensors.hpp"
#include "common/training/trainable_model.hpp"

namespace llama4 {
namespace {

// "1,2,3", or "@FILE" whose text is such a list (commas or white space between the ids).
std::vector<std::int32_t> parse_ids(const std::string& argument) {
  std::string text = argument;
  if (argument.starts_with('@')) text = read_regular_file(argument.substr(1));
  std::vector<std::int32_t> ids;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  while (p < end) {
    if (*p == ',' || *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
      ++p;
      continue;
    }
    std::int32_t id = 0;
    const auto [next, error] = std::from_chars(p, end, id);
    if (error != std::errc() || id < 0) {
      fail("--tokens: \"",
           std::string(p, std::min<std::size_t>(12, static_cast<std::size_t>(end - p))),
           "\" at character ", p - text.data(), " is not a token id");
    }
    ids.push_back(id);
    p = next;
  }
  return ids;
}

}  // namespace

int dump_gradients(const std::filesystem::path& model_dir, const std::string& tokens,
                   const std::filesystem::path& out) {
  const std::vector<std::int32_t> ids = parse_ids(tokens);
  if (ids.size() < 2) fail("--tokens: ", ids.size(), " ids predict nothing; give at least 2");
  const ModelConfig config = load_model_config(model_dir);
  const Checkpoint checkpoint = Checkpoint::open(model_dir);
  for (std::size_t t = 0; t < ids.size(); ++t) {
    if (ids[t] >= config.vocab_size) {
      fail("--tokens: id ", ids[t], " at position ", t, " is outside the vocabulary (",
           config.vocab_size, ")");
    }
  }
  TrainableModel model(config);
  model.load_weights(checkpoint);
  const double loss = model.forward_backward(ids, 1);

  const std::string prefix = WeightNames(checkpoint).prefix();
  std::vector<std::pair<std::string, Tensor>> tensors;
  tensors.emplace_back("loss", Tensor::from_values({}, {static_cast<float>(loss)}));
  for (const ParameterInfo& info : model.parameters().infos()) {
    tensors.emplace_back(prefix + info.name, model.parameters().gradient(info.name));
  }
  write_safetensors(out, tensors, {{"format", "pt"}, {"tokens", std::to_string(ids.size())}});
  std::cout << "loss " << loss << " over " << ids.size() - 1 << " predicted tokens; wrote "
            << tensors.size() - 1 << " gradients to " << out.string() << '\n';
  return 0;
}

}  // namespace llama4
