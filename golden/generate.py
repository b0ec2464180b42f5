#!/usr/bin/env python3
"""Build the tiny Llama 4 checkpoints and the golden activations the C++ tests compare against.

    /usr/bin/python3 golden/generate.py                     # writes golden/data/
    /usr/bin/python3 golden/generate.py --out DIR           # writes DIR/
    python golden/generate.py --check-transformers          # compare golden/data with HF transformers

Everything is deterministic: weights and token ids come from numpy.random.default_rng (stable across
numpy versions), never from torch's RNG; torch runs single-threaded; JSON is written with sorted keys
and fixed formatting; safetensors files are written by golden/safetensors_io.py with sorted tensors.
Two runs produce byte-identical files (manifest.json lists their sha256).
See golden/README.md for the data layout and the tolerances.
"""

import argparse
import hashlib
import json
import os
import platform
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True  # keep golden/ free of __pycache__ (there is no .gitignore for it)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as ref  # noqa: E402
from safetensors_io import read_safetensors, round_to_bf16, write_safetensors  # noqa: E402

# ----------------------------------------------------------------------------------------------
# Fixed inputs
# ----------------------------------------------------------------------------------------------

TOKEN_SEED = 20250405  # token ids of the `full` and `offset` cases (shared by both models)
TINY_BASE_SEED = 1000  # weights: first seed tried; the next one is tried while there are near-ties
MAVERICK_BASE_SEED = 2000
MAX_SEED_TRIES = 100
MIN_MARGIN = 1e-3  # required top-1 vs top-2 gap of router logits and of greedy logits
FIRST_RANDOM_TOKEN = 3  # ids 0, 1, 2 are pad, bos, eos

# Internal self-consistency bounds (fp32 vs fp32 of the same code, different batching only).
CACHE_TOLERANCE = 1e-5  # decode/offset vs one-call runs, max |diff| relative to max(1, max|value|)
DENSE_MOE_TOLERANCE = 1e-5  # sparse gather vs dense all-experts MoE

ROPE_SCALING_TINY = {
    "rope_type": "llama3",
    "factor": 16.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 64,
}

# Spec §6 tiny Scout-style text config (all fields a released text_config carries).
TINY_TEXT_CONFIG = {
    "model_type": "llama4_text",
    "vocab_size": 512,
    "hidden_size": 64,
    "intermediate_size": 32,
    "intermediate_size_mlp": 96,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "hidden_act": "silu",
    "max_position_embeddings": 128,
    "initializer_range": 0.02,
    "rms_norm_eps": 1e-5,
    "use_cache": True,
    "pad_token_id": 0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "tie_word_embeddings": False,
    "rope_theta": 10000.0,
    "rope_scaling": ROPE_SCALING_TINY,
    "attention_bias": False,
    "attention_dropout": 0.0,
    "num_local_experts": 4,
    "num_experts_per_tok": 1,
    "interleave_moe_layer_step": 2,
    "moe_layers": [1, 3],
    "output_router_logits": False,
    "router_aux_loss_coef": 0.001,
    "router_jitter_noise": 0.0,
    "use_qk_norm": True,
    "no_rope_layer_interval": 4,
    "no_rope_layers": [1, 1, 1, 0],  # 1 = uses RoPE: layers 0-2 RoPE + chunked, layer 3 NoPE + global
    "attention_chunk_size": 8,
    "attn_temperature_tuning": True,
    "floor_scale": 4,
    "attn_scale": 0.1,
    "torch_dtype": "bfloat16",
}

# A small but plausible Llama4VisionConfig (never used: the vision tower is out of scope).
TINY_VISION_CONFIG = {
    "model_type": "llama4_vision_model",
    "hidden_size": 32,
    "hidden_act": "gelu",
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_channels": 3,
    "intermediate_size": 64,
    "vision_output_dim": 64,
    "image_size": 28,
    "patch_size": 14,
    "norm_eps": 1e-5,
    "vision_feature_layer": -1,
    "vision_feature_select_strategy": "default",
    "initializer_range": 0.02,
    "pixel_shuffle_ratio": 0.5,
    "projector_input_dim": 64,
    "projector_output_dim": 64,
    "multi_modal_projector_bias": False,
    "projector_dropout": 0.0,
    "attention_dropout": 0.0,
    "rope_theta": 10000,
    "torch_dtype": "bfloat16",
}


def tiny_config_json():
    """Nested multimodal Llama4Config, like the released Scout config.json."""
    return {
        "architectures": ["Llama4ForConditionalGeneration"],
        "model_type": "llama4",
        "boi_token_index": 500,  # image ids inside the tiny vocabulary (real: 200080/200081/200092)
        "eoi_token_index": 501,
        "image_token_index": 502,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "text_config": dict(TINY_TEXT_CONFIG),
        "vision_config": dict(TINY_VISION_CONFIG),
    }


