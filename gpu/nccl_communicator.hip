#include "gpu/nccl_communicator.hpp"

#include <string>

#include "gpu/device.hpp"
#include "gpu/hip_portable.hpp"
#if LLAMA4_GPU_NVIDIA
#include <nccl.h>
#else
#include <rccl/rccl.h>
#endif

namespace llama4::gpu {
namespace {

void check(ncclResult_t result, const char* call) {
  if (result != ncclSuccess) fail(call, " failed: ", ncclGetErrorString(result));
}

}  // namespace

struct NcclCommunicator::State {
  ncclComm_t communicator = nullptr;
  hipStream_t stream = nullptr;
  int device = 0;

  void finish() { LLAMA4_GPU_CHECK(hipStreamSynchronize(stream)); }
};

NcclCommunicator::NcclCommunicator(Communicator& bootstrap, int device)
    : state_(std::make_unique<State>()), rank_(bootstrap.rank()), size_(bootstrap.size()) {
  state_->device = device;
  LLAMA4_GPU_CHECK(hipSetDevice(device));
  ncclUniqueId id{};
  if (rank_ == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
  bootstrap.broadcast(std::as_writable_bytes(std::span(&id, 1)), 0);
  check(ncclCommInitRank(&state_->communicator, size_, id, rank_), "ncclCommInitRank");
  LLAMA4_GPU_CHECK(hipStreamCreate(&state_->stream));
}

NcclCommunicator::NcclCommunicator(std::unique_ptr<State> state) : state_(std::move(state)) {
  check(ncclCommUserRank(state_->communicator, &rank_), "ncclCommUserRank");
  check(ncclCommCount(state_->communicator, &size_), "ncclCommCount");
}

NcclCommunicator::~NcclCommunicator() {
  if (state_->stream != nullptr) (void)hipStreamDestroy(state_->stream);
  if (state_->communicator != nullptr) (void)ncclCommDestroy(state_->communicator);
}

void NcclCommunicator::all_reduce_sum(std::span<float> values) {
  count_sent(values.size_bytes());
  check(ncclAllReduce(values.data(), values.data(), values.size(), ncclFloat, ncclSum,
                      state_->communicator, state_->stream),
        "ncclAllReduce");
  state_->finish();
}

void NcclCommunicator::all_gather(std::span<const float> mine, std::span<float> all) {
  if (all.size() != mine.size() * static_cast<std::size_t>(size_))
    fail("all_gather: ", all.size(), " values for ", size_, " blocks of ", mine.size());
  count_sent(mine.size_bytes());
  check(ncclAllGather(mine.data(), all.data(), mine.size(), ncclFloat, state_->communicator,
                      state_->stream),
        "ncclAllGather");
  state_->finish();
}

// NCCL has no all-to-all of its own: it is one send and one receive per peer, grouped so that
// they run together.
void NcclCommunicator::all_to_all(std::span<const float> send, std::span<float> receive) {
  if (send.size() != receive.size() || send.size() % static_cast<std::size_t>(size_) != 0)
    fail("all_to_all: ", send.size(), " and ", receive.size(), " values for ", size_, " ranks");
  count_sent(send.size_bytes());
  const std::size_t block = send.size() / static_cast<std::size_t>(size_);
  check(ncclGroupStart(), "ncclGroupStart");
  for (int peer = 0; peer < size_; ++peer) {
    const std::size_t offset = static_cast<std::size_t>(peer) * block;
    check(ncclSend(send.data() + offset, block, ncclFloat, peer, state_->communicator,
                   state_->stream),
          "ncclSend");
    check(ncclRecv(receive.data() + offset, block, ncclFloat, peer, state_->communicator,
                   state_->stream),
          "ncclRecv");
  }
  check(ncclGroupEnd(), "ncclGroupEnd");
  state_->finish();
}

void NcclCommunicator::broadcast(std::span<std::byte> bytes, int root) {
  if (rank_ == root) count_sent(bytes.size());
  check(ncclBroadcast(bytes.data(), bytes.data(), bytes.size(), ncclUint8, root,
                      state_->communicator, state_->stream),
        "ncclBroadcast");
  state_->finish();
}

std::unique_ptr<Communicator> NcclCommunicator::split(int color) {
  auto part = std::make_unique<State>();
  part->device = state_->device;
  check(ncclCommSplit(state_->communicator, color, rank_, &part->communicator, nullptr),
        "ncclCommSplit");
  LLAMA4_GPU_CHECK(hipStreamCreate(&part->stream));
  return std::unique_ptr<Communicator>(new NcclCommunicator(std::move(part)));
}

std::string NcclCommunicator::library_version() {
  int version = 0;
  check(ncclGetVersion(&version), "ncclGetVersion");
  // NCCL_VERSION(X, Y, Z) = X * 10000 + Y * 100 + Z since 2.9.
  return std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
         std::to_string(version % 100);
}

}  // namespace llama4::gpu
