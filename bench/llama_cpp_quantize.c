/* llama.cpp's own quantizer, for bench/decode_vs_llama_cpp.sh: a bf16 GGUF in, a Q8_0 or Q4_0 GGUF
 * out, every matrix in that one format ("pure": no Q6_K output layer as llama-quantize would
 * choose), so that llama.cpp and chapter08_model read the same bytes.
 *
 *   llama_cpp_quantize IN.gguf OUT.gguf q8_0|q4_0
 *
 * Built against llama.cpp's llama.h by the script; not part of the project's build. */
#include <stdio.h>
#include <string.h>

#include "llama.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s IN.gguf OUT.gguf q8_0|q4_0\n", argv[0]);
    return 2;
  }
  llama_backend_init();
  llama_log_set(NULL, NULL);
  llama_model_quantize_params params = llama_model_quantize_default_params();
  params.ftype = strcmp(argv[3], "q8_0") == 0 ? LLAMA_FTYPE_MOSTLY_Q8_0 : LLAMA_FTYPE_MOSTLY_Q4_0;
  params.pure = true;
  params.nthread = 2;
  return llama_model_quantize(argv[1], argv[2], &params) == 0 ? 0 : 1;
}
