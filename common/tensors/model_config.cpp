#include "common/tensors/model_config.hpp"

#include <cmath>
#include <limits>
#include <set>

#include "common/tensors/error.hpp"
#include "common/tensors/json_document.hpp"
#include "common/tensors/regular_file.hpp"

namespace llama4 {
namespace {

using Json = nlohmann::json;

// Reads typed fields out of one JSON object, naming "<file>: <path>.<field>" in every error.
class FieldReader {
 public:
  FieldReader(const Json& object, std::string source, std::string prefix)
      : object_(object), source_(std::move(source)), prefix_(std::move(prefix)) {}

  bool has(const char* field) const { return object_.contains(field); }
  bool is_null(const char* field) const { return has(field) && object_[field].is_null(); }
  const Json& raw(const char* field) const { return object_[field]; }
  std::string where(const char* field) const { return source_ + ": " + prefix_ + field; }

  std::int64_t integer(const char* field, std::int64_t fallback) const {
    if (!has(field) || object_[field].is_null()) return fallback;
    return as_integer(object_[field], field);
  }
  std::optional<std::int64_t> optional_integer(const char* field,
                                               std::optional<std::int64_t> fallback) const {
    if (!has(field)) return fallback;
    if (object_[field].is_null()) return std::nullopt;
    return as_integer(object_[field], field);
  }
  double number(const char* field, double fallback) const {
    if (!has(field) || object_[field].is_null()) return fallback;
    if (!object_[field].is_number())
      fail(where(field), " must be a number, got ", json_excerpt(object_[field]));
    // The layers compute in float: a value no float can hold (1e300) would overflow on the way.
    const double value = object_[field].get<double>();
    if (!(std::fabs(value) <= std::numeric_limits<float>::max()))
      fail(where(field), " = ", json_excerpt(object_[field]), " is out of the range of a float");
    return value;
  }
  // Booleans as Python sees them: Scout ships "attn_temperature_tuning": 4, which means true.
  bool boolean(const char* field, bool fallback) const {
    if (!has(field) || object_[field].is_null()) return fallback;
    const Json& value = object_[field];
    if (value.is_boolean()) return value.get<bool>();
    if (value.is_number_integer()) return value.get<std::int64_t>() != 0;
    fail(where(field), " must be true/false (or an integer), got ", json_excerpt(value));
  }
  std::string text(const char* field, const std::string& fallback) const {
    if (!has(field) || object_[field].is_null()) return fallback;
    if (!object_[field].is_string())
      fail(where(field), " must be a string, got ", json_excerpt(object_[field]));
    return object_[field].get<std::string>();
  }
  std::vector<std::int64_t> integer_list(const char* field) const {
    std::vector<std::int64_t> values;
    if (!has(field) || object_[field].is_null()) return values;
    if (!object_[field].is_array())
      fail(where(field), " must be a list, got ", json_excerpt(object_[field]));
    for (const Json& item : object_[field]) values.push_back(as_integer(item, field));
    return values;
  }
  std::vector<std::string> text_list(const char* field) const {
    std::vector<std::string> values;
    if (!has(field) || object_[field].is_null()) return values;
    if (!object_[field].is_array())
      fail(where(field), " must be a list, got ", json_excerpt(object_[field]));
    for (const Json& item : object_[field]) {
      if (!item.is_string()) fail(where(field), " must hold strings, got ", json_excerpt(item));
      values.push_back(item.get<std::string>());
    }
    return values;
  }

 private:
  std::int64_t as_integer(const Json& value, const char* field) const {
    if (const std::optional<std::int64_t> integer = json_integer(value)) return *integer;
    if (value.is_number_unsigned()) {  // 2^63 or more: no size or id is that large
      fail(where(field), " = ", json_excerpt(value), " is out of range");
    }
    // 8192.0 is an integer too (Python configs sometimes write floats for sizes). Casting a float
    // outside the int64 range (1e30) is undefined behaviour, so the range is checked first.
    if (value.is_number_float()) {
      const double number = value.get<double>();
      if (std::isfinite(number) && std::fabs(number) < 0x1p62 && number == std::trunc(number)) {
        return static_cast<std::int64_t>(number);
      }
      if (std::isfinite(number) && number == std::trunc(number)) {
        fail(where(field), " = ", json_excerpt(value), " is out of range");
      }
    }
    fail(where(field), " must be an integer, got ", json_excerpt(value));
  }

