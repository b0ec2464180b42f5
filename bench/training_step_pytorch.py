#!/usr/bin/env python3
"""The peer of bench_training: the same training step in PyTorch, timed.

    /usr/bin/python3 bench/training_step_pytorch.py [--config C] [--batch 16] [--sequence 256]
                                                   [--threads 2] [--steps 5]

The model is golden/reference.py's Llama 4 (PyTorch, float32, autograd) built from the same
config with random weights, run on the whole batch at once: every projection, norm and expert is
one product over all B·T rows (reference.py's own functions), and attention is batched below
(reference.py's forward takes one sequence at a time, which would give PyTorch products of T rows
only). One step is what chapter11_train does: the mean cross-entropy of B sequences of T+1 random
ids, backward, clipping by global norm, torch.optim.AdamW. Before timing, the batched loss is
checked against reference.training_loss on the same batch. Prints one JSON line: tokens per
second (the median of --steps timed steps, after one untimed step).
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "golden"))
import generate  # noqa: E402  (weight_specs: every tensor name and shape of a config)
import reference  # noqa: E402


def batched_attention(cfg, w, layer, x, inv_freq):
    # x: [B, T, H] (input_layernorm-ed) -> [B, T, H]; reference.attention for B sequences at once.
    p = f"model.layers.{layer}.self_attn."
    B, T, _ = x.shape
    nh, nkv, D = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    q = (x @ w[p + "q_proj.weight"].T).reshape(B, T, nh, D)
    k = (x @ w[p + "k_proj.weight"].T).reshape(B, T, nkv, D)
    v = (x @ w[p + "v_proj.weight"].T).reshape(B, T, nkv, D)
    positions = torch.arange(T)
    if cfg.use_rope[layer]:
        q = reference.apply_rope(q, positions, inv_freq)  # broadcasts over B
        k = reference.apply_rope(k, positions, inv_freq)
        if cfg.use_qk_norm:
            q = reference.unit_rms_norm(q, cfg.rms_norm_eps)
            k = reference.unit_rms_norm(k, cfg.rms_norm_eps)
    elif cfg.attn_temperature_tuning:
        q = q * reference.attention_temperature(positions, cfg.floor_scale, cfg.attn_scale)[:, None, None]
    if cfg.layer_types[layer] == "chunked_attention" and cfg.attention_chunk_size is not None:
        allowed = reference.chunked_causal_mask(positions, positions, cfg.attention_chunk_size)
    else:
        allowed = reference.causal_mask(positions, positions)  # [T, T]
    kv_head = torch.arange(nh) // (nh // nkv)
    scores = (q.transpose(1, 2) @ k[:, :, kv_head, :].permute(0, 2, 3, 1)) * (D ** -0.5)  # [B, nh, T, T]
    probs = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
    context = (probs @ v[:, :, kv_head, :].transpose(1, 2)).transpose(1, 2).reshape(B, T, nh * D)
    return context @ w[p + "o_proj.weight"].T


def batched_loss(model, batch):
    # batch: [B, T+1] ids -> mean cross-entropy of predicting ids 1..T from the ids before them.
    cfg, w = model.cfg, model.w
    tokens = torch.as_tensor(batch, dtype=torch.int64)
    B, T = tokens.shape[0], tokens.shape[1] - 1
    x = w["model.embed_tokens.weight"][tokens[:, :-1].reshape(-1)]  # [B*T, H]
    for layer in range(cfg.num_hidden_layers):
        p = f"model.layers.{layer}."
        attn_in = reference.rms_norm(x, w[p + "input_layernorm.weight"], cfg.rms_norm_eps)
        x = x + batched_attention(cfg, w, layer, attn_in.reshape(B, T, -1), model.inv_freq).reshape(B * T, -1)
        ffn_in = reference.rms_norm(x, w[p + "post_attention_layernorm.weight"], cfg.rms_norm_eps)
        ffn = reference.moe_layer if layer in cfg.moe_layers else reference.dense_mlp
        x = x + ffn(cfg, w, layer, ffn_in)
    logits = reference.rms_norm(x, w["model.norm.weight"], cfg.rms_norm_eps) @ w["lm_head.weight"].T
    return F.cross_entropy(logits, tokens[:, 1:].reshape(-1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.path.join(ROOT, "chapters/11_training/configs/bible.json"))
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--sequence", type=int, default=256)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    with open(args.config) as f:
        cfg = reference.parse_config(json.load(f))
    rng = np.random.default_rng(1)
    params = {}
    for name, shape, kind in generate.weight_specs(cfg):
        values = np.ones(shape) if kind == "norm" else 0.02 * rng.standard_normal(shape)
        params[name] = torch.from_numpy(values.astype(np.float32)).requires_grad_(True)
    model = reference.Llama4Text(cfg, params)
    optimizer = torch.optim.AdamW(list(params.values()), lr=1e-4, betas=(0.9, 0.95), eps=1e-8,
                                  weight_decay=0.1)
    ranks = cfg.vocab_size - 2048  # ids of ordinary tokens, not special ones
    batch = np.stack([rng.integers(0, ranks, size=args.sequence + 1) for _ in range(args.batch)])

    with torch.no_grad():  # checked before timed
        ours, theirs = float(batched_loss(model, batch)), float(reference.training_loss(model, list(batch)))
    if abs(ours - theirs) > 1e-5 * abs(theirs):
        raise SystemExit(f"batched loss {ours} differs from reference.training_loss {theirs}")

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = batched_loss(model, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        optimizer.step()
        return loss.item()

    torch.set_grad_enabled(True)
    step()  # untimed: first-touch allocations
    seconds = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    print(json.dumps({"implementation": "pytorch", "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "batch": args.batch,
                      "sequence": args.sequence, "step_seconds": median,
                      "tokens_per_second": args.batch * args.sequence / median}))


if __name__ == "__main__":
    main()
