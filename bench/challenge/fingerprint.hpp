// The machine a result was measured on, in the result itself: a figure without its machine cannot
// be compared with anything.
#pragma once

#include <cstdint>
#include <string>

namespace llama4::challenge {

struct MachineFingerprint {
  std::string cpu;  // /proc/cpuinfo's model name
  std::int64_t logical_cores = 0;
  std::int64_t threads = 0;  // OpenMP threads the CPU engines use
  std::uint64_t memory_bytes = 0;
  std::string device;  // the engine's own description (the GPU, its driver, ...)
  std::string commit;  // git commit of the source tree, "+dirty" with local changes
  std::string compiler;
  std::string date_utc;  // when the run started, ISO 8601
  std::string hostname;
};

// Everything but `device`, which the caller takes from the engine. Never throws: what cannot be
// found reads "unknown".
MachineFingerprint fingerprint_this_machine(const std::string& source_directory);

}  // namespace llama4::challenge
