// chapter11_train's program: its options, then training or --dump-gradients.
#pragma once

#include "common/parallel/communicator.hpp"

namespace llama4 {

// Parses the options (exit status 2 for a bad command line) and runs. `communicator` is one
// process for chapter11_train, every MPI rank for chapter14_train (data-parallel training).
int run_training_program(int argc, char** argv, Communicator& communicator);

}  // namespace llama4
