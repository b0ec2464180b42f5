#include "common/parallel/mpi_communicator.hpp"

#include <climits>

#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

// MPI reports errors by return code once MPI_ERRORS_RETURN is set: each becomes a llama4::Error
// with MPI's own text.
void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  fail(call, " failed: ", std::string(text, static_cast<std::size_t>(length)));
}

int count_of(std::size_t elements, const char* call) {
  if (elements > static_cast<std::size_t>(INT_MAX))
    fail(call, ": ", elements, " elements, more than MPI's int count");
  return static_cast<int>(elements);
}

}  // namespace

MpiRuntime::MpiRuntime(int& argc, char**& argv) {
  check(MPI_Init(&argc, &argv), "MPI_Init");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

MpiRuntime::~MpiRuntime() {
  MPI_Finalize();
}

std::unique_ptr<MpiCommunicator> MpiCommunicator::world() {
  return std::make_unique<MpiCommunicator>(MPI_COMM_WORLD);
}

MpiCommunicator::MpiCommunicator(MPI_Comm communicator) : communicator_(communicator) {
  check(MPI_Comm_rank(communicator_, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(communicator_, &size_), "MPI_Comm_size");
}

MpiCommunicator::~MpiCommunicator() {
  if (communicator_ != MPI_COMM_WORLD) MPI_Comm_free(&communicator_);
}

void MpiCommunicator::all_reduce_sum(std::span<float> values) {
  count_sent(values.size_bytes());
  check(MPI_Allreduce(MPI_IN_PLACE, values.data(), count_of(values.size(), "MPI_Allreduce"),
                      MPI_FLOAT, MPI_SUM, communicator_),
        "MPI_Allreduce");
}

void MpiCommunicator::all_gather(std::span<const float> mine, std::span<float> all) {
  if (all.size() != mine.size() * static_cast<std::size_t>(size_))
    fail("all_gather: ", all.size(), " values for ", size_, " blocks of ", mine.size());
  count_sent(mine.size_bytes());
  const int count = count_of(mine.size(), "MPI_Allgather");
  check(MPI_Allgather(mine.data(), count, MPI_FLOAT, all.data(), count, MPI_FLOAT, communicator_),
        "MPI_Allgather");
}

void MpiCommunicator::all_to_all(std::span<const float> send, std::span<float> receive) {
  if (send.size() != receive.size() || send.size() % static_cast<std::size_t>(size_) != 0)
    fail("all_to_all: ", send.size(), " and ", receive.size(), " values for ", size_, " ranks");
  count_sent(send.size_bytes());
  const int block = count_of(send.size() / static_cast<std::size_t>(size_), "MPI_Alltoall");
  check(
      MPI_Alltoall(send.data(), block, MPI_FLOAT, receive.data(), block, MPI_FLOAT, communicator_),
      "MPI_Alltoall");
}

void MpiCommunicator::broadcast(std::span<std::byte> bytes, int root) {
  if (rank_ == root) count_sent(bytes.size());
  check(MPI_Bcast(bytes.data(), count_of(bytes.size(), "MPI_Bcast"), MPI_BYTE, root, communicator_),
        "MPI_Bcast");
}

std::unique_ptr<Communicator> MpiCommunicator::split(int color) {
  MPI_Comm part;
  check(MPI_Comm_split(communicator_, color, rank_, &part), "MPI_Comm_split");
  MPI_Comm_set_errhandler(part, MPI_ERRORS_RETURN);
  return std::make_unique<MpiCommunicator>(part);
}

}  // namespace llama4
