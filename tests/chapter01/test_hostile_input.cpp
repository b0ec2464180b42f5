// Hostile input to the chapter 01 loaders: safetensors files, config.json, the shard index, whole
// checkpoint directories, and the pieces every program shares (run_main, files read and written).
// Each test is one class of attack; each must end in a clear llama4::Error (or, for a program, a
// message and an exit status), never a crash, a hang, undefined behaviour or a silently wrong
// reading. The ASan+UBSan build runs them too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/debugging/data_paths.hpp"
#include "common/program/run_main.hpp"
#include "common/tensors/atomic_file.hpp"
#include "common/tensors/checkpoint.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/json_document.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/regular_file.hpp"
#include "common/tensors/safetensors.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::run_command;
using testing::safetensors_bytes;
using testing::TemporaryDirectory;
using ::testing::ThrowsMessage;
using testing::write_file;
using Json = nlohmann::json;

// `depth` nested arrays around `inside`: "[[[[1]]]]".
std::string nested(std::size_t depth, const std::string& inside = "1") {
  return std::string(depth, '[') + inside + std::string(depth, ']');
}

// A minimal valid config.json text with `field` replaced by the raw JSON text `value`.
std::string config_with(const std::string& field, const std::string& value) {
  Json config = Json::parse(testing::read_file(golden_model_dir("tiny") / "config.json"));
  std::string text = config.dump();
  // Splice the raw value in, so values nlohmann would not produce (200,000 brackets, 2^64,
  // duplicate keys) reach the parser exactly as written.
  const std::string key = "\"" + field + "\":";
  const std::size_t at = text.find(key);
  if (at == std::string::npos) return text.substr(0, text.size() - 1) + "," + key + value + "}";
  const std::size_t begin = at + key.size();
  std::size_t end = begin;
  int depth = 0;
  for (; end < text.size(); ++end) {
    const char c = text[end];
    if (c == '[' || c == '{') ++depth;
    if (c == ']' || c == '}') {
      if (depth == 0) break;
      --depth;
    }
    if (c == ',' && depth == 0) break;
  }
  return text.substr(0, begin) + value + text.substr(end);
}

// --- 1. Sizes from outside numbers (the KV cache) are checked for overflow: test_model.cpp of
// chapter 08 (HostileInput.ContextLengthIsCappedAndItsBytesCannotOverflow) and the program test.

// --- 2. Deeply nested JSON inside values the parsers read gives a clear error, not a stack
// overflow when the value is copied or printed.
TEST(HostileInput, DeeplyNestedValuesAreRefusedByEveryJsonReader) {
  const std::string deep = nested(200000);
  // A safetensors "shape" (the error path used to print it recursively).
  TemporaryDirectory directory;
  const std::string header =
      R"({"w":{"dtype":"F32","shape":)" + deep + R"(,"data_offsets":[0,4]}})";
  write_file(directory / "deep.safetensors", safetensors_bytes(header, "abcd"));
  EXPECT_THAT([&] { SafetensorsFile file(directory / "deep.safetensors"); },
              ThrowsMessage<Error>(AllOf(HasSubstr("deep.safetensors"),
                                         HasSubstr("nest more than 64 levels deep"),
                                         HasSubstr("in \"w.shape"))));
  // A config.json field.
  EXPECT_THAT([&] { parse_model_config(config_with("hidden_size", deep), "config.json"); },
              ThrowsMessage<Error>(AllOf(HasSubstr("config.json"), HasSubstr("nest more than"),
                                         HasSubstr("text_config.hidden_size"))));
  // The shard index.
  write_file(directory / "model.safetensors.index.json", R"({"weight_map": {"w": )" + deep + "}}");
  EXPECT_THAT([&] { Checkpoint::open(directory.path()); },
              ThrowsMessage<Error>(
                  AllOf(HasSubstr("model.safetensors.index.json"), HasSubstr("nest more than"))));
  // Objects nest too, and 64 levels is still fine.
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(100000, '}');
  EXPECT_THAT([&] { parse_json_document(objects, "x.json"); },
              ThrowsMessage<Error>(HasSubstr("x.json: values nest more than 64 levels deep in "
                                             "\"a.a.a.")));
  EXPECT_NO_THROW(parse_json_document(nested(kMaxJsonDepth), "x.json"));
  EXPECT_THROW(parse_json_document(nested(kMaxJsonDepth + 1), "x.json"), Error);
}

