// chapter14_train: chapter 11's trainer, data parallel over MPI ranks.
//
//   mpirun -np 2 build/bin/chapter14_train --config bible.json --tokenizer tokenizer.tiktoken
//       --train train.txt --validation validation.txt --out DIR --batch 8 ...
//
// The options are chapter11_train's, every one. Each rank trains on --batch / N of every step's
// sequences and the gradients are averaged over the ranks before AdamW
// (common/parallel/data_parallel.hpp): the same weights as one process with the whole batch, up
// to the order of the sums. Rank 0 prints, validates and writes the checkpoint.
#include <cstdio>

#include "chapters/11_training/program.hpp"
#include "common/parallel/mpi_communicator.hpp"

int main(int argc, char** argv) {
  llama4::MpiRuntime mpi(argc, argv);
  const std::unique_ptr<llama4::MpiCommunicator> world = llama4::MpiCommunicator::world();
  // Only rank 0 speaks; the others' errors reach it through on_every_rank.
  if (world->rank() != 0) {
    if (!std::freopen("/dev/null", "w", stdout) || !std::freopen("/dev/null", "w", stderr))
      return 1;
  }
  return llama4::run_training_program(argc, argv, *world);
}
