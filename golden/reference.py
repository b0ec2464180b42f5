"""Golden reference: a compact float32 PyTorch implementation of the Llama 4 text model.

Semantics are those of HF transformers `Llama4ForCausalLM` (see /work/shared/spec/llama4-text.md §2),
written as short functions that map one-to-one onto the C++ code. Everything is computed in float32;
bf16 checkpoint weights are widened to float32 exactly. Shapes use: T tokens in this call, S keys
visible (cache + this call), H hidden, nh query heads, nkv kv heads, D head_dim, E experts, k top-k,
I expert width, Imlp dense width, V vocab.

Traps this file is careful about (spec §5):
  * RoPE is interleaved-pair / complex (x[2i], x[2i+1]), NOT rotate-half, and there is no Q/K permute.
  * `no_rope_layers[l] == 1` means layer l USES RoPE; an empty list means "use the default pattern".
  * qk-norm is weightless, per head, AFTER RoPE, on RoPE layers only, eps = rms_norm_eps.
  * temperature tuning scales queries only, on NoPE layers only, by absolute position.
  * chunked attention: j <= i and j // C == i // C on absolute positions (not a sliding window).
  * MoE: top-k on raw router logits, sigmoid of the chosen logits only (no softmax, no renorm),
    the score multiplies the expert INPUT, and the shared expert is always added.
  * fused gate_up_proj is [E, H, 2I], input-major (x @ W), gate = first half, up = second half.
"""

import json
import math
import os
from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F

try:  # imported as part of a package (golden.reference)
    from .safetensors_io import read_safetensors
except ImportError:  # run as a script / with golden/ on sys.path
    from safetensors_io import read_safetensors


# ----------------------------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------------------------


@dataclass
class TextConfig:
    vocab_size: int
    hidden_size: int
    intermediate_size: int  # width I of every routed expert and of the shared expert
    intermediate_size_mlp: int  # width Imlp of the dense FFN (non-MoE layers)
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    rms_norm_eps: float
    rope_theta: float
    rope_scaling: Optional[dict]  # llama3 parameters, or None for plain RoPE
    num_local_experts: int
    num_experts_per_tok: int
    moe_layers: List[int]
    use_rope: List[bool]  # per layer, from no_rope_layers (1 = RoPE)
    layer_types: List[str]  # per layer: "chunked_attention" or "full_attention"
    use_qk_norm: bool
    attention_chunk_size: Optional[int]
    attn_temperature_tuning: bool
    floor_scale: float
    attn_scale: float
    tie_word_embeddings: bool


def text_config_dict(config_json):
    """The text part of a config.json: `text_config` of a multimodal Llama4Config, else the whole."""
    if isinstance(config_json.get("text_config"), dict):
        return config_json["text_config"]
    return config_json


def rope_settings(text):
    """(rope_theta, llama3 scaling dict or None), accepting transformers 4.x and 5.x spellings.

    4.x: top-level `rope_theta` + `rope_scaling` ({"rope_type": "llama3", ...} or null; very old
    files say "type"). 5.x: a single `rope_parameters` dict that also carries `rope_theta`.
    """
    theta = text.get("rope_theta", 500000.0)  # HF Llama4TextConfig default_theta
    scaling = None
    if isinstance(text.get("rope_parameters"), dict):
        scaling = text["rope_parameters"]
        theta = scaling.get("rope_theta", theta)
    elif isinstance(text.get("rope_scaling"), dict):
        scaling = text["rope_scaling"]
    if scaling is None:
        return float(theta), None
    rope_type = scaling.get("rope_type", scaling.get("type", "default"))
    if rope_type == "default":
        return float(theta), None
    if rope_type != "llama3":
        raise NotImplementedError(f"rope_type {rope_type!r} is not used by Llama 4")
    keys = ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings")
    return float(theta), {key: float(scaling[key]) for key in keys}


