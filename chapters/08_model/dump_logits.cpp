// --dump-logits OUT.bin (with --tokens): the logits of every position, for scripts.
//
// The file holds float32 [n_tokens, vocab], row-major, and nothing else; standard output stays
// empty, so a script can compare the file with another implementation's logits directly.
//
// --prefill-tokens N runs the first N ids in one forward pass and then each later id alone, through
// the KV cache, as generation does: the rows must be the same as one pass over all the ids (up to
// the order of sums), so comparing the two files checks the cache and the decode path.
#include "chapters/08_model/modes.hpp"
#include "common/model/generation.hpp"
#include "common/tensors/atomic_file.hpp"
#include "common/tensors/error.hpp"

namespace llama4 {

int dump_logits(InferenceSession& session, const std::vector<std::int32_t>& ids,
                std::optional<std::int64_t> prefill, const std::string& path) {
  const std::int64_t count = std::ssize(ids);
  const std::int64_t first = prefill.value_or(count);
  if (first > count) fail("--prefill-tokens ", first, " is more than the ", count, " ids given");
  AtomicFile out(path);  // a failed write (or run) leaves no partial file
  const auto write = [&](std::span<const std::int32_t> part) {
    const std::int64_t position = session.position();
    const Tensor logits = session.forward(part, LogitRows::all);  // [part, vocab] f32
    check_logits_are_finite(logits, position);
    out.write(logits.data<float>(), logits.nbytes());
  };
  write(std::span(ids).first(static_cast<std::size_t>(first)));
  for (std::int64_t t = first; t < count; ++t)
    write(std::span(ids).subspan(static_cast<std::size_t>(t), 1));
  out.commit();
  return 0;
}

}  // namespace llama4