// --- 3. Exceptions other than llama4::Error: a JSON value of the wrong type is an Error, and
// run_main turns whatever else escapes into a message and an exit status.
TEST(HostileInput, WrongJsonTypesAreErrorsAndRunMainCatchesEverything) {
  EXPECT_THAT([&] { parse_model_config(config_with("model_type", "5"), "config.json"); },
              ThrowsMessage<Error>(HasSubstr("config.json: model_type must be a string, got 5")));
  EXPECT_THAT([&] { parse_model_config(config_with("rope_scaling", "[1]"), "config.json"); },
              ThrowsMessage<Error>(HasSubstr("rope_scaling must be an object or null")));

  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_main([]() -> int { throw std::runtime_error("boom"); }), 1);
  EXPECT_EQ(run_main([]() -> int { throw std::bad_alloc(); }, 2), 2);
  EXPECT_EQ(run_main([]() -> int { throw 42; }), 1);
  EXPECT_EQ(run_main([]() -> int { fail("tensor \"\x1b[2J\" is bad"); }), 1);
  EXPECT_EQ(run_main([] { return 0; }), 0);
  const std::string errors = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(errors, HasSubstr("error: boom (an unexpected exception"));
  EXPECT_THAT(errors, HasSubstr("error: out of memory"));
  EXPECT_THAT(errors, HasSubstr("error: an unexpected exception of unknown type"));
  EXPECT_THAT(errors, HasSubstr("error: tensor \"\\x1b[2J\" is bad"));  // escaped, not obeyed
  EXPECT_THAT(errors, Not(HasSubstr("\x1b")));

  // Out of memory names what was being allocated and how big.
  // (2^61 bytes: no machine has them. The ASan preset sets allocator_may_return_null=1 so that
  // the sanitizer's allocator fails the way the system's does.)
  EXPECT_THAT(
      [] {
        Tensor::zeros({1 << 30, 1 << 29});
      },
      ThrowsMessage<Error>(AllOf(HasSubstr("out of memory"),
                                 HasSubstr("F32 tensor of shape [1073741824, 536870912]"),
                                 HasSubstr("needs 2305843009213693952 bytes"))));
}

// --- 4. Sizes from files are bounded before anything is built from them.
TEST(HostileInput, SizesFromConfigAreBoundedBeforeAnythingIsAllocated) {
  EXPECT_THAT(
      [&] { parse_model_config(config_with("num_hidden_layers", "1000000000"), "config.json"); },
      ThrowsMessage<Error>(HasSubstr("num_hidden_layers = 1000000000 is larger than this program "
                                     "accepts (1024)")));
  EXPECT_THAT(
      [&] { parse_model_config(config_with("head_dim", "8589934592"), "config.json"); },
      ThrowsMessage<Error>(HasSubstr("head_dim = 8589934592 is larger than this program accepts")));
  EXPECT_THAT([&] { parse_model_config(config_with("vocab_size", "4294967296"), "config.json"); },
              ThrowsMessage<Error>(HasSubstr("vocab_size = 4294967296 is larger")));
  EXPECT_THAT(
      [&] {
        parse_model_config(config_with("no_rope_layer_interval", "1000000000000"), "config.json");
      },
      ThrowsMessage<Error>(HasSubstr("no_rope_layer_interval = 1000000000000 is larger")));
}

// --- 6. Undefined behaviour on accepted input: strides of an empty tensor with huge other sizes,
// a float where an integer belongs, a float no float32 can hold.
TEST(HostileInput, ShapesAndNumbersThatWouldOverflowAreRefused) {
  TemporaryDirectory directory;
  const auto path = directory / "empty.safetensors";
  write_file(path,
             safetensors_bytes(R"({"w":{"dtype":"F32","shape":[0,1099511627776,1099511627776],)"
                               R"("data_offsets":[0,0]}})",
                               ""));
  EXPECT_THAT(
      [&] { SafetensorsFile file(path); },
      ThrowsMessage<Error>(AllOf(HasSubstr("tensor \"w\""), HasSubstr("impossibly large"))));
  EXPECT_THAT(
      [] {
        Tensor::zeros({0, 1LL << 40, 1LL << 40});
      },
      ThrowsMessage<Error>(HasSubstr("impossibly large")));
  EXPECT_EQ(Tensor::zeros({0, 1LL << 20, 1LL << 20}).numel(), 0);  // empty but representable

  EXPECT_THAT([&] { parse_model_config(config_with("hidden_size", "1e30"), "config.json"); },
              ThrowsMessage<Error>(HasSubstr("text_config.hidden_size = 1e+30 is out of range")));
  EXPECT_THAT(
      [&] { parse_model_config(config_with("rope_theta", "1e300"), "config.json"); },
      ThrowsMessage<Error>(HasSubstr("rope_theta = 1e+300 is out of the range of a float")));
  EXPECT_THAT([] { Tensor::from_values({1}, {3e9f}).to(DType::I32); },
              ThrowsMessage<Error>(HasSubstr("does not fit an I32 element")));
}

