#!/usr/bin/env python3
"""Draws the chapters' figures as SVG, from the formulas and data they show.

    python3 scripts/make_figures.py            write every figure into chapters/NN_*/figures/
    python3 scripts/make_figures.py --check    exit 1 if a committed figure differs from what
                                               this script draws (ctest runs this, label docs)

Every number in a figure is computed here, with the same rule as the C++ code, or read from the
golden data (the MoE routing); nothing is placed by hand. Only the Python 3 standard library is
used, so the figures can be redrawn anywhere.

    chapters/05_rope/figures/rope_rotation.svg         pairs turning by p·θ, and why only p − p' counts
    chapters/05_rope/figures/rope_frequency_bands.svg  llama3 scaling of Scout's and the tiny model's pairs
    chapters/06_attention/figures/attention_masks.svg  chunked vs sliding window vs global, C = 4, 10 tokens
    chapters/07_moe/figures/moe_dispatch.svg           route, gather, experts, scatter, shared expert
    chapters/08_model/figures/decoder_stack.svg        the layer stack and the schedule of its layers
"""

import argparse
import json
import math
import os
import struct
import sys

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))

# Colours, one meaning each throughout the book's figures.
INK = "#222222"
GREY = "#888888"
LIGHT = "#eeeeee"
KEEP = "#4477aa"      # RoPE pairs kept / chunked attention
DIVIDE = "#ee6677"    # RoPE pairs divided / global attention
BLEND = "#ccbb44"     # the blend band / the sliding window
EXPERT_COLOURS = ["#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb",
                  "#000000"]
MOE = "#aa3377"
DENSE = "#66ccee"