def maverick_config_json():
    """Bare llama4_text config (Llama4ForCausalLM) in the Maverick style.

    Same sizes; no qk-norm, no RoPE scaling. It also exercises the config-parsing traps with
    values that mean the same thing as the tiny config: `no_rope_layers: []` (empty = default
    pattern [1,1,1,0]), no `moe_layers` (derived from interleave_moe_layer_step 2 -> [1, 3]) and
    `attn_temperature_tuning: 4` (a truthy int, as in the shipped Scout config).
    """
    text = dict(TINY_TEXT_CONFIG)
    text.update({
        "architectures": ["Llama4ForCausalLM"],
        "use_qk_norm": False,
        "rope_scaling": None,
        "no_rope_layers": [],
        "attn_temperature_tuning": 4,
    })
    del text["moe_layers"]
    return text


# ----------------------------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------------------------


def weight_specs(cfg):
    """[(canonical name, shape, kind)] in model order; kind is 'norm' or the fan-in of a matrix."""
    H, V = cfg.hidden_size, cfg.vocab_size
    nh, nkv, D = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    E, I, Imlp = cfg.num_local_experts, cfg.intermediate_size, cfg.intermediate_size_mlp
    specs = [("model.embed_tokens.weight", (V, H), "embedding")]
    for l in range(cfg.num_hidden_layers):
        p = f"model.layers.{l}."
        specs += [
            (p + "input_layernorm.weight", (H,), "norm"),
            (p + "self_attn.q_proj.weight", (nh * D, H), H),
            (p + "self_attn.k_proj.weight", (nkv * D, H), H),
            (p + "self_attn.v_proj.weight", (nkv * D, H), H),
            (p + "self_attn.o_proj.weight", (H, nh * D), nh * D),
            (p + "post_attention_layernorm.weight", (H,), "norm"),
        ]
        f = p + "feed_forward."
        if l in cfg.moe_layers:
            specs += [
                (f + "router.weight", (E, H), H),
                (f + "experts.gate_up_proj", (E, H, 2 * I), H),  # input-major, gate | up
                (f + "experts.down_proj", (E, I, H), I),
                (f + "shared_expert.gate_proj.weight", (I, H), H),
                (f + "shared_expert.up_proj.weight", (I, H), H),
                (f + "shared_expert.down_proj.weight", (H, I), I),
            ]
        else:
            specs += [
                (f + "gate_proj.weight", (Imlp, H), H),
                (f + "up_proj.weight", (Imlp, H), H),
                (f + "down_proj.weight", (H, Imlp), Imlp),
            ]
    specs += [("model.norm.weight", (H,), "norm"), ("lm_head.weight", (V, H), H)]
    return specs


def make_weights(cfg, seed):
    """Seeded weights, already rounded to bf16 (so the checkpoint holds exactly these values).

    std 1/sqrt(fan_in) (0.10-0.18 here) keeps activations O(1); HF's 0.02 would give near-zero
    activations and near-tied router logits. Embedding std 1 so the residual stream is O(1).
    Norm weights 1 + 0.1 N(0,1) so that a forgotten weight multiply is caught.
    """
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape, kind in weight_specs(cfg):
        noise = rng.standard_normal(shape)  # float64, stable stream
        if kind == "norm":
            values = 1.0 + 0.1 * noise
        elif kind == "embedding":
            values = noise
        else:
            values = noise / np.sqrt(kind)
        weights[name] = round_to_bf16(values.astype(np.float32))
    return weights


def to_torch(weights):
    return {name: torch.from_numpy(array.copy()) for name, array in weights.items()}


# ----------------------------------------------------------------------------------------------
# Running cases
# ----------------------------------------------------------------------------------------------


def run_calls(model, tokens, calls, probs_call=None):
    """Run `calls` ([start, length] pairs, contiguous) with one KV cache.

    Returns (merged, per_call): merged concatenates the rows of every call (row t = position t),
    except attn_probs which come from call `probs_call` only.
    """
    cache = model.new_cache()
    per_call = []
    for i, (start, length) in enumerate(calls):
        rec = ref.Recorder(record_attn_probs=(i == probs_call))
        model.forward(tokens[start:start + length], start, cache, rec)
        per_call.append(rec.tensors)
    merged = {}
    for name in per_call[0]:
        if not name.endswith(".attn_probs"):
            merged[name] = np.concatenate([c[name] for c in per_call], axis=0)
    if probs_call is not None:
        merged.update({n: a for n, a in per_call[probs_call].items() if n.endswith(".attn_probs")})
    return merged, per_call


def run_greedy(model, prompt, n_new):
    """Greedy decoding with the KV cache: prefill the prompt, then feed back one token per call."""
    cache = model.new_cache()
    calls, per_call, new_tokens, rows = [[0, len(prompt)]], [], [], []
    rec = ref.Recorder()
    logits = model.forward(prompt, 0, cache, rec)
    per_call.append(rec.tensors)
    for step in range(n_new):
        row = logits[-1]  # [V] logits of the last position
        token = int(torch.argmax(row))
        new_tokens.append(token)
        rows.append(row.numpy().copy())
        if step == n_new - 1:
            break
        position = len(prompt) + step
        calls.append([position, 1])
        rec = ref.Recorder()
        logits = model.forward([token], position, cache, rec)
        per_call.append(rec.tensors)
    return {"tokens": np.array(new_tokens, dtype=np.int32), "logits": np.stack(rows), "calls": calls,
            "per_call": per_call}


