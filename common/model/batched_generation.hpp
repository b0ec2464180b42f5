// Batched generation: many sequences decoded together, and continuous batching.
//
// A decode step of one sequence reads every weight it uses to produce ONE token: memory-bound,
// the arithmetic units mostly idle. Decoding B sequences in the same step reads each weight once
// for B tokens (Model::forward_batch): the matrix-vector products become matrix-matrix products,
// and the tokens per second of the whole batch grow nearly B-fold until the arithmetic, not the
// memory, is the limit. Each sequence keeps its own KV cache and position; only the weights are
// shared.
//
// Continuous batching: sequences finish at different times. Instead of waiting for the whole batch,
// a finished sequence's slot is given at once to the next waiting prompt, which is prefilled on its
// own and joins the following decode step. This is how serving engines (vLLM, TGI, llama.cpp's
// server) keep the batch full.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/model/model.hpp"

namespace llama4 {

struct GenerationRequest {
  std::vector<std::int32_t> prompt;  // ids, BOS included if wanted; not empty
  std::int64_t max_new_tokens = 16;  // at least 1
};

// When a request's tokens came out, in seconds from the start of the run (every request is waiting
// at time 0). What the challenge harness turns into latencies (bench/challenge): the time to the
// first token is token_times[0], queueing included; the time per output token is the mean gap
// between the later ones.
struct RequestTimes {
  double prefill_start = 0;         // the request left the queue: its prompt's forward pass began
  std::vector<double> token_times;  // [generated tokens]; token_times[0] ends the prefill
};

// Greedy generation of every request, at most `batch` sequences decoding in the same step, each
// with a cache of `context_length` positions. A sequence ends after max_new_tokens or at one of
// `stop_ids` (kept in its output). Returns the generated ids of each request, in request order,
// and, given `times`, fills it with each request's RequestTimes.
// A request whose prompt and new tokens do not fit the context, an empty prompt, or a batch below
// 1 is an Error naming the request.
std::vector<std::vector<std::int32_t>> generate_batched(const Model& model,
                                                        std::span<const GenerationRequest> requests,
                                                        std::int64_t batch,
                                                        std::int64_t context_length,
                                                        std::span<const std::int32_t> stop_ids = {},
                                                        std::vector<RequestTimes>* times = nullptr);

// The checks generate_batched makes of its requests before it runs anything, for engines that
// generate another way (one sequence at a time on a GPU, say).
void check_generation_requests(std::span<const GenerationRequest> requests,
                               std::int64_t context_length);

}  // namespace llama4
