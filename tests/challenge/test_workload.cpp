// Workload files (bench/challenge/workload.hpp): the committed ones, and every way a file can be
// wrong, each an error naming the file and the field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "bench/challenge/workload.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/tensors/error.hpp"
#include "tests/support/test_support.hpp"

namespace llama4::challenge {
namespace {

using ::testing::HasSubstr;
using testing::TemporaryDirectory;
using testing::write_file;

const Tokenizer& trained_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::load(trained_model_dir() / kTrainedTokenizerFile);
  return tokenizer;
}

std::filesystem::path workload_file(const char* name) {
  return std::filesystem::path(LLAMA4_SOURCE_DIR) / "bench/challenge/workloads" / name;
}

// A valid workload with `prompts` (JSON) and `extra` fields spliced in.
std::string workload_text(const std::string& prompts, const std::string& extra = "") {
  return R"({"format": "llama4-challenge-workload", "version": 1, "name": "t",
             "model": "chapter11-trained", "context_length": 64, "batch_sizes": [1, 2],
             "accuracy": {"identical_greedy_tokens": 4, "max_mean_kl": 0.01,
                          "min_top1_agreement": 0.9, "max_perplexity_ratio": 1.05},
             "prompts": )" +
         prompts + extra + "}";
}

std::string error_of(const std::string& text) {
  TemporaryDirectory directory;
  write_file(directory / "w.json", text);
  try {
    Workload workload = read_workload(directory / "w.json");
    resolve_prompts(workload, &trained_tokenizer(), 6144);
  } catch (const Error& error) {
    return error.what();
  }
  return "no error";
}

TEST(Workload, TheCommittedWorkloadsAreValidAndTheirIdsAreTheirTextsEncoding) {
  for (const char* name : {"small.json", "large.json"}) {
    Workload workload = read_workload(workload_file(name));
    std::vector<std::vector<std::int32_t>> stored;
    for (const WorkloadPrompt& prompt : workload.prompts) stored.push_back(prompt.ids);
    resolve_prompts(workload, &trained_tokenizer(), 6144);  // throws if any disagree
    for (std::size_t p = 0; p < stored.size(); ++p) {
      EXPECT_EQ(stored[p], workload.prompts[p].ids) << name << " prompt " << p;
      EXPECT_EQ(workload.prompts[p].ids.front(), trained_tokenizer().bos_id());
    }
    EXPECT_EQ(workload_model_path(workload), trained_model_dir());
  }
}

