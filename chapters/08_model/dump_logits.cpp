// --dump-logits OUT.bin (with --tokens): the logits of one forward pass, for scripts.
//
// The file holds float32 [n_tokens, vocab], row-major, and nothing else; standard output stays
// empty, so a script can compare the file with another implementation's logits directly.
#include "chapters/08_model/modes.hpp"
#include "common/model/generation.hpp"
#include "common/tensors/atomic_file.hpp"

namespace llama4 {

int dump_logits(InferenceSession& session, const std::vector<std::int32_t>& ids,
                const std::string& path) {
  const Tensor logits = session.forward(ids, LogitRows::all);  // logits: [ids, vocab] f32
  check_logits_are_finite(logits, 0);
  AtomicFile out(path);  // a failed write leaves no partial file
  out.write(logits.data<float>(), logits.nbytes());
  out.commit();
  return 0;
}

}  // namespace llama4
