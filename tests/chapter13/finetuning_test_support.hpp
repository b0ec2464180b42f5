// Golden data for chapter 13's tests: golden/data/finetuning-tiny.safetensors
// (golden/finetuning.py, PyTorch autograd on the golden tiny model).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/finetuning/packing.hpp"
#include "common/finetuning/supervised_example.hpp"
#include "common/tensors/safetensors.hpp"

namespace llama4::testing {

const SafetensorsFile& golden_finetuning();

// The golden file's three conversations (tokens and trained flags).
std::vector<SupervisedExample> golden_conversations();

// All three packed into one training sequence (T = 47: 42 tokens and 6 of padding).
PackedSequences golden_packed_batch();

}  // namespace llama4::testing