class Svg:
    """A few SVG elements, written with fixed number formatting so output is reproducible."""

    def __init__(self, width, height, title):
        self.width, self.height = width, height
        self.items = [f'<title>{escape(title)}</title>',
                      f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>']
        self.arrow_colours = []  # one arrowhead marker per colour used (SVG 1.1 has no
        # context-stroke), in order of first use

    def arrow(self, colour):
        if colour not in self.arrow_colours:
            self.arrow_colours.append(colour)
        return f' marker-end="url(#arrow{self.arrow_colours.index(colour)})"'

    def line(self, x1, y1, x2, y2, colour=INK, width=1.0, dash=None, arrow=False, opacity=None):
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        extra += self.arrow(colour) if arrow else ""
        extra += f' stroke-opacity="{opacity}"' if opacity is not None else ""
        self.items.append(f'<line x1="{n(x1)}" y1="{n(y1)}" x2="{n(x2)}" y2="{n(y2)}" '
                          f'stroke="{colour}" stroke-width="{n(width)}"{extra}/>')

    def polyline(self, points, colour=INK, width=1.0, arrow=False, dash=None):
        extra = self.arrow(colour) if arrow else ""
        extra += f' stroke-dasharray="{dash}"' if dash else ""
        path = " ".join(f"{n(x)},{n(y)}" for x, y in points)
        self.items.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                          f'stroke-width="{n(width)}"{extra}/>')

    def rect(self, x, y, w, h, fill="none", stroke=INK, width=1.0, rx=0, opacity=None):
        extra = f' rx="{n(rx)}"' if rx else ""
        extra += f' fill-opacity="{opacity}"' if opacity is not None else ""
        stroke_part = f' stroke="{stroke}" stroke-width="{n(width)}"' if stroke else ""
        self.items.append(f'<rect x="{n(x)}" y="{n(y)}" width="{n(w)}" height="{n(h)}" '
                          f'fill="{fill}"{stroke_part}{extra}/>')

    def circle(self, x, y, r, fill="none", stroke=INK, width=1.0):
        self.items.append(f'<circle cx="{n(x)}" cy="{n(y)}" r="{n(r)}" fill="{fill}" '
                          f'stroke="{stroke}" stroke-width="{n(width)}"/>')

    def path(self, d, colour=INK, width=1.0, arrow=False, fill="none"):
        extra = self.arrow(colour) if arrow else ""
        self.items.append(f'<path d="{d}" fill="{fill}" stroke="{colour}" '
                          f'stroke-width="{n(width)}"{extra}/>')

    def text(self, x, y, content, size=12, anchor="start", colour=INK, weight=None, italic=False,
             rotate=None):
        extra = f' font-weight="{weight}"' if weight else ""
        extra += ' font-style="italic"' if italic else ""
        extra += f' transform="rotate({rotate} {n(x)} {n(y)})"' if rotate is not None else ""
        self.items.append(f'<text x="{n(x)}" y="{n(y)}" font-size="{size}" '
                          f'text-anchor="{anchor}" fill="{colour}"{extra}>{escape(content)}</text>')

    def render(self):
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" '
                f'height="{self.height}" viewBox="0 0 {self.width} {self.height}" '
                'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">\n<defs>')
        for number, colour in enumerate(self.arrow_colours):
            head += (f'<marker id="arrow{number}" viewBox="0 0 10 10" refX="9" refY="5" '
                     'markerWidth="5" markerHeight="5" orient="auto-start-reverse">'
                     f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>')
        return head + "</defs>\n" + "\n".join(self.items) + "\n</svg>\n"


def n(value):
    """A number as SVG text: at most two decimals, no trailing zeros, no '-0'."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------------------------------------
# The rules the figures draw, as the C++ code implements them.

def rope_frequencies(head_dim, theta):
    """θᵢ = theta^(−2i/D), i = 0 .. D/2 − 1 (common/layers/rope.cpp)."""
    return [theta ** (-(2 * i) / head_dim) for i in range(head_dim // 2)]


def llama3_band(frequency, factor, low, high, original):
    """(band, scaled frequency) of one pair under llama3 scaling (common/layers/rope.cpp)."""
    wavelength = 2 * math.pi / frequency
    if wavelength < original / high:
        return "keep", frequency
    if wavelength > original / low:
        return "divide", frequency / factor
    smooth = (original / wavelength - low) / (high - low)
    return "blend", (1 - smooth) * frequency / factor + smooth * frequency


def visible(query, key, rule, size):
    """May the query at position `query` see the key at `key`? (common/layers/kv_cache.cpp)"""
    if key > query:
        return False
    if rule == "chunked":
        return key // size == query // size
    if rule == "window":
        return key > query - size
    return True  # global


def layer_schedule(layers, no_rope_layer_interval, moe_step=None, moe_layers=None):
    """[(uses_rope, is_moe)] per layer (common/tensors/model_config.cpp)."""
    if moe_layers is None:
        moe_layers = list(range(moe_step - 1, layers, moe_step))
    return [((layer + 1) % no_rope_layer_interval != 0, layer in moe_layers)
            for layer in range(layers)]


def read_golden(path, names):
    """{name: (shape, flat values)} of F32 and I32 tensors of a safetensors file. The standard
    library only: golden/safetensors_io.py needs numpy, which the checks must not."""
    with open(path, "rb") as file:
        header_length = struct.unpack("<Q", file.read(8))[0]
        header = json.loads(file.read(header_length))
        data_start = 8 + header_length
        result = {}
        for name in names:
            entry = header[name]
            begin, end = entry["data_offsets"]
            file.seek(data_start + begin)
            raw = file.read(end - begin)
            code = {"F32": "f", "I32": "i"}[entry["dtype"]]
            result[name] = (entry["shape"], list(struct.unpack(f"<{len(raw) // 4}{code}", raw)))
        return result


# ---------------------------------------------------------------------------------------------
# Chapter 05: RoPE.

def rope_rotation():
    frequencies = rope_frequencies(16, 10000.0)  # the tiny model: D 16, base 10000
    svg = Svg(940, 390, "RoPE: each pair of numbers turns by position times its frequency")
    start_angle = math.radians(25)
    radius = 100

    def point(cx, cy, angle, length):
        return cx + length * math.cos(angle), cy - length * math.sin(angle)

    def dial(cx, cy, title, subtitle, frequency, positions, labelled, colour):
        svg.text(cx, 28, title, size=14, anchor="middle", weight="bold")
        svg.text(cx, 46, subtitle, size=12, anchor="middle", colour=GREY)
        svg.circle(cx, cy, radius, stroke=LIGHT, width=1.5)
        svg.line(cx - radius - 12, cy, cx + radius + 12, cy, colour=LIGHT)
        svg.line(cx, cy - radius - 12, cx, cy + radius + 12, colour=LIGHT)
        for p in positions:
            angle = start_angle + p * frequency
            x, y = point(cx, cy, angle, radius)
            svg.line(cx, cy, x, y, colour=colour, width=2.2 if p == 0 else 1.3, arrow=True,
                     opacity=1 if p == 0 else 0.7)
            if p in labelled:
                label_x, label_y = point(cx, cy, angle, radius + 20)
                svg.text(label_x, label_y + 4, f"p={p}", size=11, anchor="middle", colour=colour)

    positions = range(7)
    dial(150, 200, "pair 0: θ₀ = 1 rad per position", "fast: a full turn every 6.3 positions",
         frequencies[0], positions, positions, KEEP)
    dial(460, 200, f"pair 2: θ₂ = {frequencies[2]:.1f} rad per position",
         "slow: a full turn every 62.8 positions", frequencies[2], positions, (0, 6), DIVIDE)

    # Right: a query at p and a key at p' keep the angle (p − p')·θ between them.
    cx, cy = 770, 200
    svg.text(cx, 28, "only p − p' counts", size=14, anchor="middle", weight="bold")
    svg.text(cx, 46, "q at p, k at p' (pair 0): angle (p − p')·θ₀", size=12, anchor="middle",
             colour=GREY)
    svg.circle(cx, cy, radius, stroke=LIGHT, width=1.5)
    q_angle, k_angle = math.radians(60), math.radians(10)  # the pair's angle before rotation
    for (p, p_key), colour, arc in (((3, 0), KEEP, 26), ((10, 7), DIVIDE, 38)):
        key_at, query_at = k_angle + p_key * frequencies[0], q_angle + p * frequencies[0]
        for angle, label, length in ((query_at, f"q@{p}", radius), (key_at, f"k@{p_key}",
                                                                     radius * 0.72)):
            x, y = point(cx, cy, angle, length)
            svg.line(cx, cy, x, y, colour=colour, width=1.8, arrow=True)
            label_x, label_y = point(cx, cy, angle, length + 16)
            svg.text(label_x, label_y + 4, label, size=11, anchor="middle", colour=colour)
        # The arc from k to q, counter-clockwise: the same length for both pairs.
        turn = (query_at - key_at) % (2 * math.pi)
        x1, y1 = point(cx, cy, key_at, arc)
        x2, y2 = point(cx, cy, key_at + turn, arc)
        large = 1 if turn > math.pi else 0
        svg.path(f"M{n(x1)},{n(y1)} A{arc},{arc} 0 {large} 0 {n(x2)},{n(y2)}", colour=colour,
                 width=1.2)
    turn_degrees = math.degrees((q_angle - k_angle + 3 * frequencies[0]) % (2 * math.pi))
    svg.text(cx, 345, f"(3, 0) and (10, 7): the same {turn_degrees:.0f}° from k to q,",
             size=12, anchor="middle")
    svg.text(cx, 362, "so the same dot product q·k", size=12, anchor="middle")
    svg.text(305, 345, "x'[2i] = x[2i]·cos(pθᵢ) − x[2i+1]·sin(pθᵢ)", size=12, anchor="middle")
    svg.text(305, 362, "x'[2i+1] = x[2i]·sin(pθᵢ) + x[2i+1]·cos(pθᵢ)   (tiny model, D = 16)",
             size=12, anchor="middle")
    return svg


def rope_frequency_bands():
    svg = Svg(900, 440, "llama3 RoPE scaling: which pairs keep, blend or divide their frequency")

    def panel(x0, width, title, subtitle, head_dim, theta, factor, low, high, original, y_max_exp):
        top, bottom = 80, 360
        frequencies = rope_frequencies(head_dim, theta)
        pairs = len(frequencies)
        svg.text(x0 + width / 2, 26, title, size=14, anchor="middle", weight="bold")
        svg.text(x0 + width / 2, 44, subtitle, size=12, anchor="middle", colour=GREY)

        def y_of(wavelength):
            return bottom - (math.log10(wavelength) / y_max_exp) * (bottom - top)

        def x_of(pair):
            return x0 + 58 + (pair + 0.5) * (width - 68) / pairs

        # The bands, by wavelength: keep below original/high, divide above original/low.
        keep_limit, divide_limit = original / high, original / low
        svg.rect(x0 + 58, y_of(keep_limit), width - 68, bottom - y_of(keep_limit), fill=KEEP,
                 stroke=None, opacity=0.08)
        svg.rect(x0 + 58, top, width - 68, y_of(divide_limit) - top, fill=DIVIDE, stroke=None,
                 opacity=0.08)
        if divide_limit > keep_limit:
            svg.rect(x0 + 58, y_of(divide_limit), width - 68, y_of(keep_limit) - y_of(divide_limit),
                     fill=BLEND, stroke=None, opacity=0.25)
        # Axes and decades.
        svg.line(x0 + 58, bottom, x0 + width - 10, bottom)
        svg.line(x0 + 58, top, x0 + 58, bottom)
        for exponent in range(0, y_max_exp + 1):
            y = y_of(10 ** exponent)
            svg.line(x0 + 54, y, x0 + 58, y)
            svg.text(x0 + 51, y + 4, f"1e{exponent}" if exponent > 3 else str(10 ** exponent),
                     size=10, anchor="end")
        svg.text(x0 + 10, (top + bottom) / 2, "wavelength 2π/θ (positions)", size=11,
                 anchor="middle", rotate=-90)
        step = 8 if pairs > 16 else 1
        for pair in range(0, pairs, step):
            svg.text(x_of(pair), bottom + 14, str(pair), size=10, anchor="middle")
        svg.text(x0 + width / 2, bottom + 30, "pair i", size=11, anchor="middle")
        # Threshold lines.
        svg.line(x0 + 58, y_of(keep_limit), x0 + width - 10, y_of(keep_limit), colour=KEEP,
                 dash="4,3")
        if divide_limit != keep_limit:
            svg.line(x0 + 58, y_of(divide_limit), x0 + width - 10, y_of(divide_limit),
                     colour=DIVIDE, dash="4,3")
        counts = {"keep": 0, "blend": 0, "divide": 0}
        colour_of = {"keep": KEEP, "blend": BLEND, "divide": DIVIDE}
        for pair, frequency in enumerate(frequencies):
            band, scaled = llama3_band(frequency, factor, low, high, original)
            counts[band] += 1
            x = x_of(pair)
            before, after = 2 * math.pi / frequency, 2 * math.pi / scaled
            if band != "keep":
                svg.line(x, y_of(before), x, y_of(after), colour=colour_of[band], width=1)
                svg.circle(x, y_of(before), 2.5, fill="white", stroke=colour_of[band])
            svg.circle(x, y_of(after), 2.5, fill=colour_of[band], stroke=colour_of[band])
        return counts, keep_limit, divide_limit, y_of, x_of

    counts, keep_limit, _, y_of, x_of = panel(
        20, 500, "Scout: D 128, θ base 500000", "factor 16, low 1, high 1, original context 8192",
        128, 500000.0, 16.0, 1.0, 1.0, 8192.0, 8)
    svg.text(x_of(36), y_of(keep_limit) + 16, "8192 = 8192/high = 8192/low:", size=11)
    svg.text(x_of(36), y_of(keep_limit) + 30, "the blend band is empty", size=11)
    svg.text(x_of(1), 100, f"pairs 35–63: divided by 16 ({counts['divide']} pairs)", size=11,
             colour=DIVIDE)
    svg.text(x_of(20), 330, f"pairs 0–34: kept ({counts['keep']} pairs)", size=11, colour=KEEP)

    counts_tiny, keep_tiny, divide_tiny, y_tiny, x_tiny = panel(
        560, 320, "tiny model: D 16, θ base 10000", "factor 16, low 1, high 4, original 64",
        16, 10000.0, 16.0, 1.0, 4.0, 64.0, 6)
    svg.text(x_tiny(0), y_tiny(divide_tiny) - 6, "64/low = 64", size=11, colour=DIVIDE)
    svg.text(x_tiny(0), y_tiny(keep_tiny) + 14, "64/high = 16", size=11, colour=KEEP)
    svg.text(x_tiny(3.2), y_tiny(32) + 4, "blend", size=11, colour="#887700")
    svg.text(720, 420, f"keep {counts_tiny['keep']}, blend {counts_tiny['blend']}, "
             f"divide {counts_tiny['divide']}", size=12, anchor="middle")
    svg.text(270, 420, "○ wavelength before scaling   ● after (divided pairs turn 16 times slower)",
             size=12, anchor="middle")
    return svg


# ---------------------------------------------------------------------------------------------
# Chapter 06: the masks.

def attention_masks():
    tokens, size, cell = 10, 4, 22
    svg = Svg(900, 350, f"Which keys each query sees: chunked, sliding window and global, "
              f"{tokens} tokens, size {size}")
    panels = (("chunked, C = 4 (RoPE layers)", "chunked", KEEP),
              ("sliding window of 4 (not Llama 4)", "window", BLEND),
              ("global, causal (NoPE layers)", "global", DIVIDE))
    for index, (title, rule, colour) in enumerate(panels):
        x0, y0 = 50 + index * 290, 70
        svg.text(x0 + tokens * cell / 2 + 10, 24, title, size=13, anchor="middle", weight="bold")
        svg.text(x0 + tokens * cell / 2, 50, "key position j", size=11, anchor="middle",
                 colour=GREY)
        svg.text(x0 - 28, y0 + tokens * cell / 2, "query position i", size=11, anchor="middle",
                 colour=GREY, rotate=-90)
        for j in range(tokens):
            svg.text(x0 + j * cell + cell / 2, y0 - 5, str(j), size=10, anchor="middle")
        svg.text(x0 + tokens * cell + 22, y0 - 5, "sees", size=10, anchor="middle")
        for i in range(tokens):
            svg.text(x0 - 6, y0 + i * cell + cell / 2 + 4, str(i), size=10, anchor="end")
            seen = 0
            for j in range(tokens):
                allowed = visible(i, j, rule, size)
                seen += allowed
                svg.rect(x0 + j * cell, y0 + i * cell, cell, cell,
                         fill=colour if allowed else "white", stroke="#cccccc", width=0.8)
            svg.text(x0 + tokens * cell + 22, y0 + i * cell + cell / 2 + 4, str(seen), size=10,
                     anchor="middle")
        if rule == "chunked":  # the chunk boundaries
            for boundary in range(size, tokens, size):
                svg.line(x0 + boundary * cell, y0, x0 + boundary * cell, y0 + tokens * cell,
                         width=2)
                svg.line(x0, y0 + boundary * cell, x0 + tokens * cell, y0 + boundary * cell,
                         width=2)
        svg.rect(x0, y0, tokens * cell, tokens * cell, width=1.2)
    y_note = 70 + tokens * cell + 30
    svg.text(50, y_note, "chunked: j ≤ i and floor(j/4) = floor(i/4). Position 4 starts a chunk "
             "and sees only itself; a window of 4 would let it see 1..4.", size=12)
    svg.text(50, y_note + 18, "window: i − 4 < j ≤ i.   global: j ≤ i.   Scout: C = 8192 "
             "on 36 RoPE layers, global on the 12 NoPE layers.", size=12)
    return svg


# ---------------------------------------------------------------------------------------------
# Chapter 07: MoE dispatch, with the tiny model's real routing (layer 1, the `full` case).

def moe_dispatch():
    golden = read_golden(os.path.join(ROOT, "golden/data/activations-tiny.safetensors"),
                         ["full.layers.1.expert_index", "full.layers.1.expert_score"])
    shape, index = golden["full.layers.1.expert_index"]
    _, score = golden["full.layers.1.expert_score"]
    tokens, experts = shape[0], 4
    row, gap = 15, 16
    top = 150
    bottom = top + tokens * row + (experts - 1) * gap  # the gathered column is the tallest
    svg = Svg(940, bottom + 90, "MoE dispatch: route, gather, experts, scatter, shared expert")
    svg.text(470, 22, "One MoE layer of the tiny model (layer 1, 24 tokens, 4 experts, top-1): "
             "the routing as the golden data records it", size=13, anchor="middle", weight="bold")

    # The router, above the flow: it decides each token's colour (expert) and score.
    rx, ry = 110, 42
    svg.rect(rx, ry, 300, 54, fill=LIGHT, stroke=INK, rx=6)
    svg.text(rx + 150, ry + 18, "route_tokens: logits = x·W_routerᵀ  [24, 4]", size=11,
             anchor="middle", weight="bold")
    svg.text(rx + 150, ry + 36, "e = argmax (raw logits),  g = sigmoid(logit_e)", size=11,
             anchor="middle")
    svg.text(rx + 150, ry + 50, "colour = e", size=10, anchor="middle", colour=GREY)

    # Column A: the input rows, coloured by the expert the router chose.
    ax = 30
    svg.text(ax + 34, top - 30, "x [24, 64]", size=12, anchor="middle", weight="bold")
    svg.text(ax + 34, top - 14, "post-attention norm", size=10, anchor="middle", colour=GREY)
    svg.polyline([(ax + 34, top - 42), (ax + 34, ry + 27), (rx, ry + 27)], arrow=True)
    for t in range(tokens):
        svg.rect(ax + 14, top + t * row, 40, row - 2, fill=EXPERT_COLOURS[index[t]], stroke=None,
                 opacity=0.85)
        svg.text(ax + 8, top + t * row + row - 4, str(t), size=9, anchor="end")
    svg.line(345, ry + 54, 345, top - 42, arrow=True)

    # Column C: the gathered batches, one per expert, each row scaled by its score.
    cx = 300
    svg.text(cx + 45, top - 30, "gather", size=12, anchor="middle", weight="bold")
    svg.text(cx + 45, top - 14, "in = g · x[tokens of e]", size=10, anchor="middle", colour=GREY)
    batch_top, y = {}, top
    for e in range(experts):
        members = [t for t in range(tokens) if index[t] == e]
        batch_top[e] = y
        for k, t in enumerate(members):
            ty = y + k * row
            svg.rect(cx, ty, 40, row - 2, fill=EXPERT_COLOURS[e], stroke=None, opacity=0.85)
            svg.text(cx + 46, ty + row - 4, f"t{t} × {score[t]:.2f}", size=9)
            # gather line from the input row
            svg.line(ax + 54, top + t * row + row / 2 - 1, cx, ty + row / 2 - 1,
                     colour=EXPERT_COLOURS[e], width=0.7, opacity=0.6)
        y += len(members) * row + gap
    # Column D: the experts.
    dx = 470
    svg.text(dx + 80, top - 30, "experts (SwiGLU)", size=12, anchor="middle", weight="bold")
    svg.text(dx + 80, top - 14, "only the tokens routed to each", size=10, anchor="middle",
             colour=GREY)
    out_x = 700
    for e in range(experts):
        members = [t for t in range(tokens) if index[t] == e]
        height = len(members) * row - 2
        box_y = batch_top[e]
        svg.rect(dx, box_y, 160, max(height, 28), fill="white", stroke=EXPERT_COLOURS[e], width=2,
                 rx=5)
        svg.text(dx + 80, box_y + 13, f"expert {e}: {len(members)} tokens", size=11,
                 anchor="middle", weight="bold")
        if height > 30:
            svg.text(dx + 80, box_y + 28, "gate_up [64, 64] → silu·up", size=10, anchor="middle",
                     colour=GREY)
            svg.text(dx + 80, box_y + 41, "→ down [32, 64]", size=10, anchor="middle",
                     colour=GREY)
        svg.line(cx + 100, box_y + height / 2, dx, box_y + height / 2, arrow=True)
        # scatter lines back to the token's row in `routed`
        for k, t in enumerate(members):
            svg.line(dx + 160, box_y + k * row + row / 2 - 1, out_x, top + t * row + row / 2 - 1,
                     colour=EXPERT_COLOURS[e], width=0.7, opacity=0.6)

    # Column E: routed, scattered back into token order.
    svg.text(out_x + 20, top - 30, "scatter", size=12, anchor="middle", weight="bold")
    svg.text(out_x + 20, top - 14, "routed[t] += out", size=10, anchor="middle", colour=GREY)
    for t in range(tokens):
        svg.rect(out_x, top + t * row, 40, row - 2, fill=EXPERT_COLOURS[index[t]], stroke=None,
                 opacity=0.85)
    # Shared expert and the sum.
    sx = 800
    svg.rect(sx, top + 40, 120, 70, fill="white", stroke=INK, width=1.5, rx=5)
    svg.text(sx + 60, top + 62, "shared expert", size=11, anchor="middle", weight="bold")
    svg.text(sx + 60, top + 78, "SwiGLU, width 32", size=10, anchor="middle", colour=GREY)
    svg.text(sx + 60, top + 94, "on all 24 tokens", size=10, anchor="middle", colour=GREY)
    svg.rect(sx, top + 220, 120, 50, fill=LIGHT, stroke=INK, rx=5)
    svg.text(sx + 60, top + 242, "out = shared", size=11, anchor="middle")
    svg.text(sx + 60, top + 258, "+ routed [24, 64]", size=11, anchor="middle")
    svg.line(out_x + 42, top + 245, sx, top + 245, arrow=True)
    svg.line(sx + 60, top + 110, sx + 60, top + 220, arrow=True)
    svg.polyline([(ax + 34, top + tokens * row + 2), (ax + 34, bottom + 14),
                  (sx + 100, bottom + 14), (sx + 100, top + 110)], arrow=True,
                 colour=GREY, dash="4,3")
    svg.text(470, bottom + 28, "x goes to the shared expert too, unscaled", size=10,
             anchor="middle", colour=GREY)
    counts = ", ".join(f"expert {e}: {sum(1 for t in range(tokens) if index[t] == e)}"
                       for e in range(experts))
    svg.text(470, bottom + 50, f"tokens per expert: {counts}", size=12,
             anchor="middle")
    svg.text(470, bottom + 68, "the score g (shown × after each token) scales the "
             "expert's input, not its output", size=12, anchor="middle")
    return svg


# ---------------------------------------------------------------------------------------------
# Chapter 08: the decoder stack and its schedule.

def decoder_stack():
    with open(os.path.join(ROOT, "golden/data/tiny/config.json"), encoding="utf-8") as file:
        tiny = json.load(file)["text_config"]
    schedules = [
        ("tiny", [(uses_rope == 1, layer in tiny["moe_layers"])
                  for layer, uses_rope in enumerate(tiny["no_rope_layers"])]),
        ("Scout", layer_schedule(48, 4, moe_step=1)),
        ("Maverick", layer_schedule(48, 4, moe_step=2)),
    ]
    svg = Svg(940, 470, "The decoder stack, and what each layer does in tiny, Scout and Maverick")

    # Left: the stack.
    x, w = 20, 300
    boxes = [("ids [T]", None), ("embed_tokens: x = table[ids]  [T, H]", LIGHT)]
    y = 40
    svg.text(x + w / 2, 22, "the stack", size=14, anchor="middle", weight="bold")
    for label, fill in boxes:
        if fill:
            svg.rect(x, y, w, 26, fill=fill, rx=4)
        svg.text(x + w / 2, y + 17, label, size=12, anchor="middle")
        svg.line(x + w / 2, y + 26, x + w / 2, y + 38, arrow=True)
        y += 40
    layer_top = y
    svg.rect(x - 8, layer_top - 6, w + 16, 182, stroke=GREY, rx=8)
    svg.text(x + w + 14, layer_top + 10, "× 48", size=13, weight="bold")
    svg.text(x + w + 14, layer_top + 26, "(tiny × 4)", size=10, colour=GREY)
    steps = [("a = rms_norm(x)   input_layernorm", LIGHT),
             ("attention(a, cache)   chunked+RoPE or global+NoPE", "#dde6f0"),
             ("x = x + attention output", None),
             ("b = rms_norm(x)   post_attention_layernorm", LIGHT),
             ("MoE(b)  or  dense SwiGLU(b)", "#f0dde8"),
             ("x = x + feed-forward output", None)]
    for k, (label, fill) in enumerate(steps):
        yy = layer_top + k * 28
        if fill:
            svg.rect(x, yy, w, 22, fill=fill, rx=3)
        svg.text(x + w / 2, yy + 15, label, size=11, anchor="middle")
    y = layer_top + 6 * 28 + 14
    svg.line(x + w / 2, y - 6, x + w / 2, y + 6, arrow=True)
    for k, label in enumerate(("norm: rms_norm(x)", "lm_head  [V, H]: logits [T, V]")):
        if k:
            svg.line(x + w / 2, y - 6, x + w / 2, y + 6, arrow=True)
        svg.rect(x, y + 8, w, 26, fill=LIGHT, rx=4)
        svg.text(x + w / 2, y + 25, label, size=12, anchor="middle")
        y += 40
    svg.text(x + w / 2, y + 20, "the next token: sample from the last row, run again", size=11,
             anchor="middle", colour=GREY)

    # Right: the schedules, one strip per model, a column per layer.
    sx, cell = 420, 10.5
    svg.text(sx + 250, 22, "the schedule: what each layer does", size=14, anchor="middle",
             weight="bold")
    y = 60
    for name, schedule in schedules:
        rope = sum(1 for uses_rope, _ in schedule if uses_rope)
        moe = sum(1 for _, is_moe in schedule if is_moe)
        svg.text(sx, y, f"{name}: {len(schedule)} layers, {rope} RoPE + {len(schedule) - rope} "
                 f"NoPE, {moe} MoE + {len(schedule) - moe} dense", size=12, weight="bold")
        for layer, (uses_rope, is_moe) in enumerate(schedule):
            cx = sx + layer * cell
            svg.rect(cx, y + 8, cell - 1, 16, fill=KEEP if uses_rope else DIVIDE, stroke=None)
            svg.rect(cx, y + 26, cell - 1, 16, fill=MOE if is_moe else DENSE, stroke=None)
            if layer % 4 == 3 or len(schedule) <= 4:
                svg.text(cx + cell / 2, y + 54, str(layer), size=9, anchor="middle", colour=GREY)
        y += 86
    # Legend.
    legend = [(KEEP, "attention: chunked + RoPE (+ QK norm in Scout and tiny, not Maverick)"),
              (DIVIDE, "attention: global + NoPE + temperature tuning"),
              (MOE, "feed-forward: MoE (routed experts + shared expert)"),
              (DENSE, "feed-forward: dense SwiGLU MLP")]
    for k, (colour, label) in enumerate(legend):
        svg.rect(sx, y + k * 20, 14, 14, fill=colour, stroke=None)
        svg.text(sx + 20, y + k * 20 + 11, label, size=11)
    svg.text(sx, y + 92, "NoPE: (layer + 1) % no_rope_layer_interval == 0 (interval 4).", size=11,
             colour=GREY)
    svg.text(sx, y + 108, "MoE: every interleave_moe_layer_step-th layer from step − 1 "
             "(Scout 1, Maverick 2).", size=11, colour=GREY)
    return svg


FIGURES = {
    "chapters/05_rope/figures/rope_rotation.svg": rope_rotation,
    "chapters/05_rope/figures/rope_frequency_bands.svg": rope_frequency_bands,
    "chapters/06_attention/figures/attention_masks.svg": attention_masks,
    "chapters/07_moe/figures/moe_dispatch.svg": moe_dispatch,
    "chapters/08_model/figures/decoder_stack.svg": decoder_stack,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare the committed figures with freshly drawn ones; write nothing")
    arguments = parser.parse_args()
    stale = []
    for relative, draw in FIGURES.items():
        path = os.path.join(ROOT, relative)
        text = draw().render()
        if arguments.check:
            try:
                with open(path, encoding="utf-8") as file:
                    committed = file.read()
            except FileNotFoundError:
                committed = None
            if committed != text:
                stale.append(relative)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
        print(f"wrote {relative}")
    if stale:
        for relative in stale:
            print(f"{relative} differs from what scripts/make_figures.py draws "
                  "(run python3 scripts/make_figures.py and commit the result)")
        return 1
    if arguments.check:
        print(f"{len(FIGURES)} figures: each equals what scripts/make_figures.py draws")
    return 0


if __name__ == "__main__":
    sys.exit(main())
