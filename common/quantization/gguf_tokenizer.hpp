// The tokenizer a GGUF file carries in its metadata (chapter 12).
//
// llama.cpp's converter stores a Llama 4 vocabulary as a "gpt2" byte-level BPE:
//
//   tokenizer.ggml.model       "gpt2"           byte-level BPE with merges
//   tokenizer.ggml.pre         "llama4"         the pre-tokenizer: Llama 4's o200k split pattern
//   tokenizer.ggml.tokens      [string]         every token, spelled in the byte-level alphabet
//   tokenizer.ggml.token_type  [i32]            1 normal, 3 control (<|eot|> ...), ...
//   tokenizer.ggml.merges      [string]         "Ġ t", in order
//
// The normal tokens come first, ids 0..N-1, and are the tiktoken vocabulary (id = merge rank);
// Llama 4's 2,048 special tokens follow. We rebuild chapter 02's Tokenizer from the normal tokens,
// after checking that the merges follow tiktoken's rule (byte_level_merges.hpp), so that text
// encodes exactly as Meta's tokenizer.model would encode it.
#pragma once

#include <filesystem>
#include <optional>

#include "common/tokenizer/tokenizer.hpp"

namespace llama4 {

// The tokenizer of the GGUF file `path` (the first part of a split set holds it), or nullopt when
// the file has no tokenizer.ggml.tokens. An Error names the file and the key or token at fault.
std::optional<Tokenizer> load_gguf_tokenizer(const std::filesystem::path& path);

}  // namespace llama4
