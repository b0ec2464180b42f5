// --dump-logits OUT.bin (with --tokens): the logits of one forward pass, for scripts.
//
// The file holds float32 [n_tokens, vocab], row-major, and nothing else; standard output stays
// empty, so a script can compare the file with another implementation's logits directly.
#include <fstream>

#include "chapters/08_model/modes.hpp"
#include "common/tensors/error.hpp"

namespace llama4 {

int dump_logits(InferenceSession& session, const std::vector<std::int32_t>& ids,
                const std::string& path) {
  const Tensor logits = session.forward(ids, LogitRows::all);  // logits: [ids, vocab] f32
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(logits.data<float>()),
            static_cast<std::streamsize>(logits.nbytes()));
  if (!out) fail("writing ", path, " failed");
  return 0;
}

}  // namespace llama4
