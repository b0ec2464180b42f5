#!/usr/bin/env bash
# Training speed of chapter 11 against PyTorch: the same model, batch, sequence length and thread
# count, one training step each (forward, backward, clipping, AdamW), alternated ROUNDS times
# (ours, PyTorch, ours, ...) so that both see the same machine; prints the medians and the ratio.
#
#   bench/training_vs_pytorch.sh [BUILD_DIR] [ROUNDS]        (defaults: build, 3)
#
# Needs: a build with bench_training, Debian's python3-torch and python3-numpy in /usr/bin/python3.
# PyTorch's matrix products go to whichever BLAS the system provides; Debian's default is the
# reference BLAS (a few GFLOP/s), so OpenBLAS (apt install libopenblas0-pthread) is used where it
# is installed, which is how anyone training with PyTorch on a CPU would run it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-3}
threads=$(nproc)
openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
blas="Debian's default BLAS"
if [[ -e $openblas/libblas.so.3 ]]; then
  export LD_LIBRARY_PATH=$openblas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  blas="OpenBLAS ($openblas)"
fi

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $threads cores; $(date -u +%Y-%m-%dT%H:%MZ)"
echo "step: chapters/11_training/configs/bible.json, 16 sequences x 256 tokens, $threads threads, f32"
echo "pytorch: $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') with $blas"

ours=() theirs=() peaks=()
for ((round = 1; round <= rounds; ++round)); do
  json=$(OMP_NUM_THREADS=$threads "$build/bin/bench_training" \
    --benchmark_filter='BM_Ceilings/|BM_TrainingStep/16/256' --benchmark_format=json 2>/dev/null)
  read -r tokens peak gflops < <(JSON="$json" python3 -c '
import json, os
b = json.loads(os.environ["JSON"])["benchmarks"]
step = next(x for x in b if "BM_TrainingStep" in x["name"])
ceil = next(x for x in b if "BM_Ceilings/" in x["name"])
print(step["tok/s"], ceil["peak_GFLOP/s"], step["GFLOP/s"])')
  ours+=("$tokens")
  peaks+=("$peak")
  pytorch=$(OMP_NUM_THREADS=$threads /usr/bin/python3 bench/training_step_pytorch.py \
    --threads "$threads" --steps 3)
  theirs+=("$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["tokens_per_second"])' "$pytorch")")
  echo "round $round: ours ${ours[-1]} tok/s ($gflops GFLOP/s of a ${peaks[-1]} GFLOP/s FMA peak)," \
    "pytorch ${theirs[-1]} tok/s"
done
OURS="${ours[*]}" THEIRS="${theirs[*]}" PEAKS="${peaks[*]}" python3 - <<'PY'
import os, statistics
ours = [float(x) for x in os.environ["OURS"].split()]
theirs = [float(x) for x in os.environ["THEIRS"].split()]
peaks = [float(x) for x in os.environ["PEAKS"].split()]
m_ours, m_theirs = statistics.median(ours), statistics.median(theirs)
print(f"median: ours {m_ours:.0f} tok/s, pytorch {m_theirs:.0f} tok/s, ratio {m_ours / m_theirs:.2f}x "
      f"(FMA peak median {statistics.median(peaks):.1f} GFLOP/s)")
PY