TEST(Workload, IdsAloneAreReadAsTheyAre) {
  TemporaryDirectory directory;
  write_file(directory / "w.json",
             workload_text(R"([{"ids": [4096, 5, 6], "max_new_tokens": 3}])"));
  Workload workload = read_workload(directory / "w.json");
  resolve_prompts(workload, nullptr, 6144);
  EXPECT_EQ(workload.prompts[0].ids, (std::vector<std::int32_t>{4096, 5, 6}));
  EXPECT_EQ(workload.batch_sizes, (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(workload.accuracy.identical_greedy_tokens, 4);
}

TEST(Workload, MalformedFilesAreErrorsNamingTheField) {
  const std::string good = R"([{"text": "And God said", "max_new_tokens": 3}])";
  const std::pair<std::string, std::string> cases[] = {
      {"not json", "w.json"},
      {"[1, 2]", "must be a JSON object"},
      {R"({"format": "something else"})", "\"format\" must be \"llama4-challenge-workload\""},
      {workload_text(good, R"(, "extra": 1)"), "unknown field \"extra\""},
      {workload_text("[]"), "\"prompts\" must be a non-empty list"},
      {workload_text(R"([{"max_new_tokens": 3}])"), "prompt 0: neither \"text\" nor \"ids\""},
      {workload_text(R"([{"text": "a", "max_new_tokens": 0}])"), "\"max_new_tokens\" must be"},
      {workload_text(R"([{"text": "a", "max_new_tokens": 1.5}])"), "\"max_new_tokens\" must be"},
      {workload_text(R"([{"text": "", "max_new_tokens": 2}])"), "\"text\" must be a non-empty"},
      {workload_text(R"([{"ids": [4096, -1], "max_new_tokens": 2}])"), "not a token id"},
      {workload_text(R"([{"ids": [4096, 99999], "max_new_tokens": 2}])"),
       "token id 99999 is outside the vocabulary of 6144"},
      {workload_text(R"([{"text": "a", "max_new_token": 2}])"), "unknown field \"max_new_token\""},
      {workload_text(good, R"(, "version": 2)"), "given twice"},
  };
  for (const auto& [text, expected] : cases) {
    EXPECT_THAT(error_of(text), HasSubstr(expected)) << text;
  }
  // Fields of the frame, one at a time.
  std::string text = workload_text(good);
  const auto replaced = [&](const std::string& from, const std::string& to) {
    std::string copy = text;
    copy.replace(copy.find(from), from.size(), to);
    return copy;
  };
  EXPECT_THAT(error_of(replaced("\"version\": 1", "\"version\": 2")),
              HasSubstr("workload version 2, this program reads version 1"));
  EXPECT_THAT(error_of(replaced("[1, 2]", "[2, 1]")),
              HasSubstr("\"batch_sizes\" must be increasing"));
  EXPECT_THAT(error_of(replaced("[1, 2]", "[0]")), HasSubstr("\"batch_sizes\""));
  EXPECT_THAT(error_of(replaced("\"min_top1_agreement\": 0.9", "\"min_top1_agreement\": 2")),
              HasSubstr("accuracy: \"min_top1_agreement\" must be a number from 0 to 1"));
  EXPECT_THAT(error_of(replaced("\"max_mean_kl\": 0.01,", "")), HasSubstr("no \"max_mean_kl\""));
  EXPECT_THAT(error_of(replaced("\"context_length\": 64", "\"context_length\": \"64\"")),
              HasSubstr("\"context_length\" must be an integer"));
}

TEST(Workload, APromptLongerThanTheContextIsAnErrorNamingIt) {
  std::string long_text;
  for (int i = 0; i < 80; ++i) long_text += " and";
  EXPECT_THAT(error_of(workload_text(R"([{"ids": [4096], "max_new_tokens": 2},
                                         {"text": ")" +
                                     long_text + R"(", "max_new_tokens": 2}])")),
              HasSubstr("prompt 1: 81 prompt tokens and 2 new ones need 82 positions, more than "
                        "the context_length of 64"));
  EXPECT_THAT(error_of(workload_text(R"([{"ids": [4096], "max_new_tokens": 65}])")),
              HasSubstr("prompt 0: 1 prompt tokens and 65 new ones"));
}

TEST(Workload, IdsThatAreNotTheTextsEncodingAreAnError) {
  // A changed tokenizer would encode the text differently: the workload would quietly change.
  const std::vector<std::int32_t> ids = trained_tokenizer().encode("And God said", {.bos = true});
  std::string list;
  for (std::size_t i = 0; i < ids.size(); ++i)
    list += (i ? ", " : "") + std::to_string(i == 2 ? ids[i] + 1 : ids[i]);
  EXPECT_THAT(error_of(workload_text(R"([{"text": "And God said", "ids": [)" + list +
                                     R"(], "max_new_tokens": 2}])")),
              HasSubstr("prompt 0: its \"ids\" are not its text's encoding (from token 2)"));
}

TEST(Workload, TextWithoutATokenizerIsAnError) {
  TemporaryDirectory directory;
  write_file(directory / "w.json", workload_text(R"([{"text": "a", "max_new_tokens": 2}])"));
  Workload workload = read_workload(directory / "w.json");
  EXPECT_THAT(
      [&] { resolve_prompts(workload, nullptr, 6144); },
      ::testing::ThrowsMessage<Error>(HasSubstr("has text, but the model has no tokenizer")));
}

}  // namespace
}  // namespace llama4::challenge
