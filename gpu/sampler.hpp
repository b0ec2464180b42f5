// Greedy sampling on the GPU: the twin of argmax in common/model/sampler.hpp.
//
// Decoding greedily needs only the index of the largest logit. Finding it on the device means one
// int32 crosses back to the host per token instead of the whole [V] row (202048 floats, 800 KB, for
// Llama 4's vocabulary). The other sampling modes (temperature, top-k, top-p, min-p) run on the
// host on the downloaded row, exactly as in chapter 08.
#pragma once

#include <cstdint>

namespace llama4::gpu {

// ids: [rows] int32 = argmax of each row of logits: [rows, vocab] (device). Ties go to the lowest
// id, like the CPU (and torch.argmax); NaNs are never chosen (a row of NaNs gives 0).
void argmax_rows(const float* logits, std::int32_t* ids, std::int64_t rows, std::int64_t vocab);

}  // namespace llama4::gpu
