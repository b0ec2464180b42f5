// Chapter 12: reading GGUF, llama.cpp's file format. The golden files in golden/data/gguf/ were
// written by golden/gguf_writer.py (numpy, following llama.cpp's converter) from the golden tiny
// model, so a GGUF and an HF checkpoint of the same weights must give the same logits. Then the
// hostile files: every number in a GGUF header is a chance to crash a careless reader.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common/debugging/data_paths.hpp"
#include "common/layers/rope.hpp"
#include "common/model/inference_session.hpp"
#include "common/model/model.hpp"
#include "common/quantization/gguf_file.hpp"
#include "common/quantization/gguf_model.hpp"
#include "common/quantization/gguf_tokenizer.hpp"
#include "common/quantization/integer_dot.hpp"
#include "common/quantization/logit_agreement.hpp"
#include "common/quantization/quantized_checkpoint.hpp"
#include "common/tensors/checkpoint_weights.hpp"
#include "common/tokenizer/byte_level_alphabet.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using ::testing::HasSubstr;
using testing::read_file;
using testing::TemporaryDirectory;
using testing::write_file;

std::filesystem::path gguf_dir() {
  return golden_data_dir() / "gguf";
}

// Positions past the tiny model's chunk (8 tokens) and its temperature floor (4), so that the
// chunked mask and the NoPE layer's temperature both take part.
const std::vector<std::int32_t> kTokens = {1,  5,   9, 200, 17, 33, 250, 2,  77, 311,
                                           64, 128, 3, 499, 45, 46, 47,  48, 12, 400};

Tensor logits_of(Model model) {
  CpuSession session(std::move(model), static_cast<std::int64_t>(kTokens.size()));
  return session.forward(kTokens, LogitRows::all, nullptr);
}

void expect_same_logits(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  for (std::int64_t i = 0; i < a.numel(); ++i)
    ASSERT_EQ(a.flat(i), b.flat(i)) << what << " logit " << i;
}

TEST(GgufFile, ReadsTheHeaderTheMetadataAndTheTensorTable) {
  const GgufFile file(gguf_dir() / "tiny-bf16.gguf");
  EXPECT_EQ(file.version(), 3u);
  EXPECT_EQ(file.alignment(), 32u);
  EXPECT_EQ(file.string("general.architecture"), "llama4");
  EXPECT_EQ(file.unsigned_integer("llama4.block_count"), 4u);
  EXPECT_EQ(file.unsigned_integer("llama4.expert_feed_forward_length"),
            32u);                                                       // HF intermediate_size
  EXPECT_EQ(file.unsigned_integer("llama4.feed_forward_length"), 96u);  // HF intermediate_size_mlp
  EXPECT_EQ(file.tensors().size(), 48u);
  // Dims are stored innermost first; the reader gives PyTorch's order.
  const GgufTensorInfo* embedding = file.find_tensor("token_embd.weight");
  ASSERT_NE(embedding, nullptr);
  EXPECT_EQ(embedding->shape, (Shape{512, 64}));
  EXPECT_EQ(dtype_of_ggml_type(embedding->ggml_type), DType::BF16);
  const GgufTensorInfo* gate = file.find_tensor("blk.1.ffn_gate_exps.weight");
  ASSERT_NE(gate, nullptr);
  EXPECT_EQ(gate->shape, (Shape{4, 32, 64}));  // [E, I, H]: output-major, unlike HF's [E, H, 2I]
  EXPECT_EQ(file.find_tensor("blk.1.ffn_down_exps.weight")->shape, (Shape{4, 64, 32}));
}

// The test of the whole mapping: names, the experts' split and transposes, the config from the
// metadata (chunk, NoPE layer, temperature, QK norm), RoPE's divisors. Same bf16 weights, so the
// same logits to the last bit.
TEST(GgufModel, Bf16FileGivesTheLogitsOfTheHfCheckpointExactly) {
  expect_same_logits(logits_of(Model::load(gguf_dir() / "tiny-bf16.gguf")),
                     logits_of(Model::load(golden_model_dir("tiny"))), "bf16 GGUF vs HF");
}

