/* llama.cpp's logits for a list of token ids, for golden/check_llama_cpp_gguf.py.
 *
 *   llama_cpp_logits MODEL.gguf BACKEND_DIR OUT.bin ID ID ID ...
 *
 * Loads MODEL.gguf with llama.cpp (the CPU backends found in BACKEND_DIR), runs the ids as one
 * batch from position 0 and writes float32 logits [n_ids, n_vocab], row-major, to OUT.bin.
 * Built against llama.cpp's llama.h by the check script; not part of the project's build. */
#include <stdio.h>
#include <stdlib.h>

#include "ggml-backend.h"
#include "llama.h"

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s MODEL.gguf BACKEND_DIR OUT.bin ID...\n", argv[0]);
    return 2;
  }
  const int n = argc - 4;
  ggml_backend_load_all_from_path(argv[2]);
  llama_backend_init();
  struct llama_model_params model_params = llama_model_default_params();
  model_params.n_gpu_layers = 0;
  struct llama_model* model = llama_model_load_from_file(argv[1], model_params);
  if (model == NULL) {
    fprintf(stderr, "llama.cpp could not load %s\n", argv[1]);
    return 1;
  }
  struct llama_context_params context_params = llama_context_default_params();
  context_params.n_ctx = (uint32_t)n;
  context_params.n_batch = (uint32_t)n;
  context_params.n_ubatch = (uint32_t)n;
  context_params.n_threads = 2;
  context_params.n_threads_batch = 2;
  context_params.type_k = GGML_TYPE_F32;  /* the default f16 cache would round keys and values */
  context_params.type_v = GGML_TYPE_F32;
  context_params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  struct llama_context* context = llama_init_from_model(model, context_params);
  if (context == NULL) {
    fprintf(stderr, "llama.cpp could not make a context\n");
    return 1;
  }
  struct llama_batch batch = llama_batch_init(n, 0, 1);
  for (int i = 0; i < n; ++i) {
    batch.token[i] = atoi(argv[4 + i]);
    batch.pos[i] = i;
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = 1;
  }
  batch.n_tokens = n;
  if (llama_decode(context, batch) != 0) {
    fprintf(stderr, "llama_decode failed\n");
    return 1;
  }
  const int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  FILE* out = fopen(argv[3], "wb");
  if (out == NULL) return 1;
  for (int i = 0; i < n; ++i) fwrite(llama_get_logits_ith(context, i), sizeof(float), (size_t)vocab, out);
  fclose(out);
  llama_batch_free(batch);
  llama_free(context);
  llama_model_free(model);
  return 0;
}
