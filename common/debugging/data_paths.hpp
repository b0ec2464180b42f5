// Where the project's data lives.
//
//   golden data    golden/data/ in this repository (the tiny checkpoints and their activations),
//                  or $LLAMA4_GOLDEN_DIR
//   trained model  golden/llama4-bible/ (chapter 11's Llama 4, trained on two English Bibles),
//                  or $LLAMA4_TRAINED_MODEL
//   tokenizer      Meta's tokenizer.model, kept OUTSIDE the repository (it has its own license):
//                  $LLAMA4_TOKENIZER, else ../shared/llama4/tokenizer.model next to the checkout
//
// Programs and tests call these instead of hard-coding paths; tests that need a file that is not
// there skip with a message naming the path and the variable to set.
#pragma once

#include <filesystem>
#include <string>

namespace llama4 {

std::filesystem::path golden_data_dir();
std::filesystem::path default_tokenizer_path();

// A tiny golden checkpoint by name: "tiny", "tiny-sharded" or "tiny-maverick".
std::filesystem::path golden_model_dir(const char* name);
// The model chapter 11 trained: what chapter08_model runs when given no model.
std::filesystem::path trained_model_dir();
// The LoRA adapter chapter 13 fine-tuned on top of it, for the chat format: what --chat uses when
// given no model.
std::filesystem::path chat_adapter_dir();

// The tokenizer that belongs to a checkpoint directory, the first that exists of:
//   tokenizer.model     Meta's tiktoken ranks, in a downloaded Llama 4 checkpoint
//   tokenizer.tiktoken  ranks trained here (chapter 11), in our checkpoints: a different name, so
//                       nobody takes them for Meta's file
//   tokenizer.json      Hugging Face's form
// An empty path when the directory has none of them.
std::filesystem::path checkpoint_tokenizer_path(const std::filesystem::path& directory);
// What the chapter 11 trainer writes into its checkpoints.
inline constexpr const char* kTrainedTokenizerFile = "tokenizer.tiktoken";

// The golden activations of a tiny model: golden/data/activations-<name>.safetensors.
std::filesystem::path golden_activations_path(const char* model_name);

}  // namespace llama4
