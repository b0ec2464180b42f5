#include "chapters/14_parallel/broadcast_input.hpp"

#include <cstdint>
#include <limits>
#include <span>

namespace llama4 {
namespace {

constexpr std::uint64_t kEndOfInput = std::numeric_limits<std::uint64_t>::max();

}  // namespace

BroadcastInput::BroadcastInput(Communicator& communicator)
    : communicator_(communicator), standard_input_(std::cin.rdbuf(this)) {}

BroadcastInput::~BroadcastInput() {
  std::cin.rdbuf(standard_input_);
}

BroadcastInput::int_type BroadcastInput::underflow() {
  // Rank 0: one line of the real input, with its newline (or the end of the input).
  std::uint64_t length = kEndOfInput;
  if (communicator_.rank() == 0) {
    std::istream input(standard_input_);
    if (std::getline(input, line_)) {
      if (!input.eof()) line_ += '\n';
      length = line_.size();
    }
  }
  communicator_.broadcast(std::as_writable_bytes(std::span(&length, 1)), 0);
  if (length == kEndOfInput) return traits_type::eof();
  line_.resize(static_cast<std::size_t>(length));
  communicator_.broadcast(std::as_writable_bytes(std::span(line_.data(), line_.size())), 0);
  if (line_.empty()) return traits_type::eof();
  setg(line_.data(), line_.data(), line_.data() + line_.size());
  return traits_type::to_int_type(line_.front());
}

}  // namespace llama4
