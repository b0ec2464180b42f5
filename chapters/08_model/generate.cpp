// Generation: the prompt continued, token by token, printed as it comes.
//
// With a tokenizer the tokens are decoded to text as they arrive (Utf8StreamDecoder holds back half
// a character until the rest comes); without one (a tiny model given --tokens) the ids are printed.
// The timing line goes to standard error.
#include <iostream>

#include "chapters/08_model/modes.hpp"
#include "common/tokenizer/utf8_stream_decoder.hpp"

namespace llama4 {

int generate_text(InferenceSession& session, const std::optional<Tokenizer>& tokenizer,
                  const std::vector<std::int32_t>& prompt, const ProgramOptions& options,
                  double load_seconds) {
  Sampler sampler(options.sampling);
  std::optional<Utf8StreamDecoder> decoder;
  if (tokenizer) decoder.emplace(*tokenizer);
  // Without a tokenizer, the config's end-of-sequence ids are the stop tokens.
  const std::vector<std::int32_t> stop_ids =
      tokenizer ? tokenizer->stop_ids()
                : std::vector<std::int32_t>(session.config().eos_token_ids.begin(),
                                            session.config().eos_token_ids.end());
  // The prompt first (when it was given as text), so the continuation reads on from it.
  if (decoder && options.prompt) std::cout << *options.prompt << std::flush;
  const GenerationResult result =
      generate(session, sampler, prompt, options.max_new_tokens, stop_ids, [&](std::int32_t id) {
        if (decoder) {
          std::cout << decoder->push(id);
        } else {
          std::cout << id << ' ';
        }
        std::cout.flush();
        return true;
      });
  if (decoder) std::cout << decoder->flush();
  std::cout << '\n';
  if (result.reason == StopReason::context_full)
    std::cerr << "(stopped: the context of " << session.context_length() << " tokens is full)\n";
  print_timing(session, load_seconds, result.stats);
  return 0;
}

}  // namespace llama4