// F16 weights hold the bf16 values exactly (or as the nearest f16 where they are below f16's
// normal range), and the model computes in f32 either way: nearly the same logits.
TEST(GgufModel, F16FileGivesNearlyTheLogitsOfTheHfCheckpoint) {
  const Checkpoint f16 = open_gguf_model(gguf_dir() / "tiny-f16.gguf").checkpoint;
  EXPECT_EQ(f16.entry("model.layers.0.self_attn.q_proj.weight").dtype, DType::F16);
  const Tensor from_f16 = logits_of(Model::load(gguf_dir() / "tiny-f16.gguf"));
  const Tensor from_hf = logits_of(Model::load(golden_model_dir("tiny")));
  ASSERT_EQ(from_f16.shape(), from_hf.shape());
  for (std::int64_t i = 0; i < from_hf.numel(); ++i)
    ASSERT_NEAR(from_f16.flat(i), from_hf.flat(i), 1e-4 + 1e-4 * std::fabs(from_hf.flat(i))) << i;
}

TEST(GgufModel, ConfigFromTheMetadataEqualsConfigJson) {
  const ModelConfig hf = load_model_config(golden_model_dir("tiny"));
  const ModelConfig gguf = open_gguf_model(gguf_dir() / "tiny-bf16.gguf").config;
  EXPECT_EQ(gguf.hidden_size, hf.hidden_size);
  EXPECT_EQ(gguf.intermediate_size, hf.intermediate_size);
  EXPECT_EQ(gguf.intermediate_size_mlp, hf.intermediate_size_mlp);
  EXPECT_EQ(gguf.num_key_value_heads, hf.num_key_value_heads);
  EXPECT_EQ(gguf.head_dim, hf.head_dim);
  EXPECT_EQ(gguf.attention_chunk_size, hf.attention_chunk_size);
  EXPECT_EQ(gguf.floor_scale, hf.floor_scale);
  EXPECT_EQ(gguf.bos_token_id, hf.bos_token_id);
  EXPECT_EQ(gguf.eos_token_ids, hf.eos_token_ids);
  EXPECT_EQ(gguf.random_weights, hf.random_weights);
  ASSERT_EQ(gguf.layers.size(), hf.layers.size());
  for (std::size_t l = 0; l < hf.layers.size(); ++l) {
    EXPECT_EQ(gguf.layers[l].uses_rope, hf.layers[l].uses_rope) << l;
    EXPECT_EQ(gguf.layers[l].chunked_attention, hf.layers[l].chunked_attention) << l;
    EXPECT_EQ(gguf.layers[l].uses_qk_norm, hf.layers[l].uses_qk_norm) << l;
    EXPECT_EQ(gguf.layers[l].is_moe, hf.layers[l].is_moe) << l;
  }
  // rope_freqs' divisors give llama3's scaled frequencies (to f32 rounding).
  const std::vector<float> from_divisors =
      rope_inverse_frequencies(gguf.head_dim, gguf.rope_theta, gguf.rope_scaling);
  const std::vector<float> from_formula =
      rope_inverse_frequencies(hf.head_dim, hf.rope_theta, hf.rope_scaling);
  ASSERT_EQ(from_divisors.size(), from_formula.size());
  for (std::size_t i = 0; i < from_formula.size(); ++i)
    EXPECT_NEAR(from_divisors[i], from_formula[i], 1e-6f * from_formula[i]) << "frequency " << i;
}

// A file as llama.cpp's converter writes it has no hf.* keys: llama.cpp's fixed llama4 values
// apply.
TEST(GgufModel, WithoutTheHfKeysLlamaCppsFixedValuesApply) {
  const ModelConfig config = open_gguf_model(gguf_dir() / "tiny-q4_0-llama-cpp-keys.gguf").config;
  EXPECT_EQ(config.attention_chunk_size, 8192);
  EXPECT_EQ(config.floor_scale, 8192.0);
  EXPECT_DOUBLE_EQ(config.attn_scale, 0.1);
  EXPECT_TRUE(config.random_weights.empty());
  for (std::int64_t l = 0; l < 4; ++l) {
    EXPECT_EQ(config.layer(l).uses_rope, l != 3) << l;  // every 4th layer NoPE
    EXPECT_EQ(config.layer(l).chunked_attention, l != 3) << l;
    EXPECT_EQ(config.layer(l).uses_qk_norm, l != 3) << l;  // 4 experts, not Maverick's 128
  }
}

