#include "bench/challenge/fingerprint.hpp"

#include <omp.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <thread>

namespace llama4::challenge {
namespace {

// The first line a shell command prints, or "" (no git, not a repository).
std::string first_line_of(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return "";
  std::array<char, 256> buffer{};
  std::string line;
  if (std::fgets(buffer.data(), buffer.size(), pipe)) line = buffer.data();
  ::pclose(pipe);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

// Single quotes around a path for the shell (a quote inside closes, escapes, reopens).
std::string shell_quoted(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

MachineFingerprint fingerprint_this_machine(const std::string& source_directory) {
  MachineFingerprint machine;
  machine.cpu = cpu_model_name();
  machine.logical_cores = std::thread::hardware_concurrency();
  machine.threads = omp_get_max_threads();
  machine.memory_bytes = static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                         static_cast<std::uint64_t>(::sysconf(_SC_PAGE_SIZE));
  const std::string git = "git -C " + shell_quoted(source_directory) + " ";
  machine.commit = first_line_of(git + "rev-parse HEAD 2>/dev/null");
  if (machine.commit.empty()) {
    machine.commit = "unknown";
  } else if (!first_line_of(git + "status --porcelain --untracked-files=no 2>/dev/null").empty()) {
    machine.commit += "+dirty";
  }
#if defined(__clang__)
  machine.compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  machine.compiler = "gcc " __VERSION__;
#else
  machine.compiler = "unknown";
#endif
  const std::time_t now = std::time(nullptr);
  std::array<char, 32> date{};
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  std::strftime(date.data(), date.size(), "%Y-%m-%dT%H:%M:%SZ", &utc);
  machine.date_utc = date.data();
  std::array<char, 256> host{};
  machine.hostname = ::gethostname(host.data(), host.size() - 1) == 0 ? host.data() : "unknown";
  return machine;
}

}  // namespace llama4::challenge
