#!/usr/bin/env python3
"""Golden data for chapter 13: supervised fine-tuning and LoRA on the golden tiny model, by autograd.

    /usr/bin/python3 golden/finetuning.py     # writes golden/data/finetuning-tiny.safetensors

Three short "conversations" (random token ids) with a flag per token saying whether it is trained
(an assistant's words), run through golden/reference.py EACH ON ITS OWN from position 0, as a
conversation runs at inference. The C++ side packs all three into one training sequence and must
get the same numbers: packing (positions restarting, no attention across conversations, the masked
mean) is checked against conversations that were never packed.

The loss: the mean, over the trained targets of all three conversations, of -log p(target):

    loss = sum_c sum_k trained_c[k+1] * CE(logits_c[k], tokens_c[k+1]) / sum_c sum_k trained_c[k+1]

Written tensors (weight names canonical: model.*, lm_head.weight):
  conversation.<c>.tokens, conversation.<c>.trained     I32 [n_c]     c = 0, 1, 2
  sft.loss                                              F32 [1]
  sft.grad.<weight>                                     every weight's gradient
  sft.step.<weight>                                     every weight after one AdamW step (ADAMW)
  lora.<stem>.lora_A.weight, lora.<stem>.lora_B.weight  the adapter (rank LORA_RANK, alpha
                                                        LORA_ALPHA, on q/k/v/o and gate/up/down of
                                                        the dense and shared-expert MLPs); B is NOT
                                                        zero, so the adapter changes the logits
  lora.loss, lora.grad.<stem>.lora_{A,B}.weight         the same loss with the adapter, and the
                                                        adapter's gradients (base weights frozen)
  lora.step.<stem>.lora_{A,B}.weight                    the adapter after one AdamW step
  lora.logits.0                                         conversation 0's logits with the adapter,
                                                        computed UNMERGED (x W^T + s (x A^T) B^T)
"""
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference as ref  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402

SEED = 20251205
LENGTHS = [14, 9, 19]  # conversation lengths: 14 + 9 + 19 = 42 slots, chunks of 8 straddled
LORA_RANK = 4
LORA_ALPHA = 8.0
LORA_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
ADAMW = {"learning_rate": 1e-2, "beta1": 0.9, "beta2": 0.95, "epsilon": 1e-8, "weight_decay": 0.1,
         "max_gradient_norm": 1.0}


def conversations(rng, vocab):
    """Token ids and trained flags: a prompt, an answer (trained), and in the last conversation a
    second user turn and a second answer, as a two-turn chat has."""
    out = []
    for c, n in enumerate(LENGTHS):
        tokens = rng.integers(3, vocab, size=n).astype(np.int64)
        trained = np.zeros(n, dtype=np.int32)
        trained[n - 5:] = 1  # the last answer and its end-of-turn token
        if c == 2:
            trained[6:9] = 1  # an earlier answer
        out.append((tokens, trained))
    return out


def masked_loss(model, convs):
    total, count = 0.0, 0
    for tokens, trained in convs:
        logits = model.forward_differentiable(tokens[:-1], 0, model.new_cache())  # [n-1, V]
        targets = torch.as_tensor(tokens[1:])
        per_position = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
        mask = torch.as_tensor(trained[1:], dtype=torch.float32)
        total = total + (per_position * mask).sum()
        count += int(trained[1:].sum())
    return total / count


def adamw_step(params, decays):
    a = ADAMW
    groups = [{"params": [p for n, p in params.items() if decays(n, p)], "weight_decay": a["weight_decay"]},
              {"params": [p for n, p in params.items() if not decays(n, p)], "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    optimizer = torch.optim.AdamW(groups, lr=a["learning_rate"], betas=(a["beta1"], a["beta2"]),
                                  eps=a["epsilon"])
    torch.nn.utils.clip_grad_norm_(list(params.values()), a["max_gradient_norm"])
    optimizer.step()


def lora_targets(weights):
    # The nn.Linear weights whose module name is in LORA_MODULES (the routed experts are 3-D
    # parameters, not modules, and are never adapted).
    return sorted(n for n in weights if n.endswith(".weight") and ".experts." not in n
                  and n[:-len(".weight")].rsplit(".", 1)[-1] in LORA_MODULES)


def generate(out_path):
    torch.set_num_threads(1)  # fixed reduction order -> byte-identical reruns
    model_dir = os.path.join(HERE, "data", "tiny")
    base = ref.Llama4Text.from_pretrained(model_dir)
    cfg = base.cfg
    rng = np.random.default_rng(SEED)
    convs = conversations(rng, cfg.vocab_size)
    out = {}
    for c, (tokens, trained) in enumerate(convs):
        out[f"conversation.{c}.tokens"] = tokens.astype(np.int32)
        out[f"conversation.{c}.trained"] = trained.astype(np.int32)

    # Supervised fine-tuning: every weight trained.
    torch.set_grad_enabled(True)
    weights = {n: t.detach().clone() for n, t in base.w.items() if n != "lm_head.weight" or not cfg.tie_word_embeddings}
    params = {n: t.clone().requires_grad_(True) for n, t in weights.items()}
    model = ref.Llama4Text(cfg, params)
    loss = masked_loss(model, convs)
    loss.backward()
    out["sft.loss"] = np.array([loss.item()], dtype=np.float32)
    out.update({f"sft.grad.{n}": p.grad.numpy().astype(np.float32).copy() for n, p in params.items()})
    adamw_step(params, ref.decays)
    out.update({f"sft.step.{n}": p.detach().numpy().astype(np.float32).copy() for n, p in params.items()})

    # LoRA: the base frozen, an adapter on every target, computed unmerged by reference.project.
    frozen = {n: t.clone() for n, t in weights.items()}
    scale = LORA_ALPHA / LORA_RANK
    adapter = {}
    for name in lora_targets(frozen):
        stem = name[:-len(".weight")]
        out_features, in_features = frozen[name].shape
        bound = 1.0 / np.sqrt(in_features)
        a = rng.uniform(-bound, bound, size=(LORA_RANK, in_features)).astype(np.float32)
        b = (rng.standard_normal(size=(out_features, LORA_RANK)) * 0.05).astype(np.float32)
        adapter[stem + ".lora_A.weight"] = torch.from_numpy(a).requires_grad_(True)
        adapter[stem + ".lora_B.weight"] = torch.from_numpy(b).requires_grad_(True)
    for n, t in adapter.items():
        out[f"lora.{n}"] = t.detach().numpy().copy()
    model = ref.Llama4Text(cfg, dict(frozen, lora_scale=scale, **adapter))
    loss = masked_loss(model, convs)
    loss.backward()
    out["lora.loss"] = np.array([loss.item()], dtype=np.float32)
    out.update({f"lora.grad.{n}": t.grad.numpy().astype(np.float32).copy() for n, t in adapter.items()})
    with torch.no_grad():
        logits = model.forward(convs[0][0], 0, model.new_cache())
    out["lora.logits.0"] = logits.numpy().astype(np.float32)
    adamw_step(adapter, lambda n, p: False)  # adapters: no weight decay
    out.update({f"lora.step.{n}": t.detach().numpy().copy() for n, t in adapter.items()})

    write_safetensors(out_path, out)
    print(f"wrote {out_path}: {len(out)} tensors; sft.loss {out['sft.loss'][0]:.6f}, "
          f"lora.loss {out['lora.loss'][0]:.6f}, {len(adapter)} adapter matrices")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(HERE, "data", "finetuning-tiny.safetensors"))
    generate(parser.parse_args().out)


if __name__ == "__main__":
    main()
