#include "common/model/batched_generation.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "common/model/sampler.hpp"
#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

// One place in the batch: the request it serves, its cache, and what it has generated.
struct Slot {
  std::size_t request = 0;
  KVCache cache;
  std::int32_t last = 0;  // the token the next decode step feeds
};

std::int32_t greedy(const Tensor& logits, std::int64_t row) {
  const std::int64_t vocab = logits.dim(1);
  return argmax({logits.data<float>() + row * vocab, static_cast<std::size_t>(vocab)});
}

}  // namespace

void check_generation_requests(std::span<const GenerationRequest> requests,
                               std::int64_t context_length) {
  for (std::size_t r = 0; r < requests.size(); ++r) {
    const GenerationRequest& request = requests[r];
    const auto prompt = static_cast<std::int64_t>(request.prompt.size());
    if (prompt == 0) fail("request ", r, ": the prompt is empty");
    if (request.max_new_tokens < 1) fail("request ", r, ": max_new_tokens must be at least 1");
    // The last new token is never fed back, so prompt + new - 1 positions are needed.
    if (prompt + request.max_new_tokens - 1 > context_length) {
      fail("request ", r, ": ", prompt, " prompt tokens and ", request.max_new_tokens,
           " new ones do not fit the context of ", context_length);
    }
  }
}

std::vector<std::vector<std::int32_t>> generate_batched(const Model& model,
                                                        std::span<const GenerationRequest> requests,
                                                        std::int64_t batch,
                                                        std::int64_t context_length,
                                                        std::span<const std::int32_t> stop_ids,
                                                        std::vector<RequestTimes>* times) {
  if (batch < 1) fail("generate_batched: the batch must hold at least 1 sequence, got ", batch);
  check_context_length(model.config(), context_length);
  check_generation_requests(requests, context_length);
  const auto start = std::chrono::steady_clock::now();
  const auto now = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::vector<RequestTimes> unused;
  std::vector<RequestTimes>& timeline = times ? *times : unused;
  timeline.assign(requests.size(), RequestTimes{});
  std::vector<std::vector<std::int32_t>> outputs(requests.size());
  const auto finished = [&](std::size_t r) {
    const std::vector<std::int32_t>& out = outputs[r];
    return static_cast<std::int64_t>(out.size()) >= requests[r].max_new_tokens ||
           std::find(stop_ids.begin(), stop_ids.end(), out.back()) != stop_ids.end();
  };

  std::vector<std::optional<Slot>> slots(static_cast<std::size_t>(batch));
  std::size_t next_request = 0;
  // A free slot takes the next waiting request: its prompt is prefilled alone, which gives its
  // first new token. A request done after that one token frees the slot again at once.
  const auto fill = [&](std::optional<Slot>& slot) {
    while (!slot && next_request < requests.size()) {
      const std::size_t r = next_request++;
      timeline[r].prefill_start = now();
      Slot fresh{r, model.make_cache(context_length), 0};
      const Tensor logits = model.forward(requests[r].prompt, fresh.cache, LogitRows::last);
      fresh.last = greedy(logits, 0);
      outputs[r].push_back(fresh.last);
      timeline[r].token_times.push_back(now());
      if (!finished(r)) slot = std::move(fresh);
    }
  };
  for (std::optional<Slot>& slot : slots) fill(slot);

  while (std::any_of(slots.begin(), slots.end(), [](const auto& s) { return s.has_value(); })) {
    // One decode step for every active slot, together.
    std::vector<std::int32_t> tokens;
    std::vector<KVCache*> caches;
    std::vector<std::optional<Slot>*> active;
    for (std::optional<Slot>& slot : slots) {
      if (!slot) continue;
      tokens.push_back(slot->last);
      caches.push_back(&slot->cache);
      active.push_back(&slot);
    }
    const Tensor logits = model.forward_batch(tokens, caches);  // [active, V]
    const double step_done = now();
    for (std::size_t i = 0; i < active.size(); ++i) {
      std::optional<Slot>& slot = *active[i];
      slot->last = greedy(logits, static_cast<std::int64_t>(i));
      outputs[slot->request].push_back(slot->last);
      timeline[slot->request].token_times.push_back(step_done);
      if (finished(slot->request)) {
        slot.reset();  // continuous batching: the slot goes to the next waiting request
        fill(slot);
      }
    }
  }
  return outputs;
}

}  // namespace llama4