def parse_config(config_json):
    """Build a TextConfig exactly as HF's Llama4TextConfig.__post_init__ derives its fields."""
    text = text_config_dict(config_json)
    get = text.get
    num_layers = int(get("num_hidden_layers", 48))
    hidden = int(get("hidden_size", 5120))
    heads = int(get("num_attention_heads", 40))
    kv_heads = get("num_key_value_heads")
    kv_heads = heads if kv_heads is None else int(kv_heads)
    head_dim = get("head_dim")
    head_dim = hidden // heads if head_dim is None else int(head_dim)
    if get("hidden_act", "silu") != "silu":
        raise NotImplementedError("Llama 4 uses SwiGLU (hidden_act silu) everywhere")
    if get("attention_bias", False):
        raise NotImplementedError("attention_bias is false for every Llama 4 model")
    if heads % kv_heads != 0:
        raise ValueError("num_attention_heads must be a multiple of num_key_value_heads")

    # TRAP: `no_rope_layers[l] == 1` means layer l USES RoPE (the name is inverted), and HF tests the
    # list for truthiness, so an EMPTY list silently means "default pattern" (spec §1.1, §5 #19).
    interval = int(get("no_rope_layer_interval", 4))
    default_no_rope = [int((l + 1) % interval != 0) for l in range(num_layers)]
    no_rope_layers = get("no_rope_layers") or default_no_rope
    use_rope = [bool(no_rope_layers[l]) for l in range(num_layers)]

    # moe_layers: explicit list wins (even an empty one: HF tests `is not None`), else every
    # interleave_moe_layer_step-th layer counting from step-1.
    step = int(get("interleave_moe_layer_step", 1))
    moe_layers = get("moe_layers")
    if moe_layers is None:
        moe_layers = list(range(step - 1, num_layers, step))

    # layer_types decides the MASK (chunked vs global); HF derives it from no_rope_layers when absent.
    layer_types = get("layer_types")
    if layer_types is None:
        layer_types = ["chunked_attention" if r else "full_attention" for r in no_rope_layers]
    layer_types = list(layer_types[:num_layers])

    theta, scaling = rope_settings(text)
    chunk = get("attention_chunk_size", 8192)
    return TextConfig(
        vocab_size=int(get("vocab_size", 202048)),
        hidden_size=hidden,
        intermediate_size=int(get("intermediate_size", 8192)),
        intermediate_size_mlp=int(get("intermediate_size_mlp", 16384)),
        num_hidden_layers=num_layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        head_dim=head_dim,
        rms_norm_eps=float(get("rms_norm_eps", 1e-5)),
        rope_theta=theta,
        rope_scaling=scaling,
        num_local_experts=int(get("num_local_experts", 16)),
        num_experts_per_tok=int(get("num_experts_per_tok", 1)),
        moe_layers=[int(l) for l in moe_layers],
        use_rope=use_rope,
        layer_types=layer_types,
        use_qk_norm=bool(get("use_qk_norm", True)),
        attention_chunk_size=None if chunk is None else int(chunk),
        # TRAP: Scout ships `attn_temperature_tuning: 4` (an int); any truthy value means "on".
        attn_temperature_tuning=bool(get("attn_temperature_tuning", True)),
        floor_scale=float(get("floor_scale", 8192)),
        attn_scale=float(get("attn_scale", 0.1)),
        tie_word_embeddings=bool(get("tie_word_embeddings", config_json.get("tie_word_embeddings", False))),
    )


# ----------------------------------------------------------------------------------------------
# Checkpoint loading (HF layout)
# ----------------------------------------------------------------------------------------------


def load_checkpoint_tensors(model_dir):
    """All tensors of `model.safetensors`, or of every shard listed in model.safetensors.index.json."""
    index_path = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index_path):
        with open(index_path) as f:
            weight_map = json.load(f)["weight_map"]
        tensors = {}
        for shard in sorted(set(weight_map.values())):
            for name, array in read_safetensors(os.path.join(model_dir, shard)).items():
                if weight_map.get(name) != shard:
                    raise ValueError(f"{name} found in {shard} but the index says {weight_map.get(name)}")
                tensors[name] = array
        missing = set(weight_map) - set(tensors)
        if missing:
            raise ValueError(f"tensors listed in the index but not found: {sorted(missing)[:5]}")
        return tensors
    return read_safetensors(os.path.join(model_dir, "model.safetensors"))


