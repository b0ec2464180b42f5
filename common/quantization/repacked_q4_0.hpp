// Kernel v4's copy of a Q4_0 matrix: its rows in groups of eight, interleaved block by block.
//
// A Q4_0 matrix [rows, in] stores each row's blocks one after the other. Kernel v3 takes eight
// rows at once and so reads eight places of memory at once, which the hardware prefetcher serves
// badly: in the model it lost to one row at a time (bench/RESULTS.md). v4 reads the same numbers
// from a copy laid out for it, one 144-byte record (BlockQ4_0x8) per group of eight rows and block,
// so that a group is one stream front to back:
//
//   group 0: [block 0 of rows 0..7][block 1 of rows 0..7] ... [block in/32 - 1 of rows 0..7]
//   group 1: [block 0 of rows 8..15] ...
//
// llama.cpp does the same at load time (block_q4_0x8). Here the copy is made the first time
// decode multiplies by a matrix, and kept for the rest of the program together with a reference
// to the weight's memory, so that memory is never reused for another matrix under the same address.
// It costs the matrix's size again in memory (the original is still what prefill reads).
#pragma once

#include "common/quantization/integer_dot.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {

// The interleaved copy of `weight`, a contiguous Q4_0 matrix [rows, in] with rows a multiple of 8:
// record g · (in / 32) + b holds block b of rows 8g..8g+7. Made on first use (thread-safe).
const BlockQ4_0x8* repacked_q4_0(const Tensor& weight);

// Makes now the copies decode would ask for: for a Q4_0 matrix [rows, in] or stack of matrices
// [E, rows, in] (the routed experts) with rows a multiple of 8, when kernel v4 runs. Anything else
// is left alone. Model calls it for every weight at load time, as llama.cpp repacks at load.
void prepare_for_decode(const Tensor& weight);

// How many matrices have a copy, and their bytes (for tests and benchmarks).
std::size_t repacked_q4_0_count();
std::size_t repacked_q4_0_bytes();

}  // namespace llama4
