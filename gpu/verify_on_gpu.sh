#!/usr/bin/env bash
# Everything chapter 09 must check on a real GPU, in one script, with every log kept.
#
#   gpu/verify_on_gpu.sh [STEP ...]        STEP: env build test programs bench (default: all of them)
#
# On the NVIDIA test machine (H100/H200: nvcc 13, CMake, ninja):
#   1. env       the GPU, driver, compilers and tools, as this script finds them
#   2. build     configure with GPU_BACKEND=nvidia (Release, warnings as errors) and build the GPU
#                targets; if configure fails (a library missing there), fall back to
#                gpu/standalone_test.sh, which needs only nvcc, g++, GoogleTest's sources and nlohmann-json
#   3. test      REQUIRE_GPU=1 ctest -L gpu: every kernel against its CPU function, the whole model
#                against golden, greedy tokens against chapter 08, chapter09_hip --dump-logits
#   4. programs  chapter09_hip on the golden model (it must print "all 16 tokens equal"), its
#                activations against golden stage by stage (chapter08_compare), and --synthetic 100m,
#                1b and scout-layer
#   5. bench     bench_gpu: the bandwidth ceiling, the kernels at Scout's shapes, decode and prefill
#                tok/s of the synthetic models, as Markdown for bench/RESULTS.md
#   6. golden    (not GPU work, but that machine has torch 2.x and HF transformers) the golden
#                reference against HF's own Llama4ForCausalLM: golden/generate.py --check-transformers,
#                whose outcome goes into golden/README.md (issue 2); not in the default list
#
# Logs go to $OUT (the device tool's output folder) or ./build-gpu-verify-logs; summary.txt lists each
# step's exit status. The script exits non-zero if any step failed. Steps can be run separately (each
# in under ten minutes), in this order: a later step uses the earlier one's build.
#
# Environment: GPU_BACKEND (nvidia, or amd on an AMD machine), BUILD_DIR (default build-gpu-verify),
# GPU_ARCHS (default 90 for nvidia, gfx90a;gfx940 for amd; gfx942 on MI300X needs ROCm >= 6).
set -uo pipefail
cd "$(dirname "$0")/.."

