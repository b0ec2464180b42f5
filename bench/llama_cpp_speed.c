/* llama.cpp's prefill and decode speed on a GGUF file, for bench/decode_vs_llama_cpp.sh.
 *
 *   llama_cpp_speed MODEL.gguf BACKEND_DIR THREADS PROMPT_TOKENS NEW_TOKENS
 *
 * Loads the model on the CPU (the backends found in BACKEND_DIR), runs a prompt of PROMPT_TOKENS
 * ids (the same ids chapter08_model gets: 1 + 7·i mod V) as one batch, then NEW_TOKENS greedy
 * tokens one at a time, as chapter08_model --tokens ... -n NEW_TOKENS does, and prints
 * "prefill_tok_s decode_tok_s". Built against llama.cpp's llama.h by the script; not part of the
 * project's build. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ggml-backend.h"
#include "llama.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int argmax(const float* row, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (row[i] > row[best]) best = i;
  return best;
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s MODEL.gguf BACKEND_DIR THREADS PROMPT_TOKENS NEW_TOKENS\n", argv[0]);
    return 2;
  }
  const int threads = atoi(argv[3]), prompt = atoi(argv[4]), new_tokens = atoi(argv[5]);
  ggml_backend_load_all_from_path(argv[2]);
  llama_backend_init();
  llama_log_set(NULL, NULL);
  struct llama_model_params model_params = llama_model_default_params();
  model_params.n_gpu_layers = 0;
  struct llama_model* model = llama_model_load_from_file(argv[1], model_params);
  if (model == NULL) return 1;
  const int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  struct llama_context_params context_params = llama_context_default_params();
  context_params.n_ctx = (uint32_t)(prompt + new_tokens);
  context_params.n_batch = (uint32_t)prompt;
  context_params.n_ubatch = (uint32_t)prompt;
  context_params.n_threads = threads;
  context_params.n_threads_batch = threads;
  struct llama_context* context = llama_init_from_model(model, context_params);
  if (context == NULL) return 1;

  struct llama_batch batch = llama_batch_init(prompt, 0, 1);
  for (int i = 0; i < prompt; ++i) {
    batch.token[i] = (1 + 7 * i) % vocab;
    batch.pos[i] = i;
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = i == prompt - 1;
  }
  batch.n_tokens = prompt;
  const double prefill_start = now();
  if (llama_decode(context, batch) != 0) return 1;
  const double prefill_seconds = now() - prefill_start;

  int token = argmax(llama_get_logits_ith(context, prompt - 1), vocab);
  const double decode_start = now();
  for (int i = 0; i < new_tokens; ++i) {
    batch.token[0] = token;
    batch.pos[0] = prompt + i;
    batch.n_seq_id[0] = 1;
    batch.seq_id[0][0] = 0;
    batch.logits[0] = 1;
    batch.n_tokens = 1;
    if (llama_decode(context, batch) != 0) return 1;
    token = argmax(llama_get_logits_ith(context, 0), vocab);
  }
  const double decode_seconds = now() - decode_start;
  printf("%.2f %.2f\n", prompt / prefill_seconds, new_tokens / decode_seconds);
  llama_batch_free(batch);
  llama_free(context);
  llama_model_free(model);
  return 0;
}
