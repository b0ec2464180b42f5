// The Communicator between GPUs (chapter 14): NVIDIA's NCCL, or AMD's RCCL, which has the same
// API under another name. The four collectives run on the GPU, over NVLink, PCIe or the network,
// and the spans hold GPU memory (DeviceBuffer::data()), never host memory: the activations never
// leave the devices.
//
// NCCL does not start processes; it joins ranks that exist already. Rank 0 makes a unique id,
// another communicator (MPI, or one process alone) gives it to every rank, and each rank joins
// with it. Built where CMake finds nccl.h / rccl.h (gpu/CMakeLists.txt).
#pragma once

#include <memory>

#include "common/parallel/communicator.hpp"

namespace llama4::gpu {

class NcclCommunicator : public Communicator {
 public:
  // Every rank of `bootstrap` joins, each on its GPU `device`. Every rank must call it.
  NcclCommunicator(Communicator& bootstrap, int device);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  // Spans of GPU memory; each call returns when the collective has finished on this GPU.
  void all_reduce_sum(std::span<float> values) override;
  void all_gather(std::span<const float> mine, std::span<float> all) override;
  void all_to_all(std::span<const float> send, std::span<float> receive) override;
  void broadcast(std::span<std::byte> bytes, int root) override;
  std::unique_ptr<Communicator> split(int color) override;

  // NCCL's (or RCCL's) version, "2.28.3".
  static std::string library_version();

 private:
  struct State;  // the library's communicator and stream (nccl.h stays in the .hip file)
  explicit NcclCommunicator(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
  int rank_ = 0, size_ = 1;
};

}  // namespace llama4::gpu
