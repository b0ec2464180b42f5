// --perplexity FILE: how well the model predicts a text, exp(mean -log p(next token)).
//
// The text is cut into windows of --ctx tokens, each run from an empty cache
// (common/model/generation.hpp). The number to watch when comparing a quantized model with the
// original.
#include <iostream>

#include "chapters/08_model/modes.hpp"

namespace llama4 {

int measure_perplexity(InferenceSession& session, const Tokenizer& tokenizer,
                       const std::string& path) {
  const std::vector<std::int32_t> ids = tokenizer.encode(read_text_file(path), {.bos = true});
  const PerplexityResult result = perplexity(session, ids);
  std::cout << "perplexity " << result.perplexity << " over " << result.predicted_tokens
            << " predicted tokens (" << result.mean_negative_log_likelihood
            << " nats per token, windows of " << session.context_length() << ")\n";
  return 0;
}

}  // namespace llama4
