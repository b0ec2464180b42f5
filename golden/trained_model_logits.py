#!/usr/bin/env python3
"""The reference logits of chapter 11's trained model, for checking chapter 08 against them.

    /usr/bin/python3 golden/trained_model_logits.py      # writes golden/data/logits-llama4-bible.safetensors

golden/llama4-bible/ was trained by our C++ code (chapter 11), so it cannot check itself. This
script runs that checkpoint through golden/reference.py, an independent implementation in PyTorch,
on a validation chapter the model never trained on (Genesis 10 in the King James text of
golden/tokenizer/bible-cases.json, whose ids npm tiktoken produced: no C++ is involved). The
passage is 300 tokens after BOS, so it crosses chunk boundaries (every 64 positions), the NoPE
layer's temperature threshold (floor_scale 64) and the training length (256).

It writes:
  tokens             I32 [T]          BOS + the passage's ids
  positions          I32 [K]          the positions whose full logits are kept
  logits             F32 [K, V]       the logits at those positions
  next_token_log_probability  F32 [T-1]  log p(tokens[t+1] | tokens[..t]) at every position
  mean_negative_log_likelihood F32 []   their mean negated: log of the passage's perplexity
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402

PASSAGE_TOKENS = 300
KEPT_POSITIONS = [0, 1, 31, 63, 64, 65, 127, 128, 200, 255, 256, 299]


def passage_ids(cases_path):
    """The ids of the first validation chapter in bible-cases.json that is long enough."""
    with open(cases_path) as f:
        cases = json.load(f)
    for case in cases["cases"]:
        if case["kind"] == "chapter" and len(case["ids"]) >= PASSAGE_TOKENS:
            return case["text"][:40], case["ids"][:PASSAGE_TOKENS], cases["bos_id"]
    raise SystemExit(f"{cases_path}: no chapter case with {PASSAGE_TOKENS} ids")


def main():
    root = os.path.dirname(HERE)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.path.join(root, "golden", "llama4-bible"))
    parser.add_argument("--cases", default=os.path.join(root, "golden", "tokenizer", "bible-cases.json"))
    parser.add_argument("--out", default=os.path.join(HERE, "data", "logits-llama4-bible.safetensors"))
    args = parser.parse_args()

    torch.set_num_threads(1)  # a fixed reduction order: the same bits every run
    begins, ids, bos = passage_ids(args.cases)
    tokens = [bos] + ids  # [T], T = 301
    model = reference.Llama4Text.from_pretrained(args.model)
    logits = model.forward(tokens, 0, model.new_cache())  # [T, V] f32
    log_probs = torch.log_softmax(logits.double(), dim=-1)  # [T, V]
    next_ids = torch.as_tensor(tokens[1:], dtype=torch.int64)
    next_log_prob = log_probs[:-1].gather(1, next_ids[:, None])[:, 0]  # [T-1]
    mean_nll = float(-next_log_prob.mean())

    with open(os.path.join(args.model, "model.safetensors"), "rb") as f:
        model_sha = hashlib.sha256(f.read()).hexdigest()
    tensors = {
        "tokens": np.asarray(tokens, dtype=np.int32),
        "positions": np.asarray(KEPT_POSITIONS, dtype=np.int32),
        "logits": logits[KEPT_POSITIONS].numpy().astype(np.float32),
        "next_token_log_probability": next_log_prob.numpy().astype(np.float32),
        "mean_negative_log_likelihood": np.asarray(mean_nll, dtype=np.float32),
    }
    write_safetensors(args.out, tensors)
    print(f"passage \"{begins}...\": {len(tokens)} tokens, perplexity {np.exp(mean_nll):.3f} "
          f"({mean_nll:.4f} nats per token); model.safetensors sha256 {model_sha[:16]}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