def case_plan(model_name, tokens):
    """The cases of spec §6 as {name: (token array, calls, call whose attn_probs are kept)}."""
    full, offset = tokens["full"], tokens["offset"]
    plan = {
        "full": (full, [[0, len(full)]], 0),
        "decode": (full, [[0, 10]] + [[p, 1] for p in range(10, len(full))], None),
    }
    if model_name == "tiny":
        plan["offset"] = (offset, [[0, 5], [5, 7]], 1)
    return plan


def run_model(model, model_name, tokens):
    """All cases of one model -> (results {case: merged tensors}, greedy dict, per-call records)."""
    results, all_calls = {}, []
    for case, (toks, calls, probs_call) in case_plan(model_name, tokens).items():
        results[case], per_call = run_calls(model, toks, calls, probs_call)
        all_calls += per_call
    greedy = run_greedy(model, tokens["full"][:8], 16)
    all_calls += greedy["per_call"]
    return results, greedy, all_calls


def router_margins(records, top_k):
    """Smallest gap between the k-th and (k+1)-th router logit over every token of every call."""
    smallest = np.inf
    for rec in records:
        for name, logits in rec.items():
            if name.endswith(".router_logits"):
                ordered = -np.sort(-logits, axis=-1)
                smallest = min(smallest, float((ordered[:, top_k - 1] - ordered[:, top_k]).min()))
    return smallest


def greedy_margin(greedy):
    ordered = -np.sort(-greedy["logits"], axis=-1)
    return float((ordered[:, 0] - ordered[:, 1]).min())


# ----------------------------------------------------------------------------------------------
# Internal consistency checks
# ----------------------------------------------------------------------------------------------


def max_scaled_diff(a, b):
    """max |a - b| / max(1, max |a|): absolute for O(1) tensors, relative for larger ones."""
    assert a.shape == b.shape, (a.shape, b.shape)
    if a.size == 0:
        return 0.0
    return float(np.abs(a.astype(np.float64) - b).max() / max(1.0, float(np.abs(a).max())))


def compare_runs(reference, other, what, rows=None):
    """Assert every tensor of `other` matches `reference` (rows of reference if given)."""
    worst = 0.0
    for name, value in other.items():
        if name.endswith(".attn_probs"):
            continue
        expected = reference[name] if rows is None else reference[name][rows]
        if value.dtype == np.int32:
            assert np.array_equal(expected, value), f"{what}: {name} differs"
            continue
        diff = max_scaled_diff(expected, value)
        assert diff <= CACHE_TOLERANCE, f"{what}: {name} differs by {diff:.3e}"
        worst = max(worst, diff)
    return worst


def check_dense_moe(model, records):
    """Every recorded routed_out equals running every expert on every token with masked scores."""
    worst = 0.0
    for rec in records:
        for layer in model.cfg.moe_layers:
            x = torch.from_numpy(rec[f"layers.{layer}.ffn_norm"])
            dense = ref.moe_routed_dense(model.cfg, model.w, layer, x).numpy()
            diff = max_scaled_diff(dense, rec[f"layers.{layer}.routed_out"])
            assert diff <= DENSE_MOE_TOLERANCE, f"dense vs sparse MoE differ by {diff:.3e}"
            worst = max(worst, diff)
    return worst


# ----------------------------------------------------------------------------------------------
# Tables
# ----------------------------------------------------------------------------------------------

TEMPERATURE_POSITIONS = [0, 1, 8190, 8191, 8192, 16383, 65535, 1048575]
# Spec §2.6/§6: 1 + 0.1 ln(floor((p+1)/8192) + 1)
TEMPERATURE_EXPECTED = [1.0, 1.0, 1.0, 1.069315, 1.069315, 1.109861, 1.219722, 1.485981]
# Spec §6: tiny model (floor 4) scales by position
TINY_TEMPERATURE_EXPECTED = ([1.0] * 3 + [1.069315] * 4 + [1.109861] * 4 + [1.138629] * 4
                             + [1.160944] * 4 + [1.179176] * 4 + [1.194591])


