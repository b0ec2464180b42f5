// Where chapter 11's tests find the Bible text that scripts/prepare_bible.py makes.
//
// $LLAMA4_BIBLE_DIR, else build-data/bible in the repository. The text is made from Debian's Bible
// packages (scripts/setup.sh --train), not committed; a test that needs it skips without it.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace llama4::testing {

inline std::filesystem::path bible_dir() {
  if (const char* dir = std::getenv("LLAMA4_BIBLE_DIR"); dir != nullptr && *dir != '\0') return dir;
  return std::filesystem::path(LLAMA4_SOURCE_DIR) / "build-data" / "bible";
}

}  // namespace llama4::testing

// Declares `dir_variable` (the Bible directory) or skips the test with what to run.
#define LLAMA4_BIBLE_OR_SKIP(dir_variable)                                                      \
  const std::filesystem::path dir_variable = ::llama4::testing::bible_dir();                    \
  if (!std::filesystem::exists(dir_variable / "train.txt") ||                                   \
      !std::filesystem::exists(dir_variable / "validation.txt"))                                \
  GTEST_SKIP() << "no Bible text in " << dir_variable                                           \
               << ": run scripts/setup.sh --train && python3 scripts/prepare_bible.py (or set " \
                  "LLAMA4_BIBLE_DIR)"
