#include "common/training/training_checkpoint.hpp"

#include <fcntl.h>  // AT_FDCWD
#include <stdio.h>  // renameat2 (glibc 2.28+, with _GNU_SOURCE, which g++ defines)

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "common/debugging/data_paths.hpp"
#include "common/tensors/atomic_file.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/regular_file.hpp"
#include "common/tensors/safetensors.hpp"

namespace llama4 {
namespace {

namespace fs = std::filesystem;

// A sibling path that does not exist yet: "<directory>.<what>-<random>".
fs::path sibling(const fs::path& directory, const char* what) {
  std::random_device random;
  for (int attempt = 0; attempt < 100; ++attempt) {
    const fs::path candidate =
        directory.string() + "." + what + "-" + std::to_string(random() % 1000000);
    if (!fs::exists(candidate)) return candidate;
  }
  fail("cannot find a free temporary name next to ", directory);
}

// A whole number >= 0 written as text in the file's metadata.
std::int64_t parse_count(const std::string& text, const fs::path& path, const char* key) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) {
    fail(path, ": metadata \"", key, "\" is \"", text, "\", not a whole number");
  }
  return value;
}

Tensor moment_tensor(const std::vector<float>& moments, const ParameterInfo& info) {
  Tensor t = Tensor::zeros(info.shape);
  std::copy_n(moments.begin() + info.offset, info.size, t.mutable_data<float>());
  return t;
}

}  // namespace

std::string TrainingSettings::to_json() const {
  nlohmann::ordered_json j = {{"steps", steps},
                              {"sequences", sequences},
                              {"tokens", tokens},
                              {"peak_learning_rate", schedule.peak},
                              {"warmup_steps", schedule.warmup_steps},
                              {"minimum_learning_rate", schedule.minimum},
                              {"beta1", adamw.beta1},
                              {"beta2", adamw.beta2},
                              {"epsilon", adamw.epsilon},
                              {"weight_decay", adamw.weight_decay},
                              {"max_gradient_norm", max_gradient_norm},
                              {"seed", seed},
                              {"evaluate_every", evaluate_every},
                              {"evaluation_batches", evaluation_batches},
                              {"initialisation_seed", initialisation_seed}};
  return j.dump();
}

TrainingSettings TrainingSettings::from_json(const std::string& text, const std::string& source) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) fail(source, ": the training settings are not a JSON object");
  const auto number = [&](const char* key) {
    if (!j.contains(key) || !j[key].is_number()) {
      fail(source, ": the training settings have no number \"", key, "\"");
    }
    return j[key].get<double>();
  };
  // Every value within the range the command line accepts for it: a file is outside input, and a
  // zero batch, a NaN rate or 1e30 steps must be an error here, not a crash an hour later.
  const auto within = [&](const char* key, double low, double high) {
    const double value = number(key);
    if (!(value >= low && value <= high)) {
      fail(source, ": \"", key, "\" must be from ", low, " to ", high, ", got ", value);
    }
    return value;
  };
  const auto count = [&](const char* key, double low, double high) {
    const double value = within(key, low, high);  // bounded first: the cast below is then defined
    if (value != std::floor(value)) {
      fail(source, ": \"", key, "\" must be a whole number, got ", value);
    }
    return static_cast<std::int64_t>(value);
  };
  constexpr double kMostSteps = 1e8;  // chapters/11_training/main.cpp's bound on every count
  TrainingSettings s;
  s.steps = count("steps", 1, kMostSteps);
  s.sequences = count("sequences", 1, kMostSteps);
  s.tokens = count("tokens", 1, kMostSteps);
  s.schedule = {within("peak_learning_rate", 0, 1), count("warmup_steps", 1, kMostSteps), s.steps,
                within("minimum_learning_rate", 0, 1)};
  s.adamw = {within("beta1", 0, 0.999999), within("beta2", 0, 0.999999),
             within("epsilon", 1e-30, 1), within("weight_decay", 0, 1)};
  s.max_gradient_norm = within("max_gradient_norm", 1e-6, 1e6);
  s.seed = static_cast<std::uint64_t>(count("seed", 0, 9007199254740992.0));  // 2^53
  s.evaluate_every = count("evaluate_every", 1, kMostSteps);
  s.evaluation_batches = count("evaluation_batches", 1, kMostSteps);
  s.initialisation_seed = count("initialisation_seed", 0, 1 << 30);
  return s;
}

void check_writable_directory(const fs::path& directory) {
  std::error_code error;
  if (fs::exists(directory) && !fs::is_directory(directory)) {
    fail(directory, " exists and is not a directory");
  }
  fs::create_directories(directory, error);
  if (error) fail("cannot create ", directory, ": ", error.message());
  const fs::path probe = directory / ".write-test";
  write_file_atomically(probe, "");  // an Error naming the place and the reason if it cannot
  fs::remove(probe, error);
}

namespace {

// Puts the finished `staging` directory where `directory` is. Where `directory` already exists,
// Linux swaps the two in one step (renameat2 with RENAME_EXCHANGE), so at every moment
// `directory` holds a whole checkpoint, the old or the new: a crash in between cannot leave it
// missing. Where the file system cannot exchange, the old one is moved aside first (a short
// window without a checkpoint under its name; the old one is then still on disk beside it).
void replace_directory(const fs::path& directory, const fs::path& staging) {
  std::error_code error;
  if (!fs::exists(directory)) {
    fs::rename(staging, directory);
    return;
  }
#ifdef RENAME_EXCHANGE
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, directory.c_str(), RENAME_EXCHANGE) == 0) {
    fs::remove_all(staging, error);  // now the old checkpoint
    return;
  }