// Quantized experts are kept output-major and gate/up are put side by side: the same bytes as our
// own quantizer makes of the HF checkpoint (both follow llama.cpp's formulas), tensor by tensor.
TEST(GgufModel, QuantizedWeightsEqualOurQuantizerByteForByte) {
  const Checkpoint hf = Checkpoint::open(golden_model_dir("tiny"));
  const ModelConfig config = load_model_config(golden_model_dir("tiny"));
  for (const auto& [file, format] :
       {std::pair{"tiny-q8_0.gguf", DType::Q8_0}, std::pair{"tiny-q4_0.gguf", DType::Q4_0},
        std::pair{"tiny-q4_1.gguf", DType::Q4_1}}) {
    const Checkpoint ours = quantize_checkpoint(hf, {format});
    const Checkpoint gguf = open_gguf_model(gguf_dir() / file).checkpoint;
    const WeightNames our_names(ours), gguf_names(gguf);
    for (std::int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
      std::vector<std::string> names = {"self_attn.q_proj.weight", "self_attn.o_proj.weight"};
      if (config.layer(layer).is_moe) {
        names.insert(names.end(),
                     {"feed_forward.experts.gate_up_proj", "feed_forward.experts.down_proj",
                      "feed_forward.shared_expert.down_proj.weight"});
      } else {
        names.push_back("feed_forward.gate_proj.weight");
      }
      for (const std::string& name : names) {
        const Tensor a = ours.tensor(our_names.layer(layer, name));
        const Tensor b = gguf.tensor(gguf_names.layer(layer, name));
        const std::string what = std::string(file) + " layer " + std::to_string(layer) + " " + name;
        ASSERT_EQ(a.dtype(), format) << what;
        ASSERT_EQ(b.dtype(), format) << what;
        ASSERT_EQ(a.shape(), b.shape()) << what;
        EXPECT_EQ(std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()), 0) << what;
      }
    }
  }
}

// The quantized files' logits: near the bf16 model's, within the bounds chapter 12 states for each
// format (as for --quantize, common/quantization/logit_agreement.hpp).
TEST(GgufModel, QuantizedFilesStayCloseToBf16) {
  set_quantized_kernel(QuantizedKernel::dequantize_to_float);
  CpuSession reference(Model::load(gguf_dir() / "tiny-bf16.gguf"), 32);
  CpuSession q8(Model::load(gguf_dir() / "tiny-q8_0.gguf"), 32);
  CpuSession q4(Model::load(gguf_dir() / "tiny-q4_0.gguf"), 32);
  InferenceSession* variants[] = {&q8, &q4};
  const std::vector<LogitAgreement> agreement = compare_logits(reference, variants, kTokens);
  std::cout << "Q8_0 mean KL " << agreement[0].mean_kl << ", Q4_0 " << agreement[1].mean_kl << "\n";
  EXPECT_LT(agreement[0].mean_kl, 0.001);
  EXPECT_LT(agreement[1].mean_kl, 0.06);
  EXPECT_GT(agreement[0].mean_kl, 0.0);  // they are quantized
  set_quantized_kernel(QuantizedKernel::automatic);
}

