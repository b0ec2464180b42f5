// ActivationRecorder: keeps a copy of every intermediate tensor a forward pass shows it.
//
// The forward functions take an optional recorder and call record("layers.3.q", q) at each stage.
// The names are the golden data's names (golden/README.md), so any stage can be compared with the
// golden tensor of the same name, or dumped to disk for a learner's debugger.
//
// A forward pass over many calls (prefill, then one token at a time) records each stage once per
// call; concatenated(name) joins the calls' rows in order, so row t is position t, exactly like the
// golden data. last(name) is the most recent call's tensor.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/tensors/tensor.hpp"

namespace llama4 {

class ActivationRecorder {
 public:
  void record(std::string_view name, const Tensor& tensor);
  // record("layers." + layer + "." + stage, tensor)
  void record(std::int64_t layer, std::string_view stage, const Tensor& tensor);

  bool contains(std::string_view name) const { return calls_.find(name) != calls_.end(); }
  // Every recorded call joined along the first dimension.
  Tensor concatenated(std::string_view name) const;
  Tensor last(std::string_view name) const;
  std::vector<std::string> names() const;
  void clear() { calls_.clear(); }

 private:
  const std::vector<Tensor>& calls_of(std::string_view name) const;
  std::map<std::string, std::vector<Tensor>, std::less<>> calls_;
};

}  // namespace llama4
