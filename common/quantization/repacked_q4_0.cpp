#include "common/quantization/repacked_q4_0.hpp"

#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

struct Copy {
  std::shared_ptr<const void> owner;  // the weight's memory, kept alive
  std::vector<BlockQ4_0x8> records;
};

// One copy per matrix: its address and shape.
using Key = std::tuple<const std::byte*, std::int64_t, std::int64_t>;

std::mutex copies_mutex;
std::map<Key, Copy>& copies() {
  static std::map<Key, Copy> made;
  return made;
}

std::vector<BlockQ4_0x8> interleave(const BlockQ4_0* rows, std::int64_t row_count,
                                    std::int64_t blocks) {
  std::vector<BlockQ4_0x8> records(static_cast<std::size_t>(row_count / 8 * blocks));
#pragma omp parallel for schedule(static) if (row_count * blocks > (1 << 16))
  for (std::int64_t group = 0; group < row_count / 8; ++group) {
    for (std::int64_t b = 0; b < blocks; ++b) {
      BlockQ4_0x8& record = records[static_cast<std::size_t>(group * blocks + b)];
      for (int r = 0; r < 8; ++r) {
        const BlockQ4_0& block = rows[(group * 8 + r) * blocks + b];
        record.scales[r] = block.scale;
        std::memcpy(record.nibbles[r], block.nibbles, sizeof block.nibbles);
      }
    }
  }
  return records;
}

}  // namespace

const BlockQ4_0x8* repacked_q4_0(const Tensor& weight) {
  if (weight.dtype() != DType::Q4_0 || weight.rank() != 2 || weight.dim(0) % 8 != 0 ||
      !weight.is_contiguous()) {
    fail("repacked_q4_0: ", dtype_name(weight.dtype()), " ", shape_string(weight.shape()),
         " is not a contiguous Q4_0 matrix of whole groups of eight rows");
  }
  const Key key{weight.raw_data(), weight.dim(0), weight.dim(1)};
  const std::lock_guard<std::mutex> lock(copies_mutex);
  auto found = copies().find(key);
  if (found == copies().end()) {
    const auto* rows = reinterpret_cast<const BlockQ4_0*>(weight.raw_data());
    found = copies()
                .emplace(key, Copy{weight.owner(),
                                   interleave(rows, weight.dim(0), weight.dim(1) / kQuantBlock)})
                .first;
  }
  return found->second.records.data();
}

void prepare_for_decode(const Tensor& weight) {
  if (weight.dtype() != DType::Q4_0 || !weight.is_contiguous() || !using_interleaved()) return;
  if (weight.rank() == 2 && weight.dim(0) % 8 == 0) repacked_q4_0(weight);
  if (weight.rank() == 3 && weight.dim(1) % 8 == 0) {
    for (std::int64_t e = 0; e < weight.dim(0); ++e) repacked_q4_0(weight.select(e));
  }
}

std::size_t repacked_q4_0_count() {
  const std::lock_guard<std::mutex> lock(copies_mutex);
  return copies().size();
}

std::size_t repacked_q4_0_bytes() {
  const std::lock_guard<std::mutex> lock(copies_mutex);
  std::size_t bytes = 0;
  for (const auto& [key, copy] : copies()) bytes += copy.records.size() * sizeof(BlockQ4_0x8);
  return bytes;
}

}  // namespace llama4
