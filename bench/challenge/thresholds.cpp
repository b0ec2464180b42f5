#include "bench/challenge/thresholds.hpp"

#include <cmath>
#include <set>
#include <sstream>

#include "common/tensors/error.hpp"
#include "common/tensors/json_document.hpp"
#include "common/tensors/regular_file.hpp"

namespace llama4::challenge {
namespace {

using nlohmann::json;

std::optional<double> bound(const json& entry, const char* key, const std::string& where) {
  if (!entry.contains(key)) return std::nullopt;
  const json& value = entry[key];
  if (!value.is_number() || !(value.get<double>() > 0) || !std::isfinite(value.get<double>()))
    fail(where, ": \"", key, "\" must be a positive number, got ", json_excerpt(value));
  return value.get<double>();
}

std::string text(const json& entry, const char* key, const std::string& where) {
  if (!entry.contains(key) || !entry[key].is_string() || entry[key].get<std::string>().empty())
    fail(where, ": no string \"", key, "\"");
  return entry[key].get<std::string>();
}

}  // namespace

std::vector<Threshold> read_thresholds(const std::filesystem::path& file) {
  const std::string where = file.string();
  const json j = parse_json_document(read_regular_file(file), where);
  if (!j.is_object() || !j.contains("format") || j["format"] != "llama4-challenge-thresholds")
    fail(where, ": not a thresholds file (\"format\": \"llama4-challenge-thresholds\")");
  if (!j.contains("version") || json_integer(j["version"]) != std::optional<std::int64_t>(1))
    fail(where, ": \"version\" must be 1");
  if (!j.contains("thresholds") || !j["thresholds"].is_array())
    fail(where, ": \"thresholds\" must be a list");
  const std::set<std::string> known = {"workload",
                                       "engine",
                                       "batch",
                                       "min_throughput",
                                       "max_ttft_p99_seconds",
                                       "max_tpot_p99_seconds",
                                       "max_peak_memory_bytes",
                                       "note"};
  std::vector<Threshold> thresholds;
  for (std::size_t i = 0; i < j["thresholds"].size(); ++i) {
    const json& entry = j["thresholds"][i];
    const std::string at = where + ": threshold " + std::to_string(i);
    if (!entry.is_object()) fail(at, ": must be an object");
    for (const auto& [key, value] : entry.items()) {
      if (!known.contains(key)) fail(at, ": unknown field \"", key, "\"");
    }
    Threshold threshold;
    threshold.workload = text(entry, "workload", at);
    threshold.engine = text(entry, "engine", at);
    const std::optional<std::int64_t> batch =
        entry.contains("batch") ? json_integer(entry["batch"]) : std::nullopt;
    if (!batch || *batch < 1) fail(at, ": \"batch\" must be an integer of at least 1");
    threshold.batch = *batch;
    threshold.min_throughput = bound(entry, "min_throughput", at);
    threshold.max_ttft_p99_seconds = bound(entry, "max_ttft_p99_seconds", at);
    threshold.max_tpot_p99_seconds = bound(entry, "max_tpot_p99_seconds", at);
    threshold.max_peak_memory_bytes = bound(entry, "max_peak_memory_bytes", at);
    thresholds.push_back(threshold);
  }
  return thresholds;
}

ThresholdVerdict check_thresholds(std::span<const Threshold> thresholds,
                                  const std::string& workload, const std::string& engine,
                                  std::span<const RunMeasurement> runs,
                                  std::uint64_t peak_memory_bytes) {
  ThresholdVerdict verdict;
  const auto check = [&](bool ok, const std::string& what, std::int64_t batch, double value,
                         const char* relation, double limit) {
    ++verdict.checked;
    if (ok) return;
    std::ostringstream sentence;
    sentence << what << " at batch " << batch << " is " << value << ", the threshold is "
             << relation << " " << limit;
    verdict.missed.push_back(sentence.str());
  };
  for (const Threshold& t : thresholds) {
    if (t.workload != workload || t.engine != engine) continue;
    for (const RunMeasurement& run : runs) {
      if (run.batch != t.batch) continue;
      if (t.min_throughput)
        check(run.throughput >= *t.min_throughput, "throughput (tok/s)", run.batch, run.throughput,
              ">=", *t.min_throughput);
      if (t.max_ttft_p99_seconds)
        check(run.ttft_seconds.p99 <= *t.max_ttft_p99_seconds, "TTFT p99 (s)", run.batch,
              run.ttft_seconds.p99, "<=", *t.max_ttft_p99_seconds);
      if (t.max_tpot_p99_seconds)
        check(run.tpot_seconds.p99 <= *t.max_tpot_p99_seconds, "TPOT p99 (s)", run.batch,
              run.tpot_seconds.p99, "<=", *t.max_tpot_p99_seconds);
      if (t.max_peak_memory_bytes)
        check(static_cast<double>(peak_memory_bytes) <= *t.max_peak_memory_bytes,
              "peak memory (bytes)", run.batch, static_cast<double>(peak_memory_bytes),
              "<=", *t.max_peak_memory_bytes);
    }
  }
  return verdict;
}

}  // namespace llama4::challenge
