// ModelConfig: the golden tiny configs, the published Scout and Maverick values, HF's derivation of
// the per-layer schedule (with its traps), and configs with impossible values.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/debugging/data_paths.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/model_config.hpp"

namespace llama4 {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

// The text_config of Llama 4 Scout 17B-16E-Instruct as published (values from the spec, §1.2),
// wrapped in the multimodal Llama4Config as the real config.json is.
Json scout_config() {
  Json text = {{"model_type", "llama4_text"},
               {"attention_bias", false},
               {"attention_chunk_size", 8192},
               {"attn_scale", 0.1},
               {"attn_temperature_tuning", 4},
               {"bos_token_id", 200000},
               {"eos_token_id", {200001, 200007, 200008}},
               {"pad_token_id", 200018},
               {"floor_scale", 8192},
               {"head_dim", 128},
               {"hidden_act", "silu"},
               {"hidden_size", 5120},
               {"interleave_moe_layer_step", 1},
               {"intermediate_size", 8192},
               {"intermediate_size_mlp", 16384},
               {"max_position_embeddings", 10485760},
               {"num_attention_heads", 40},
               {"num_experts_per_tok", 1},
               {"num_hidden_layers", 48},
               {"num_key_value_heads", 8},
               {"num_local_experts", 16},
               {"rms_norm_eps", 1e-05},
               {"rope_scaling",
                {{"factor", 16.0},
                 {"high_freq_factor", 1.0},
                 {"low_freq_factor", 1.0},
                 {"original_max_position_embeddings", 8192},
                 {"rope_type", "llama3"}}},
               {"rope_theta", 500000.0},
               {"use_qk_norm", true},
               {"vocab_size", 202048},
               {"no_rope_layer_interval", 4}};
  return {{"architectures", {"Llama4ForConditionalGeneration"}},
          {"model_type", "llama4"},
          {"boi_token_index", 200080},
          {"eoi_token_index", 200081},
          {"image_token_index", 200092},
          {"tie_word_embeddings", false},
          {"text_config", text},
          {"vision_config", {{"hidden_size", 1408}}}};
}

// Maverick 17B-128E: 128 experts on odd layers, dense layers between, no QK norm, no RoPE scaling.
Json maverick_config() {
  Json config = scout_config();
  Json& text = config["text_config"];
  text["num_local_experts"] = 128;
  text["interleave_moe_layer_step"] = 2;
  text["use_qk_norm"] = false;
  text["rope_scaling"] = nullptr;
  text["attn_temperature_tuning"] = true;
  text["max_position_embeddings"] = 1048576;
  return config;
}

ModelConfig parse(const Json& json) {
  return parse_model_config(json.dump(), "config.json");
}

TEST(ModelConfig, PublishedScoutValues) {
  const ModelConfig config = parse(scout_config());
  EXPECT_EQ(config.model_type, "llama4");
  EXPECT_EQ(config.vocab_size, 202048);
  EXPECT_EQ(config.hidden_size, 5120);
  EXPECT_EQ(config.num_hidden_layers, 48);
  EXPECT_EQ(config.query_heads_per_kv_head(), 5);
  EXPECT_EQ(config.head_dim, 128);
  EXPECT_EQ(config.num_local_experts, 16);
  ASSERT_TRUE(config.rope_scaling.has_value());
  EXPECT_EQ(config.rope_scaling->factor, 16.0);
  EXPECT_EQ(config.rope_scaling->low_freq_factor, 1.0);
  EXPECT_EQ(config.rope_scaling->high_freq_factor, 1.0);
  EXPECT_EQ(config.rope_scaling->original_max_position_embeddings, 8192);
  EXPECT_TRUE(config.attn_temperature_tuning);  // shipped as the integer 4
  EXPECT_EQ(config.bos_token_id, 200000);
  EXPECT_EQ(config.eos_token_ids, (std::vector<std::int64_t>{200001, 200007, 200008}));
  EXPECT_EQ(config.pad_token_id, 200018);
  ASSERT_EQ(config.layers.size(), 48u);
  for (int layer = 0; layer < 48; ++layer) {
    const LayerConfig& kind = config.layers[static_cast<std::size_t>(layer)];
    const bool nope = (layer + 1) % 4 == 0;  // layers 3, 7, ..., 47
    EXPECT_EQ(kind.uses_rope, !nope) << layer;
    EXPECT_EQ(kind.chunked_attention, !nope) << layer;
    EXPECT_EQ(kind.uses_qk_norm, !nope) << layer;
    EXPECT_EQ(kind.uses_temperature_tuning, nope) << layer;
    EXPECT_TRUE(kind.is_moe) << layer;
  }
}

TEST(ModelConfig, PublishedMaverickValues) {
  const ModelConfig config = parse(maverick_config());
  EXPECT_FALSE(config.rope_scaling.has_value());
  EXPECT_EQ(config.num_local_experts, 128);
  for (int layer = 0; layer < 48; ++layer) {
    const LayerConfig& kind = config.layers[static_cast<std::size_t>(layer)];
    EXPECT_EQ(kind.is_moe, layer % 2 == 1) << layer;  // odd layers MoE, even layers dense
    EXPECT_FALSE(kind.uses_qk_norm) << layer;
    EXPECT_EQ(kind.uses_temperature_tuning, (layer + 1) % 4 == 0) << layer;
  }
}

// The model card's "17B active, 109B total" (Scout) and "400B total" (Maverick): the text model's
// share, computed in the spec (§1.2) as 107.77 B / 17.17 B and 400.71 B / 17.19 B.
TEST(ModelConfig, ParameterCountsMatchThePublishedSizes) {
  const ModelConfig scout = parse(scout_config());
  EXPECT_NEAR(static_cast<double>(scout.total_parameters()) / 1e9, 107.77, 0.01);
  EXPECT_NEAR(static_cast<double>(scout.active_parameters()) / 1e9, 17.17, 0.01);
  const ModelConfig maverick = parse(maverick_config());
  EXPECT_NEAR(static_cast<double>(maverick.total_parameters()) / 1e9, 400.71, 0.01);
  EXPECT_NEAR(static_cast<double>(maverick.active_parameters()) / 1e9, 17.19, 0.01);
}

TEST(ModelConfig, GoldenTinyConfig) {
  const ModelConfig config = load_model_config(golden_model_dir("tiny"));
  EXPECT_EQ(config.model_type, "llama4");
  EXPECT_EQ(config.vocab_size, 512);
  EXPECT_EQ(config.hidden_size, 64);
  EXPECT_EQ(config.num_attention_heads, 4);
  EXPECT_EQ(config.num_key_value_heads, 2);
  EXPECT_EQ(config.head_dim, 16);
  EXPECT_EQ(config.intermediate_size, 32);
  EXPECT_EQ(config.intermediate_size_mlp, 96);
  EXPECT_EQ(config.attention_chunk_size, 8);
  EXPECT_EQ(config.floor_scale, 4.0);
  ASSERT_TRUE(config.rope_scaling.has_value());
  EXPECT_EQ(config.rope_scaling->high_freq_factor, 4.0);
  EXPECT_EQ(config.rope_scaling->original_max_position_embeddings, 64);
  ASSERT_EQ(config.layers.size(), 4u);
  EXPECT_FALSE(config.layers[0].is_moe);
  EXPECT_TRUE(config.layers[1].is_moe);
  EXPECT_FALSE(config.layers[2].is_moe);
  EXPECT_TRUE(config.layers[3].is_moe);
  EXPECT_TRUE(config.layers[2].uses_rope && config.layers[2].chunked_attention &&
              config.layers[2].uses_qk_norm);
  EXPECT_FALSE(config.layers[3].uses_rope || config.layers[3].chunked_attention ||
               config.layers[3].uses_qk_norm);
  EXPECT_TRUE(config.layers[3].uses_temperature_tuning);
}

TEST(ModelConfig, GoldenTinyMaverickConfigIsBare) {
  const ModelConfig config = load_model_config(golden_model_dir("tiny-maverick") / "config.json");
  EXPECT_EQ(config.model_type, "llama4_text");
  EXPECT_FALSE(config.rope_scaling.has_value());
  EXPECT_FALSE(config.use_qk_norm);
  for (const LayerConfig& kind : config.layers) EXPECT_FALSE(kind.uses_qk_norm);
}

// The trap: 1 in no_rope_layers means the layer USES RoPE.
TEST(ModelConfig, NoRopeLayersHoldsOneForLayersThatUseRope) {
  Json config = scout_config();
  config["text_config"]["num_hidden_layers"] = 4;
  config["text_config"]["no_rope_layers"] = {0, 1, 1, 1};
  const ModelConfig parsed = parse(config);
  EXPECT_FALSE(parsed.layers[0].uses_rope);
  EXPECT_FALSE(parsed.layers[0].chunked_attention);  // NoPE layers attend globally
  EXPECT_TRUE(parsed.layers[0].uses_temperature_tuning);
  EXPECT_TRUE(parsed.layers[3].uses_rope);
  EXPECT_TRUE(parsed.layers[3].chunked_attention);
}

// HF tests the list's truthiness: [] means "derive the default pattern", not "no RoPE anywhere".
TEST(ModelConfig, EmptyNoRopeLayersMeansTheDefaultPattern) {
  Json config = scout_config();
  config["text_config"]["num_hidden_layers"] = 8;
  config["text_config"]["no_rope_layers"] = Json::array();
  const ModelConfig parsed = parse(config);
  EXPECT_EQ(parsed.no_rope_layers, (std::vector<int>{1, 1, 1, 0, 1, 1, 1, 0}));
}

TEST(ModelConfig, ExplicitLayerTypesAndMoeLayersWin) {
  Json config = scout_config();
  config["text_config"]["num_hidden_layers"] = 4;
  config["text_config"]["layer_types"] = {"full_attention", "chunked_attention", "full_attention",
                                          "full_attention"};
  config["text_config"]["moe_layers"] = {0, 2};
  const ModelConfig parsed = parse(config);
  EXPECT_FALSE(parsed.layers[0].chunked_attention);
  EXPECT_TRUE(
      parsed.layers[0].uses_rope);  // RoPE comes from no_rope_layers, the mask from layer_types
  EXPECT_TRUE(parsed.layers[1].chunked_attention);
  EXPECT_TRUE(parsed.layers[0].is_moe);
  EXPECT_FALSE(parsed.layers[1].is_moe);
  EXPECT_TRUE(parsed.layers[2].is_moe);
}

TEST(ModelConfig, HeadDimDefaultsTo128AndNullMeansHiddenOverHeads) {
  Json config = scout_config();
  config["text_config"].erase("head_dim");
  config["text_config"]["hidden_size"] = 2560;
  EXPECT_EQ(parse(config).head_dim, 128);
  config["text_config"]["head_dim"] = nullptr;
  EXPECT_EQ(parse(config).head_dim, 64);
}

TEST(ModelConfig, AcceptsTransformers5RopeParameters) {
  Json config = scout_config();
  Json& text = config["text_config"];
  text.erase("rope_scaling");
  text.erase("rope_theta");
  text["rope_parameters"] = {{"rope_type", "llama3"},   {"rope_theta", 250000.0},
                             {"factor", 8.0},           {"low_freq_factor", 1.0},
                             {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  const ModelConfig parsed = parse(config);
  EXPECT_EQ(parsed.rope_theta, 250000.0);
  ASSERT_TRUE(parsed.rope_scaling.has_value());
  EXPECT_EQ(parsed.rope_scaling->factor, 8.0);
  text["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 10000.0}};
  EXPECT_FALSE(parse(config).rope_scaling.has_value());
}

TEST(ModelConfig, MissingFieldsTakeHuggingFaceDefaults) {
  const ModelConfig parsed = parse_model_config("{}", "config.json");
  EXPECT_EQ(parsed.hidden_size, 5120);
  EXPECT_EQ(parsed.num_key_value_heads, 8);
  EXPECT_EQ(parsed.attention_chunk_size, 8192);
  EXPECT_EQ(parsed.bos_token_id, 1);  // HF's class default, NOT Llama 4's real 200000
  EXPECT_EQ(parsed.layers.size(), 48u);
}

// Each case: a change to the Scout config and a fragment the error must contain.
struct BadConfig {
  const char* name;
  Json patch;  // merged into text_config
  const char* message;
};

void PrintTo(const BadConfig& config, std::ostream* out) {
  *out << config.name;
}

class ImpossibleConfig : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ImpossibleConfig, IsAClearError) {
  Json config = scout_config();
  // Set each field (a JSON merge patch would delete the fields we set to null).
  for (const auto& [field, value] : GetParam().patch.items()) config["text_config"][field] = value;
  EXPECT_THAT([&] { parse(config); },
              ::testing::ThrowsMessage<Error>(
                  ::testing::AllOf(HasSubstr("config.json"), HasSubstr(GetParam().message))));
}

INSTANTIATE_TEST_SUITE_P(
    Values, ImpossibleConfig,
    ::testing::Values(
        BadConfig{"KvHeadsDoNotDivide",
                  {{"num_key_value_heads", 3}},
                  "text_config.num_key_value_heads = 3 does not divide num_attention_heads = 40"},
        BadConfig{"OddHeadDim", {{"head_dim", 127}}, "head_dim = 127 is odd"},
        BadConfig{"TooManyExpertsPerToken",
                  {{"num_experts_per_tok", 17}},
                  "num_experts_per_tok = 17 must be between 1 and num_local_experts = 16"},
        BadConfig{"MoeLayerOutOfRange", {{"moe_layers", {1, 48}}}, "moe_layers names layer 48"},
        BadConfig{
            "NoRopeListTooShort", {{"no_rope_layers", {1, 1, 0}}}, "no_rope_layers has 3 entries"},
        BadConfig{"NoRopeValueNotBinary",
                  {{"num_hidden_layers", 2}, {"no_rope_layers", {1, 2}}},
                  "must hold 0 or 1"},
        BadConfig{"SizeIsAString",
                  {{"hidden_size", "big"}},
                  "text_config.hidden_size must be an integer"},
        BadConfig{"FractionalSize",
                  {{"intermediate_size", 12.5}},
                  "intermediate_size must be an integer"},
        BadConfig{"NegativeSize", {{"hidden_size", -5}}, "hidden_size must be positive"},
        BadConfig{"ZeroEpsilon", {{"rms_norm_eps", 0}}, "rms_norm_eps must be positive"},
        BadConfig{"UnsupportedRopeType",
                  {{"rope_scaling", {{"rope_type", "yarn"}}}},
                  "\"yarn\" is not supported"},
        BadConfig{
            "InvertedRopeBands",
            {{"rope_scaling",
              {{"rope_type", "llama3"}, {"low_freq_factor", 4.0}, {"high_freq_factor", 1.0}}}},
            "must be at least low_freq_factor"},
        BadConfig{"AttentionBias", {{"attention_bias", true}}, "no attention biases"},
        BadConfig{"OtherActivation", {{"hidden_act", "gelu"}}, "\"gelu\" is not supported"},
        BadConfig{"UnknownLayerType",
                  {{"num_hidden_layers", 1},
                   {"no_rope_layers", {1}},
                   {"layer_types", {"sliding_attention"}}},
                  "expected \"chunked_attention\" or \"full_attention\""},
        BadConfig{"NullChunkWithChunkedLayers",
                  {{"attention_chunk_size", nullptr}},
                  "attention_chunk_size is null but layer 0 uses chunked attention"},
        BadConfig{"ZeroNoRopeInterval",
                  {{"no_rope_layer_interval", 0}},
                  "no_rope_layer_interval must be positive"},
        BadConfig{"ZeroInterleave",
                  {{"interleave_moe_layer_step", 0}},
                  "interleave_moe_layer_step must be positive"},
        BadConfig{"EosOutOfVocabulary",
                  {{"eos_token_id", 999999}},
                  "eos_token_id 999999 is not a token id"},
        BadConfig{"BooleanIsAString", {{"use_qk_norm", "yes"}}, "use_qk_norm must be true/false"}),
    [](const ::testing::TestParamInfo<BadConfig>& case_info) {
      return std::string(case_info.param.name);
    });

TEST(ModelConfig, AskingForALayerThatDoesNotExistIsAnError) {
  const ModelConfig config = parse(scout_config());
  EXPECT_TRUE(config.layer(47).is_moe);
  EXPECT_THAT([&] { config.layer(48); },
              ::testing::ThrowsMessage<Error>(
                  HasSubstr("layer 48 does not exist: the config describes 48 layers")));
  EXPECT_THAT([] { ModelConfig().layer(0); },
              ::testing::ThrowsMessage<Error>(HasSubstr("describes 0 layers")));
}

TEST(ModelConfig, NotJsonAtAll) {
  EXPECT_THAT([] { parse_model_config("{\"hidden_size\": ", "broken/config.json"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("broken/config.json is not valid JSON")));
}

TEST(ModelConfig, TextConfigNotAnObject) {
  EXPECT_THAT([] { parse_model_config(R"({"text_config": 5})", "config.json"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("text_config is not an object")));
}

TEST(ModelConfig, MissingFile) {
  EXPECT_THAT([] { load_model_config("/nonexistent/dir/config.json"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("cannot open")));
}

}  // namespace
}  // namespace llama4
