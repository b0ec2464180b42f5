// safetensors: a round trip, then every kind of broken or hostile file. Each must give a clear
// llama4::Error naming the file (and the tensor, where there is one), never a crash; the ASan+UBSan
// build runs these too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/tensors/error.hpp"
#include "common/tensors/safetensors.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::safetensors_bytes;
using testing::TemporaryDirectory;
using testing::write_file;

class Safetensors : public ::testing::Test {
 protected:
  // Writes `bytes` as bad.safetensors and expects opening it to fail with every `fragment`.
  template <class... Fragments>
  void expect_rejected(const std::string& bytes, const Fragments&... fragments) {
    const auto path = directory_ / "bad.safetensors";
    write_file(path, bytes);
    EXPECT_THAT([&] { SafetensorsFile file(path); },
                ::testing::ThrowsMessage<Error>(
                    AllOf(HasSubstr("bad.safetensors"), HasSubstr(fragments)...)));
  }
  TemporaryDirectory directory_;
};

TEST_F(Safetensors, RoundTripKeepsNamesShapesAndBytes) {
  Tensor a = Tensor::from_values({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = Tensor::from_values({5}, {0.5f, -1, 2, 3.140625f, 7}).to(DType::BF16);
  const auto path = directory_ / "x.safetensors";
  write_safetensors(path, {{"layer.b", b}, {"layer.a", a}}, {{"format", "pt"}});

  const SafetensorsFile file(path);
  EXPECT_EQ(file.names(), (std::vector<std::string>{"layer.a", "layer.b"}));
  EXPECT_EQ(file.metadata().at("format"), "pt");
  const Tensor a2 = file.tensor("layer.a");
  EXPECT_EQ(a2.shape(), (Shape{2, 3}));
  EXPECT_EQ(a2.at({1, 2}), 6.0f);
  EXPECT_FALSE(a2.is_writable());
  const Tensor b2 = file.tensor("layer.b");
  EXPECT_EQ(b2.dtype(), DType::BF16);
  EXPECT_EQ(b2.at({3}), 3.140625f);
  EXPECT_EQ(file.entry("layer.b").end - file.entry("layer.b").begin, 10u);
}

TEST_F(Safetensors, TensorOutlivesTheFileObject) {
  const auto path = directory_ / "x.safetensors";
  write_safetensors(path, {{"w", Tensor::from_values({2}, {4, 5})}});
  Tensor kept;
  {
    const SafetensorsFile file(path);
    kept = file.tensor("w");
  }
  EXPECT_EQ(kept.at({1}), 5.0f);  // the mapping lives as long as a view of it
}

TEST_F(Safetensors, EmptyHeaderObjectIsAValidEmptyFile) {
  const auto path = directory_ / "empty.safetensors";
  write_file(path, safetensors_bytes("{}", ""));
  EXPECT_TRUE(SafetensorsFile(path).names().empty());
}

TEST_F(Safetensors, MissingTensorNamesFileAndTensor) {
  const auto path = directory_ / "x.safetensors";
  write_safetensors(path, {{"w", Tensor::zeros({1})}});
  const SafetensorsFile file(path);
  EXPECT_THAT([&] { file.tensor("v"); },
              ::testing::ThrowsMessage<Error>(
                  AllOf(HasSubstr("x.safetensors"), HasSubstr("no tensor named \"v\""))));
}

TEST_F(Safetensors, EmptyFile) {
  expect_rejected("", "too short");
}

TEST_F(Safetensors, TruncatedLengthPrefix) {
  expect_rejected(std::string("\x10\x00\x00", 3), "too short");
}

TEST_F(Safetensors, HeaderLengthLargerThanFile) {
  expect_rejected(safetensors_bytes("{}", "", 1000),
                  "header length 1000 is larger than the rest of the file");
}

TEST_F(Safetensors, HeaderLengthNearUInt64Max) {
  expect_rejected(safetensors_bytes("{}", "", -1LL & 0x7fffffffffffffffLL),
                  "is larger than the rest");
}

TEST_F(Safetensors, TruncatedDataSection) {
  // The header promises 8 bytes of data; the file holds 4.
  expect_rejected(
      safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "abcd"),
      "tensor \"w\"", "run past the end of the data section (4 bytes)");
}

TEST_F(Safetensors, HeaderIsNotJson) {
  expect_rejected(safetensors_bytes("{not json", ""), "not valid JSON");
}

TEST_F(Safetensors, HeaderIsNotAnObject) {
  expect_rejected(safetensors_bytes("[1, 2]", ""), "not a JSON object");
}

TEST_F(Safetensors, HeaderWithBinaryGarbage) {
  expect_rejected(safetensors_bytes(std::string("\x00\xff\xfe{", 4), ""), "not valid JSON");
}

TEST_F(Safetensors, DeeplyNestedHeaderDoesNotOverflowTheStack) {
  const std::string nested = std::string(200000, '[') + std::string(200000, ']');
  expect_rejected(safetensors_bytes(nested, ""), "values nest more than 64 levels deep");
}

TEST_F(Safetensors, UnknownDtype) {
  expect_rejected(
      safetensors_bytes(R"({"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", "abcd"),
      "tensor \"w\"", "unknown dtype \"F33\"");
}

TEST_F(Safetensors, MissingField) {
  expect_rejected(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1]}})", "abcd"), "tensor \"w\"",
                  "missing \"data_offsets\"");
}

