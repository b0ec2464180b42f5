// Checkpoint: every tensor of a model, wherever it is stored.
//
// Hugging Face publishes a model as a directory. A small model has one `model.safetensors`; a large
// one is split into shards `model-00001-of-00050.safetensors`, ... plus an index file,
// `model.safetensors.index.json`, that says which shard holds which tensor:
//
//   {"metadata": {"total_size": 217880000000},
//    "weight_map": {"language_model.model.norm.weight": "model-00050-of-00050.safetensors", ...}}
//
// A Checkpoint opens either layout (or a single .safetensors file) and answers tensor(name) with a
// zero-copy view, so the rest of the code never cares how the files were split. It can also hold
// tensors made in memory (from_tensors), which is how the synthetic benchmark models are built: the
// model code loads them exactly as it loads a downloaded checkpoint.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/tensors/safetensors.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {

class Checkpoint {
 public:
  // `location`: a directory with model.safetensors or model.safetensors.index.json and its shards,
  // or one .safetensors file. Every file is mapped and validated up front.
  static Checkpoint open(const std::filesystem::path& location);
  // Tensors held in memory; `description` stands in for the location in messages.
  static Checkpoint from_tensors(const std::string& description,
                                 std::vector<std::pair<std::string, Tensor>> tensors);

  const std::filesystem::path& location() const { return location_; }
  std::vector<std::string> names() const;  // sorted
  bool contains(std::string_view name) const {
    return shard_of_.find(name) != shard_of_.end() || in_memory_.find(name) != in_memory_.end();
  }
  const TensorEntry& entry(std::string_view name) const;
  Tensor tensor(std::string_view name) const;
  // The file that stores `name`.
  const std::filesystem::path& file_of(std::string_view name) const;
  std::size_t file_count() const { return files_.size(); }
  // Sum of the bytes of every tensor (what a forward pass may eventually touch).
  std::uint64_t total_bytes() const;

 private:
  std::size_t shard_index(std::string_view name) const;

  std::filesystem::path location_;
  std::vector<std::shared_ptr<const SafetensorsFile>> files_;
  std::map<std::string, std::size_t, std::less<>> shard_of_;  // tensor name -> index in files_
  struct InMemory {
    Tensor tensor;
    TensorEntry entry;
  };
  std::map<std::string, InMemory, std::less<>> in_memory_;  // from_tensors() only
};

}  // namespace llama4
