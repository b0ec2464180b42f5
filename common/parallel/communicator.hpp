// Communicator: how the ranks of a parallel run talk (chapter 14).
//
// A model too big for one device is split across several processes ("ranks"), each holding part of
// the weights. Between the parts they exchange activations with a handful of collective
// operations, every rank calling the same one at the same point:
//
//   all_reduce_sum  every rank gives a vector; every rank gets the element-wise sum
//                   (tensor parallelism: each rank's partial product of a split matrix)
//   all_gather      every rank gives a block; every rank gets all blocks, in rank order
//   all_to_all      every rank gives one block per rank; rank r gets block r of every rank
//                   (expert parallelism with sharded tokens: send each token to its expert's owner)
//   broadcast       the root's bytes to every rank (a prompt read by rank 0)
//
// The library behind them is not written here: MPI between processes (mpi_communicator.hpp), NCCL
// or RCCL between GPUs. This interface is all the model sees, so the same parallel model runs on
// either, and on one process (SingleProcessCommunicator) where every collective is the identity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace llama4 {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;  // 0 .. size() - 1
  virtual int size() const = 0;

  virtual void all_reduce_sum(std::span<float> values) = 0;
  // all: [size() * mine.size()], block r from rank r.
  virtual void all_gather(std::span<const float> mine, std::span<float> all) = 0;
  // send and receive: [size() * block]; send's block r goes to rank r, receive's block r came from
  // rank r.
  virtual void all_to_all(std::span<const float> send, std::span<float> receive) = 0;
  virtual void broadcast(std::span<std::byte> bytes, int root) = 0;

  // The ranks that pass the same `color` form a new communicator, ranked in their old order.
  // Every rank must call it.
  virtual std::unique_ptr<Communicator> split(int color) = 0;

  // Bytes this rank has given to collectives so far: what the chapter's volume figures count.
  std::uint64_t bytes_sent() const { return bytes_sent_; }

 protected:
  void count_sent(std::uint64_t bytes) { bytes_sent_ += bytes; }

 private:
  std::uint64_t bytes_sent_ = 0;
};

// One process alone: size 1, every collective leaves the data as it is.
class SingleProcessCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(std::span<float>) override {}
  void all_gather(std::span<const float> mine, std::span<float> all) override;
  void all_to_all(std::span<const float> send, std::span<float> receive) override;
  void broadcast(std::span<std::byte>, int) override {}
  std::unique_ptr<Communicator> split(int) override;
};

// Runs `work` on every rank, then makes the ranks agree: if it threw a llama4::Error on any rank,
// every rank throws one naming the first rank that failed and its message. A rank that fails
// alone (a missing shard, an unreadable file) must not leave the others waiting forever in their
// next collective.
void on_every_rank(Communicator& communicator, const std::function<void()>& work);

}  // namespace llama4
