#!/usr/bin/env bash
# Encoding speed of our tokenizer against npm tiktoken, on the same corpus, in the same run, on
# one thread. Prints both MB/s and the ratio, and checks both produced the same ids.
#
#   bench/tokenizer_vs_tiktoken.sh [BUILD_DIR]      (default: build)
#
# Needs: a build with bench_tokenizer (cmake --build BUILD_DIR --target bench_tokenizer), node,
# golden/tokenizer/node_modules (cd golden/tokenizer && npm ci), and Meta's tokenizer.model
# ($LLAMA4_TOKENIZER or ../shared/llama4/tokenizer.model).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
corpus=$(mktemp --suffix=.json)
trap 'rm -f "$corpus"' EXIT

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
echo "corpus:  $(node bench/tiktoken_encode.cjs --write-corpus "$corpus")"

# Ours: Google Benchmark, minimum of 5 repetitions of BM_Encode, CPU time.
ours_json=$(LLAMA4_BENCH_CORPUS="$corpus" taskset -c 0 "$build/bin/bench_tokenizer" \
  --benchmark_filter='BM_Encode$|BM_LoadTokenizer$' --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=false --benchmark_format=json 2>/dev/null)
theirs_json=$(taskset -c 0 node bench/tiktoken_encode.cjs --time "$corpus")

OURS="$ours_json" THEIRS="$theirs_json" python3 - <<'PY'
import json, os
ours = json.loads(os.environ["OURS"])["benchmarks"]
theirs = json.loads(os.environ["THEIRS"])
encode = [b for b in ours if b["name"] == "BM_Encode" and b.get("run_type") == "iteration"]
load = [b for b in ours if b["name"] == "BM_LoadTokenizer" and b.get("run_type") == "iteration"]
best = min(encode, key=lambda b: b["cpu_time"])
ours_mb_s = best["corpus_MB"] / (best["cpu_time"] / 1e3)
print(f"ours:     {ours_mb_s:7.2f} MB/s  ({int(best['tokens'])} tokens, checksum {int(best['checksum'])}; "
      f"load {min(b['cpu_time'] for b in load):.0f} ms)")
print(f"tiktoken: {theirs['mb_per_s']:7.2f} MB/s  ({theirs['tokens']} tokens, checksum {theirs['checksum']}; "
      f"load {theirs['load_seconds'] * 1e3:.0f} ms)")
print(f"ratio:    {ours_mb_s / theirs['mb_per_s']:.2f}x")
same = int(best["tokens"]) == theirs["tokens"] and int(best["checksum"]) == theirs["checksum"]
print("same ids: " + ("yes" if same else "NO"))
raise SystemExit(0 if same else 1)
PY
