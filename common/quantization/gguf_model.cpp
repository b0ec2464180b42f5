#include "common/quantization/gguf_model.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>

#include "common/quantization/gguf_file.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/json_document.hpp"

namespace llama4 {
namespace {

// llama.cpp's fixed values for every llama4 model (src/llama-model.cpp, LLM_ARCH_LLAMA4).
constexpr std::int64_t kChunkSize = 8192;
constexpr double kFloorScale = 8192.0;
constexpr double kAttentionScale = 0.1;
constexpr std::int64_t kNoRopeLayerStep = 4;
constexpr std::int64_t kMaverickExperts = 128;  // llama.cpp: no QK norm for this expert count

// ---- the files of a split set ------------------------------------------------------------------

// "Scout-Q4_0-00001-of-00003.gguf" -> the paths of parts 1..3; any other name -> itself. The part
// numbers are five digits, as llama.cpp's gguf-split writes them.
std::vector<std::filesystem::path> gguf_parts(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  constexpr std::size_t kTail = 20;  // "-00001-of-00003.gguf"
  const auto digits = [&](std::size_t from) {
    return std::all_of(name.end() - kTail + from, name.end() - kTail + from + 5,
                       [](char c) { return c >= '0' && c <= '9'; });
  };
  if (name.size() <= kTail || name.compare(name.size() - kTail, 1, "-") != 0 ||
      name.compare(name.size() - kTail + 6, 4, "-of-") != 0 ||
      name.compare(name.size() - 5, 5, ".gguf") != 0 || !digits(1) || !digits(10)) {
    return {path};
  }
  const std::string stem = name.substr(0, name.size() - kTail);
  const std::string count_text = name.substr(name.size() - kTail + 10, 5);
  const int part = std::stoi(name.substr(name.size() - kTail + 1, 5)),
            count = std::stoi(count_text);
  if (count < 1 || part < 1 || part > count) {
    fail(path, ": not a valid part name (part ", part, " of ", count, ")");
  }
  if (part != 1) {
    fail(path, " is part ", part, " of ", count, "; give the first part, -00001-of-", count_text,
         ".gguf");
  }
  std::vector<std::filesystem::path> parts;
  for (int i = 1; i <= count; ++i) {
    char number[16];
    std::snprintf(number, sizeof number, "%05d", i);
    parts.push_back(path.parent_path() / (stem + "-" + number + "-of-" + count_text + ".gguf"));
  }
  return parts;
}

class GgufParts {
 public:
  explicit GgufParts(const std::filesystem::path& path) {
    const std::vector<std::filesystem::path> parts = gguf_parts(path);
    for (std::size_t i = 0; i < parts.size(); ++i) {
      std::error_code ignored;
      if (!std::filesystem::exists(parts[i], ignored)) {
        fail("GGUF part ", parts[i], " is missing (", path, " is part 1 of ", parts.size(), ")");
      }
      files_.push_back(std::make_unique<GgufFile>(parts[i]));
      const GgufFile& file = *files_.back();
      if (parts.size() > 1 && file.find("split.count") != nullptr &&
          file.unsigned_integer("split.count") != parts.size()) {
        fail(file.path(), ": \"split.count\" is ", file.unsigned_integer("split.count"),
             ", but the file name says ", parts.size(), " parts");
      }
      for (const GgufTensorInfo& info : file.tensors()) {
        if (!where_.emplace(info.name, Located{&file, &info}).second) {
          fail(file.path(), ": tensor \"", printable(info.name), "\" is in another part too");
        }
      }
    }
  }

  // The metadata is in the first part.
  const GgufFile& first() const { return *files_.front(); }

  const GgufTensorInfo* find(std::string_view name) const {
    const auto found = where_.find(name);
    return found == where_.end() ? nullptr : found->second.info;
  }
  Tensor tensor(std::string_view name) const {
    const auto found = where_.find(name);
    if (found == where_.end()) fail(first().path(), ": there is no tensor \"", name, "\"");
    return found->second.file->tensor(*found->second.info);
  }
  std::vector<std::string> names() const {
    std::vector<std::string> names;
    for (const auto& [name, located] : where_) names.push_back(name);
    return names;
  }