#endif
  const fs::path old = sibling(directory, "old");
  fs::rename(directory, old);
  fs::rename(staging, directory);
  fs::remove_all(old, error);
}

}  // namespace

void write_directory_atomically(const fs::path& directory,
                                const std::function<void(const fs::path&)>& fill) {
  const fs::path staging = sibling(directory, "writing");
  std::error_code error;
  fs::create_directories(staging, error);
  if (error) fail("cannot create ", staging, ": ", error.message());
  try {
    fill(staging);
    replace_directory(directory, staging);
  } catch (...) {
    fs::remove_all(staging, error);
    throw;
  }
}

void save_checkpoint(const fs::path& directory, const std::string& config_text,
                     TrainableModel& model, const AdamW& optimizer,
                     const TrainingSettings& settings, std::int64_t steps_done,
                     const fs::path& tokenizer, bool with_state,
                     const std::vector<std::pair<std::string, std::string>>& extra_files) {
  write_directory_atomically(directory, [&](const fs::path& staging) {
    write_file_atomically(staging / "config.json", config_text);
    write_file_atomically(staging / kTrainedTokenizerFile, read_regular_file(tokenizer));
    for (const auto& [name, bytes] : extra_files) write_file_atomically(staging / name, bytes);

    const std::string prefix = weight_prefix_of(config_text);
    std::vector<std::pair<std::string, Tensor>> weights;
    Parameters& parameters = model.parameters();
    for (const ParameterInfo& info : parameters.infos()) {
      weights.emplace_back(prefix + info.name, parameters.value(info.name).to(DType::BF16));
    }
    write_safetensors(staging / "model.safetensors", weights, {{"format", "pt"}});
    if (with_state) {
      write_training_state(staging / "training_state.safetensors", parameters, optimizer, settings,
                           steps_done);
    }
  });
}

void write_training_state(const fs::path& path, Parameters& parameters, const AdamW& optimizer,
                          const TrainingSettings& settings, std::int64_t steps_done,
                          const std::map<std::string, std::string>& extra_metadata) {
  std::vector<std::pair<std::string, Tensor>> state;
  const std::vector<float>& m = optimizer.first_moment();
  const std::vector<float>& v = optimizer.second_moment();
  for (const ParameterInfo& info : parameters.infos()) {
    state.emplace_back("weight." + info.name, parameters.value(info.name));
    state.emplace_back("first_moment." + info.name, moment_tensor(m, info));
    state.emplace_back("second_moment." + info.name, moment_tensor(v, info));
  }
  std::map<std::string, std::string> metadata = extra_metadata;
  metadata["steps_done"] = std::to_string(steps_done);
  metadata["adamw_steps"] = std::to_string(optimizer.steps_taken());
  metadata["settings"] = settings.to_json();
  write_safetensors(path, state, metadata);
}

ResumedTraining load_training_state(const fs::path& directory, TrainableModel& model) {
  const fs::path path = directory / "training_state.safetensors";
  if (!fs::exists(path)) {
    fail(path, " does not exist: --resume needs a checkpoint written by chapter11_train");
  }
  return read_training_state(path, model.parameters());
}

ResumedTraining read_training_state(const fs::path& path, Parameters& parameters) {
  const SafetensorsFile file(path);
  const auto& metadata = file.metadata();
  for (const char* key : {"steps_done", "adamw_steps", "settings"}) {
    if (metadata.find(key) == metadata.end()) fail(path, ": the metadata has no \"", key, "\"");
  }
  const TrainingSettings settings =
      TrainingSettings::from_json(metadata.at("settings"), path.string());
  ResumedTraining resumed{settings, parse_count(metadata.at("steps_done"), path, "steps_done"),
                          AdamW(settings.adamw, parameters.count())};
  std::vector<float>& m = resumed.optimizer.first_moment();
  std::vector<float>& v = resumed.optimizer.second_moment();
  for (const ParameterInfo& info : parameters.infos()) {
    const auto copy = [&](const std::string& name, float* destination) {
      if (!file.contains(name)) fail(path, " has no tensor \"", name, "\"");
      const Tensor t = file.tensor(name);
      if (t.shape() != info.shape || t.dtype() != DType::F32) {
        fail(path, ": tensor \"", name, "\" is ", dtype_name(t.dtype()), " ",
             shape_string(t.shape()), ", the model needs F32 ", shape_string(info.shape));
      }
      std::copy_n(t.data<float>(), info.size, destination);
    };
    copy("weight." + info.name, parameters.value(info.name).mutable_data<float>());
    copy("first_moment." + info.name, m.data() + info.offset);
    copy("second_moment." + info.name, v.data() + info.offset);
  }
  resumed.optimizer.set_steps_taken(parse_count(metadata.at("adamw_steps"), path, "adamw_steps"));
  return resumed;
}

std::string weight_prefix_of(const std::string& config_text) {
  const auto config = nlohmann::json::parse(config_text, nullptr, /*allow_exceptions=*/false);
  return config.is_object() && config.contains("text_config") ? "language_model." : "";
}

}  // namespace llama4