// --- 7. Ambiguous files are refused, naming the key, instead of being read one way silently.
TEST(HostileInput, AmbiguousFilesAreRefusedNamingTheKey) {
  TemporaryDirectory directory;
  // A field given twice inside one tensor entry (which dtype is it?).
  write_file(
      directory / "twice.safetensors",
      safetensors_bytes(R"({"w":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}})",
                        "abcd"));
  EXPECT_THAT([&] { SafetensorsFile file(directory / "twice.safetensors"); },
              ThrowsMessage<Error>(HasSubstr("key \"dtype\" is given twice in \"w\"")));
  // A tensor listed twice in the index's weight_map (which shard holds it?).
  const TemporaryDirectory sharded;
  for (const auto& file : std::filesystem::directory_iterator(golden_model_dir("tiny-sharded")))
    std::filesystem::copy_file(file.path(), sharded / file.path().filename().string());
  const std::string shard = "model-00001-of-00002.safetensors";
  write_file(sharded / "model.safetensors.index.json",
             R"({"weight_map": {"language_model.model.norm.weight": ")" + shard +
                 R"(", "language_model.model.norm.weight": "model-00002-of-00002.safetensors"}})");
  EXPECT_THAT([&] { Checkpoint::open(sharded.path()); },
              ThrowsMessage<Error>(HasSubstr(
                  "key \"language_model.model.norm.weight\" is given twice in \"weight_map\"")));
  // A NUL inside a shard name: the system would open the name up to the NUL.
  write_file(sharded / "model.safetensors.index.json",
             R"({"weight_map": {"w": "model-00001-of-00002.safetensors\u0000.evil"}})");
  EXPECT_THAT([&] { Checkpoint::open(sharded.path()); },
              ThrowsMessage<Error>(HasSubstr("which is not a file name in the checkpoint")));
  // no_rope_layers values other than 0/1, however large (4294967297 used to narrow to 1).
  EXPECT_THAT(
      [&] {
        parse_model_config(config_with("no_rope_layers", "[1,4294967297,1,0]"), "config.json");
      },
      ThrowsMessage<Error>(
          HasSubstr("must hold 0 or 1 (1 = the layer uses RoPE), got 4294967297")));
  // Integers of 2^63 and more are out of range, not negative.
  EXPECT_THAT(
      [&] {
        parse_model_config(config_with("hidden_size", "18446744073709551615"), "config.json");
      },
      ThrowsMessage<Error>(HasSubstr("hidden_size = 18446744073709551615 is out of range")));
  EXPECT_THAT(
      [&] {
        parse_model_config(config_with("eos_token_id", "9223372036854775808"), "config.json");
      },
      ThrowsMessage<Error>(HasSubstr("eos_token_id = 9223372036854775808 is out of range")));
  // A key twice anywhere in config.json.
  EXPECT_THAT(
      [&] { parse_model_config(R"({"hidden_size": 64, "hidden_size": 128})", "config.json"); },
      ThrowsMessage<Error>(HasSubstr("key \"hidden_size\" is given twice at the top level")));
}

