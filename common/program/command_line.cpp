#include "common/program/command_line.hpp"

#include "common/tensors/error.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <sstream>

namespace llama4 {
namespace {

// CLI11's own checks let some bad values through (it reads "--seed -1" as 2^64 - 1 and
// "--temperature nan" as NaN), so every number goes through one of these first. Each returns the
// message CLI11 prints after the option's name, or "" when the text is good.

std::string integer_error(const std::string& text, std::int64_t low, std::int64_t high) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc() && end == text.data() + text.size() && value >= low && value <= high)
    return "";
  return "expected an integer from " + std::to_string(low) + " to " + std::to_string(high) +
         ", got \"" + text + "\"";
}

std::string unsigned_error(const std::string& text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc() && end == text.data() + text.size()) return "";
  return "expected an integer from 0 to " +
         std::to_string(std::numeric_limits<std::uint64_t>::max()) + ", got \"" + text + "\"";
}

std::string number_error(const std::string& text, double low, double high) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (!text.empty() && end == text.c_str() + text.size() && std::isfinite(value) && value >= low &&
      value <= high)
    return "";
  std::ostringstream message;
  message << "expected a number from " << low << " to " << high << ", got \"" << text << "\"";
  return message.str();
}

// --help fits in 100 columns, like the code.
constexpr std::size_t kHelpWidth = 100;

// `text` cut at spaces into lines of at most `width` characters, joined by '\n'.
std::string wrapped(const std::string& text, std::size_t width) {
  std::string out, line;
  std::istringstream words(text);
  for (std::string word; words >> word;) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line;
}

// CLI11's help, laid out for a reader: each option's name and value ("--ctx N"), its description
// wrapped beside it. (CLI11 would also append the options each one needs and excludes; the
// descriptions say that in words.)
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* option) const override {
    const std::string& value = option->get_option_text();
    return value.empty() ? "" : " " + value;
  }
  std::string make_option_desc(const CLI::Option* option) const override {
    return wrapped(option->get_description(), kHelpWidth - get_column_width());
  }
  std::string make_description(const CLI::App* app) const override {
    return wrapped(app->get_description(), kHelpWidth) + "\n\n";
  }
};

}  // namespace

CLI::Validator integer_in(std::int64_t low, std::int64_t high) {
  return CLI::Validator([=](std::string& text) { return integer_error(text, low, high); }, "");
}

CLI::Validator any_unsigned_integer() {
  return CLI::Validator([](std::string& text) { return unsigned_error(text); }, "");
}

CLI::Validator number_in(double low, double high) {
  return CLI::Validator([=](std::string& text) { return number_error(text, low, high); }, "");
}

CommandLine::CommandLine(const std::string& description) : app_(description) {
  app_.set_help_flag("-h,--help", "print this help and exit");
  app_.formatter(std::make_shared<HelpFormatter>());
  app_.get_formatter()->column_width(28);
  // One shape for every error of every program: "error: <what>, naming the option".
  app_.failure_message([](const CLI::App*, const CLI::Error& error) {
    return std::string("error: ") + error.what() + "\n(see --help for every option)\n";
  });
}

CLI::Option* CommandLine::add_model(std::string& path, const std::string& what) {
  return app_.add_option("--model", path, what)->option_text("DIR");
}

CLI::Option* CommandLine::add_model(std::optional<std::string>& path, const std::string& what) {
  return app_.add_option("--model", path, what)->option_text("DIR");
}

CLI::Option* CommandLine::add_threads(std::optional<int>& threads) {
  return app_.add_option("--threads", threads, "CPU threads, 1 to 1024 (default: every core)")
      ->option_text("N")
      ->check(integer_in(1, 1024));
}

CLI::Option* CommandLine::add_context_length(std::optional<std::int64_t>& context_length,
                                             const std::string& default_text) {
  return app_
      .add_option("--ctx", context_length,
                  "context length in tokens, 1 to " + std::to_string(kLongestContext) + " (" +
                      default_text + ")")
      ->option_text("N")
      ->check(integer_in(1, kLongestContext));
}

CLI::Option* CommandLine::add_max_new_tokens(std::int64_t& max_new_tokens) {
  return app_
      .add_option("-n", max_new_tokens,
                  "at most N new tokens (default " + std::to_string(max_new_tokens) + ")")
      ->option_text("N")
      ->check(integer_in(0, kLongestContext));
}

void CommandLine::add_sampling(SamplingOptions& sampling) {
  const std::string group = "Sampling (the default is greedy: always the most likely token)";
  app_.add_option("--temperature", sampling.temperature,
                  "0 to 100: 0 is greedy, below 1 sharpens, above 1 flattens")
      ->option_text("T")
      ->check(number_in(0, 100))
      ->group(group);
  app_.add_option("--top-k", sampling.top_k, "keep the K most likely tokens (0: all)")
      ->option_text("K")
      ->check(integer_in(0, std::numeric_limits<std::int32_t>::max()))
      ->group(group);
  app_.add_option("--top-p", sampling.top_p,
                  "0 to 1: keep the most likely tokens until their probabilities sum to P")
      ->option_text("P")
      ->check(number_in(0, 1))
      ->group(group);
  app_.add_option("--min-p", sampling.min_p,
                  "0 to 1: keep tokens at least P times as likely as the most likely one")
      ->option_text("P")
      ->check(number_in(0, 1))
      ->group(group);
  app_.add_option("--repeat-penalty", sampling.repetition_penalty,
                  "0.01 to 100: divide the logit of every token already seen by R (1: off)")
      ->option_text("R")
      ->check(number_in(0.01, 100))
      ->group(group);
  app_.add_option("--seed", sampling.seed, "seed of the sampler's random numbers (default 0)")
      ->option_text("S")
      ->check(any_unsigned_integer())
      ->group(group);
}

void CommandLine::parse(int argc, char** argv) {
  try {
    app_.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help arrives here too, as CLI::CallForHelp with exit code 0: app_.exit prints the help.
    const int code = app_.exit(error);
    std::exit(code == 0 ? 0 : 2);
  }
}

bool CommandLine::try_parse(int argc, char** argv) {
  try {
    app_.parse(argc, argv);
    return true;
  } catch (const CLI::CallForHelp&) {
    return false;
  } catch (const CLI::CallForAllHelp&) {
    return false;
  } catch (const CLI::ParseError& error) {
    fail(error.what());
  }
}

}  // namespace llama4
