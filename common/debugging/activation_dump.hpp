// Activation dumps: every stage of a forward pass, saved to disk and compared.
//
// `chapter08_model --dump-activations DIR` saves each intermediate tensor of the run under the
// golden data's names (embedding, layers.0.attn_norm, layers.0.q, ..., final_norm, logits) in
// DIR/activations.safetensors. `chapter08_compare` then walks two such files stage by stage, in the
// order the forward pass computes them, and names the FIRST stage where they part: the place to
// start looking for a bug. A golden activations file works as either side (its names carry a case
// prefix such as "full.", given with --case).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "common/debugging/activation_recorder.hpp"
#include "common/debugging/golden.hpp"
#include "common/tensors/safetensors.hpp"

namespace llama4 {

// The stages of one decoder layer, in the order they are computed.
const std::vector<std::string>& layer_stage_order();

// The number of layers a file holds stages of: one more than the highest N of the names
// "<prefix>layers.N.<stage>". The names come from a file, so an N that is not a plain decimal
// number, or is kMaxLayers (model_config.hpp) or more, is an Error naming the tensor; it used to
// throw std::invalid_argument, or make chapter08_compare list 10^7 layers' stages (5 GB).
std::int64_t dump_layer_count(const SafetensorsFile& file, const std::string& prefix);

// Every stage name of an L-layer model in computation order ("embedding", "layers.0.attn_norm",
// ..., "final_norm", "logits").
std::vector<std::string> stage_order(std::int64_t layers);

// The tolerance golden/README.md gives a stage ("q_norm", "logits", ...) of a whole forward pass.
Tolerance stage_tolerance(const std::string& stage);

// Writes what `recorder` saw (calls joined along the first dimension; attention probabilities of
// the last call only) plus the token ids, to `path`.
void write_activation_dump(const std::filesystem::path& path, const ActivationRecorder& recorder,
                           std::span<const std::int32_t> tokens);

// The first stage (in computation order) of what `recorder` saw that holds a NaN or an infinity,
// with the place: "layers.1.q at [3, 0, 7]"; empty if every value is finite.
std::string first_non_finite_stage(const ActivationRecorder& recorder);

struct Divergence {
  bool found = false;       // false: every common stage agrees
  std::string stage;        // e.g. "layers.2.attn_out"
  std::int64_t layer = -1;  // -1 outside the layers
  std::string detail;       // the comparison summary
  std::int64_t stages_compared = 0;
};

// Compares the stages both files have, in computation order, stopping at the first that differs
// beyond its tolerance (or beyond `tolerance` when given; it must be finite and not negative, or
// no difference would ever count). Names are looked up as prefix + stage.
Divergence first_divergence(const SafetensorsFile& a, const std::string& a_prefix,
                            const SafetensorsFile& b, const std::string& b_prefix,
                            std::int64_t layers,
                            const std::optional<Tolerance>& tolerance = std::nullopt);

}  // namespace llama4