TEST_F(Safetensors, NegativeDimension) {
  expect_rejected(
      safetensors_bytes(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "abcd"),
      "tensor \"w\"", "non-negative integers");
}

TEST_F(Safetensors, ByteRangeDoesNotMatchShape) {
  expect_rejected(
      safetensors_bytes(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", "abcdefgh"),
      "tensor \"w\"", "needs 12 bytes but data_offsets [0, 8] hold 8");
}

TEST_F(Safetensors, ShapeThatOverflowsSixtyFourBits) {
  expect_rejected(
      safetensors_bytes(
          R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", ""),
      "tensor \"w\"", "impossibly large");
}

TEST_F(Safetensors, OffsetsOutOfRange) {
  expect_rejected(
      safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", "abcd"),
      "tensor \"w\"", "run past the end");
}

TEST_F(Safetensors, OffsetsBackwards) {
  expect_rejected(
      safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", "abcd"),
      "tensor \"w\"", "end before they begin");
}

TEST_F(Safetensors, OverlappingTensors) {
  const std::string header =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  // Pad the header to a multiple of 8 so alignment is not what fails.
  std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  expect_rejected(safetensors_bytes(padded, std::string(12, 'x')), "\"a\"", "\"b\"", "overlap");
}

TEST_F(Safetensors, DuplicateTensorName) {
  expect_rejected(
      safetensors_bytes(
          R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
          "ab"),
      "key \"w\" is given twice at the top level");
}

TEST_F(Safetensors, MisalignedTensor) {
  // Pad the header so the data section starts at an odd file offset: no F32 can start there.
  std::string header = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  while ((8 + header.size()) % 8 != 1) header += ' ';
  expect_rejected(safetensors_bytes(header, "abcd"), "tensor \"w\"", "not aligned");
}

TEST_F(Safetensors, MetadataMustHoldStrings) {
  expect_rejected(safetensors_bytes(R"({"__metadata__":{"format":3}})", ""),
                  "metadata \"format\" is not a string");
}

TEST_F(Safetensors, DirectoryInsteadOfFile) {
  EXPECT_THAT([&] { SafetensorsFile file(directory_.path()); },
              ::testing::ThrowsMessage<Error>(HasSubstr("not a regular file")));
}

TEST_F(Safetensors, MissingFile) {
  EXPECT_THAT([&] { SafetensorsFile file(directory_ / "nope.safetensors"); },
              ::testing::ThrowsMessage<Error>(
                  AllOf(HasSubstr("nope.safetensors"), HasSubstr("cannot open"))));
}

}  // namespace
}  // namespace llama4