def text_weights(tensors):
    """Keep the text-model tensors and strip the multimodal `language_model.` prefix.

    Released Scout/Maverick: `language_model.model.*` and `language_model.lm_head.weight`
    (plus vision_model.* / multi_modal_projector.*, ignored).
    Bare Llama4ForCausalLM: `model.*` and `lm_head.weight`.
    """
    prefix = "language_model." if any(k.startswith("language_model.") for k in tensors) else ""
    out = {}
    for name, array in tensors.items():
        if not name.startswith(prefix):
            continue
        name = name[len(prefix):]
        if name.startswith("model.") or name == "lm_head.weight":
            out[name] = torch.from_numpy(np.asarray(array, dtype=np.float32))
    return out


# ----------------------------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------------------------


def rms_norm(x, weight, eps):
    # x: [..., H] -> [..., H]. Normalise in fp32, then multiply by the weight (HF Llama4TextRMSNorm).
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def unit_rms_norm(x, eps):
    # x: [..., heads, D]. The qk-norm: per-head RMSNorm WITHOUT a weight (HF's "Llama4TextL2Norm" is
    # an RMSNorm despite its name); per head, i.e. over the last dimension only (vLLM #16311).
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def rope_inverse_frequencies(head_dim, theta):
    # -> [D/2] fp32: theta_i = theta^(-2i/D), computed the way HF does (fp32 pow of an fp32 exponent).
    exponent = torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim
    return 1.0 / (theta ** exponent)


def llama3_scale_frequencies(inv_freq, factor, low_freq_factor, high_freq_factor, original_max_position_embeddings):
    # inv_freq: [D/2] -> [D/2]. llama3 RoPE scaling (HF _compute_llama3_parameters), per pair:
    #   wavelength < L0/high -> unchanged; wavelength > L0/low -> divided by factor;
    #   otherwise smooth interpolation with gamma = (L0/wavelength - low) / (high - low).
    wavelength = 2 * math.pi / inv_freq
    low_freq_wavelength = original_max_position_embeddings / low_freq_factor
    high_freq_wavelength = original_max_position_embeddings / high_freq_factor
    scaled = torch.where(wavelength > low_freq_wavelength, inv_freq / factor, inv_freq)
    # TRAP: Scout uses low == high (1, 1): the middle band is empty and gamma would divide by zero.
    if high_freq_factor != low_freq_factor:
        gamma = (original_max_position_embeddings / wavelength - low_freq_factor) / (high_freq_factor - low_freq_factor)
        smoothed = (1 - gamma) * scaled / factor + gamma * scaled
        is_medium = (wavelength >= high_freq_wavelength) & (wavelength <= low_freq_wavelength)
        scaled = torch.where(is_medium, smoothed, scaled)
    return scaled


def rope_frequencies(cfg):
    # -> [D/2] the per-pair rotation speeds the model uses (llama3-scaled when configured).
    inv_freq = rope_inverse_frequencies(cfg.head_dim, cfg.rope_theta)
    if cfg.rope_scaling is not None:
        s = cfg.rope_scaling
        inv_freq = llama3_scale_frequencies(inv_freq, s["factor"], s["low_freq_factor"],
                                            s["high_freq_factor"], s["original_max_position_embeddings"])
    return inv_freq


def apply_rope(x, positions, inv_freq):
    # x: [T, heads, D], positions: [T] (absolute), inv_freq: [D/2] -> [T, heads, D]
    # Interleaved pairs (x[2i], x[2i+1]) are one complex number rotated by angle p * inv_freq[i]
    # (HF/Meta apply_rotary_emb with view_as_complex). NOT rotate-half (x[i], x[i + D/2]).
    angle = positions.float()[:, None] * inv_freq[None, :]  # [T, D/2]
    cos = torch.cos(angle)[:, None, :]  # [T, 1, D/2]
    sin = torch.sin(angle)[:, None, :]
    pairs = x.reshape(*x.shape[:-1], -1, 2)  # [T, heads, D/2, 2]
    even, odd = pairs[..., 0], pairs[..., 1]  # [T, heads, D/2]
    rotated_even = even * cos - odd * sin
    rotated_odd = even * sin + odd * cos
    return torch.stack((rotated_even, rotated_odd), dim=-1).reshape(x.shape)


def attention_temperature(positions, floor_scale, attn_scale):
    # positions: [T] absolute -> [T] fp32 query scale 1 + attn_scale * ln(floor((p + 1) / floor_scale) + 1).
    # Identity (1.0) for p + 1 < floor_scale, i.e. below 8191 tokens for the released models.
    return torch.log1p(torch.floor((positions.float() + 1.0) / floor_scale)) * attn_scale + 1.0


