// A model with a LoRA adapter merged into it at load time: what `chapter08_model --adapter DIR`
// and chapter 13's evaluation run.
//
// Merging once (W' = W + (α/r)·B·A, adapter_file.hpp) makes the adapted model exactly as fast as
// the base: inference never sees the adapter again. The adapted weights are f32 in memory; every
// other tensor stays the base checkpoint's own (mapped, not copied).
#pragma once

#include <filesystem>

#include "common/model/model.hpp"

namespace llama4 {

// An adapter made for another model (other shapes, other modules) is an Error naming the adapter's
// file and tensor.
Model with_adapter(const Model& base, const std::filesystem::path& adapter_directory);

}  // namespace llama4