 private:
  struct Located {
    const GgufFile* file;
    const GgufTensorInfo* info;
  };
  std::vector<std::unique_ptr<GgufFile>> files_;
  std::map<std::string, Located, std::less<>> where_;
};

// ---- the config ------------------------------------------------------------------------------

// The config as HF would write it, from the metadata and the fixed values above. It goes through
// parse_model_config, so a GGUF model gets every check and derivation a config.json gets.
ModelConfig read_config(const GgufParts& parts) {
  const GgufFile& file = parts.first();
  const std::string architecture = file.string("general.architecture");
  if (architecture != "llama4") {
    fail(file.path(), ": \"general.architecture\" is \"", printable(architecture),
         "\"; this program runs \"llama4\" models");
  }
  const auto key = [](const char* name) { return std::string("llama4.") + name; };
  const auto integer = [&](const char* name) {
    return static_cast<std::int64_t>(file.unsigned_integer(key(name)));
  };
  const auto integer_or = [&](const char* name, std::int64_t otherwise) {
    return file.find(key(name)) != nullptr ? integer(name) : otherwise;
  };

  nlohmann::json text, root_extra = nlohmann::json::object();
  text["model_type"] = "llama4_text";
  const std::int64_t layers = integer("block_count");
  const std::int64_t heads = integer("attention.head_count");
  const std::int64_t hidden = integer("embedding_length");
  text["num_hidden_layers"] = layers;
  text["max_position_embeddings"] = integer("context_length");
  text["hidden_size"] = hidden;
  text["intermediate_size_mlp"] = integer("feed_forward_length");
  text["intermediate_size"] = integer("expert_feed_forward_length");
  text["num_attention_heads"] = heads;
  text["num_key_value_heads"] = integer_or("attention.head_count_kv", heads);
  text["head_dim"] = integer_or("rope.dimension_count", heads > 0 ? hidden / heads : 0);
  text["rms_norm_eps"] = file.number(key("attention.layer_norm_rms_epsilon"));
  text["rope_theta"] = file.find(key("rope.freq_base")) ? file.number(key("rope.freq_base")) : 1e4;
  const std::int64_t experts = integer("expert_count");
  text["num_local_experts"] = experts;
  text["num_experts_per_tok"] = integer("expert_used_count");
  text["interleave_moe_layer_step"] = integer_or("interleave_moe_layer_step", 1);
  if (const GgufValue* scaling = file.find(key("rope.scaling.type"))) {
    if (scaling->type != GgufType::string || scaling->string_value != "none") {
      fail(file.path(), ": \"", key("rope.scaling.type"), "\" is not \"none\"; Llama 4's",
           " llama3 scaling travels as the rope_freqs tensor, and no other kind is supported");
    }
  }

  // What llama.cpp fixes (see the header), unless this file says otherwise under "hf.".
  const bool chunked = integer_or("attention.sliding_window", 1) != 0;
  const std::int64_t no_rope_step = chunked ? kNoRopeLayerStep : layers;
  nlohmann::json no_rope_layers = nlohmann::json::array();
  for (std::int64_t layer = 0; layer < layers && layer < config_limits::kMaxLayers; ++layer)
    no_rope_layers.push_back((layer + 1) % no_rope_step != 0 ? 1 : 0);
  if (const GgufValue* given = file.find("hf.no_rope_layers")) {
    if (given->type != GgufType::array || given->element_type != GgufType::i32) {
      fail(file.path(), ": \"hf.no_rope_layers\" must be an array of i32");
    }
    no_rope_layers = nlohmann::json::array();
    for (const GgufValue& element : given->elements) no_rope_layers.push_back(element.signed_value);
  }
  text["no_rope_layers"] = no_rope_layers;
  // The chunk: this file's own (0: none), else llama.cpp's 8192 unless sliding_window is 0.
  const std::int64_t chunk =
      file.find("hf.attention_chunk_size") != nullptr
          ? static_cast<std::int64_t>(file.unsigned_integer("hf.attention_chunk_size"))
          : (chunked ? kChunkSize : 0);
  nlohmann::json layer_types = nlohmann::json::array();
  for (const auto& uses_rope : no_rope_layers)
    layer_types.push_back(chunk != 0 && uses_rope == 1 ? "chunked_attention" : "full_attention");
  text["layer_types"] = layer_types;
  text["attention_chunk_size"] = chunk != 0 ? nlohmann::json(chunk) : nlohmann::json(nullptr);
  text["attn_temperature_tuning"] = true;
  text["floor_scale"] = file.find("hf.floor_scale") ? file.number("hf.floor_scale") : kFloorScale;
  text["attn_scale"] = file.find("hf.attn_scale") ? file.number("hf.attn_scale") : kAttentionScale;
  bool qk_norm = experts != kMaverickExperts;
  if (const GgufValue* given = file.find("hf.use_qk_norm")) {
    if (given->type != GgufType::boolean) fail(file.path(), ": \"hf.use_qk_norm\" must be a bool");
    qk_norm = given->unsigned_value != 0;
  }
  text["use_qk_norm"] = qk_norm;

  // The vocabulary's size: the key if there is one, else the embedding's rows.
  const GgufTensorInfo* embedding = parts.find("token_embd.weight");
  if (embedding == nullptr) fail(file.path(), ": there is no tensor \"token_embd.weight\"");
  text["vocab_size"] = integer_or("vocab_size", embedding->shape.front());
  text["tie_word_embeddings"] = parts.find("output.weight") == nullptr;
  if (const GgufValue* random = file.find("hf.random_weights");
      random != nullptr && random->type == GgufType::string) {
    root_extra["random_weights"] = random->string_value;  // parse_model_config reads it there
  }

  // Special tokens: BOS, and every id that ends a turn or the text.
  if (file.find("tokenizer.ggml.bos_token_id")) {
    text["bos_token_id"] = file.unsigned_integer("tokenizer.ggml.bos_token_id");
  }
  nlohmann::json eos = nlohmann::json::array();
  for (const char* name : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eom_token_id",
                           "tokenizer.ggml.eot_token_id"}) {
    if (file.find(name) == nullptr) continue;
    const std::uint64_t id = file.unsigned_integer(name);
    if (std::find(eos.begin(), eos.end(), nlohmann::json(id)) == eos.end()) eos.push_back(id);
  }
  text["eos_token_id"] = eos;

