#!/usr/bin/env bash
# Prefill and decode speed of chapter08_model against llama.cpp on the same GGUF files (bf16, and
# the Q8_0 and Q4_0 files llama.cpp's own quantizer makes of it), same thread count, alternated
# A/B round by round; medians and ratios.
#
#   bench/decode_vs_llama_cpp.sh LLAMA_LIB_DIR LLAMA_SOURCE_DIR [ROUNDS] [BUILD_DIR]
#
# LLAMA_LIB_DIR holds libllama and the ggml libraries (npm's node-llama-cpp ships them prebuilt:
# node_modules/@node-llama-cpp/linux-x64/bins/linux-x64); LLAMA_SOURCE_DIR is llama.cpp's source
# tree of the same release, for llama.h (node-llama-cpp's package holds it as a git bundle: see
# golden/check_llama_cpp_gguf.py). The model is the synthetic `1b` shape with random weights
# (bench/write_random_gguf.py, which needs NumPy: scripts/setup.sh --golden), written once under
# $GGUF_DIR (default /tmp/llama4-gguf-bench).
# Workload: a 128-token prompt, then 64 greedy tokens, 2 threads, as llama-bench's pp128/tg64.
set -euo pipefail
cd "$(dirname "$0")/.."
lib=$(realpath "$1")
source_dir=$(realpath "$2")
rounds=${3:-5}
build=${4:-build}
work=${GGUF_DIR:-/tmp/llama4-gguf-bench}
mkdir -p "$work"

libraries=("$lib"/libllama*.so "$lib"/libggml.*so "$lib"/libggml-base*.so)
for helper in llama_cpp_speed llama_cpp_quantize; do
  gcc -O2 "bench/$helper.c" -o "$work/$helper" -I"$source_dir/include" \
    -I"$source_dir/ggml/include" "${libraries[@]}" -Wl,-rpath,"$lib"
done
[[ -f "$work/bf16.gguf" ]] || /usr/bin/python3 bench/write_random_gguf.py "$work/bf16.gguf"
for format in q8_0 q4_0; do
  [[ -f "$work/$format.gguf" ]] || "$work/llama_cpp_quantize" "$work/bf16.gguf" "$work/$format.gguf" "$format"
done

prompt=128
new_tokens=64
ids=$(python3 -c "print(','.join(str((1 + 7 * i) % 32000) for i in range($prompt)))")
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
echo "workload: prompt $prompt tokens, $new_tokens greedy tokens, 2 threads, $rounds rounds"
results=$(mktemp)
for round in $(seq "$rounds"); do
  for format in bf16 q8_0 q4_0; do
    read -r prefill decode < <("$work/llama_cpp_speed" "$work/$format.gguf" "$lib" 2 "$prompt" "$new_tokens" 2>/dev/null)
    echo "$format llama.cpp $prefill $decode" >>"$results"
    line=$("$build/bin/chapter08_model" --model "$work/$format.gguf" --tokens "$ids" -n "$new_tokens" \
      --threads 2 2>&1 | grep 'decode')
    prefill=$(sed -n 's/.*prefill [0-9.]* s = \([0-9.]*\) tok\/s.*/\1/p' <<<"$line")
    decode=$(sed -n 's/.*tokens: decode \([0-9.]*\) tok\/s.*/\1/p' <<<"$line")
    echo "$format ours $prefill $decode" >>"$results"
    echo "round $round $format: llama.cpp and ours done" >&2
  done
done
python3 - "$results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
print(f"{'weights':<8} {'engine':<10} {'prefill tok/s':>14} {'decode tok/s':>13}   (medians; each round's values)")
for fmt in ("bf16", "q8_0", "q4_0"):
    medians = {}
    for engine in ("llama.cpp", "ours"):
        prefill = [float(r[2]) for r in rows if r[0] == fmt and r[1] == engine]
        decode = [float(r[3]) for r in rows if r[0] == fmt and r[1] == engine]
        medians[engine] = (statistics.median(prefill), statistics.median(decode))
        print(f"{fmt:<8} {engine:<10} {medians[engine][0]:>14.1f} {medians[engine][1]:>13.1f}   "
              f"{' '.join(f'{p:.0f}' for p in prefill)} | {' '.join(f'{d:.1f}' for d in decode)}")
    print(f"{fmt:<8} {'ours/them':<10} {medians['ours'][0] / medians['llama.cpp'][0]:>13.2f}x "
          f"{medians['ours'][1] / medians['llama.cpp'][1]:>12.2f}x")
PY
rm -f "$results"