def make_tables(tiny_cfg):
    tiny_unscaled = ref.rope_inverse_frequencies(tiny_cfg.head_dim, tiny_cfg.rope_theta)
    tiny_scaled = ref.rope_frequencies(tiny_cfg)
    # Spec §6 values: pair0 kept, pair1 0.316228 -> 0.239253, pair2 0.1 -> 0.00683099, pairs 3-7 / 16
    assert abs(float(tiny_scaled[0]) - 1.0) < 1e-7
    assert abs(float(tiny_scaled[1]) - 0.239253) < 1e-6 and abs(float(tiny_unscaled[1]) - 0.316228) < 1e-6
    assert abs(float(tiny_scaled[2]) - 0.00683099) < 1e-8
    assert torch.equal(tiny_scaled[3:], tiny_unscaled[3:] / 16)

    # The real Scout table: head_dim 128, theta 500000, llama3 factor 16, low = high = 1, L0 8192.
    scout_unscaled = ref.rope_inverse_frequencies(128, 500000.0)
    scout = ref.llama3_scale_frequencies(scout_unscaled, 16.0, 1.0, 1.0, 8192.0)
    assert torch.isfinite(scout).all()
    assert torch.equal(scout[:35], scout_unscaled[:35]), "Scout pairs 0-34 must be unchanged"
    assert torch.equal(scout[35:], scout_unscaled[35:] / 16), "Scout pairs 35-63 must be divided by 16"

    positions = torch.tensor(TEMPERATURE_POSITIONS, dtype=torch.int64)
    scales = ref.attention_temperature(positions, 8192.0, 0.1)
    assert np.allclose(scales.numpy(), TEMPERATURE_EXPECTED, atol=1e-6)
    tiny_scales = ref.attention_temperature(torch.arange(24), tiny_cfg.floor_scale, tiny_cfg.attn_scale)
    assert np.allclose(tiny_scales.numpy(), TINY_TEMPERATURE_EXPECTED, atol=1e-6)
    # qk-norm eps: at O(1) activations eps 1e-5 vs 1e-6 moves the logits by only ~3e-5, below the
    # logit tolerance, so pin it here: row 0 is O(1); row 1 has rms ~7e-4, small enough for eps to
    # dominate (output rms 0.22 with eps 1e-5, 0.58 with the buggy 1e-6).
    qk_in = torch.stack([torch.sin(torch.arange(16.0)), 1e-3 * torch.cos(torch.arange(16.0))])  # [2, D=16]
    qk_out = ref.unit_rms_norm(qk_in, tiny_cfg.rms_norm_eps)
    assert abs(float(qk_out[1].pow(2).mean().sqrt()) - 0.2199) < 1e-3  # with eps 1e-6: 0.5805
    return {
        "tables.qk_norm_input": qk_in.numpy(),
        "tables.qk_norm_output": qk_out.numpy(),
        "tables.tiny_inv_freq": tiny_scaled.numpy(),
        "tables.tiny_inv_freq_unscaled": tiny_unscaled.numpy(),
        "tables.scout_inv_freq": scout.numpy(),
        "tables.temperature_positions": positions.numpy().astype(np.int32),
        "tables.temperature_scales": scales.numpy(),
        "tables.tiny_temperature_scales": tiny_scales.numpy(),
    }


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------


def random_weights_note(seed):
    """The config.json field that marks these weights as random (no transformers field has this name)."""
    return f"golden/generate.py, seed {seed}"


