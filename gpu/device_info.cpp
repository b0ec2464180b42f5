// describe(): a GPU in one line, for people. Plain C++, the same for every backend.
#include <sstream>

#include "gpu/device.hpp"

namespace llama4::gpu {

std::string describe(const DeviceInfo& device) {
  if (!device.available) return "no usable GPU: " + device.reason;
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  std::ostringstream line;
  line.precision(3);
  line << device.backend << ": device " << device.index << " of " << device.device_count << ", "
       << device.name << " (" << device.arch << "), " << device.multiprocessors
       << " multiprocessors, warp " << device.warp_size << ", "
       << static_cast<double>(device.global_memory) / kGiB << " GiB, " << device.clock_mhz
       << " MHz";
  return line.str();
}

}  // namespace llama4::gpu
