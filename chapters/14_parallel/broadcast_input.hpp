// Standard input for every rank (chapter 14's --chat).
//
// mpirun and srun connect standard input to rank 0 only; the other ranks read nothing. But every
// rank must run the same turn of a chat. BroadcastInput replaces std::cin's buffer: on rank 0 it
// reads a line from the real standard input and broadcasts it; on the others it receives that
// line. So chapter 08's chat loop, which reads std::getline(std::cin, line), runs unchanged on
// every rank, and every rank sees the same lines, and the same end of input.
#pragma once

#include <iostream>
#include <streambuf>
#include <string>

#include "common/parallel/communicator.hpp"

namespace llama4 {

class BroadcastInput : public std::streambuf {
 public:
  // Installs itself as std::cin's buffer until destroyed.
  explicit BroadcastInput(Communicator& communicator);
  ~BroadcastInput() override;
  BroadcastInput(const BroadcastInput&) = delete;
  BroadcastInput& operator=(const BroadcastInput&) = delete;

 protected:
  int_type underflow() override;  // the next line, from rank 0

 private:
  Communicator& communicator_;
  std::streambuf* standard_input_;  // std::cin's own buffer (rank 0 reads it)
  std::string line_;
};

}  // namespace llama4
