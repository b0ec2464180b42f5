// The communicator between GPUs (gpu/nccl_communicator.hpp) on one GPU: one rank, bootstrapped by
// a one-process communicator, every collective on device memory checked against what it must do.
// Labelled gpu: without a GPU it reports skipped (REQUIRE_GPU=1 makes that a failure).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "gpu/device.hpp"
#include "gpu/nccl_communicator.hpp"

namespace llama4::gpu {
namespace {

void skip_without_a_gpu() {
  const DeviceInfo device = probe(0);
  if (device.available) return;
  const char* required = std::getenv("REQUIRE_GPU");
  if (required != nullptr && std::string(required) == "1") FAIL() << describe(device);
  GTEST_SKIP() << describe(device);
}

TEST(NcclCommunicator, OneRankRunsEveryCollectiveOnTheGpu) {
  skip_without_a_gpu();
  if (::testing::Test::IsSkipped() || ::testing::Test::HasFatalFailure()) return;
  SingleProcessCommunicator bootstrap;
  NcclCommunicator nccl(bootstrap, 0);
  EXPECT_EQ(nccl.rank(), 0);
  EXPECT_EQ(nccl.size(), 1);
  std::printf("%s\n", NcclCommunicator::library_version().c_str());

  const std::vector<float> values = {1.5f, -2.0f, 3.25f, 0.0f};
  DeviceBuffer<float> buffer(values), gathered(values.size()), exchanged(values.size());
  nccl.all_reduce_sum({buffer.data(), buffer.size()});
  EXPECT_EQ(buffer.to_host(), values);  // the sum over one rank
  nccl.all_gather({buffer.data(), buffer.size()}, {gathered.data(), gathered.size()});
  EXPECT_EQ(gathered.to_host(), values);
  nccl.all_to_all({buffer.data(), buffer.size()}, {exchanged.data(), exchanged.size()});
  EXPECT_EQ(exchanged.to_host(), values);
  DeviceBuffer<float> bytes(values);
  nccl.broadcast(std::as_writable_bytes(std::span(bytes.data(), bytes.size())), 0);
  EXPECT_EQ(bytes.to_host(), values);
  const std::unique_ptr<Communicator> part = nccl.split(0);
  EXPECT_EQ(part->size(), 1);
  part->all_reduce_sum({buffer.data(), buffer.size()});
  EXPECT_EQ(buffer.to_host(), values);
  EXPECT_EQ(nccl.bytes_sent(), 4u * 16);  // all_reduce, all_gather, all_to_all, broadcast
}

}  // namespace
}  // namespace llama4::gpu