  nlohmann::json root = root_extra;
  root["model_type"] = "llama4_text";
  root["text_config"] = text;
  ModelConfig config = parse_model_config(
      root.dump(), file.path().string() + " (its metadata, read as config.json)");

  // llama3 RoPE scaling: the divisors themselves.
  if (const GgufTensorInfo* factors = parts.find("rope_freqs.weight")) {
    const Tensor divisors = parts.tensor("rope_freqs.weight").to(DType::F32);
    if (divisors.rank() != 1 || divisors.dim(0) != config.head_dim / 2) {
      fail(file.path(), ": tensor \"rope_freqs.weight\" has shape ", shape_string(factors->shape),
           ", not [", config.head_dim / 2, "] (head_dim / 2)");
    }
    RopeScaling scaling;
    const float* values = divisors.data<float>();
    for (std::int64_t i = 0; i < divisors.dim(0); ++i) {
      if (!(values[i] > 0.0f)) {
        fail(file.path(), ": tensor \"rope_freqs.weight\" holds ", values[i], " at ", i,
             "; a frequency divisor must be positive");
      }
      scaling.frequency_divisors.push_back(values[i]);
    }
    config.rope_scaling = scaling;
  }
  return config;
}

// ---- the weights -----------------------------------------------------------------------------

// GGUF's per-layer names and HF's (after "model.layers.N.").
struct LayerTensorName {
  const char* gguf;
  const char* hf;
};
constexpr LayerTensorName kLayerTensors[] = {
    {"attn_norm", "input_layernorm.weight"},
    {"attn_q", "self_attn.q_proj.weight"},
    {"attn_k", "self_attn.k_proj.weight"},
    {"attn_v", "self_attn.v_proj.weight"},
    {"attn_output", "self_attn.o_proj.weight"},
    {"ffn_norm", "post_attention_layernorm.weight"},
    {"ffn_gate", "feed_forward.gate_proj.weight"},
    {"ffn_up", "feed_forward.up_proj.weight"},
    {"ffn_down", "feed_forward.down_proj.weight"},
    {"ffn_gate_inp", "feed_forward.router.weight"},
    {"ffn_gate_shexp", "feed_forward.shared_expert.gate_proj.weight"},
    {"ffn_up_shexp", "feed_forward.shared_expert.up_proj.weight"},
    {"ffn_down_shexp", "feed_forward.shared_expert.down_proj.weight"},
};

// [E, rows, cols] -> [E, cols, rows], in the same float dtype (a copy).
Tensor transpose_experts(const Tensor& experts) {
  return experts.transpose(1, 2).to(experts.dtype());
}

// HF's experts.gate_up_proj from GGUF's gate and up, both [E, I, H]: [E, 2I, H] (gate's rows then
// up's) when quantized, [E, H, 2I] (gate's columns then up's) for float types.
Tensor fuse_gate_up(const Tensor& gate, const Tensor& up, const std::string& where) {
  if (gate.dtype() != up.dtype() || gate.shape() != up.shape()) {
    fail(where, ": ffn_gate_exps (", dtype_name(gate.dtype()), " ", shape_string(gate.shape()),
         ") and ffn_up_exps (", dtype_name(up.dtype()), " ", shape_string(up.shape()),
         ") must have one type and one shape");
  }
  if (gate.rank() != 3)
    fail(where, ": ffn_gate_exps has shape ", shape_string(gate.shape()), ", not [E, I, H]");
  const std::int64_t experts = gate.dim(0);
  const bool quantized = is_block_quantized(gate.dtype());
  // Work on rows of bytes: quantized rows as they are, float ones once transposed to [E, H, I].
  const Tensor a = quantized ? gate : transpose_experts(gate);
  const Tensor b = quantized ? up : transpose_experts(up);
  const std::int64_t rows = a.dim(1), row = a.dim(2);  // per expert
  const std::size_t row_bytes = dtype_bytes(a.dtype(), row);
  Tensor fused = quantized ? Tensor::zeros({experts, 2 * rows, row}, a.dtype())
                           : Tensor::zeros({experts, rows, 2 * row}, a.dtype());
  std::byte* out = fused.mutable_raw_data();
  const std::byte* from_a = a.raw_data();
  const std::byte* from_b = b.raw_data();
  for (std::int64_t e = 0; e < experts; ++e) {
    if (quantized) {  // rows of gate, then rows of up
      const std::size_t block = static_cast<std::size_t>(rows) * row_bytes;
      std::memcpy(out, from_a + e * block, block);
      std::memcpy(out + block, from_b + e * block, block);
      out += 2 * block;
    } else {  // per row h: gate's I values, then up's
      for (std::int64_t r = 0; r < rows; ++r) {
        const std::size_t at = (static_cast<std::size_t>(e * rows + r)) * row_bytes;
        std::memcpy(out, from_a + at, row_bytes);
        std::memcpy(out + row_bytes, from_b + at, row_bytes);
        out += 2 * row_bytes;
      }
    }
  }
  return fused;
}

std::vector<std::pair<std::string, Tensor>> map_tensors(const GgufParts& parts,
                                                        const ModelConfig& config) {
  const std::filesystem::path& path = parts.first().path();
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::set<std::string> used = {"rope_freqs.weight"};  // read into the config
  const auto take = [&](const std::string& gguf, const std::string& hf) {
    if (parts.find(gguf) == nullptr) return false;
    tensors.emplace_back(hf, parts.tensor(gguf));
    used.insert(gguf);
    return true;
  };
  const auto require = [&](const std::string& name, const std::string& what) {
    if (parts.find(name) == nullptr) fail(path, ": there is no tensor \"", name, "\" (", what, ")");
    used.insert(name);
    return parts.tensor(name);
  };

  take("token_embd.weight", "model.embed_tokens.weight");
  take("output_norm.weight", "model.norm.weight");
  take("output.weight", "lm_head.weight");
  for (std::int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
    const std::string gguf = "blk." + std::to_string(layer) + ".";
    const std::string hf = "model.layers." + std::to_string(layer) + ".";
    for (const LayerTensorName& name : kLayerTensors)
      take(gguf + name.gguf + ".weight", hf + name.hf);
    if (!config.layer(layer).is_moe) continue;
    const std::string where = path.string() + ", layer " + std::to_string(layer);
    const Tensor gate = require(gguf + "ffn_gate_exps.weight",
                                "layer " + std::to_string(layer) + "'s routed experts");
    const Tensor up = require(gguf + "ffn_up_exps.weight",
                              "layer " + std::to_string(layer) + "'s routed experts");
    const Tensor down = require(gguf + "ffn_down_exps.weight",
                                "layer " + std::to_string(layer) + "'s routed experts");
    tensors.emplace_back(hf + "feed_forward.experts.gate_up_proj", fuse_gate_up(gate, up, where));
    tensors.emplace_back(
        hf + "feed_forward.experts.down_proj",
        is_block_quantized(down.dtype()) || down.rank() != 3 ? down : transpose_experts(down));
  }
  // A tensor we did not map is not part of a llama4 text model (or of a layer the config has):
  // refuse it rather than run without it.
  for (const std::string& name : parts.names()) {
    if (used.count(name) == 0) {
      fail(path, ": tensor \"", printable(name), "\" is not part of a llama4 text model of ",
           config.num_hidden_layers, " layers");
    }
  }
  return tensors;
}

}  // namespace

bool is_gguf_path(const std::filesystem::path& path) {
  return path.extension() == ".gguf";
}

GgufModel open_gguf_model(const std::filesystem::path& path) {
  const GgufParts parts(path);
  ModelConfig config = read_config(parts);
  std::vector<std::pair<std::string, Tensor>> tensors = map_tensors(parts, config);
  return GgufModel{std::move(config), Checkpoint::from_tensors(path.string(), std::move(tensors))};
}

}  // namespace llama4
