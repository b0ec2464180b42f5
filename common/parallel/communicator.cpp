#include "common/parallel/communicator.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/tensors/error.hpp"

namespace llama4 {

void SingleProcessCommunicator::all_gather(std::span<const float> mine, std::span<float> all) {
  if (all.size() != mine.size()) fail("all_gather: ", all.size(), " for ", mine.size(), " values");
  std::copy(mine.begin(), mine.end(), all.begin());
}

void SingleProcessCommunicator::all_to_all(std::span<const float> send, std::span<float> receive) {
  if (receive.size() != send.size())
    fail("all_to_all: ", receive.size(), " for ", send.size(), " values");
  std::copy(send.begin(), send.end(), receive.begin());
}

std::unique_ptr<Communicator> SingleProcessCommunicator::split(int) {
  return std::make_unique<SingleProcessCommunicator>();
}

void on_every_rank(Communicator& communicator, const std::function<void()>& work) {
  std::string message;
  bool failed = false;
  try {
    work();
  } catch (const Error& error) {
    message = error.what();
    failed = true;
  }
  // Which ranks failed: one flag per rank, gathered everywhere.
  const int ranks = communicator.size();
  const std::vector<float> mine = {failed ? 1.0f : 0.0f};
  std::vector<float> flags(static_cast<std::size_t>(ranks));
  communicator.all_gather(mine, flags);
  const auto first = std::find(flags.begin(), flags.end(), 1.0f);
  if (first == flags.end()) return;
  const int root = static_cast<int>(first - flags.begin());
  // The first failing rank's message, to everyone: its length, then its bytes.
  if (message.size() > 4096) message.resize(4096);
  std::uint64_t length = message.size();
  communicator.broadcast(std::as_writable_bytes(std::span(&length, 1)), root);
  message.resize(static_cast<std::size_t>(length));
  communicator.broadcast(std::as_writable_bytes(std::span(message.data(), message.size())), root);
  if (ranks == 1) fail(message);
  fail("rank ", root, ": ", message);
}

}  // namespace llama4