TEST(GgufModel, ASplitSetIsOneModel) {
  expect_same_logits(logits_of(Model::load(gguf_dir() / "tiny-q4_0-00001-of-00003.gguf")),
                     logits_of(Model::load(gguf_dir() / "tiny-q4_0.gguf")), "3 parts vs 1");
  EXPECT_THAT([] { open_gguf_model(gguf_dir() / "tiny-q4_0-00002-of-00003.gguf"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("give the first part")));
  TemporaryDirectory two_of_three;
  for (const char* part : {"tiny-q4_0-00001-of-00003.gguf", "tiny-q4_0-00002-of-00003.gguf"})
    std::filesystem::copy_file(gguf_dir() / part, two_of_three.path() / part);
  EXPECT_THAT([&] { open_gguf_model(two_of_three.path() / "tiny-q4_0-00001-of-00003.gguf"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("00003-of-00003.gguf\" is missing")));
}

// ---- hostile files ---------------------------------------------------------------------------

// Builds GGUF bytes field by field, so a test can write exactly the damage it wants.
class GgufBytes {
 public:
  GgufBytes& version(std::uint32_t v) {
    version_ = v;
    return *this;
  }
  GgufBytes& raw_key(std::string_view key, std::uint32_t type, const std::string& value) {
    metadata_ += string(key) + number(type) + value;
    ++keys_;
    return *this;
  }
  GgufBytes& key(std::string_view key, std::string_view value) {
    return raw_key(key, 8, string(value));
  }
  GgufBytes& key(std::string_view key, std::uint32_t value) {
    return raw_key(key, 4, number(value));
  }
  GgufBytes& strings(std::string_view key, const std::vector<std::string>& values) {
    std::string bytes = number<std::uint32_t>(8) + number<std::uint64_t>(values.size());
    for (const std::string& value : values) bytes += string(value);
    return raw_key(key, 9, bytes);
  }
  GgufBytes& integers(std::string_view key, const std::vector<std::int32_t>& values) {
    std::string bytes = number<std::uint32_t>(5) + number<std::uint64_t>(values.size());
    for (const std::int32_t value : values) bytes += number(value);
    return raw_key(key, 9, bytes);
  }
  // A tensor: dims innermost first, its bytes appended to the data section (aligned to 32).
  GgufBytes& tensor(std::string_view name, std::vector<std::uint64_t> dims, std::uint32_t type,
                    std::size_t bytes) {
    infos_ += string(name) + number(static_cast<std::uint32_t>(dims.size()));
    for (std::uint64_t d : dims) infos_ += number(d);
    infos_ += number(type) + number(static_cast<std::uint64_t>(data_.size()));
    data_ += std::string(bytes, '\x01') + std::string((32 - bytes % 32) % 32, '\0');
    ++tensors_;
    return *this;
  }
  std::string build() const {
    std::string out =
        "GGUF" + number(version_) + number(tensors_) + number(keys_) + metadata_ + infos_;
    out += std::string((32 - out.size() % 32) % 32, '\0');
    return out + data_;
  }

  template <class T>
  static std::string number(T value) {
    return std::string(reinterpret_cast<const char*>(&value), sizeof value);
  }
  static std::string string(std::string_view text) {
    return number(static_cast<std::uint64_t>(text.size())) + std::string(text);
  }

 private:
  std::uint32_t version_ = 3;
  std::uint64_t tensors_ = 0, keys_ = 0;
  std::string metadata_, infos_, data_;
};

// Opens `bytes` as a file with the model loader and returns the error message (empty: no error).
std::string error_opening(const std::string& bytes, bool as_model = true) {
  TemporaryDirectory directory;
  const std::filesystem::path path = directory.path() / "hostile.gguf";
  write_file(path, bytes);
  try {
    if (as_model) {
      open_gguf_model(path);
    } else {
      const GgufFile file(path);
      for (const GgufTensorInfo& info : file.tensors()) file.tensor(info);
    }
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(HostileGguf, DamagedHeadersAreNamedErrors) {
  const std::string valid = read_file(gguf_dir() / "tiny-bf16.gguf");
  const auto patched = [&](std::size_t at, const std::string& bytes) {
    std::string copy = valid;
    copy.replace(at, bytes.size(), bytes);
    return copy;
  };
  using B = GgufBytes;
  EXPECT_THAT(error_opening(patched(0, "GGML")), HasSubstr("is not a GGUF file"));
  EXPECT_THAT(error_opening(patched(4, B::number<std::uint32_t>(1))),
              HasSubstr("GGUF version 1 is not supported"));
  EXPECT_THAT(error_opening(patched(8, B::number<std::uint64_t>(1ull << 40))),
              HasSubstr("the tensor count is 1099511627776"));
  EXPECT_THAT(error_opening(patched(16, B::number<std::uint64_t>(~0ull))),
              HasSubstr("the metadata count is"));
  EXPECT_THAT(error_opening(patched(24, B::number<std::uint64_t>(1ull << 62))),
              HasSubstr("claims 4611686018427387904 bytes"));
  // The first key is "general.architecture" (20 bytes); its type follows.
  EXPECT_THAT(error_opening(patched(24 + 8 + 20, B::number<std::uint32_t>(13))),
              HasSubstr("value type 13"));

  // The first tensor's entry: name, n_dims, dims, type, offset.
  const std::string name = "token_embd.weight";
  const std::size_t entry = valid.find(name) + name.size();
  const std::size_t type_at = entry + 4 + 2 * 8, offset_at = type_at + 4;
  EXPECT_THAT(error_opening(patched(entry, B::number<std::uint32_t>(5))),
              HasSubstr("has 5 dimensions"));
  EXPECT_THAT(error_opening(patched(entry + 4, B::number<std::uint64_t>(1ull << 62))),
              HasSubstr("impossibly large"));
  EXPECT_THAT(error_opening(patched(type_at, B::number<std::uint32_t>(99))),
              HasSubstr("ggml type 99"));
  EXPECT_THAT(error_opening(patched(offset_at, B::number<std::uint64_t>(4))),
              HasSubstr("not a multiple of the alignment"));
  EXPECT_THAT(error_opening(patched(offset_at, B::number<std::uint64_t>(1ull << 40))),
              HasSubstr("runs past the end"));
  EXPECT_THAT(error_opening(patched(offset_at, B::number<std::uint64_t>(32))),
              HasSubstr("overlap"));
  // A missing expert tensor (renamed to one the model does not have).
  EXPECT_THAT(error_opening(patched(valid.find("blk.1.ffn_up_exps"), "blk.1.ffn_up_expX")),
              HasSubstr("no tensor \"blk.1.ffn_up_exps.weight\" (layer 1's routed experts)"));
}

TEST(HostileGguf, EveryTruncationIsANamedError) {
  const std::string valid = read_file(gguf_dir() / "tiny-q4_0.gguf");
  for (std::size_t length = 0; length < valid.size(); length += length < 4096 ? 7 : 4099) {
    EXPECT_THAT(error_opening(valid.substr(0, length)), HasSubstr("hostile.gguf")) << length;
  }
}

TEST(HostileGguf, MetadataAndTensorsMadeToMeasure) {
  EXPECT_THAT(error_opening(GgufBytes().key("a", "x").key("a", "y").build()),
              HasSubstr("\"a\" appears twice"));
  const std::string nested =
      GgufBytes::number<std::uint32_t>(9) + GgufBytes::number<std::uint64_t>(1);
  EXPECT_THAT(error_opening(GgufBytes().raw_key("list", 9, nested).build()),
              HasSubstr("array of arrays"));
  EXPECT_THAT(error_opening(GgufBytes().key("general.alignment", 3u).build()),
              HasSubstr("power of two"));
  EXPECT_THAT(error_opening(GgufBytes().raw_key("flag", 7, "\x02").build()),
              HasSubstr("bool of value 2"));
  EXPECT_THAT(error_opening(GgufBytes().tensor("w", {33}, 8, 34).build(), false),
              HasSubstr("not whole blocks of 32"));
  EXPECT_THAT(
      error_opening(GgufBytes().tensor("w", {4}, 0, 16).tensor("w", {4}, 0, 16).build(), false),
      HasSubstr("\"w\" appears twice"));
  // A type we can size but not compute with: named at use.
  EXPECT_THAT(
      error_opening(GgufBytes().tensor("blk.0.attn_q.weight", {256}, 12, 144).build(), false),
      HasSubstr("is Q4_K"));
  // Model-level: the architecture, then the keys it needs.
  EXPECT_THAT(error_opening(GgufBytes().key("general.architecture", "llama").build()),
              HasSubstr("this program runs \"llama4\" models"));
  EXPECT_THAT(error_opening(GgufBytes().key("general.architecture", "llama4").build()),
              HasSubstr("has no \"llama4.block_count\""));
  EXPECT_THAT(error_opening(GgufBytes()
                                .key("general.architecture", "llama4")
                                .key("llama4.block_count", "four")
                                .build()),
              HasSubstr("\"llama4.block_count\" is a string, not an integer"));
}

// ---- the tokenizer in the metadata ---------------------------------------------------------

// golden/data/gguf/llama4-bible-tokenizer.gguf holds chapter 11's vocabulary as
// golden/gguf_writer.py writes it (tokens in the byte-level alphabet, merges, types): it must
// encode every text exactly as the tiktoken file it came from.
TEST(GgufTokenizer, EncodesLikeTheTiktokenFileItCameFrom) {
  const std::optional<Tokenizer> from_gguf =
      load_gguf_tokenizer(gguf_dir() / "llama4-bible-tokenizer.gguf");
  ASSERT_TRUE(from_gguf.has_value());
  const Tokenizer tiktoken = Tokenizer::load(trained_model_dir() / kTrainedTokenizerFile);
  EXPECT_EQ(from_gguf->vocab_size(), tiktoken.vocab_size());
  for (const char* text :
       {"And it came to pass, when the king was come,", "  In the beginning God created\n\n",
        "Grüße, señor — 123,456 ok?", "<|eot|> is text here"}) {
    EXPECT_EQ(from_gguf->encode(text), tiktoken.encode(text)) << text;
  }
  EncodeOptions special;
  special.allow_special = true;
  special.bos = true;
  EXPECT_EQ(from_gguf->encode("Amen.<|eot|>", special), tiktoken.encode("Amen.<|eot|>", special));
  EXPECT_FALSE(load_gguf_tokenizer(gguf_dir() / "tiny-bf16.gguf").has_value());  // none in there
}

// A small vocabulary made to measure: the 256 bytes, "ab" and "abc", then 2,048 special tokens.
GgufBytes vocabulary_file(std::vector<std::string> merges, std::string model = "gpt2",
                          std::size_t specials = 2048) {
  std::vector<std::string> tokens;
  std::vector<std::int32_t> types;
  for (int byte = 0; byte < 256; ++byte) {
    tokens.push_back(bytes_to_alphabet_text(std::string(1, static_cast<char>(byte))));
    types.push_back(1);
  }
  tokens.insert(tokens.end(), {"ab", "abc"});
  types.insert(types.end(), {1, 1});
  for (std::size_t i = 0; i < specials; ++i) {
    tokens.push_back("<|special_" + std::to_string(i) + "|>");
    types.push_back(3);
  }
  GgufBytes file;
  file.key("general.architecture", "llama4").key("tokenizer.ggml.model", model);
  file.key("tokenizer.ggml.pre", "llama4").strings("tokenizer.ggml.tokens", tokens);
  file.integers("tokenizer.ggml.token_type", types).strings("tokenizer.ggml.merges", merges);
  return file;
}

std::string error_loading_tokenizer(const GgufBytes& bytes) {
  TemporaryDirectory directory;
  const std::filesystem::path path = directory.path() / "vocabulary.gguf";
  write_file(path, bytes.build());
  try {
    load_gguf_tokenizer(path);
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(GgufTokenizer, AVocabularyThatIsNotLlama4sIsANamedError) {
  EXPECT_EQ(error_loading_tokenizer(vocabulary_file({"a b", "ab c"})), "");  // the valid one
  EXPECT_THAT(error_loading_tokenizer(vocabulary_file({"ab c", "a b"})),
              HasSubstr("merges must come in the order of the ids they make"));
  EXPECT_THAT(error_loading_tokenizer(vocabulary_file({"a b"})),
              HasSubstr("token 257 \"abc\" is not made by any merge"));
  EXPECT_THAT(error_loading_tokenizer(vocabulary_file({"a b", "ab x y"})),
              HasSubstr("merge 1 \"ab x y\" is not two tokens"));
  EXPECT_THAT(error_loading_tokenizer(vocabulary_file({"a b", "ab c"}, "llama")),
              HasSubstr("\"tokenizer.ggml.model\" is \"llama\""));
  EXPECT_THAT(error_loading_tokenizer(vocabulary_file({"a b", "ab c"}, "gpt2", 100)),
              HasSubstr("2,048 special tokens"));
}

}  // namespace
}  // namespace llama4