def write_json(path, obj):
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_checkpoint(model_dir, config_json, weights, prefix, shards=1):
    """config.json + bf16 weights under `prefix` keys, in one file or `shards` files with an index."""
    os.makedirs(model_dir, exist_ok=True)
    write_json(os.path.join(model_dir, "config.json"), config_json)
    tensors = {prefix + name: array for name, array in weights.items()}
    if shards == 1:
        write_safetensors(os.path.join(model_dir, "model.safetensors"), tensors, float_dtype="BF16")
        return
    # Fill shards in sorted-name order by size (like HF's sharding); a layer may straddle shards,
    # so a loader has to look every tensor up in the index.
    names = sorted(tensors)
    sizes = {n: tensors[n].size * 2 for n in names}  # bf16 bytes
    total = sum(sizes.values())
    weight_map, shard_tensors, filled = {}, [dict() for _ in range(shards)], 0
    for name in names:
        shard = min(filled * shards // total, shards - 1)
        shard_tensors[shard][name] = tensors[name]
        weight_map[name] = f"model-{shard + 1:05d}-of-{shards:05d}.safetensors"
        filled += sizes[name]
    for shard, part in enumerate(shard_tensors):
        assert part, "empty shard"
        write_safetensors(os.path.join(model_dir, f"model-{shard + 1:05d}-of-{shards:05d}.safetensors"),
                          part, float_dtype="BF16")
    write_json(os.path.join(model_dir, "model.safetensors.index.json"),
               {"metadata": {"total_size": total}, "weight_map": weight_map})


def activation_tensors(results, greedy, prompt):
    out = {}
    for case, tensors in results.items():
        out.update({f"{case}.{name}": value for name, value in tensors.items()})
    out["greedy.prompt"] = np.asarray(prompt, dtype=np.int32)
    out["greedy.tokens"] = greedy["tokens"]
    out["greedy.logits"] = greedy["logits"].astype(np.float32)
    return out


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ----------------------------------------------------------------------------------------------
# Main generation
# ----------------------------------------------------------------------------------------------


def find_model(name, config_json, base_seed, tokens):
    """First seed >= base_seed whose model has no near-ties (router or greedy) and whose greedy
    continuation avoids the special ids 0-2; returns everything computed for it."""
    cfg = ref.parse_config(config_json)
    for seed in range(base_seed, base_seed + MAX_SEED_TRIES):
        weights = make_weights(cfg, seed)
        model = ref.Llama4Text(cfg, to_torch(weights))
        results, greedy, records = run_model(model, name, tokens)
        router_min = router_margins(records, cfg.num_experts_per_tok)
        greedy_min = greedy_margin(greedy)
        specials_free = bool((greedy["tokens"] >= FIRST_RANDOM_TOKEN).all())
        if router_min > MIN_MARGIN and greedy_min > MIN_MARGIN and specials_free:
            return dict(cfg=cfg, seed=seed, seeds_tried=seed - base_seed + 1, weights=weights, model=model,
                        results=results, greedy=greedy, records=records,
                        router_margin=router_min, greedy_margin=greedy_min)
        print(f"  {name}: seed {seed} rejected (router margin {router_min:.2e}, greedy margin "
              f"{greedy_min:.2e}, greedy avoids specials: {specials_free}); trying the next seed")
    raise RuntimeError(f"{name}: no seed without near-ties in {MAX_SEED_TRIES} tries")


# ----------------------------------------------------------------------------------------------
# Training golden data (chapter 11): loss, gradients by autograd, AdamW steps
# ----------------------------------------------------------------------------------------------

TRAINING_SEED = 20250406  # the second sequence of the training batch (a separate stream)
ADAMW = {"peak_learning_rate": 1e-2, "warmup_steps": 2, "total_steps": 6, "minimum_learning_rate": 1e-3,
         "beta1": 0.9, "beta2": 0.95, "epsilon": 1e-8, "weight_decay": 0.1, "max_gradient_norm": 1.0,
         "steps": 3}


def weight_gradients(params):
    return {name: p.grad.detach().numpy().astype(np.float32).copy() for name, p in params.items()}


def training_tensors(found, tokens, with_batch_and_adamw):
    """Autograd's loss and gradients for one sequence (every weight and every recorded stage), and,
    for the tiny model, a two-sequence batch and three AdamW steps on it.

    Names: one.loss, one.tokens, one.grad.<stage> (e.g. one.grad.layers.1.ffn_norm: the gradient
    of the loss with respect to that activation), one.grad.<weight name>; batch.tokens, batch.loss,
    batch.grad.<weight name>; adamw.learning_rate/.loss/.gradient_norm [steps], adamw.<weight name>
    (the weights after the last step). Weight names are canonical (model.*, lm_head.weight).
    """
    cfg, weights = found["cfg"], found["weights"]
    torch.set_grad_enabled(True)
    params = {name: torch.from_numpy(array.copy()).requires_grad_(True) for name, array in weights.items()}
    model = ref.Llama4Text(cfg, params)
    out = {}

    one = tokens["full"]
    rec = ref.GradientRecorder()
    loss = ref.training_loss(model, [one], [rec])
    loss.backward()
    out["one.tokens"] = one.astype(np.int32)
    out["one.loss"] = np.array([loss.item()], dtype=np.float32)
    out.update({f"one.grad.{n}": g for n, g in rec.gradients().items()})
    out.update({f"one.grad.{n}": g for n, g in weight_gradients(params).items()})
    if not with_batch_and_adamw:
        return out

    second = np.random.default_rng(TRAINING_SEED).integers(FIRST_RANDOM_TOKEN, 512, size=len(one))
    batch = [one, second.astype(np.int64)]
    for p in params.values():
        p.grad = None
    loss = ref.training_loss(model, batch)
    loss.backward()
    out["batch.tokens"] = np.stack(batch).astype(np.int32)
    out["batch.loss"] = np.array([loss.item()], dtype=np.float32)
    out.update({f"batch.grad.{n}": g for n, g in weight_gradients(params).items()})

    a = ADAMW
    groups = [{"params": [p for n, p in params.items() if ref.decays(n, p)], "weight_decay": a["weight_decay"]},
              {"params": [p for n, p in params.items() if not ref.decays(n, p)], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=a["peak_learning_rate"], betas=(a["beta1"], a["beta2"]),
                                  eps=a["epsilon"])
    rates, losses, norms = [], [], []
    for step in range(a["steps"]):
        rate = ref.learning_rate(step, a["peak_learning_rate"], a["warmup_steps"], a["total_steps"],
                                 a["minimum_learning_rate"])
        for group in optimizer.param_groups:
            group["lr"] = rate
        optimizer.zero_grad(set_to_none=True)
        loss = ref.training_loss(model, batch)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), a["max_gradient_norm"])
        optimizer.step()
        rates.append(rate)
        losses.append(loss.item())
        norms.append(float(norm))
    out["adamw.learning_rate"] = np.array(rates, dtype=np.float32)
    out["adamw.loss"] = np.array(losses, dtype=np.float32)
    out["adamw.gradient_norm"] = np.array(norms, dtype=np.float32)
    out.update({f"adamw.{n}": p.detach().numpy().astype(np.float32).copy() for n, p in params.items()})
    return out


