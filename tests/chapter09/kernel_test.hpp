// Helpers for the tests of chapter 09's model kernels: random CPU tensors, and moving them to and
// from the device.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "common/tensors/bfloat16.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/tensor.hpp"
#include "gpu/device.hpp"
#include "tests/chapter09/gpu_test.hpp"

namespace llama4::testing {

// Element-wise kernels with a transcendental function inside (exp, cos, log1p) differ from the CPU
// by the last bit or two of the device's math library, an NMSE of about 1e-14; one wrong element in
// a thousand gives about 1e-3.
inline constexpr double kElementwiseNmse = 1e-12;

// A contiguous F32 tensor of N(0, scale²) numbers.
inline Tensor random_tensor(const Shape& shape, std::mt19937& generator, float scale = 1.0f) {
  std::int64_t count = 1;
  for (const std::int64_t dim : shape) count *= dim;
  std::vector<float> values = random_normal(static_cast<std::size_t>(count), generator);
  for (float& value : values) value *= scale;
  return Tensor::from_values(shape, values);
}

// A random weight as stored in a checkpoint: bf16, N(0, 1/fan_in) like the synthetic models.
inline Tensor random_weight(const Shape& shape, std::mt19937& generator) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(shape.back() > 0 ? shape.back() : 1));
  return random_tensor(shape, generator, scale).to(DType::BF16);
}

// The elements of a contiguous tensor of element type T.
template <class T>
std::vector<T> elements_of(const Tensor& tensor) {
  const T* data = tensor.data<T>();
  return std::vector<T>(data, data + tensor.numel());
}

// A device copy of a contiguous F32 (or BF16, I32) tensor.
inline gpu::DeviceBuffer<float> to_device(const Tensor& tensor) {
  return gpu::DeviceBuffer<float>(elements_of<float>(tensor));
}
inline gpu::DeviceBuffer<bfloat16> to_device_bf16(const Tensor& tensor) {
  return gpu::DeviceBuffer<bfloat16>(elements_of<bfloat16>(tensor));
}

// The first prod(shape) numbers of a device buffer as a host tensor.
inline Tensor to_host(const float* device, const Shape& shape) {
  Tensor tensor = Tensor::zeros(shape);
  if (tensor.numel() > 0) gpu::copy_to_host(tensor.mutable_data<float>(), device, tensor.nbytes());
  return tensor;
}

// Test names for parameterised tests: "17x255" from a tuple of sizes, or a case's `name` field.
template <class Tuple>
std::string sizes_name(const ::testing::TestParamInfo<Tuple>& test) {
  return std::apply(
      [](const auto&... sizes) {
        std::string name;
        const auto append = [&name](std::int64_t size) {
          if (!name.empty()) name.push_back('x');
          name.append(std::to_string(size));
        };
        (append(sizes), ...);
        return name;
      },
      test.param);
}
template <class Case>
std::string case_name(const ::testing::TestParamInfo<Case>& test) {
  return test.param.name;
}

// "{5, 1, 1}": a list of sizes, for the PrintTo of a test case (GoogleTest would otherwise print a
// case struct as a dump of its bytes).
inline std::string sizes_text(const std::vector<std::int64_t>& sizes) {
  std::string text = "{";
  for (std::size_t i = 0; i < sizes.size(); ++i)
    text.append(i > 0 ? ", " : "").append(std::to_string(sizes[i]));
  return text + "}";
}

// A small config for testing one block: the sizes are odd on purpose (not multiples of 32, 64 or
// 256). Every layer is a RoPE + chunked + QK-norm layer with MoE unless the test changes it.
inline ModelConfig small_config(std::int64_t hidden, std::int64_t heads, std::int64_t kv_heads,
                                std::int64_t head_dim, std::int64_t experts, std::int64_t top_k,
                                std::int64_t width) {
  ModelConfig config;
  config.model_type = "llama4_text";
  config.vocab_size = 97;
  config.hidden_size = hidden;
  config.intermediate_size = width;
  config.intermediate_size_mlp = width + 7;
  config.num_hidden_layers = 1;
  config.num_attention_heads = heads;
  config.num_key_value_heads = kv_heads;
  config.head_dim = head_dim;
  config.rope_theta = 10000.0;
  config.rope_scaling = RopeScaling{16.0, 1.0, 4.0, 64, {}};
  config.num_local_experts = experts;
  config.num_experts_per_tok = top_k;
  config.attention_chunk_size = 5;
  config.floor_scale = 3.0;
  config.attn_scale = 0.1;
  config.layers = {LayerConfig{.uses_rope = true,
                               .chunked_attention = true,
                               .uses_qk_norm = true,
                               .uses_temperature_tuning = false,
                               .is_moe = true}};
  return config;
}

}  // namespace llama4::testing
