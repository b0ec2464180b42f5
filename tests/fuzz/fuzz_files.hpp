// What the fuzz targets that read files share: a private scratch directory, and one fuzz input cut
// into several files.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace llama4::fuzz {

// A directory of this process's own under /tmp, made on first use and removed at exit.
const std::filesystem::path& scratch_directory();

// Writes `bytes` to scratch_directory() / name and returns the path.
std::filesystem::path write_scratch_file(const std::string& name, std::string_view bytes);

// The parts of a multi-file input, cut at each kFileSeparator.
inline constexpr std::string_view kFileSeparator = "\n==> next file <==\n";
std::vector<std::string_view> split_files(std::string_view data);

}  // namespace llama4::fuzz
