#include "common/tensors/checkpoint.hpp"

#include <algorithm>

#include "common/tensors/error.hpp"
#include "common/tensors/json_document.hpp"
#include "common/tensors/regular_file.hpp"

namespace llama4 {
namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

// A shard name from the index must be a plain file name in the same directory: "../../etc/x" or
// "/abs/path" in a downloaded index must not make us open files elsewhere. Control characters are
// refused too: the operating system reads a name only up to a NUL, so "a.safetensors\0junk" would
// open a.safetensors while we report the longer name.
void check_shard_name(const std::filesystem::path& index, const std::string& shard,
                      const std::string& tensor) {
  const std::filesystem::path as_path(shard);
  const bool has_control_character = std::any_of(shard.begin(), shard.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
  });
  if (shard.empty() || as_path.has_parent_path() || as_path.is_absolute() || shard == "." ||
      shard == ".." || has_control_character) {
    fail(index, ": tensor \"", tensor, "\" maps to \"", printable(shard),
         "\", which is not a file name in the checkpoint directory");
  }
}

}  // namespace

Checkpoint Checkpoint::open(const std::filesystem::path& location) {
  Checkpoint checkpoint;
  checkpoint.location_ = location;
  std::error_code ignored;

  // One file given directly.
  if (std::filesystem::is_regular_file(location, ignored)) {
    auto file = std::make_shared<const SafetensorsFile>(location);
    for (const std::string& name : file->names()) checkpoint.shard_of_[name] = 0;
    checkpoint.files_.push_back(std::move(file));
    return checkpoint;
  }
  if (!std::filesystem::is_directory(location, ignored)) {
    fail("checkpoint ", location, " does not exist");
  }

  // A directory with a single model.safetensors (Hugging Face prefers it when both exist).
  const std::filesystem::path single = location / kSingleFile;
  const std::filesystem::path index = location / kIndexFile;
  if (std::filesystem::exists(single, ignored)) {
    auto file = std::make_shared<const SafetensorsFile>(single);
    for (const std::string& name : file->names()) checkpoint.shard_of_[name] = 0;
    checkpoint.files_.push_back(std::move(file));
    return checkpoint;
  }
  if (!std::filesystem::exists(index, ignored)) {
    fail("checkpoint directory ", location, " has neither ", kSingleFile, " nor ", kIndexFile);
  }

  // A sharded checkpoint: read the index, open each shard once, check every listed tensor is there.
  // parse_json_document refuses a tensor listed twice in weight_map (which shard would it be in?).
  const nlohmann::json json = parse_json_document(read_regular_file(index), index.string());
  if (!json.is_object() || !json.contains("weight_map") || !json["weight_map"].is_object()) {
    fail(index, " has no \"weight_map\" object");
  }
  std::map<std::string, std::size_t> shard_numbers;  // shard file name -> index in files_
  for (const auto& [tensor, shard_json] : json["weight_map"].items()) {
    if (!shard_json.is_string()) fail(index, ": tensor \"", tensor, "\" maps to a non-string");
    const std::string shard = shard_json.get<std::string>();
    check_shard_name(index, shard, tensor);
    auto [position, inserted] = shard_numbers.try_emplace(shard, checkpoint.files_.size());
    if (inserted) {
      const std::filesystem::path shard_path = location / shard;
      if (!std::filesystem::exists(shard_path, ignored)) {
        fail("checkpoint ", location, ": shard \"", shard, "\" (holding tensor \"", tensor,
             "\") is missing");
      }
      checkpoint.files_.push_back(std::make_shared<const SafetensorsFile>(shard_path));
    }
    const SafetensorsFile& file = *checkpoint.files_[position->second];
    if (!file.contains(tensor)) {
      fail(index, " says tensor \"", tensor, "\" is in ", shard,
           ", but that file has no such tensor");
    }
    checkpoint.shard_of_[tensor] = position->second;
  }
  return checkpoint;
}

Checkpoint Checkpoint::from_tensors(const std::string& description,
                                    std::vector<std::pair<std::string, Tensor>> tensors) {
  Checkpoint checkpoint;
  checkpoint.location_ = description;
  for (auto& [name, tensor] : tensors) {
    TensorEntry entry{name, tensor.dtype(), tensor.shape(), 0, tensor.nbytes()};
    if (!checkpoint.in_memory_.emplace(name, InMemory{std::move(tensor), std::move(entry)})
             .second) {
      fail(description, ": tensor \"", name, "\" given twice");
    }
  }
  return checkpoint;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> names;
  for (const auto& [name, shard] : shard_of_) names.push_back(name);
  for (const auto& [name, stored] : in_memory_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

std::size_t Checkpoint::shard_index(std::string_view name) const {
  const auto found = shard_of_.find(name);
  if (found == shard_of_.end()) fail("checkpoint ", location_, " has no tensor \"", name, "\"");
  return found->second;
}

const TensorEntry& Checkpoint::entry(std::string_view name) const {
  if (const auto found = in_memory_.find(name); found != in_memory_.end())
    return found->second.entry;
  return files_[shard_index(name)]->entry(name);
}

Tensor Checkpoint::tensor(std::string_view name) const {
  if (const auto found = in_memory_.find(name); found != in_memory_.end())
    return found->second.tensor;
  return files_[shard_index(name)]->tensor(name);
}

const std::filesystem::path& Checkpoint::file_of(std::string_view name) const {
  if (in_memory_.find(name) != in_memory_.end()) return location_;
  return files_[shard_index(name)]->path();
}

std::uint64_t Checkpoint::total_bytes() const {
  std::uint64_t total = 0;
  for (const std::string& name : names()) {
    const TensorEntry& found = entry(name);
    total += found.end - found.begin;
  }
  return total;
}

}  // namespace llama4
