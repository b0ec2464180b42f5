#include "bench/challenge/workload.hpp"

#include <algorithm>
#include <set>

#include "common/debugging/data_paths.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/json_document.hpp"
#include "common/tensors/regular_file.hpp"

namespace llama4::challenge {
namespace {

using nlohmann::json;

// Every key of `object` must be one of `known`: a misspelt "max_new_token" would otherwise be
// ignored and the workload would quietly be another one.
void check_keys(const json& object, const std::set<std::string>& known, const std::string& where) {
  for (const auto& [key, value] : object.items()) {
    if (!known.contains(key)) fail(where, ": unknown field \"", key, "\"");
  }
}

const json& field(const json& object, const char* key, const std::string& where) {
  if (!object.contains(key)) fail(where, ": no \"", key, "\"");
  return object[key];
}

std::int64_t integer_field(const json& object, const char* key, std::int64_t low, std::int64_t high,
                           const std::string& where) {
  const json& value = field(object, key, where);
  const std::optional<std::int64_t> number = json_integer(value);
  if (!number || *number < low || *number > high) {
    fail(where, ": \"", key, "\" must be an integer from ", low, " to ", high, ", got ",
         json_excerpt(value));
  }
  return *number;
}

double number_field(const json& object, const char* key, double low, double high,
                    const std::string& where) {
  const json& value = field(object, key, where);
  if (!value.is_number() || !(value.get<double>() >= low && value.get<double>() <= high)) {
    fail(where, ": \"", key, "\" must be a number from ", low, " to ", high, ", got ",
         json_excerpt(value));
  }
  return value.get<double>();
}

std::string string_field(const json& object, const char* key, const std::string& where) {
  const json& value = field(object, key, where);
  if (!value.is_string() || value.get<std::string>().empty())
    fail(where, ": \"", key, "\" must be a non-empty string, got ", json_excerpt(value));
  return value.get<std::string>();
}

AccuracyBounds parse_accuracy(const json& j, const std::string& where) {
  if (!j.is_object()) fail(where, ": \"accuracy\" must be an object");
  check_keys(
      j, {"identical_greedy_tokens", "max_mean_kl", "min_top1_agreement", "max_perplexity_ratio"},
      where + ": accuracy");
  AccuracyBounds bounds;
  bounds.identical_greedy_tokens =
      integer_field(j, "identical_greedy_tokens", 0, 1 << 20, where + ": accuracy");
  bounds.max_mean_kl = number_field(j, "max_mean_kl", 0, 100, where + ": accuracy");
  bounds.min_top1_agreement = number_field(j, "min_top1_agreement", 0, 1, where + ": accuracy");
  bounds.max_perplexity_ratio =
      number_field(j, "max_perplexity_ratio", 1, 1e6, where + ": accuracy");
  return bounds;
}

WorkloadPrompt parse_prompt(const json& j, const std::string& where) {
  if (!j.is_object()) fail(where, ": a prompt must be an object");
  check_keys(j, {"text", "ids", "max_new_tokens"}, where);
  WorkloadPrompt prompt;
  if (!j.contains("text") && !j.contains("ids")) fail(where, ": neither \"text\" nor \"ids\"");
  if (j.contains("text")) prompt.text = string_field(j, "text", where);
  if (j.contains("ids")) {
    const json& ids = j["ids"];
    if (!ids.is_array() || ids.empty()) fail(where, ": \"ids\" must be a non-empty list");
    for (const json& id : ids) {
      const std::optional<std::int64_t> value = json_integer(id);
      if (!value || *value < 0 || *value > INT32_MAX)
        fail(where, ": \"ids\" holds ", json_excerpt(id), ", not a token id");
      prompt.ids.push_back(static_cast<std::int32_t>(*value));
    }
  }
  prompt.max_new_tokens = integer_field(j, "max_new_tokens", 1, 1 << 20, where);
  return prompt;
}

}  // namespace

Workload read_workload(const std::filesystem::path& file) {
  const std::string where = file.string();
  const json j = parse_json_document(read_regular_file(file), where);
  if (!j.is_object()) fail(where, ": a workload must be a JSON object");
  check_keys(j,
             {"format", "version", "name", "description", "model", "context_length", "batch_sizes",
              "accuracy", "prompts"},
             where);
  if (string_field(j, "format", where) != "llama4-challenge-workload")
    fail(where, ": \"format\" must be \"llama4-challenge-workload\" (is this a workload file?)");
  const std::int64_t version = integer_field(j, "version", 0, INT32_MAX, where);
  if (version != kWorkloadVersion) {
    fail(where, ": workload version ", version, ", this program reads version ", kWorkloadVersion);
  }
  Workload workload;
  workload.file = file;
  workload.name = string_field(j, "name", where);
  if (j.contains("description")) workload.description = string_field(j, "description", where);
  workload.model = string_field(j, "model", where);
  workload.context_length = integer_field(j, "context_length", 1, 1 << 24, where);
  const json& batches = field(j, "batch_sizes", where);
  if (!batches.is_array() || batches.empty())
    fail(where, ": \"batch_sizes\" must be a non-empty list");
  for (const json& batch : batches) {
    const std::optional<std::int64_t> value = json_integer(batch);
    if (!value || *value < 1 || *value > 4096 ||
        (!workload.batch_sizes.empty() && *value <= workload.batch_sizes.back())) {
      fail(where, ": \"batch_sizes\" must be increasing integers from 1 to 4096, got ",
           json_excerpt(batches));
    }
    workload.batch_sizes.push_back(*value);
  }
  workload.accuracy = parse_accuracy(field(j, "accuracy", where), where);
  const json& prompts = field(j, "prompts", where);
  if (!prompts.is_array() || prompts.empty()) fail(where, ": \"prompts\" must be a non-empty list");
  for (std::size_t p = 0; p < prompts.size(); ++p)
    workload.prompts.push_back(parse_prompt(prompts[p], where + ": prompt " + std::to_string(p)));
  return workload;
}

std::filesystem::path workload_model_path(const Workload& workload) {
  if (workload.model == "chapter11-trained") return trained_model_dir();
  if (workload.model == "golden-tiny") return golden_model_dir("tiny");
  const std::filesystem::path path(workload.model);
  return path.is_absolute() ? path : workload.file.parent_path() / path;
}

void resolve_prompts(Workload& workload, const Tokenizer* tokenizer, std::int64_t vocab_size) {
  for (std::size_t p = 0; p < workload.prompts.size(); ++p) {
    WorkloadPrompt& prompt = workload.prompts[p];
    const std::string where = workload.file.string() + ": prompt " + std::to_string(p);
    if (!prompt.text.empty()) {
      if (!tokenizer) fail(where, ": has text, but the model has no tokenizer (give \"ids\")");
      const std::vector<std::int32_t> encoded = tokenizer->encode(prompt.text, {.bos = true});
      if (!prompt.ids.empty() && prompt.ids != encoded) {
        const auto [a, b] =
            std::mismatch(prompt.ids.begin(), prompt.ids.end(), encoded.begin(), encoded.end());
        fail(where, ": its \"ids\" are not its text's encoding (from token ",
             a - prompt.ids.begin(), "): the tokenizer is not the one the workload was made with");
      }
      prompt.ids = encoded;
    }
    for (const std::int32_t id : prompt.ids) {
      if (id >= vocab_size)
        fail(where, ": token id ", id, " is outside the vocabulary of ", vocab_size);
    }
    // The prompt and every new token but the last are fed to the model.
    const auto needed = static_cast<std::int64_t>(prompt.ids.size()) + prompt.max_new_tokens - 1;
    if (needed > workload.context_length) {
      fail(where, ": ", prompt.ids.size(), " prompt tokens and ", prompt.max_new_tokens,
           " new ones need ", needed, " positions, more than the context_length of ",
           workload.context_length);
    }
  }
}

}  // namespace llama4::challenge
