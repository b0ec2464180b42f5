#include "common/tokenizer/tiktoken_ranks.hpp"

#include <charconv>
#include <limits>
#include <string>
#include <vector>

#include "common/tensors/error.hpp"
#include "common/tensors/mapped_file.hpp"
#include "common/tokenizer/base64.hpp"

namespace llama4 {
namespace {

struct RankLine {
  std::string token;
  std::int64_t rank = 0;
};

// "<base64> <rank>" -> token bytes and rank. `line_number` counts from 1.
RankLine parse_line(std::string_view line, std::size_t line_number, std::string_view source) {
  const std::size_t space = line.find(' ');
  if (space == std::string_view::npos) {
    fail(source, ":", line_number, ": expected \"<base64 token> <rank>\", found no space in \"",
         line.substr(0, 60), "\"");
  }
  const std::string_view base64 = line.substr(0, space);
  const std::string_view rank_text = line.substr(space + 1);
  const std::optional<std::string> token = decode_base64(base64);
  if (!token)
    fail(source, ":", line_number, ": \"", base64.substr(0, 60), "\" is not valid base64");
  if (token->empty()) fail(source, ":", line_number, ": the token is empty");

  RankLine parsed{*token, 0};
  const char* end = rank_text.data() + rank_text.size();
  const auto [stop, error] = std::from_chars(rank_text.data(), end, parsed.rank);
  const bool digits_only = !rank_text.empty() && rank_text.front() != '-' && stop == end;
  if (error == std::errc::result_out_of_range ||
      (error == std::errc() && parsed.rank > std::numeric_limits<std::int32_t>::max())) {
    fail(source, ":", line_number, ": rank ", rank_text.substr(0, 30), " is too large");
  }
  if (error != std::errc() || !digits_only) {
    fail(source, ":", line_number, ": rank \"", rank_text.substr(0, 30),
         "\" is not a non-negative whole number");
  }
  return parsed;
}

// Splits into lines (\n, tolerating \r\n), skipping blank ones as Meta's loader does.
std::vector<std::pair<std::size_t, std::string_view>> non_blank_lines(std::string_view text) {
  std::vector<std::pair<std::size_t, std::string_view>> lines;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) lines.emplace_back(line_number, line);
  }
  return lines;
}

}  // namespace

TokenVocabulary parse_tiktoken_ranks(std::string_view text, std::string_view source) {
  const auto lines = non_blank_lines(text);
  if (lines.empty()) fail(source, ": the file holds no tokens (it is empty or blank)");

  // Ranks must be exactly 0..N-1: place each token at its rank and look for holes.
  const std::size_t count = lines.size();
  std::vector<std::string> tokens(count);
  std::vector<std::size_t> line_of_rank(count, 0);
  for (const auto& [line_number, line] : lines) {
    RankLine parsed = parse_line(line, line_number, source);
    const auto rank = static_cast<std::size_t>(parsed.rank);
    if (rank >= count) {
      fail(source, ":", line_number, ": rank ", rank, " is out of range: the file has ", count,
           " tokens, so the ranks must be 0..", count - 1, " with none missing");
    }
    if (line_of_rank[rank] != 0) {
      fail(source, ":", line_number, ": rank ", rank, " was already given on line ",
           line_of_rank[rank]);
    }
    line_of_rank[rank] = line_number;
    tokens[rank] = std::move(parsed.token);
  }
  // With N lines, N distinct ranks and every rank < N, no rank can be missing; the check above
  // already reported the rank that pushed one out of range.
  return TokenVocabulary(tokens, source, [&](std::int32_t id) {
    return "line " + std::to_string(line_of_rank[static_cast<std::size_t>(id)]) + " (rank " +
           std::to_string(id) + ")";
  });
}

TokenVocabulary load_tiktoken_ranks(const std::filesystem::path& path) {
  const MappedFile file(path);
  const std::string_view text(reinterpret_cast<const char*>(file.data()), file.size());
  return parse_tiktoken_ranks(text, path.string());
}

std::string format_tiktoken_ranks(const TokenVocabulary& vocabulary) {
  std::string text;
  for (std::int32_t id = 0; id < vocabulary.size(); ++id) {
    text += encode_base64(vocabulary.bytes(id));
    text += ' ';
    text += std::to_string(id);
    text += '\n';
  }
  return text;
}

}  // namespace llama4
