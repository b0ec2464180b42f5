// LoRA adapters on disk, in the layout of Hugging Face's PEFT library, so that an adapter trained
// here loads in PEFT (and one trained with PEFT on a downloaded Llama 4 loads here):
//
//   adapter_config.json          {"peft_type": "LORA", "r": 8, "lora_alpha": 16,
//                                 "target_modules": ["q_proj", ...], "task_type": "CAUSAL_LM", ...}
//   adapter_model.safetensors    base_model.model.<weight path>.lora_A.weight   [r, in]
//                                base_model.model.<weight path>.lora_B.weight   [out, r]
//
// "base_model.model." is PEFT's wrapper around the model; <weight path> is the module's name in the
// base checkpoint without ".weight" (with "language_model." when the base model nests it).
//
// Loading checks everything against the base model's config before any weight changes: an adapter
// of another rank, for other modules or for a model of other shapes is an Error naming the file
// and the tensor. PEFT options this chapter does not implement (DoRA, rsLoRA, per-module ranks,
// bias training, modules_to_save) are Errors naming the field, not silently ignored.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/finetuning/lora.hpp"
#include "common/tensors/checkpoint.hpp"

namespace llama4 {

// Writes the directory (whole or not at all). weight_prefix: "language_model." or "" (the base
// checkpoint's); base_model: where the base model came from, for adapter_config.json. extra_files:
// (name, bytes) to add (a model card, a training log).
void save_adapter(const std::filesystem::path& directory, LoraAdapter& adapter,
                  const std::string& weight_prefix, const std::string& base_model,
                  const std::vector<std::pair<std::string, std::string>>& extra_files = {});

// The same files written into an existing directory (for a caller that adds its own files and
// writes the whole with write_directory_atomically, as chapter13_finetune does).
void write_adapter_files(const std::filesystem::path& directory, LoraAdapter& adapter,
                         const std::string& weight_prefix, const std::string& base_model);
// The settings adapter_config.json gives (checked, but not yet against a model).
LoraSettings read_adapter_config(const std::filesystem::path& directory);

// The adapter in `directory`, for a model of `config`.
LoraAdapter load_adapter(const std::filesystem::path& directory, const ModelConfig& config);

// The base checkpoint with the adapter merged in: every target weight becomes W + (α/r)·B·A, in
// f32 (bf16 would round away much of a small change); every other tensor is the base's own.
Checkpoint merge_adapter(const Checkpoint& base, LoraAdapter& adapter);

}  // namespace llama4