def self_check(name, found, tokens, model_dirs):
    """Internal asserts; returns the measured worst differences."""
    model, results = found["model"], found["results"]
    report = {}
    # decode (prefill 10 + 14 single tokens) must reproduce the one-call `full` run.
    report["decode_vs_full"] = compare_runs(results["full"], results["decode"], f"{name} decode vs full")
    if "offset" in results:
        one_call, _ = run_calls(model, tokens["offset"], [[0, len(tokens["offset"])]], probs_call=0)
        report["offset_vs_one_call"] = compare_runs(one_call, results["offset"], f"{name} offset vs one call")
        for l in range(model.cfg.num_hidden_layers):  # last call's probs = rows 5..11 of the one-call probs
            probs = results["offset"][f"layers.{l}.attn_probs"]
            diff = max_scaled_diff(one_call[f"layers.{l}.attn_probs"][:, 5:, :], probs)
            assert diff <= CACHE_TOLERANCE, f"{name} offset attn_probs differ by {diff:.3e}"
            report["offset_vs_one_call"] = max(report["offset_vs_one_call"], diff)
    # Greedy's recorded logits rows must match a one-call run over prompt + generated tokens.
    greedy_tokens = np.concatenate([tokens["full"][:8], found["greedy"]["tokens"][:-1]])
    one_call, _ = run_calls(model, greedy_tokens, [[0, len(greedy_tokens)]])
    report["greedy_vs_one_call"] = max_scaled_diff(one_call["logits"][7:], found["greedy"]["logits"])
    assert report["greedy_vs_one_call"] <= CACHE_TOLERANCE
    # Sparse MoE == dense MoE on every call of every case.
    report["sparse_vs_dense_moe"] = check_dense_moe(model, found["records"])
    # The written checkpoints load back (HF layout, prefixes, shards) to exactly the same weights,
    # and the model loaded from disk reproduces the `full` case bit for bit.
    for model_dir in model_dirs:
        loaded = ref.Llama4Text.from_pretrained(model_dir)
        assert loaded.cfg == found["cfg"], f"{model_dir}: config parses differently"
        assert sorted(loaded.w) == sorted(found["weights"]), f"{model_dir}: tensor names differ"
        for key, value in found["weights"].items():
            assert np.array_equal(loaded.w[key].numpy(), value), f"{model_dir}: {key} differs"
        again, _ = run_calls(loaded, tokens["full"], [[0, len(tokens["full"])]], probs_call=0)
        for key, value in results["full"].items():
            assert np.array_equal(again[key], value), f"{model_dir}: full.{key} not reproduced"
    return report


def generate(out_dir):
    torch.set_num_threads(1)  # fixed reduction order -> byte-identical reruns
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(TOKEN_SEED)
    tokens = {
        "full": rng.integers(FIRST_RANDOM_TOKEN, 512, size=24).astype(np.int64),
        "offset": rng.integers(FIRST_RANDOM_TOKEN, 512, size=12).astype(np.int64),
    }

    models = {
        "tiny": dict(config=tiny_config_json(), seed=TINY_BASE_SEED, prefix="language_model.",
                     dirs={"tiny": 1, "tiny-sharded": 2}),
        "tiny-maverick": dict(config=maverick_config_json(), seed=MAVERICK_BASE_SEED, prefix="",
                              dirs={"tiny-maverick": 1}),
    }
    manifest_models, manifest_cases = {}, []
    for name, spec in models.items():
        found = find_model(name, spec["config"], spec["seed"], tokens)
        model_dirs = []
        # The weights are random: every program that loads them says so (C++: ModelConfig's
        # random_weights), and a trained checkpoint, which has no such field, does not.
        config_json = dict(spec["config"], random_weights=random_weights_note(found["seed"]))
        for sub, shards in spec["dirs"].items():
            model_dirs.append(os.path.join(out_dir, sub))
            write_checkpoint(model_dirs[-1], config_json, found["weights"], spec["prefix"], shards)
        checks = self_check(name, found, tokens, model_dirs)

        tensors = activation_tensors(found["results"], found["greedy"], tokens["full"][:8])
        if name == "tiny":
            tensors.update(make_tables(found["cfg"]))
        act_file = f"activations-{name}.safetensors"
        write_safetensors(os.path.join(out_dir, act_file), tensors)
        gradient_file = f"gradients-{name}.safetensors"
        training = training_tensors(found, tokens, with_batch_and_adamw=(name == "tiny"))
        write_safetensors(os.path.join(out_dir, gradient_file), training)

        manifest_models[name] = {
            "checkpoint_dirs": sorted(spec["dirs"]),
            "activations": act_file,
            "gradients": gradient_file,
            "key_prefix": spec["prefix"],
            "seed": found["seed"],
            "seeds_tried": found["seeds_tried"],
            "min_router_margin": round(found["router_margin"], 6),
            "min_greedy_margin": round(found["greedy_margin"], 6),
            "self_check_max_diff": {k: float(f"{v:.3e}") for k, v in checks.items()},
        }
        for case, (toks, calls, probs_call) in case_plan(name, tokens).items():
            manifest_cases.append({
                "model": name, "case": case, "file": act_file,
                "tokens": [int(t) for t in toks], "calls": calls,
                "attn_probs_from_call": probs_call,
            })
        manifest_cases.append({
            "model": name, "case": "greedy", "file": act_file,
            "tokens": [int(t) for t in tokens["full"][:8]], "calls": found["greedy"]["calls"],
            "generated": [int(t) for t in found["greedy"]["tokens"]], "attn_probs_from_call": None,
        })
        print(f"{name}: seed {found['seed']}, min router margin {found['router_margin']:.4f}, "
              f"min greedy margin {found['greedy_margin']:.4f}, greedy {found['greedy']['tokens'].tolist()}")
        for key, value in checks.items():
            print(f"  {key:22s} max diff {value:.3e}")

    files = {}
    for root, _, names in os.walk(out_dir):
        for file_name in names:
            path = os.path.join(root, file_name)
            rel = os.path.relpath(path, out_dir).replace(os.sep, "/")
            if rel != "manifest.json":
                files[rel] = {"bytes": os.path.getsize(path), "sha256": sha256(path)}
    manifest = {
        "generator": "golden/generate.py",
        "tools": {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__},
        "token_seed": TOKEN_SEED,
        "token_range": [FIRST_RANDOM_TOKEN, 512],
        "tokens": {k: [int(t) for t in v] for k, v in tokens.items()},
        "models": manifest_models,
        "training": {"second_sequence_seed": TRAINING_SEED, "adamw": ADAMW},
        "cases": manifest_cases,
        "files": files,
    }
    write_json(os.path.join(out_dir, "manifest.json"), manifest)
    total = sum(f["bytes"] for f in files.values()) + os.path.getsize(os.path.join(out_dir, "manifest.json"))
    print(f"wrote {len(files) + 1} files, {total / 1e6:.2f} MB, to {out_dir}")


