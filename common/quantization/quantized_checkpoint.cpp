#include "common/quantization/quantized_checkpoint.hpp"

#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/quantization/block_formats.hpp"
#include "common/tensors/atomic_file.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/json_document.hpp"
#include "common/tensors/regular_file.hpp"
#include "common/tensors/safetensors.hpp"

namespace llama4 {
namespace {

using Json = nlohmann::json;

// The U8 shape a quantized tensor is stored with: its leading dimensions, then bytes per row.
Shape stored_shape(const Shape& shape, DType format) {
  Shape bytes = shape;
  bytes.back() = static_cast<std::int64_t>(dtype_bytes(format, shape.back()));
  return bytes;
}

// A view of the same bytes with another dtype and shape, keeping the original's memory alive.
Tensor retyped(const Tensor& bytes, DType dtype, const Shape& shape) {
  auto keep_alive = std::make_shared<Tensor>(bytes);
  return Tensor::view(static_cast<const void*>(bytes.raw_data()), shape, dtype, keep_alive);
}

}  // namespace

Checkpoint quantize_checkpoint(const Checkpoint& source, const QuantizationPlan& plan,
                               const QuantizeProgress& progress) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  const std::uint64_t total = source.total_bytes();
  std::uint64_t done = 0;
  for (const std::string& name : source.names()) {
    const Tensor tensor = source.tensor(name);
    const std::optional<DType> format = quantized_format(name, plan);
    tensors.emplace_back(name, format ? quantize_weight(name, tensor, *format) : tensor);
    done += tensor.nbytes();
    if (progress) progress(done, total);
  }
  return Checkpoint::from_tensors(source.location().string() + " (quantized to " +
                                      std::string(dtype_name(plan.format)) + " at load time)",
                                  std::move(tensors));
}

void write_quantized_checkpoint(const std::filesystem::path& model,
                                const std::filesystem::path& out, const QuantizationPlan& plan,
                                const QuantizeProgress& progress) {
  std::error_code error;
  if (std::filesystem::exists(out) && std::filesystem::equivalent(model, out, error)) {
    fail("the output directory ", out, " is the model directory: choose another");
  }
  const Checkpoint source = Checkpoint::open(model);
  Json config = parse_json_document(read_regular_file(model / "config.json"),
                                    (model / "config.json").string());
  if (config.contains("quantization")) {
    fail(model / "config.json", " is already quantized (it has a \"quantization\" section)");
  }

  // Declare every tensor first (the header comes before the data), checking each quantizable one
  // can be quantized: an error here leaves nothing written.
  std::vector<TensorDeclaration> declarations;
  Json listed = Json::object();
  for (const std::string& name : source.names()) {
    const TensorEntry& entry = source.entry(name);
    const std::optional<DType> format = quantized_format(name, plan);
    if (!format) {
      declarations.push_back({name, entry.dtype, entry.shape});
      continue;
    }
    const Shape shape = quantized_shape(name, entry.shape);
    if (shape.size() < 2 || shape.back() % kQuantBlock != 0) {
      fail("tensor \"", name, "\" ", shape_string(entry.shape),
           " cannot be quantized: its rows of ", shape.empty() ? 0 : shape.back(),
           " inputs are not whole ", kQuantBlock, "-weight blocks");
    }
    declarations.push_back({name, DType::U8, stored_shape(shape, *format)});
    listed[name] = {{"format", dtype_name(*format)}, {"shape", shape}};
    if (is_input_major(name)) listed[name]["transposed"] = true;
  }

  std::filesystem::create_directories(out);
  const std::uint64_t total = source.total_bytes();
  std::uint64_t done = 0;
  write_safetensors_streamed(
      out / "model.safetensors", declarations, {{"format", "pt"}},
      [&](const TensorDeclaration& declared) {
        const Tensor tensor = source.tensor(declared.name);
        done += tensor.nbytes();
        if (progress) progress(done, total);
        const std::optional<DType> format = quantized_format(declared.name, plan);
        if (!format) return tensor;
        const Tensor quantized = quantize_weight(declared.name, tensor, *format);
        return retyped(quantized, DType::U8, declared.shape);
      });

  for (const char* file :
       {"tokenizer.model", "tokenizer.tiktoken", "tokenizer.json", "tokenizer_config.json",
        "generation_config.json", "special_tokens_map.json"}) {
    if (std::filesystem::exists(model / file))
      write_file_atomically(out / file, read_regular_file(model / file));
  }
  // The config last: until it exists the directory is not a checkpoint.
  config["quantization"] = {
      {"format", dtype_name(plan.format)}, {"lm_head", plan.lm_head}, {"tensors", listed}};
  write_file_atomically(out / "config.json", config.dump(2) + "\n");
}

Checkpoint open_checkpoint(const std::filesystem::path& directory) {
  Checkpoint checkpoint = Checkpoint::open(directory);
  const std::filesystem::path config_path = directory / "config.json";
  if (!std::filesystem::is_directory(directory) || !std::filesystem::exists(config_path))
    return checkpoint;
  const Json config = parse_json_document(read_regular_file(config_path), config_path.string());
  if (!config.is_object() || !config.contains("quantization")) return checkpoint;

  const std::string where = config_path.string() + ": quantization";
  const Json& section = config["quantization"];
  if (!section.is_object() || !section.contains("tensors") || !section["tensors"].is_object())
    fail(where, " must be an object with a \"tensors\" object");
  std::vector<std::pair<std::string, Tensor>> tensors;
  const Json& listed = section["tensors"];
  for (const std::string& name : checkpoint.names()) {
    const Tensor stored = checkpoint.tensor(name);
    if (!listed.contains(name)) {
      tensors.emplace_back(name, stored);
      continue;
    }
    const std::string what = where + ": tensor \"" + name + "\"";
    if (!is_quantizable(name)) {
      fail(what, " cannot be quantized (norms, the router and the embedding stay unquantized)");
    }
    const Json& description = listed[name];
    if (!description.is_object() || !description.contains("format") ||
        !description["format"].is_string() || !description.contains("shape") ||
        !description["shape"].is_array()) {
      fail(what, " needs a \"format\" string and a \"shape\" array");
    }
    DType format;
    try {
      format = parse_quantization_format(description["format"].get<std::string>());
    } catch (const Error& error) {
      fail(what, ": ", error.what());
    }
    Shape shape;
    for (const Json& extent : description["shape"]) {
      const std::optional<std::int64_t> value = json_integer(extent);
      if (!value || *value <= 0 || *value > (std::int64_t{1} << 40))
        fail(what, ": shape entry ", json_excerpt(extent), " is not a positive size");
      shape.push_back(*value);
    }
    if (shape.size() < 2 || shape.size() > 3 || shape.back() % kQuantBlock != 0) {
      fail(what, ": shape ", shape_string(shape),
           " is not a matrix (or stack of matrices) of whole ", kQuantBlock, "-weight rows");
    }
    if (stored.dtype() != DType::U8 || stored.shape() != stored_shape(shape, format)) {
      fail(what, " is stored as ", dtype_name(stored.dtype()), " ", shape_string(stored.shape()),
           " in ", checkpoint.file_of(name), ", but ", dtype_name(format), " ", shape_string(shape),
           " needs U8 ", shape_string(stored_shape(shape, format)));
    }
    tensors.emplace_back(name, retyped(stored, format, shape));
  }
  for (const auto& [name, description] : listed.items()) {
    if (!checkpoint.contains(name))
      fail(where, " lists tensor \"", name, "\", which ", directory, " does not hold");
  }
  return Checkpoint::from_tensors(directory.string(), std::move(tensors));
}

}  // namespace llama4