def causal_mask(query_positions, key_positions):
    # -> [T, S] bool, True = may attend. Global causal mask of the NoPE layers: j <= i.
    return key_positions[None, :] <= query_positions[:, None]


def chunked_causal_mask(query_positions, key_positions, chunk_size):
    # -> [T, S] bool. RoPE layers: j <= i AND same chunk, j // C == i // C, on ABSOLUTE positions.
    # Not a sliding window: the first token of each chunk sees only itself.
    same_chunk = (key_positions[None, :] // chunk_size) == (query_positions[:, None] // chunk_size)
    return causal_mask(query_positions, key_positions) & same_chunk


def project(x, w, name):
    # x: [T, in] -> [T, out] through the nn.Linear weight w[name] ([out, in]): x @ W.T. When w also
    # holds a LoRA adapter for it (chapter 13: <module>.lora_A.weight [r, in], .lora_B.weight
    # [out, r], and "lora_scale" = alpha / r), its low-rank branch is added UNMERGED, as PEFT
    # computes it: x @ W.T + scale * (x @ A.T) @ B.T.
    y = x @ w[name].T
    stem = name[:-len(".weight")]
    if stem + ".lora_A.weight" in w:
        y = y + w["lora_scale"] * ((x @ w[stem + ".lora_A.weight"].T) @ w[stem + ".lora_B.weight"].T)
    return y


def swiglu(x, w, prefix):
    # x: [T, H]; nn.Linear layout: gate/up [W, H], down [H, W] -> [T, H]. down(silu(gate x) * up x).
    gate = project(x, w, prefix + "gate_proj.weight")
    up = project(x, w, prefix + "up_proj.weight")
    return project(F.silu(gate) * up, w, prefix + "down_proj.weight")


def expert_swiglu(x, gate_up_proj, down_proj):
    # x: [n, H], gate_up_proj: [H, 2I] (input-major: x @ W), down_proj: [I, H] -> [n, H].
    # TRAP: the fused projection is gate FIRST, then up (HF gate_up.chunk(2, dim=-1) -> gate, up).
    intermediate = down_proj.shape[0]
    gate_up = x @ gate_up_proj  # [n, 2I]
    gate, up = gate_up[:, :intermediate], gate_up[:, intermediate:]
    return (up * F.silu(gate)) @ down_proj


# ----------------------------------------------------------------------------------------------
# Recording intermediates
# ----------------------------------------------------------------------------------------------


class Recorder:
    """Collects named intermediates of ONE forward call as float32/int32 numpy arrays.

    Names follow golden/README.md without the case prefix, e.g. "layers.1.router_logits".
    attn_probs are only kept when `record_attn_probs` is set (they are [nh, T, S] per call).
    """

    def __init__(self, record_attn_probs=False):
        self.record_attn_probs = record_attn_probs
        self.tensors = {}

    def __call__(self, name, value):
        if name.endswith(".attn_probs") and not self.record_attn_probs:
            return
        array = value.detach().cpu().numpy()
        array = array.astype(np.int32) if array.dtype.kind in "iu" else array.astype(np.float32)
        self.tensors[name] = array.copy()


def _record(rec, name, value):
    if rec is not None:
        rec(name, value)


# ----------------------------------------------------------------------------------------------
# KV cache
# ----------------------------------------------------------------------------------------------


class KVCache:
    """Per-layer keys/values of every position processed so far (slot index == absolute position).

    Keys are cached AFTER RoPE and qk-norm; values raw. The temperature scale is query-only and
    never cached. (HF keeps only the last chunk for chunked layers; keeping everything and masking
    is equivalent, and simpler.)
    """

    def __init__(self, cfg):
        empty = torch.zeros(0, cfg.num_key_value_heads, cfg.head_dim)
        self.keys = [empty for _ in range(cfg.num_hidden_layers)]  # each [S, nkv, D]
        self.values = [empty for _ in range(cfg.num_hidden_layers)]
        self.length = 0  # number of positions fully processed

    def append(self, layer, k, v):
        # k, v: [T, nkv, D] -> all keys/values of this layer [S, nkv, D], S = length + T
        self.keys[layer] = torch.cat([self.keys[layer], k], dim=0)
        self.values[layer] = torch.cat([self.values[layer], v], dim=0)
        return self.keys[layer], self.values[layer]


# ----------------------------------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------------------------------


def attention(cfg, w, layer, x, positions, cache, inv_freq, rec=None):
    # x: [T, H] (already input_layernorm-ed), positions: [T] -> attn_out [T, H]
    p = f"model.layers.{layer}.self_attn."
    tag = f"layers.{layer}."
    T = x.shape[0]
    nh, nkv, D = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    q = project(x, w, p + "q_proj.weight").reshape(T, nh, D)  # [T, nh, D], head-major rows h*D + d
    k = project(x, w, p + "k_proj.weight").reshape(T, nkv, D)  # [T, nkv, D]
    v = project(x, w, p + "v_proj.weight").reshape(T, nkv, D)  # [T, nkv, D]
    _record(rec, tag + "q", q)
    _record(rec, tag + "k", k)
    _record(rec, tag + "v", v)

    if cfg.use_rope[layer]:
        q = apply_rope(q, positions, inv_freq)
        k = apply_rope(k, positions, inv_freq)
        _record(rec, tag + "q_rope", q)
        _record(rec, tag + "k_rope", k)
        if cfg.use_qk_norm:  # RoPE layers only; AFTER RoPE; eps = rms_norm_eps (1e-6 was a bug)
            q = unit_rms_norm(q, cfg.rms_norm_eps)
            k = unit_rms_norm(k, cfg.rms_norm_eps)
            _record(rec, tag + "q_norm", q)
            _record(rec, tag + "k_norm", k)
    elif cfg.attn_temperature_tuning:  # NoPE layers only; queries only
        scale = attention_temperature(positions, cfg.floor_scale, cfg.attn_scale)  # [T]
        q = q * scale[:, None, None]
        _record(rec, tag + "q_temperature", q)

    keys, values = cache.append(layer, k, v)  # [S, nkv, D] each
    S = keys.shape[0]
    key_positions = torch.arange(S)  # cache slot == absolute position
    if cfg.layer_types[layer] == "chunked_attention" and cfg.attention_chunk_size is not None:
        allowed = chunked_causal_mask(positions, key_positions, cfg.attention_chunk_size)  # [T, S]
    else:
        allowed = causal_mask(positions, key_positions)  # [T, S]

    # GQA: query head h reads kv head h // (nh / nkv) (HF repeat_kv, Meta repeat_interleave).
    kv_head = torch.arange(nh) // (nh // nkv)  # [nh]
    keys_per_head = keys[:, kv_head, :].permute(1, 2, 0)  # [nh, D, S]
    values_per_head = values[:, kv_head, :].transpose(0, 1)  # [nh, S, D]
    scores = (q.transpose(0, 1) @ keys_per_head) * (D ** -0.5)  # [nh, T, S], scale 1/sqrt(D)
    scores = scores.masked_fill(~allowed[None, :, :], float("-inf"))
    probs = torch.softmax(scores, dim=-1)  # [nh, T, S], fp32
    _record(rec, tag + "attn_probs", probs)
    context = (probs @ values_per_head).transpose(0, 1).reshape(T, nh * D)  # [T, nh*D]
    _record(rec, tag + "attn_context", context)
    return project(context, w, p + "o_proj.weight")  # [T, H]


def route_tokens(router_logits, top_k):
    # router_logits: [T, E] -> expert_index [T, k] (int64), expert_score [T, k]
    # top-k on the RAW logits, then sigmoid of the chosen logits only: no softmax, no renormalisation.
    top_logits, expert_index = torch.topk(router_logits, top_k, dim=-1)
    return expert_index, torch.sigmoid(top_logits)


def moe_layer(cfg, w, layer, x, rec=None):
    # x: [T, H] (post_attention_layernorm-ed) -> [T, H] = shared expert + routed experts
    p = f"model.layers.{layer}.feed_forward."
    tag = f"layers.{layer}."
    router_logits = x @ w[p + "router.weight"].T  # [T, E]
    expert_index, expert_score = route_tokens(router_logits, cfg.num_experts_per_tok)  # [T, k] each
    _record(rec, tag + "router_logits", router_logits)
    _record(rec, tag + "expert_index", expert_index)
    _record(rec, tag + "expert_score", expert_score)

    gate_up_proj = w[p + "experts.gate_up_proj"]  # [E, H, 2I]
    down_proj = w[p + "experts.down_proj"]  # [E, I, H]
    routed = torch.zeros_like(x)  # [T, H]
    for slot in range(cfg.num_experts_per_tok):
        for expert in range(cfg.num_local_experts):
            rows = torch.nonzero(expert_index[:, slot] == expert).flatten()  # tokens sent to `expert`
            if rows.numel() == 0:
                continue
            # TRAP: the router score scales the expert INPUT (not its output, unlike Mixtral);
            # silu makes expert(g * x) != g * expert(x).
            expert_input = x[rows] * expert_score[rows, slot:slot + 1]  # [n, H]
            routed[rows] += expert_swiglu(expert_input, gate_up_proj[expert], down_proj[expert])
    _record(rec, tag + "routed_out", routed)

    shared = swiglu(x, w, p + "shared_expert.")  # [T, H], always on, width I
    _record(rec, tag + "shared_out", shared)
    return shared + routed


def moe_routed_dense(cfg, w, layer, x):
    # x: [T, H] -> routed_out [T, H], computed the way HF/Meta do it: EVERY expert on EVERY token,
    # with a score of sigmoid(-inf) = 0 for unselected experts (which then contribute exactly 0).
    # Used only to check that the sparse gather in moe_layer is equivalent.
    p = f"model.layers.{layer}.feed_forward."
    router_logits = x @ w[p + "router.weight"].T  # [T, E]
    expert_index, expert_score = route_tokens(router_logits, cfg.num_experts_per_tok)
    scores = torch.zeros_like(router_logits).scatter(1, expert_index, expert_score)  # [T, E]
    gate_up_proj = w[p + "experts.gate_up_proj"]  # [E, H, 2I]
    down_proj = w[p + "experts.down_proj"]  # [E, I, H]
    routed = torch.zeros_like(x)
    for expert in range(cfg.num_local_experts):
        routed += expert_swiglu(x * scores[:, expert:expert + 1], gate_up_proj[expert], down_proj[expert])
    return routed


def dense_mlp(cfg, w, layer, x, rec=None):
    # x: [T, H] -> [T, H]. SwiGLU of width intermediate_size_mlp (NOT intermediate_size).
    p = f"model.layers.{layer}.feed_forward."
    out = swiglu(x, w, p)
    _record(rec, f"layers.{layer}.mlp_out", out)
    return out


def decoder_layer(cfg, w, layer, x, positions, cache, inv_freq, rec=None):
    # x: [T, H] residual stream -> [T, H]. Pre-norm: x + attn(norm(x)), then + ffn(norm(.)).
    p = f"model.layers.{layer}."
    tag = f"layers.{layer}."
    attn_in = rms_norm(x, w[p + "input_layernorm.weight"], cfg.rms_norm_eps)  # [T, H]
    _record(rec, tag + "attn_norm", attn_in)
    attn_out = attention(cfg, w, layer, attn_in, positions, cache, inv_freq, rec)  # [T, H]
    _record(rec, tag + "attn_out", attn_out)
    x = x + attn_out
    _record(rec, tag + "attn_residual", x)

    ffn_in = rms_norm(x, w[p + "post_attention_layernorm.weight"], cfg.rms_norm_eps)  # [T, H]
    _record(rec, tag + "ffn_norm", ffn_in)
    if layer in cfg.moe_layers:
        ffn_out = moe_layer(cfg, w, layer, ffn_in, rec)
    else:
        ffn_out = dense_mlp(cfg, w, layer, ffn_in, rec)
    _record(rec, tag + "ffn_out", ffn_out)
    x = x + ffn_out
    _record(rec, tag + "output", x)
    return x


# ----------------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------------


class Llama4Text:
    """The text model: embedding -> decoder layers -> final norm -> untied lm_head."""

    def __init__(self, cfg, weights):
        self.cfg = cfg
        self.w = dict(weights)  # canonical names: model.*, lm_head.weight; float32 tensors
        if "lm_head.weight" not in self.w and cfg.tie_word_embeddings:
            self.w["lm_head.weight"] = self.w["model.embed_tokens.weight"]
        self.inv_freq = rope_frequencies(cfg)  # [D/2]

    @classmethod
    def from_pretrained(cls, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = parse_config(json.load(f))
        return cls(cfg, text_weights(load_checkpoint_tensors(model_dir)))

    def new_cache(self):
        return KVCache(self.cfg)

    def forward(self, tokens, start, cache, rec=None):
        # tokens: [T] ids at absolute positions start..start+T-1 -> logits [T, V] (fp32).
        # The cache must hold exactly the positions 0..start-1 (calls are contiguous).
        with torch.no_grad():
            return self.forward_differentiable(tokens, start, cache, rec)

    def forward_differentiable(self, tokens, start, cache, rec=None):
        # The same as forward(), with autograd left on (training, chapter 11).
        if start != cache.length:
            raise ValueError(f"call starts at {start} but the cache holds {cache.length} positions")
        tokens = torch.as_tensor(np.asarray(tokens), dtype=torch.int64)
        positions = torch.arange(start, start + tokens.shape[0])  # [T]
        _record(rec, "tokens", tokens)
        _record(rec, "positions", positions)
        x = self.w["model.embed_tokens.weight"][tokens]  # [T, H]; no embedding scale
        _record(rec, "embedding", x)
        for layer in range(self.cfg.num_hidden_layers):
            x = decoder_layer(self.cfg, self.w, layer, x, positions, cache, self.inv_freq, rec)
        cache.length += tokens.shape[0]
        h = rms_norm(x, self.w["model.norm.weight"], self.cfg.rms_norm_eps)  # [T, H]
        _record(rec, "final_norm", h)
        logits = h @ self.w["lm_head.weight"].T  # [T, V]
        _record(rec, "logits", logits)
        return logits


# ----------------------------------------------------------------------------------------------
# Training (chapter 11): the loss, and its gradients by autograd
# ----------------------------------------------------------------------------------------------


class GradientRecorder:
    """Keeps the intermediates of one differentiable forward call so their gradients can be read.

    Same names as Recorder. After loss.backward(), gradients() gives d loss / d (each recorded
    float tensor), e.g. "layers.1.ffn_norm" -> the gradient arriving at the MoE layer's input.
    """

    def __init__(self):
        self.tensors = {}

    def __call__(self, name, value):
        if name.endswith(".attn_probs") or not value.requires_grad:
            return  # integer tensors (tokens, expert_index) have no gradient
        value.retain_grad()
        self.tensors[name] = value

    def gradients(self):
        return {name: t.grad.detach().numpy().astype(np.float32).copy()
                for name, t in self.tensors.items() if t.grad is not None}


def sequence_loss_sum(model, tokens, rec=None):
    # tokens: [n] ids of one sequence -> sum over positions 0..n-2 of -log p(tokens[t+1] | tokens[..t]).
    logits = model.forward_differentiable(tokens[:-1], 0, model.new_cache(), rec)  # [n-1, V]
    targets = torch.as_tensor(np.asarray(tokens[1:]), dtype=torch.int64)
    return F.cross_entropy(logits, targets, reduction="sum")


def training_loss(model, sequences, recorders=None):
    # sequences: list of [n] id arrays -> the mean cross-entropy over every prediction of every
    # sequence (the loss chapter 11 trains on). recorders: optional list, one per sequence.
    total = sum(sequence_loss_sum(model, seq, None if recorders is None else recorders[i])
                for i, seq in enumerate(sequences))
    count = sum(len(seq) - 1 for seq in sequences)
    return total / count


def learning_rate(step, peak, warmup_steps, total_steps, minimum):
    # Linear warm-up over the first warmup_steps (step 0 gets peak / warmup_steps), then a cosine
    # from peak down to `minimum` at total_steps; the same formula as common/training/adamw.cpp.
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return minimum + 0.5 * (peak - minimum) * (1.0 + math.cos(math.pi * progress))


def decays(name, tensor):
    # AdamW's weight decay applies to matrices (projections, experts, router, embedding, LM head),
    # not to the norm weights (vectors), as in GPT-2/llm.c and Meta's recipes.
    return tensor.dim() >= 2