# ----------------------------------------------------------------------------------------------
# --check-transformers: compare the golden data with HF transformers' Llama4ForCausalLM
# ----------------------------------------------------------------------------------------------

HF_TOLERANCE = 1e-5  # max |diff| for hidden states, attention probabilities and logits (fp32 vs fp32)


def hf_text_config(text):
    """Llama4TextConfig from our text_config dict, coerced for HF's (5.x: strict) field types."""
    import inspect

    from transformers import Llama4TextConfig

    drop = {"model_type", "architectures", "torch_dtype", "dtype", "transformers_version",
            "rope_theta", "rope_scaling", "rope_parameters", "random_weights"}
    kwargs = {k: v for k, v in text.items() if k not in drop}
    kwargs["attn_temperature_tuning"] = bool(text.get("attn_temperature_tuning", True))  # Scout ships 4
    kwargs["floor_scale"] = int(text.get("floor_scale", 8192))  # typed int in HF
    kwargs["attn_scale"] = float(text.get("attn_scale", 0.1))
    theta, scaling = ref.rope_settings(text)
    if scaling is not None:
        scaling = {"rope_type": "llama3", "factor": scaling["factor"],
                   "low_freq_factor": scaling["low_freq_factor"], "high_freq_factor": scaling["high_freq_factor"],
                   "original_max_position_embeddings": int(scaling["original_max_position_embeddings"])}
    if "rope_parameters" in inspect.signature(Llama4TextConfig).parameters:
        # transformers >= 5: one `rope_parameters` dict that also carries rope_theta.
        rope = dict(scaling) if scaling is not None else {"rope_type": "default"}
        rope["rope_theta"] = theta
        kwargs["rope_parameters"] = rope
    else:  # transformers 4.x
        kwargs["rope_theta"] = theta
        kwargs["rope_scaling"] = scaling
    return Llama4TextConfig(**kwargs)


def hf_model_from_weights(config, weights):
    """Llama4ForCausalLM in float32 with eager attention, loaded with our (prefix-stripped) weights."""
    from transformers import Llama4ForCausalLM

    try:
        model = Llama4ForCausalLM._from_config(config, attn_implementation="eager")
    except TypeError:
        config._attn_implementation = "eager"
        model = Llama4ForCausalLM(config)
    model = model.float().eval()
    state = model.state_dict()
    to_load = {}
    for name, tensor in weights.items():
        if name not in state:
            raise KeyError(f"HF model has no parameter {name}")
        if tuple(state[name].shape) != tuple(tensor.shape):
            if tensor.dim() == 3 and tuple(state[name].shape) == tuple(tensor.transpose(1, 2).shape):
                print(f"  note: {name} is stored transposed in this transformers version; transposing")
                tensor = tensor.transpose(1, 2)
            else:
                raise ValueError(f"{name}: HF shape {tuple(state[name].shape)} vs ours {tuple(tensor.shape)}")
        to_load[name] = tensor.contiguous()
    missing = sorted(set(state) - set(to_load))
    if missing:
        raise ValueError(f"HF parameters not provided by the checkpoint: {missing}")
    model.load_state_dict(to_load, strict=True)
    return model


