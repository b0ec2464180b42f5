// The GPU runtime: probing for a device, device memory, and how failed calls are reported.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iostream>
#include <numeric>

#include "gpu/device.hpp"
#include "tests/chapter09/gpu_test.hpp"

namespace llama4::testing {
namespace {

using gpu::DeviceBuffer;

// Prints what the tests run on (ctest --output-on-failure -V shows it), and checks it is sane.
TEST_F(GpuTest, DeviceInfo) {
  const gpu::DeviceInfo device = gpu::probe();
  std::cout << gpu::describe(device) << "\n";
  std::cout << "  backend " << device.backend << ", arch " << device.arch << ", warp size "
            << device.warp_size << ", " << device.multiprocessors << " multiprocessors, "
            << device.max_threads_per_block << " threads/block, "
            << device.shared_memory_per_block / 1024 << " KiB shared/block, "
            << device.l2_cache / (1024 * 1024) << " MiB L2, " << device.memory_bus_width
            << "-bit memory bus at " << device.memory_clock_mhz << " MHz\n";
  EXPECT_TRUE(device.backend == "amd" || device.backend == "nvidia") << device.backend;
  EXPECT_FALSE(device.name.empty());
  EXPECT_TRUE(device.warp_size == 32 || device.warp_size == 64) << device.warp_size;
  EXPECT_GT(device.multiprocessors, 0);
  EXPECT_GE(device.max_threads_per_block, 256);  // the kernels' block size
  EXPECT_GT(device.global_memory, std::size_t{1} << 30);
}

TEST(GpuProbe, NeverThrowsAndSaysWhy) {
  gpu::DeviceInfo device;
  ASSERT_NO_THROW(device = gpu::probe());
  EXPECT_TRUE(device.backend == "amd" || device.backend == "nvidia" || device.backend == "off");
  if (!device.available) {
    EXPECT_FALSE(device.reason.empty());
    EXPECT_THAT(gpu::describe(device), ::testing::StartsWith("no usable GPU: "));
  }
  EXPECT_FALSE(gpu::probe(-1).available);
  EXPECT_FALSE(gpu::probe(1 << 20).available);
}

// Runs everywhere: a failing runtime call must throw an Error that names the call, the file and
// the line. Without a GPU the allocation itself fails; with one, a petabyte is too much.
TEST(GpuErrors, FailedCallsNameTheCallFileAndLine) {
  using ::testing::HasSubstr;
  const gpu::DeviceInfo device = gpu::probe();
  const auto allocate_a_petabyte = [] { DeviceBuffer<float> buffer(std::size_t{1} << 48); };
  if (device.backend == "off") {
    EXPECT_THAT(allocate_a_petabyte, ::testing::ThrowsMessage<Error>(HasSubstr("GPU_BACKEND=off")));
  } else {
    EXPECT_THAT(allocate_a_petabyte, ::testing::ThrowsMessage<Error>(::testing::AllOf(
                                         HasSubstr("hipMalloc(&pointer, bytes) failed at "),
                                         HasSubstr("gpu/device.hip:"))));
  }
}

TEST_F(GpuTest, BufferRoundTrip) {
  std::vector<float> values(1000);
  std::iota(values.begin(), values.end(), -500.0f);
  const DeviceBuffer<float> buffer(values);
  EXPECT_EQ(buffer.size(), values.size());
  EXPECT_EQ(buffer.bytes(), values.size() * sizeof(float));
  EXPECT_EQ(buffer.to_host(), values);
}

TEST_F(GpuTest, BufferMovesAndEmptyBuffers) {
  DeviceBuffer<float> a(std::vector<float>{1, 2, 3});
  DeviceBuffer<float> b = std::move(a);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty by design
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.to_host(), (std::vector<float>{1, 2, 3}));
  a = std::move(b);
  EXPECT_EQ(a.to_host(), (std::vector<float>{1, 2, 3}));
  const DeviceBuffer<float> empty(0);
  EXPECT_TRUE(empty.to_host().empty());
}

TEST_F(GpuTest, BufferSizeMismatchIsAnError) {
  DeviceBuffer<float> buffer(4);
  std::vector<float> three(3);
  EXPECT_THAT(
      [&] { buffer.upload(three); },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("has 4 elements, the host one 3")));
  EXPECT_THAT(
      [&] { buffer.download(three); },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("has 4 elements, the host one 3")));
}

}  // namespace
}  // namespace llama4::testing