  const Json& object_;
  std::string source_;
  std::string prefix_;
};

// RoPE settings. Older configs write "rope_theta" plus "rope_scaling": {"rope_type": "llama3",
// ...}; transformers 5 writes "rope_parameters": {"rope_type": ..., "rope_theta": ..., ...}. Both
// work.
void read_rope(const FieldReader& fields, ModelConfig& config, const std::string& source,
               const std::string& prefix) {
  config.rope_theta = fields.number("rope_theta", config.rope_theta);
  const char* key = fields.has("rope_parameters") && !fields.is_null("rope_parameters")
                        ? "rope_parameters"
                        : "rope_scaling";
  if (!fields.has(key) || fields.is_null(key)) return;
  const Json& rope = fields.raw(key);
  if (!rope.is_object())
    fail(fields.where(key), " must be an object or null, got ", json_excerpt(rope));
  const FieldReader rope_fields(rope, source, prefix + key + ".");
  config.rope_theta = rope_fields.number("rope_theta", config.rope_theta);
  // "type" is the pre-2024 spelling of "rope_type".
  const std::string type = rope_fields.text("rope_type", rope_fields.text("type", "default"));
  if (type == "default") return;
  if (type != "llama3") {
    fail(rope_fields.where("rope_type"), " \"", type,
         "\" is not supported (Llama 4 uses \"llama3\" or none)");
  }
  RopeScaling scaling;
  scaling.factor = rope_fields.number("factor", scaling.factor);
  scaling.low_freq_factor = rope_fields.number("low_freq_factor", scaling.low_freq_factor);
  scaling.high_freq_factor = rope_fields.number("high_freq_factor", scaling.high_freq_factor);
  scaling.original_max_position_embeddings = rope_fields.integer(
      "original_max_position_embeddings", scaling.original_max_position_embeddings);
  if (!(scaling.factor > 0)) fail(rope_fields.where("factor"), " must be positive");
  if (!(scaling.low_freq_factor > 0))
    fail(rope_fields.where("low_freq_factor"), " must be positive");
  if (scaling.high_freq_factor < scaling.low_freq_factor) {
    fail(rope_fields.where("high_freq_factor"), " (", scaling.high_freq_factor,
         ") must be at least low_freq_factor (", scaling.low_freq_factor, ")");
  }
  if (scaling.original_max_position_embeddings <= 0) {
    fail(rope_fields.where("original_max_position_embeddings"), " must be positive");
  }
  config.rope_scaling = scaling;
}

void require_positive(const FieldReader& fields, const char* field, double value) {
  if (!(value > 0)) fail(fields.where(field), " must be positive, got ", value);
}

// A size must be positive and at most `limit` (config_limits in the header says why each is).
void require_size(const FieldReader& fields, const char* field, std::int64_t value,
                  std::int64_t limit) {
  require_positive(fields, field, static_cast<double>(value));
  if (value > limit) {
    fail(fields.where(field), " = ", value, " is larger than this program accepts (", limit,
         "); a Llama 4 is far smaller, so the file is damaged or not a Llama 4 config");
  }
}

// The per-layer lists, derived when absent exactly as HF's Llama4TextConfig.__post_init__ does.
void derive_layer_schedule(const FieldReader& fields, ModelConfig& config) {
  const std::int64_t layer_count = config.num_hidden_layers;

  // no_rope_layers: HF tests the list's truthiness, so an EMPTY list also means "use the default
  // pattern", not "no layer uses RoPE". Default: every `interval`-th layer (3, 7, 11, ...) is NoPE.
  if (config.no_rope_layers.empty()) {
    if (config.no_rope_layer_interval <= 0) {
      fail(fields.where("no_rope_layer_interval"), " must be positive, got ",
           config.no_rope_layer_interval);
    }
    for (std::int64_t layer = 0; layer < layer_count; ++layer) {
      config.no_rope_layers.push_back((layer + 1) % config.no_rope_layer_interval != 0 ? 1 : 0);
    }
  }
  if (static_cast<std::int64_t>(config.no_rope_layers.size()) != layer_count) {
    fail(fields.where("no_rope_layers"), " has ", config.no_rope_layers.size(),
         " entries for num_hidden_layers = ", layer_count);
  }
  for (int value : config.no_rope_layers) {
    if (value != 0 && value != 1) {
      fail(fields.where("no_rope_layers"), " must hold 0 or 1 (1 = the layer uses RoPE), got ",
           value);
    }
  }

  // moe_layers: default every `interleave_moe_layer_step`-th layer, counting from step - 1.
  if (!fields.has("moe_layers") || fields.is_null("moe_layers")) {
    if (config.interleave_moe_layer_step <= 0) {
      fail(fields.where("interleave_moe_layer_step"), " must be positive, got ",
           config.interleave_moe_layer_step);
    }
    config.moe_layers.clear();
    for (std::int64_t layer = config.interleave_moe_layer_step - 1; layer < layer_count;
         layer += config.interleave_moe_layer_step) {
      config.moe_layers.push_back(layer);
    }
  }
  const std::set<std::int64_t> moe(config.moe_layers.begin(), config.moe_layers.end());
  for (std::int64_t layer : moe) {
    if (layer < 0 || layer >= layer_count) {
      fail(fields.where("moe_layers"), " names layer ", layer, ", but the model has ", layer_count,
           " layers");
    }
  }

  // layer_types: RoPE layers attend within their chunk, NoPE layers attend globally.
  if (config.layer_types.empty()) {
    for (int uses_rope : config.no_rope_layers) {
      config.layer_types.push_back(uses_rope ? "chunked_attention" : "full_attention");
    }
  }
  if (static_cast<std::int64_t>(config.layer_types.size()) != layer_count) {
    fail(fields.where("layer_types"), " has ", config.layer_types.size(),
         " entries for num_hidden_layers = ", layer_count);
  }

  config.layers.clear();
  for (std::int64_t layer = 0; layer < layer_count; ++layer) {
    LayerConfig kind;
    kind.uses_rope = config.no_rope_layers[static_cast<std::size_t>(layer)] == 1;
    const std::string& type = config.layer_types[static_cast<std::size_t>(layer)];
    if (type != "chunked_attention" && type != "full_attention") {
      fail(fields.where("layer_types"), "[", layer, "] is \"", type,
           "\"; expected \"chunked_attention\" or \"full_attention\"");
    }
    kind.chunked_attention = type == "chunked_attention";
    if (kind.chunked_attention && !config.attention_chunk_size) {
      fail(fields.where("attention_chunk_size"), " is null but layer ", layer,
           " uses chunked attention");
    }
    kind.uses_qk_norm = config.use_qk_norm && kind.uses_rope;
    kind.uses_temperature_tuning = config.attn_temperature_tuning && !kind.uses_rope;
    kind.is_moe = moe.count(layer) > 0;
    config.layers.push_back(kind);
  }
}

void validate_sizes(const FieldReader& fields, const ModelConfig& config) {
  using namespace config_limits;
  require_size(fields, "vocab_size", config.vocab_size, kMaxVocabulary);
  require_size(fields, "hidden_size", config.hidden_size, kMaxWidth);
  require_size(fields, "num_hidden_layers", config.num_hidden_layers, kMaxLayers);
  require_size(fields, "num_attention_heads", config.num_attention_heads, kMaxHeads);
  require_size(fields, "num_key_value_heads", config.num_key_value_heads, kMaxHeads);
  require_size(fields, "head_dim", config.head_dim, kMaxHeadDim);
  require_size(fields, "max_position_embeddings", config.max_position_embeddings, kMaxPositions);
  require_positive(fields, "rms_norm_eps", config.rms_norm_eps);
  require_positive(fields, "rope_theta", config.rope_theta);
  require_positive(fields, "floor_scale", config.floor_scale);
  if (config.num_attention_heads % config.num_key_value_heads != 0) {
    fail(fields.where("num_key_value_heads"), " = ", config.num_key_value_heads,
         " does not divide num_attention_heads = ", config.num_attention_heads);
  }
  if (config.head_dim % 2 != 0) {
    fail(fields.where("head_dim"), " = ", config.head_dim,
         " is odd; RoPE rotates pairs of dimensions");
  }
  if (config.attention_chunk_size && *config.attention_chunk_size <= 0) {
    fail(fields.where("attention_chunk_size"), " must be positive or null, got ",
         *config.attention_chunk_size);
  }
  // The layer schedule is built from these before any weight is looked at.
  if (config.no_rope_layer_interval > kMaxLayers) {
    fail(fields.where("no_rope_layer_interval"), " = ", config.no_rope_layer_interval,
         " is larger than this program accepts (", kMaxLayers, ")");
  }
  if (config.hidden_act != "silu") {
    fail(fields.where("hidden_act"), " \"", config.hidden_act,
         "\" is not supported (Llama 4 uses silu)");
  }
  for (std::int64_t id : config.eos_token_ids) {
    if (id < 0 || id >= config.vocab_size)
      fail(fields.where("eos_token_id"), " ", id, " is not a token id");
  }
  if (config.bos_token_id &&
      (*config.bos_token_id < 0 || *config.bos_token_id >= config.vocab_size)) {
    fail(fields.where("bos_token_id"), " ", *config.bos_token_id, " is not a token id");
  }
}

void validate_feed_forward(const FieldReader& fields, const ModelConfig& config) {
  bool any_moe = false;
  bool any_dense = false;
  for (const LayerConfig& layer : config.layers) (layer.is_moe ? any_moe : any_dense) = true;
  if (any_moe) {
    require_size(fields, "intermediate_size", config.intermediate_size, config_limits::kMaxWidth);
    require_size(fields, "num_local_experts", config.num_local_experts, config_limits::kMaxExperts);
    if (config.num_experts_per_tok < 1 || config.num_experts_per_tok > config.num_local_experts) {
      fail(fields.where("num_experts_per_tok"), " = ", config.num_experts_per_tok,
           " must be between 1 and num_local_experts = ", config.num_local_experts);
    }
  }
  if (any_dense) {
    require_size(fields, "intermediate_size_mlp", config.intermediate_size_mlp,
                 config_limits::kMaxWidth);
  }
}

}  // namespace

ModelConfig parse_model_config(std::string_view json_text, std::string_view source) {
  const std::string source_name(source);
  const Json root = parse_json_document(json_text, source_name);
  if (!root.is_object()) fail(source_name, " is not a JSON object");

  ModelConfig config;
  // The multimodal config nests the text model; tie_word_embeddings may sit at the top level.
  const bool nested = root.contains("text_config");
  if (nested && !root["text_config"].is_object())
    fail(source_name, ": text_config is not an object");
  const Json& text = nested ? root["text_config"] : root;
  const std::string prefix = nested ? "text_config." : "";
  const FieldReader fields(text, source_name, prefix);
  const FieldReader top(root, source_name, "");
  config.model_type = top.text("model_type", "llama4_text");

  config.vocab_size = fields.integer("vocab_size", config.vocab_size);
  config.hidden_size = fields.integer("hidden_size", config.hidden_size);
  config.intermediate_size = fields.integer("intermediate_size", config.intermediate_size);
  config.intermediate_size_mlp =
      fields.integer("intermediate_size_mlp", config.intermediate_size_mlp);
  config.num_hidden_layers = fields.integer("num_hidden_layers", config.num_hidden_layers);
  config.num_attention_heads = fields.integer("num_attention_heads", config.num_attention_heads);
  // HF: num_key_value_heads defaults to 8; an explicit null means one kv head per query head.
  config.num_key_value_heads =
      fields.is_null("num_key_value_heads")
          ? config.num_attention_heads
          : fields.integer("num_key_value_heads", config.num_key_value_heads);
  // HF: head_dim defaults to 128; only an explicit null means hidden_size / num_attention_heads.
  if (fields.is_null("head_dim")) {
    if (config.num_attention_heads > 0 && config.hidden_size % config.num_attention_heads != 0) {
      fail(fields.where("head_dim"), " is null and hidden_size = ", config.hidden_size,
           " is not divisible by num_attention_heads = ", config.num_attention_heads);
    }
    config.head_dim =
        config.num_attention_heads > 0 ? config.hidden_size / config.num_attention_heads : 0;
  } else {
    config.head_dim = fields.integer("head_dim", config.head_dim);
  }
  config.hidden_act = fields.text("hidden_act", config.hidden_act);
  config.max_position_embeddings =
      fields.integer("max_position_embeddings", config.max_position_embeddings);
  config.rms_norm_eps = fields.number("rms_norm_eps", config.rms_norm_eps);
  read_rope(fields, config, source_name, prefix);
  config.num_local_experts = fields.integer("num_local_experts", config.num_local_experts);
  config.num_experts_per_tok = fields.integer("num_experts_per_tok", config.num_experts_per_tok);
  config.interleave_moe_layer_step =
      fields.integer("interleave_moe_layer_step", config.interleave_moe_layer_step);
  config.moe_layers = fields.integer_list("moe_layers");
  config.use_qk_norm = fields.boolean("use_qk_norm", config.use_qk_norm);
  config.no_rope_layer_interval =
      fields.integer("no_rope_layer_interval", config.no_rope_layer_interval);
  for (std::int64_t value : fields.integer_list("no_rope_layers")) {
    // Checked before narrowing to int: 4294967297 must not become 1.
    if (value != 0 && value != 1) {
      fail(fields.where("no_rope_layers"), " must hold 0 or 1 (1 = the layer uses RoPE), got ",
           value);
    }
    config.no_rope_layers.push_back(static_cast<int>(value));
  }
  config.attention_chunk_size =
      fields.optional_integer("attention_chunk_size", config.attention_chunk_size);
  config.layer_types = fields.text_list("layer_types");
  config.attn_temperature_tuning =
      fields.boolean("attn_temperature_tuning", config.attn_temperature_tuning);
  config.floor_scale = fields.number("floor_scale", config.floor_scale);
  config.attn_scale = fields.number("attn_scale", config.attn_scale);
  if (fields.boolean("attention_bias", false)) {
    fail(fields.where("attention_bias"), " is true; Llama 4 has no attention biases");
  }
  config.tie_word_embeddings =
      fields.boolean("tie_word_embeddings", top.boolean("tie_word_embeddings", false));
  config.random_weights = top.text("random_weights", "");
  config.bos_token_id = fields.optional_integer("bos_token_id", config.bos_token_id);
  config.pad_token_id = fields.optional_integer("pad_token_id", config.pad_token_id);
  if (fields.has("eos_token_id") && fields.raw("eos_token_id").is_array()) {
    config.eos_token_ids = fields.integer_list("eos_token_id");
  } else if (auto eos = fields.optional_integer("eos_token_id", 2)) {
    config.eos_token_ids = {*eos};
  } else {
    config.eos_token_ids.clear();
  }

  validate_sizes(fields, config);
  derive_layer_schedule(fields, config);
  validate_feed_forward(fields, config);
  return config;
}

namespace {

// Weights of the model; `experts_used`: how many routed experts to count per MoE layer.
std::uint64_t count_parameters(const ModelConfig& config, std::int64_t experts_used) {
  const auto h = static_cast<std::uint64_t>(config.hidden_size);
  const auto v = static_cast<std::uint64_t>(config.vocab_size);
  const auto q = static_cast<std::uint64_t>(config.num_attention_heads * config.head_dim);
  const auto kv = static_cast<std::uint64_t>(config.num_key_value_heads * config.head_dim);
  const auto width = static_cast<std::uint64_t>(config.intermediate_size);
  const auto dense_width = static_cast<std::uint64_t>(config.intermediate_size_mlp);
  std::uint64_t total =
      v * h + h + (config.tie_word_embeddings ? 0 : v * h);  // embedding, norm, head
  for (const LayerConfig& layer : config.layers) {
    total += 2 * h + 2 * h * q + 2 * h * kv;  // two norms; q and o; k and v
    if (layer.is_moe) {
      const auto experts = static_cast<std::uint64_t>(config.num_local_experts);
      total += experts * h;                                               // router
      total += static_cast<std::uint64_t>(experts_used) * 3 * h * width;  // routed experts
      total += 3 * h * width;                                             // shared expert
    } else {
      total += 3 * h * dense_width;
    }
  }
  return total;
}

}  // namespace

const LayerConfig& ModelConfig::layer(std::int64_t index) const {
  if (index < 0 || index >= static_cast<std::int64_t>(layers.size())) {
    fail("layer ", index, " does not exist: the config describes ", layers.size(), " layers");
  }
  return layers[static_cast<std::size_t>(index)];
}

std::uint64_t ModelConfig::total_parameters() const {
  return count_parameters(*this, num_local_experts);
}

std::uint64_t ModelConfig::active_parameters() const {
  return count_parameters(*this, num_experts_per_tok);
}

ModelConfig load_model_config(const std::filesystem::path& path) {
  std::error_code ignored;
  const std::filesystem::path file =
      std::filesystem::is_directory(path, ignored) ? path / "config.json" : path;
  return parse_model_config(read_regular_file(file), file.string());
}

}  // namespace llama4