def hf_run_full(model, token_ids, golden):
    """Run the `full` case in HF; returns ({label: numpy array}, notes). A label is a golden tensor
    name (without `full.`), optionally prefixed by where HF returned it ("hidden_states[i] = ...")."""
    layer_outputs = {}
    hooks = []
    for l, layer in enumerate(model.model.layers):
        def hook(_module, _inputs, output, l=l):
            layer_outputs[l] = (output[0] if isinstance(output, (tuple, list)) else output).detach()
        hooks.append(layer.register_forward_hook(hook))
    try:
        with torch.no_grad():
            out = model(input_ids=torch.as_tensor(token_ids, dtype=torch.long)[None], use_cache=False,
                        output_hidden_states=True, output_attentions=True, return_dict=True)
    finally:
        for h in hooks:
            h.remove()
    L = len(model.model.layers)
    got = {"logits": out.logits[0].float().numpy()}
    hidden = out.hidden_states
    notes = []
    if hidden is not None and len(hidden) == L + 1:
        # HF convention: (embedding, output of layers 0..L-2, final-normed output of layer L-1).
        got["hidden_states[0] = embedding"] = hidden[0][0].float().numpy()
        for l in range(L - 1):
            got[f"hidden_states[{l + 1}] = layers.{l}.output"] = hidden[l + 1][0].float().numpy()
        # The last entry is normed unless the model was built with tie_last_hidden_states=False.
        last = hidden[L][0].float().numpy()
        got["hidden_states[L] = final_norm"] = last
        if not np.allclose(last, golden["full.final_norm"], atol=HF_TOLERANCE, rtol=0):
            if np.allclose(last, golden[f"full.layers.{L - 1}.output"], atol=HF_TOLERANCE, rtol=0):
                notes.append("hidden_states[L] is the un-normed last layer output in this version")
                del got["hidden_states[L] = final_norm"]
                got[f"hidden_states[L] = layers.{L - 1}.output"] = last
    else:
        notes.append(f"output_hidden_states returned {None if hidden is None else len(hidden)} entries; "
                     f"expected {L + 1}: compared the hooked layer outputs only")
    for l in range(L):
        got[f"layers.{l}.output"] = layer_outputs[l][0].float().numpy()
    if out.attentions is not None and len(out.attentions) == L and out.attentions[0] is not None:
        for l in range(L):
            got[f"layers.{l}.attn_probs"] = out.attentions[l][0].float().numpy()
    else:
        notes.append("output_attentions returned nothing: attention probabilities not compared")
    return got, notes


def compare_with_golden(title, got, golden, case="full"):
    ok = True
    print(f"  {title}")
    for name, value in got.items():
        golden_name = name.split(" = ")[-1]
        expected = golden[f"{case}.{golden_name}"]
        if expected.shape != value.shape:
            print(f"    {name:40s} shape {value.shape} vs golden {expected.shape}  FAIL")
            ok = False
            continue
        diff = float(np.abs(expected.astype(np.float64) - value).max())
        good = diff <= HF_TOLERANCE
        ok &= good
        print(f"    {name:40s} max|diff| {diff:.3e}  {'ok' if good else 'FAIL'}")
    return ok


def check_transformers(out_dir):
    try:
        import transformers
        from transformers import Llama4ForCausalLM
    except ImportError as error:
        print(f"--check-transformers: SKIPPED, transformers is not importable ({error}).")
        return 0
    print(f"--check-transformers: transformers {transformers.__version__}, torch {torch.__version__}, "
          f"tolerance max|diff| <= {HF_TOLERANCE:g}")
    torch.set_num_threads(1)
    ok = True
    for name, sub in (("tiny", "tiny"), ("tiny-maverick", "tiny-maverick")):
        model_dir = os.path.join(out_dir, sub)
        act_path = os.path.join(out_dir, f"activations-{name}.safetensors")
        if not (os.path.exists(model_dir) and os.path.exists(act_path)):
            print(f"  {name}: no golden data in {out_dir}; run golden/generate.py first")
            return 1
        with open(os.path.join(model_dir, "config.json")) as f:
            text = ref.text_config_dict(json.load(f))
        golden = read_safetensors(act_path)
        weights = ref.text_weights(ref.load_checkpoint_tensors(model_dir))  # strips `language_model.`
        model = hf_model_from_weights(hf_text_config(text), weights)
        print(f"  {name}: attn_implementation={model.config._attn_implementation}, "
              f"layer_types={getattr(model.config, 'layer_types', None)}, "
              f"no_rope_layers={model.config.no_rope_layers}, moe_layers={model.config.moe_layers}")
        got, notes = hf_run_full(model, golden["full.tokens"], golden)
        for note in notes:
            print(f"  note: {note}")
        ok &= compare_with_golden(f"{name}: Llama4ForCausalLM(config) + our weights, case `full`", got, golden)

    # Secondary (informational): HF's own loader reads our bare-config checkpoint directly. This
    # checks that our safetensors files and config.json are accepted by from_pretrained as written.
    try:
        model = Llama4ForCausalLM.from_pretrained(os.path.join(out_dir, "tiny-maverick"),
                                                  attn_implementation="eager").float().eval()
        golden = read_safetensors(os.path.join(out_dir, "activations-tiny-maverick.safetensors"))
        with torch.no_grad():
            logits = model(input_ids=torch.as_tensor(golden["full.tokens"], dtype=torch.long)[None],
                           use_cache=False).logits[0].float().numpy()
        compare_with_golden("tiny-maverick via from_pretrained (informational)", {"logits": logits}, golden)
    except Exception as error:  # noqa: BLE001 - report, do not fail: the primary check is above
        print(f"  tiny-maverick via from_pretrained (informational): could not load/run: "
              f"{type(error).__name__}: {error}")

    print("--check-transformers: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
    parser.add_argument("--out", default=default_out, help="output directory (default: golden/data)")
    parser.add_argument("--check-transformers", action="store_true",
                        help="compare the existing golden data in --out with HF transformers (no writing)")
    args = parser.parse_args()
    if args.check_transformers:
        sys.exit(check_transformers(args.out))
    generate(args.out)


if __name__ == "__main__":
    main()