// --- 8. A FIFO (or any non-regular file) is refused before it is opened for reading, which would
// wait forever for a writer.
TEST(HostileInput, FifosAndDirectoriesAreNotRead) {
  TemporaryDirectory directory;
  const auto fifo = directory / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT([&] { load_model_config(fifo); },
              ThrowsMessage<Error>(HasSubstr("is not a regular file (a FIFO)")));
  EXPECT_THAT([&] { SafetensorsFile file(fifo); },
              ThrowsMessage<Error>(HasSubstr("is not a regular file (a FIFO)")));
  EXPECT_THAT([&] { read_regular_file(directory.path()); },
              ThrowsMessage<Error>(HasSubstr("is not a regular file (a directory)")));
  EXPECT_THAT([&] { read_regular_file("/dev/zero"); },
              ThrowsMessage<Error>(HasSubstr("is not a regular file (a character device)")));
  // A checkpoint whose config.json, index or single file is a FIFO.
  const TemporaryDirectory checkpoint;
  ASSERT_EQ(::mkfifo((checkpoint / "config.json").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo((checkpoint / "model.safetensors").c_str(), 0600), 0);
  EXPECT_THAT([&] { load_model_config(checkpoint.path()); },
              ThrowsMessage<Error>(HasSubstr("config.json\" is not a regular file")));
  EXPECT_THAT([&] { Checkpoint::open(checkpoint.path()); },
              ThrowsMessage<Error>(HasSubstr("model.safetensors\" is not a regular file")));
}

// In a death-test child: writes `tensor` with files limited to 64 KiB, prints the error and exits
// with status 3 (0 if the write succeeded).
[[noreturn]] void write_with_file_size_limit(const std::filesystem::path& path,
                                             const Tensor& tensor) {
  std::signal(SIGXFSZ, SIG_IGN);  // get EFBIG from write() instead of being killed
  const rlimit limit{64 * 1024, 64 * 1024};
  ::setrlimit(RLIMIT_FSIZE, &limit);
  try {
    write_safetensors(path, {{"w", tensor}});
  } catch (const Error& error) {
    std::fprintf(stderr, "%s\n", error.what());
    std::exit(3);
  }
  std::exit(0);
}

// --- 8. A failed write leaves no partial file behind and says why (errno). The file size limit
// (RLIMIT_FSIZE) makes write() fail with EFBIG halfway through; it is set in a child process.
TEST(HostileInput, AFailedWriteLeavesNoPartialFile) {
  TemporaryDirectory directory;
  const auto path = directory / "big.safetensors";
  const Tensor big = Tensor::zeros({1 << 16});  // 256 KiB
  EXPECT_EXIT(write_with_file_size_limit(path, big), ::testing::ExitedWithCode(3),
              "writing .*big.safetensors.* failed: File too large");
  EXPECT_TRUE(std::filesystem::is_empty(directory.path()));  // neither the file nor a temporary

  // Committed, the file appears whole, with the usual permissions; before that, it does not exist.
  {
    AtomicFile file(directory / "out.bin");
    file.write("abc");
    EXPECT_FALSE(std::filesystem::exists(directory / "out.bin"));
    file.commit();
  }
  EXPECT_EQ(testing::read_file(directory / "out.bin"), "abc");
  // Abandoned (an exception on the way), nothing is left.
  { AtomicFile abandoned(directory / "never.bin"); }
  EXPECT_FALSE(std::filesystem::exists(directory / "never.bin"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(directory.path()), {}), 1);
  // Where the file cannot be created, the reason is given.
  EXPECT_THAT([&] { write_file_atomically(directory / "no" / "such" / "dir", "x"); },
              ThrowsMessage<Error>(HasSubstr("No such file or directory")));
}

// --- 8. Names from files are printed escaped: a tensor name may hold terminal escape codes.
TEST(HostileInput, NamesFromFilesArePrintedEscaped) {
  EXPECT_EQ(printable("plain café 東京 🦙"), "plain café 東京 🦙");
  EXPECT_EQ(printable("\x1b]0;owned\x07"), "\\x1b]0;owned\\x07");
  EXPECT_EQ(printable("a\nb\r\x7f"), "a\\x0ab\\x0d\\x7f");
  EXPECT_EQ(printable("\xc2\x9b"
                      "31m"),
            "\\xc2\\x9b31m");                      // C1 CSI
  EXPECT_EQ(printable("\xff\xc3"), "\\xff\\xc3");  // not UTF-8

  TemporaryDirectory directory;
  write_file(directory / "model.safetensors",
             safetensors_bytes(
                 R"({"\u001b[31mred":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "x"));
  const testing::CommandResult result = run_command(
      std::string(LLAMA4_CHAPTER01_EXECUTABLE) + " --model " + directory.path().string(), true);
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("\\x1b[31mred"));
  EXPECT_THAT(result.output, Not(HasSubstr("\x1b")));
}

}  // namespace
}  // namespace llama4
