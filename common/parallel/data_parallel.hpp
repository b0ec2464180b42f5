// Data parallelism for training (chapter 14): what PyTorch's DistributedDataParallel does.
//
// Every rank holds the whole model. Each step, the batch of B sequences is cut into one slice per
// rank; each rank runs the forward and backward passes on its B/n sequences, then the ranks
// average their gradients with an all-reduce, so each holds the gradient of the whole batch:
//
//   grad = (1/n) Σ_r grad_r,   grad_r = the gradient of rank r's mean loss over its B/n sequences
//
// which is the gradient of the mean loss over all B sequences (equal slices, equal weights). Every
// rank then takes the same optimizer step from the same gradient, and the weights stay identical
// without ever being sent. n ranks give n times the sequences per second, minus the all-reduce of
// every gradient each step (4 bytes per parameter).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/parallel/communicator.hpp"

namespace llama4 {

// Rank communicator.rank()'s slice of a batch of `sequences` rows [B, T + 1]: rows
// r·B/n .. (r+1)·B/n. An Error when n does not divide B.
std::span<const std::int32_t> sequences_of_rank(std::span<const std::int32_t> batch,
                                                std::int64_t sequences,
                                                const Communicator& communicator);

// Averages `gradients` over the ranks, in place, one bucket of `bucket_elements` at a time (as DDP
// sends its gradients in buckets of a few MB rather than one message or one per tensor), and
// returns the mean of the ranks' `loss`.
double average_over_ranks(Communicator& communicator, std::span<float> gradients, double loss,
                          std::size_t bucket_elements = std::size_t{1} << 20);

}  // namespace llama4