backend=${GPU_BACKEND:-nvidia}
build=${BUILD_DIR:-build-gpu-verify}
logs=${OUT:-$PWD/build-gpu-verify-logs}
jobs=$(nproc)
mkdir -p "$logs"
steps=("$@")
((${#steps[@]})) || steps=(env build test programs bench)
failed=0

# step NAME COMMAND...: runs the command, its output in $logs/NAME.log (and the last lines on screen).
step() {
  local name=$1
  shift
  echo "=== $name: $*"
  local start=$SECONDS
  "$@" >"$logs/$name.log" 2>&1
  local status=$?
  tail -n 15 "$logs/$name.log"
  echo "$name: exit $status ($((SECONDS - start)) s)" | tee -a "$logs/summary.txt"
  ((status == 0)) || failed=1
  return $status
}

environment() {
  date -u
  uname -a
  nproc
  free -g
  command -v nvidia-smi >/dev/null && nvidia-smi
  command -v rocm-smi >/dev/null && rocm-smi
  command -v nvcc >/dev/null && nvcc --version
  ls -d /usr/local/cuda* 2>/dev/null
  command -v hipcc >/dev/null && hipcc --version
  cmake --version
  ninja --version
  g++ --version
  for header in gtest/gtest.h benchmark/benchmark.h nlohmann/json.hpp pcre2.h; do
    if [[ -f /usr/include/$header ]]; then echo "found /usr/include/$header"; else echo "MISSING /usr/include/$header"; fi
  done
  ls -d /usr/src/googletest 2>/dev/null
  git log --oneline -1 2>/dev/null
  git status --short 2>/dev/null | head -20
  true
}

configure() {
  local archs=${GPU_ARCHS:-}
  local arch_flag=()
  if [[ $backend == nvidia ]]; then arch_flag=(-DGPU_NVIDIA_ARCHS="${archs:-90}"); fi
  if [[ $backend == amd ]]; then arch_flag=("-DGPU_AMD_ARCHS=${archs:-gfx90a;gfx940}"); fi
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGPU_BACKEND="$backend" -DLLAMA4_WERROR=ON "${arch_flag[@]}"
}

build_targets() {
  cmake --build "$build" -j "$jobs" --target test_chapter09 chapter09_hip chapter08_model chapter08_compare bench_gpu
}

standalone() {
  local googletest=""
  for candidate in /usr/src/googletest build-googletest; do
    [[ -d $candidate/googletest/include ]] && googletest=$candidate && break
  done
  if [[ -z $googletest ]]; then
    echo "no GoogleTest sources (/usr/src/googletest or ./build-googletest): cannot build the tests"
    return 1
  fi
  # Builds and runs the tests (REQUIRE_GPU=1) and links bench_gpu; the full output is the log.
  gpu/standalone_test.sh "$googletest" "$build-standalone"
}

run_tests() {
  if [[ -f $build/standalone.marker ]]; then
    echo "standalone build: the tests ran in the build step (build.log)"
    return 0
  fi
  (cd "$build" && REQUIRE_GPU=1 ctest -L gpu --output-on-failure --output-junit "$logs/ctest-gpu.xml") || return 1
  "$build/tests/test_chapter09" --gtest_filter='GpuTest.DeviceInfo'
}

programs() {
  local bin=$build/bin
  if [[ ! -x $bin/chapter09_hip ]]; then
    echo "chapter09_hip was not built (standalone build?)"
    return 1
  fi
  local status=0
  echo "--- the golden tiny model"
  "$bin/chapter09_hip" || status=1
  echo "--- every stage of the golden 'full' case, GPU against golden"
  local ids=286,227,468,301,433,210,347,38,426,243,267,340,38,314,117,166,56,25,339,145,120,179,498,431
  "$bin/chapter09_hip" --model golden/data/tiny --tokens "$ids" --dump-activations "$logs/activations-tiny" || status=1
  "$bin/chapter08_compare" "$logs/activations-tiny/activations.safetensors" golden/data/activations-tiny.safetensors \
    --case-b full || status=1
  echo "--- the same from chapter08_model (CPU), for comparison"
  "$bin/chapter08_model" --model golden/data/tiny --tokens "$ids" --dump-logits "$logs/logits-cpu.bin" || status=1
  "$bin/chapter09_hip" --model golden/data/tiny --tokens "$ids" --dump-logits "$logs/logits-gpu.bin" || status=1
  if [[ -f $logs/logits-cpu.bin && -f $logs/logits-gpu.bin ]]; then  # different, in the last bits: expected
    cmp -l "$logs/logits-cpu.bin" "$logs/logits-gpu.bin" | wc -l | sed 's/^/bytes that differ between CPU and GPU logits: /'
  fi
  for model in 100m 1b scout-layer; do
    echo "--- synthetic $model"
    "$bin/chapter09_hip" --synthetic "$model" -n 64 --prompt-length 128 || status=1
  done
  return $status
}

bench() {
  local program=$build/bin/bench_gpu
  [[ -x $program ]] || program=$build-standalone/bench_gpu
  "$program" --models 100m,1b,scout-layer | tee "$logs/bench_gpu.md"
}

for name in "${steps[@]}"; do
  case $name in
    env) step env environment ;;
    build)
      rm -f "$build/standalone.marker"
      if step configure configure; then
        step build build_targets
      else
        echo "configure failed (see configure.log): trying gpu/standalone_test.sh"
        mkdir -p "$build"
        step build standalone && touch "$build/standalone.marker"
      fi
      ;;
    test) step test run_tests ;;
    programs) step programs programs ;;
    bench) step bench bench ;;
    golden) step golden python3 golden/generate.py --check-transformers ;;
    *) echo "unknown step '$name' (env build test programs bench golden)" >&2; exit 2 ;;
  esac
done
echo "logs: $logs"
cat "$logs/summary.txt"
exit $failed
