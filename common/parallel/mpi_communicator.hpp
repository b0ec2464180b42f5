// The Communicator on MPI (chapter 14): one rank per process, started by `mpirun -np N` on one
// machine or `srun` on a cluster. Debian's OpenMPI (libopenmpi-dev); the collectives are MPI's own
// (MPI_Allreduce, MPI_Allgather, MPI_Alltoall, MPI_Bcast, MPI_Comm_split), which pick their
// algorithm (ring, recursive doubling, shared memory between processes of one machine) by size.
#pragma once

#include <mpi.h>

#include <memory>

#include "common/parallel/communicator.hpp"

namespace llama4 {

// MPI_Init at construction, MPI_Finalize at destruction: one per process, in main().
class MpiRuntime {
 public:
  MpiRuntime(int& argc, char**& argv);
  ~MpiRuntime();
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;
};

class MpiCommunicator : public Communicator {
 public:
  // Every process of the run (MPI_COMM_WORLD).
  static std::unique_ptr<MpiCommunicator> world();
  explicit MpiCommunicator(MPI_Comm communicator);  // takes ownership (freed unless WORLD)
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_reduce_sum(std::span<float> values) override;
  void all_gather(std::span<const float> mine, std::span<float> all) override;
  void all_to_all(std::span<const float> send, std::span<float> receive) override;
  void broadcast(std::span<std::byte> bytes, int root) override;
  std::unique_ptr<Communicator> split(int color) override;

 private:
  MPI_Comm communicator_;
  int rank_ = 0, size_ = 1;
};

}  // namespace llama4
