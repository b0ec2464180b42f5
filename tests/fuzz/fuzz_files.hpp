// What the fuzz targets that read files share: a private scratch directory, one fuzz input cut
// into several files, and a few tokens through a model that loaded.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/model/model.hpp"

namespace llama4::fuzz {

// A directory of this process's own under /tmp, made on first use and removed at exit.
const std::filesystem::path& scratch_directory();

// Writes `bytes` to scratch_directory() / name and returns the path.
std::filesystem::path write_scratch_file(const std::string& name, std::string_view bytes);

// The parts of a multi-file input, cut at each kFileSeparator.
inline constexpr std::string_view kFileSeparator = "\n==> next file <==\n";
std::vector<std::string_view> split_files(std::string_view data);

// Three valid token ids (fewer if the context is shorter) through `model` with a small cache: the
// logits must be [tokens, V] and finite, or a llama4::Error says why not; anything else traps.
void run_a_few_tokens(const Model& model);

}  // namespace llama4::fuzz
