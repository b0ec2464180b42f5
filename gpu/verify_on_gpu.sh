#!/usr/bin/env bash
# Everything chapter 09 must check on a real GPU, as one command that fits one short GPU slot, and
# its rehearsal on a machine without a GPU.
#
#   bash gpu/verify_on_gpu.sh                   on the GPU machine (NVIDIA H100/H200), repository root
#   bash gpu/verify_on_gpu.sh --rehearse        here, with nvcc but no GPU: every step, GPU tests skipped
#   bash gpu/verify_on_gpu.sh --steps "test bench"   some steps only (a rerun on a machine still warm)
#
# First, on a machine with the Debian packages: scripts/gpu-bundle.sh writes build-gpu-bundle/
# (git-ignored, ~3.5 MB), which must travel with the repository: the GPU machine has g++, nvcc 13,
# CMake and ninja, but no GoogleTest, nlohmann-json, PCRE2 or Google Benchmark, and nothing can be
# installed there. The rehearsal writes the bundle itself.
#
# The steps, what each proves, and its time limit on the GPU machine (the whole run: 540 s at most,
# about 5 minutes expected):
#   env        the GPU, driver, compilers, CMake and the bundle, as found (information only)    30 s
#   configure  the normal CMake build configures against the bundle alone: GPU_BACKEND=nvidia,
#              sm_90, Release, no -march=native (binaries run on this CPU), no -Werror (a newer g++
#              than CI's may warn anew)                                                          120 s
#   build      test_chapter09, chapter09_hip, chapter08_model, chapter08_compare, bench_gpu, challenge
#              build, and took their headers and libraries from the bundle, none from the system 330 s
#   test       test_chapter09 in ONE process (one CUDA context, not one per test), REQUIRE_GPU=1
#              so a missing GPU fails: every kernel against its CPU function, the whole model
#              against golden, greedy decoding against chapter 08, chapter09_hip --dump-logits.
#              No test run is a failure; a failed test is run again alone, to tell its own failure
#              from a sticky CUDA error left by an earlier one; then chapter 14's NCCL communicator
#              on this GPU (one rank, every collective), where NCCL was found                     180 s
#   programs   chapter09_hip on the golden model ("all 16 tokens equal"), its activations against
#              golden stage by stage (chapter08_compare), its logits against chapter08_model's, the
#              challenge's small workload on gpu-chapter09 (bench/challenge), and the synthetic
#              100m, 1b and scout-layer models                                                   150 s
#   bench      bench_gpu: the bandwidth ceiling, the matrix kernels at Scout's shapes (random
#              weights, never from L2), decode and prefill tok/s, as Markdown for bench/RESULTS.md 180 s
#   golden     (not by default) golden/generate.py --check-transformers: the golden reference against
#              HF transformers, which that machine has
# Every step runs under `timeout`, with what is left of the budget at most: a hang costs one step.
#
# Results: in $OUT (the GPU tool's output folder; else build-gpu-verify/out), three files, since the
# tool brings back 8 at most: summary.txt (route, each step's status, time and result), bench_gpu.md,
# and logs.tar.gz (every log, the test XML, the dumped logits and activations). They are written
# again after every step, so a run cut short still returns what it did.
#
# The rehearsal (--rehearse) runs the same steps here: it writes the bundle, hides the Debian
# development packages from the whole build (scripts/without-dev-packages.sh), checks that a GPU
# step ends with "no usable GPU" where the GPU run would do GPU work, that REQUIRE_GPU=1 turns a
# missing GPU into a failure, that the output folder is what the tool brings back, and that what
# travels fits; then it prints the command for the GPU run.
#
# Environment: LLAMA4_BUNDLE (default build-gpu-bundle), BUILD_DIR (default build-gpu-verify, or
# build-gpu-rehearsal), VERIFY_BUDGET_S (default 540; 2400 for the rehearsal), LLAMA4_WERROR (default
# OFF; CI's rehearsal sets ON), GPU_NVIDIA_ARCHS (default 90).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
self=$PWD/gpu/verify_on_gpu.sh

# --- what the steps share (exported: each step body runs in its own process) ---------------------
export VERIFY_MODE=${VERIFY_MODE:-gpu}  # gpu | rehearse
export LLAMA4_BUNDLE=${LLAMA4_BUNDLE:-build-gpu-bundle}
targets=(test_chapter09 chapter09_hip chapter08_model chapter08_compare bench_gpu challenge)
golden_ids=286,227,468,301,433,210,347,38,426,243,267,340,38,314,117,166,56,25,339,145,120,179,498,431

# A line for summary.txt's "result" column.
note() { echo "$*" >>"$VERIFY_LOGS/$VERIFY_STEP.note"; }
rehearsing() { [[ $VERIFY_MODE == rehearse ]]; }

# run_expecting_no_gpu LABEL COMMAND...: in the rehearsal, a program that needs a GPU must stop at
# once with "no usable GPU" and exit status 1; that is its pass here.
run_expecting_no_gpu() {
  local label=$1 output status
  shift
  output=$(timeout -k 5 60 "$@" 2>&1)
  status=$?
  echo "$output" | tail -n 3
  if ((status == 1)) && grep -q "no usable GPU" <<<"$output"; then
    echo "$label: no usable GPU, exit 1 (expected in the rehearsal)"
    return 0
  fi
  echo "$label: exit $status, expected 1 with 'no usable GPU'"
  return 1
}

body_env() {
  date -u
  uname -a
  echo "cores: $(nproc)"
  grep -m1 "model name" /proc/cpuinfo
  free -g | head -2
  df -h . | tail -1
  command -v nvidia-smi >/dev/null && nvidia-smi
  local nvcc
  nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
  [[ -x $nvcc ]] && "$nvcc" --version | tail -2
  c++ --version | head -1
  cmake --version | head -1
  echo "ninja $(ninja --version)"
  python3 --version
  for header in gtest/gtest.h benchmark/benchmark.h nlohmann/json.hpp pcre2.h; do
    if [[ -f /usr/include/$header ]]; then echo "system has /usr/include/$header"; else echo "system lacks /usr/include/$header"; fi
  done
  if [[ -f $LLAMA4_BUNDLE/MANIFEST.txt ]]; then cat "$LLAMA4_BUNDLE/MANIFEST.txt"; else echo "no $LLAMA4_BUNDLE"; fi
  git log --oneline -1 2>/dev/null || echo "(no git metadata here)"
  note "$(c++ --version | head -1 | sed 's/ (.*)//'), $(cmake --version | head -1)"
  if command -v nvidia-smi >/dev/null; then note "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"; fi
  return 0
}

body_configure() {
  local arguments=(-S . -B "$VERIFY_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGPU_BACKEND=nvidia
                   -DGPU_NVIDIA_ARCHS="${GPU_NVIDIA_ARCHS:-90}" -DLLAMA4_NATIVE=OFF
                   -DLLAMA4_WERROR="${LLAMA4_WERROR:-OFF}")
  if [[ $VERIFY_ROUTE == bundle ]]; then
    arguments+=(-DLLAMA4_DEPENDENCIES_DIR="$LLAMA4_BUNDLE")
  else
    arguments+=(-DLLAMA4_DEPENDENCIES_DIR=)
  fi
  cmake "${arguments[@]}" || return 1
  note "$(grep -h "^-- GPU backend:" "$VERIFY_LOGS/configure.log" | sed 's/^-- //')"
}

# The proof that the bundle build used the bundle: no header of the packages the GPU machine lacks
# came from the system (ninja's record of every header each object read), the bundle's did, PCRE2
# was linked from the bundle, and no program needs a shared library of those packages.
check_bundle_use() {
  local ninja deps links libraries bad=0
  ninja=$(sed -n 's/^CMAKE_MAKE_PROGRAM:[A-Z]*=//p' "$VERIFY_BUILD/CMakeCache.txt")
  deps=$("$ninja" -C "$VERIFY_BUILD" -t deps)
  if grep -E '^ +/usr/(local/)?include/(gtest|gmock|nlohmann|benchmark)/|^ +/usr/(local/)?include/pcre2' <<<"$deps" | sort -u | head -5 | grep .; then
    echo "bundle check: the headers above came from the system, not the bundle"
    bad=1
  fi
  for header in googletest/googletest/include/gtest/gtest.h googletest/googlemock/include/gmock/gmock.h \
                nlohmann-json/include/nlohmann/json.hpp pcre2/include/pcre2.h; do
    if ! grep -q "$LLAMA4_BUNDLE/$header" <<<"$deps"; then
      echo "bundle check: no object read $LLAMA4_BUNDLE/$header"
      bad=1
    fi
  done
  links=$("$ninja" -C "$VERIFY_BUILD" -t commands "${targets[@]}" | grep -E -- "-o (bin|tests)/")
  if ! grep -q "$LLAMA4_BUNDLE/pcre2/lib/libpcre2-8.a" <<<"$links" ||
     grep -E -- "-lpcre2|-lgtest|-lgmock|-lbenchmark|/usr/lib[^ ]*(pcre2|gtest|gmock|benchmark)" <<<"$links" | grep -q .; then
    echo "bundle check: PCRE2, GoogleTest or Google Benchmark was linked from elsewhere than the bundle"
    bad=1
  fi
  libraries=$(for target in "$VERIFY_BUILD"/bin/{chapter09_hip,chapter08_model,chapter08_compare,bench_gpu,challenge} \
                            "$VERIFY_BUILD/tests/test_chapter09"; do ldd "$target"; done)
  if grep -E "pcre2|gtest|gmock|benchmark" <<<"$libraries"; then
    echo "bundle check: a program needs the shared libraries above"
    bad=1
  fi
  ((bad == 0)) && echo "bundle check: every header and library of GoogleTest, nlohmann-json and PCRE2 came from $LLAMA4_BUNDLE"
  return $bad
}

body_build() {
  if [[ $VERIFY_ROUTE == standalone ]]; then
    # The last resort, when configure failed: nvcc and g++ without CMake; tests and bench_gpu only.
    RUN_TESTS=0 NLOHMANN_JSON_INCLUDE="$LLAMA4_BUNDLE/nlohmann-json/include" \
      CLI11_INCLUDE="$LLAMA4_BUNDLE/cli11/include" \
      bash gpu/standalone_test.sh "$LLAMA4_BUNDLE/googletest" "$VERIFY_BUILD-standalone" || return 1
    note "standalone: test_chapter09 and bench_gpu only; no chapter09_hip"
    return 0
  fi
  # Chapter 14's GPU communicator, where CMake found NCCL next to CUDA.
  if cmake --build "$VERIFY_BUILD" --target help 2>/dev/null | grep -q "^test_chapter14_gpu:"; then
    targets+=(test_chapter14_gpu)
  fi
  if ! cmake --build "$VERIFY_BUILD" -j "$(nproc)" --target "${targets[@]}"; then
    note "$({ grep -m1 'error:' "$VERIFY_LOGS/build.log" || grep -m1 'FAILED:' "$VERIFY_LOGS/build.log"; } | cut -c1-140)"
    return 1
  fi
  if [[ $VERIFY_ROUTE == bundle ]]; then
    if check_bundle_use; then
      note "built ${targets[*]}, with headers and libraries from the bundle only"
    else
      # The rehearsal's proof failed: a real failure there. On the GPU machine the programs are
      # built all the same, and the steps after this one can use them.
      note "built ${targets[*]}; the bundle check FAILED (build.log)"
      rehearsing && return 1
    fi
  else
    note "${targets[*]}"
  fi
}

# Counts of a GoogleTest XML report, the failed tests, and why tests were skipped; exit 1 when it
# holds no test or a failure.
report_tests() {
  python3 - "$1" <<'EOF'
import collections, sys, xml.etree.ElementTree as ElementTree
cases = ElementTree.parse(sys.argv[1]).getroot().iter("testcase")
total, failed, skipped, why = 0, [], 0, collections.Counter()
for case in cases:
    if case.get("status") == "notrun":  # DISABLED_ tests
        continue
    total += 1
    name = case.get("classname") + "." + case.get("name")
    if case.find("failure") is not None or case.find("error") is not None:
        failed.append(name)
    elif case.get("result") == "skipped" or case.find("skipped") is not None:
        skipped += 1
        message = case.find("skipped")
        lines = (message.get("message", "") if message is not None else "").strip().split("\n")
        why[lines[-1][:150]] += 1  # the reason, after GoogleTest's "file:line" line
print(f"{total} tests: {total - len(failed) - skipped} passed, {len(failed)} failed, {skipped} skipped")
for name in failed:
    print("FAILED", name)
for message, count in why.most_common(5):
    print(f"skipped {count}: {message}")
sys.exit(0 if total > 0 and not failed else 1)
EOF
}

body_test() {
  local binary=$VERIFY_BUILD/tests/test_chapter09 xml=$VERIFY_LOGS/test_chapter09.xml status
  [[ $VERIFY_ROUTE == standalone ]] && binary=$VERIFY_BUILD-standalone/test_chapter09
  [[ -x $binary ]] || { echo "$binary was not built"; return 1; }
  rm -f "$xml"
  local require=1
  rehearsing && require=0  # the rehearsal has no GPU: the GPU tests skip (see the check below)
  REQUIRE_GPU=$require "$binary" --gtest_output="xml:$xml" --gtest_print_time=1
  status=$?
  if [[ ! -f $xml ]]; then
    echo "test_chapter09 ended with status $status and wrote no report; the last test it started:"
    grep -a "^\[ RUN" "$VERIFY_LOGS/test.log" | tail -1
    note "test_chapter09 died (status $status) in $(grep -a '^\[ RUN' "$VERIFY_LOGS/test.log" | tail -1 | cut -c14-)"
    return 1
  fi
  local report
  report=$(report_tests "$xml")
  local report_status=$?
  echo "$report"
  note "$(head -1 <<<"$report")"
  if ((report_status != 0)) && ! rehearsing; then
    # One process shares one CUDA context: a kernel fault poisons every later test. Each failed test
    # alone, in its own process, tells which failures are its own (at most 5, 20 s each).
    local alone=0 own=0
    while read -r _ name; do
      alone=$((alone + 1))
      if REQUIRE_GPU=1 timeout -k 5 20 "$binary" --gtest_filter="$name" >>"$VERIFY_LOGS/test-alone.log" 2>&1; then
        echo "alone: $name passes (its failure above followed an earlier test's)"
      else
        echo "alone: $name fails on its own"
        own=$((own + 1))
      fi
    done < <(grep "^FAILED" <<<"$report" | head -5)
    note "run alone: $own of the first $alone failed tests fail on their own (test-alone.log)"
  fi
  if rehearsing; then
    # The GPU run's REQUIRE_GPU=1 must turn the missing GPU into a failure.
    if REQUIRE_GPU=1 timeout -k 5 30 "$binary" --gtest_filter=GpuTest.DeviceInfo >/dev/null 2>&1; then
      echo "REQUIRE_GPU=1 did not fail GpuTest.DeviceInfo without a GPU"
      return 1
    fi
    echo "REQUIRE_GPU=1 fails GpuTest.DeviceInfo here, as it must without a GPU"
  fi
  # Chapter 14: NCCL on this GPU, one rank, every collective (built only where NCCL was found).
  local nccl=$VERIFY_BUILD/tests/test_chapter14_gpu nccl_status=0
  if [[ -x $nccl ]]; then
    REQUIRE_GPU=$require timeout -k 5 60 "$nccl" >"$VERIFY_LOGS/test_chapter14_gpu.log" 2>&1 || nccl_status=1
    cat "$VERIFY_LOGS/test_chapter14_gpu.log"
    note "NCCL communicator: $(grep -aE '^\[  (PASSED|FAILED|SKIPPED)' "$VERIFY_LOGS/test_chapter14_gpu.log" | head -1)"
  else
    note "NCCL communicator: not built (no nccl.h / libnccl found)"
  fi
  ((status == 0 && report_status == 0 && nccl_status == 0))
}

# Compares two float32 logits files [tokens, vocab]: the largest difference, and whether each row's
# argmax (the greedy token) agrees.
compare_logits() {
  python3 - "$1" "$2" "$3" <<'EOF'
import array, sys
a, b = array.array("f"), array.array("f")
a.frombytes(open(sys.argv[1], "rb").read()); b.frombytes(open(sys.argv[2], "rb").read())
vocab = int(sys.argv[3])
if len(a) != len(b) or len(a) % vocab:
    sys.exit(f"logits: {len(a)} and {len(b)} floats, not rows of {vocab}")
rows = len(a) // vocab
largest = max(abs(x - y) for x, y in zip(a, b))
argmax = lambda v, r: max(range(vocab), key=lambda i: v[r * vocab + i])
same = sum(argmax(a, r) == argmax(b, r) for r in range(rows))
print(f"logits CPU vs GPU: {rows} rows, largest difference {largest:.3g}, greedy token equal in {same} of {rows} rows")
sys.exit(0 if same == rows and largest < 1e-2 else 1)
EOF
}

body_programs() {
  local bin=$VERIFY_BUILD/bin status=0 output
  for program in chapter09_hip chapter08_model chapter08_compare; do
    [[ -x $bin/$program ]] || { echo "$bin/$program was not built"; return 1; }
  done
  local gpu_dump=$VERIFY_LOGS/activations-gpu cpu_dump=$VERIFY_LOGS/activations-cpu
  echo "--- chapter 08 (CPU) on the golden model: activations against golden, and its logits"
  timeout -k 5 60 "$bin/chapter08_model" --model golden/data/tiny --tokens "$golden_ids" --dump-activations "$cpu_dump" || status=1
  timeout -k 5 60 "$bin/chapter08_compare" "$cpu_dump/activations.safetensors" golden/data/activations-tiny.safetensors --case-b full || status=1
  timeout -k 5 60 "$bin/chapter08_model" --model golden/data/tiny --tokens "$golden_ids" --dump-logits "$VERIFY_LOGS/logits-cpu.bin" || status=1
  if rehearsing; then
    run_expecting_no_gpu "chapter09_hip (golden)" "$bin/chapter09_hip" --check-golden || status=1
    run_expecting_no_gpu "chapter09_hip --dump-activations" "$bin/chapter09_hip" --model golden/data/tiny \
      --tokens "$golden_ids" --dump-activations "$gpu_dump" || status=1
    run_expecting_no_gpu "chapter09_hip --synthetic scout-layer" "$bin/chapter09_hip" --synthetic scout-layer -n 64 --prompt-length 128 || status=1
    run_expecting_no_gpu "challenge --engine gpu-chapter09" "$bin/challenge" --workload bench/challenge/workloads/small.json \
      --engine gpu-chapter09 --no-thresholds || status=1
    # The GPU run compares its logits with chapter 08's; here the comparison itself is tried.
    compare_logits "$VERIFY_LOGS/logits-cpu.bin" "$VERIFY_LOGS/logits-cpu.bin" 512 || status=1
    ((status == 0)) && note "chapter 08 agrees with golden" && note "chapter09_hip stops with 'no usable GPU', as it must here"
    return $status
  fi
  echo "--- chapter09_hip on the golden tiny model"
  output=$(timeout -k 5 60 "$bin/chapter09_hip" --check-golden 2>&1) || status=1
  echo "$output"
  if grep -q "all 16 tokens equal" <<<"$output"; then
    note "golden: all 16 tokens equal"
  else
    note "golden: $(tail -1 <<<"$output" | cut -c1-120)"
    status=1
  fi
  echo "--- every stage of the golden 'full' case, GPU against golden"
  timeout -k 5 60 "$bin/chapter09_hip" --model golden/data/tiny --tokens "$golden_ids" --dump-activations "$gpu_dump" || status=1
  output=$(timeout -k 5 60 "$bin/chapter08_compare" "$gpu_dump/activations.safetensors" golden/data/activations-tiny.safetensors --case-b full 2>&1) || status=1
  echo "$output"
  note "stages against golden: $(tail -1 <<<"$output" | cut -c1-120)"
  echo "--- logits, GPU against CPU"
  timeout -k 5 60 "$bin/chapter09_hip" --model golden/data/tiny --tokens "$golden_ids" --dump-logits "$VERIFY_LOGS/logits-gpu.bin" || status=1
  if [[ -f $VERIFY_LOGS/logits-cpu.bin && -f $VERIFY_LOGS/logits-gpu.bin ]]; then
    output=$(compare_logits "$VERIFY_LOGS/logits-cpu.bin" "$VERIFY_LOGS/logits-gpu.bin" 512 2>&1) || status=1
    echo "$output"
    note "$(tail -1 <<<"$output" | cut -c1-120)"
  else
    note "logits: a dump is missing"
    status=1
  fi
  echo "--- the challenge's small workload on the GPU engine, judged against the CPU f32 reference"
  output=$(timeout -k 5 120 "$bin/challenge" --workload bench/challenge/workloads/small.json --engine gpu-chapter09 \
    --no-thresholds --out "$VERIFY_LOGS/challenge" 2>&1) || status=1
  echo "$output"
  note "challenge: $(grep -m1 "Accuracy gate" <<<"$output" | cut -c1-120)"
  for model in 100m 1b scout-layer; do
    echo "--- synthetic $model"
    timeout -k 5 90 "$bin/chapter09_hip" --synthetic "$model" -n 64 --prompt-length 128 || { note "synthetic $model FAILED"; status=1; }
  done
  return $status
}

body_bench() {
  local program=$VERIFY_BUILD/bin/bench_gpu
  [[ $VERIFY_ROUTE == standalone ]] && program=$VERIFY_BUILD-standalone/bench_gpu
  [[ -x $program ]] || { echo "$program was not built"; return 1; }
  if rehearsing; then
    run_expecting_no_gpu bench_gpu "$program" --models 100m,1b,scout-layer >"$VERIFY_LOGS/bench_gpu.md" || return 1
    note "bench_gpu stops with 'no usable GPU', as it must here"
    return 0
  fi
  # Markdown on stdout (to bench_gpu.md), progress and errors on stderr (to the log).
  if ! "$program" --models 100m,1b,scout-layer >"$VERIFY_LOGS/bench_gpu.md" 2>"$VERIFY_LOGS/bench_gpu.err"; then
    cat "$VERIFY_LOGS/bench_gpu.err"
    note "$(tail -1 "$VERIFY_LOGS/bench_gpu.err" | cut -c1-120)"
    return 1
  fi
  cat "$VERIFY_LOGS/bench_gpu.err" "$VERIFY_LOGS/bench_gpu.md"
  note "$(grep -m1 "read kernel" "$VERIFY_LOGS/bench_gpu.md" | tr -s ' |' ' ')"
}

body_golden() {
  python3 golden/generate.py --check-transformers
}

if [[ ${1:-} == --body ]]; then
  "body_$2"
  exit $?
fi

# --- the run -------------------------------------------------------------------------------------
steps=(env configure build test programs bench)
hidden=""
while (($#)); do
  case $1 in
    --rehearse) VERIFY_MODE=rehearse ;;
    --hidden) hidden=$2; shift ;;  # (internal) how the rehearsal hid the system's packages
    --steps) read -r -a steps <<<"$2"; shift ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "unknown argument '$1' (--rehearse, --steps \"env configure build test programs bench golden\")" >&2; exit 2 ;;
  esac
  shift
done

if rehearsing && [[ -z $hidden ]]; then
  # The rehearsal's own first step: the bundle, written while the packages are still visible.
  bash scripts/gpu-bundle.sh "$LLAMA4_BUNDLE" || exit 1
  if why_not=$(bash scripts/without-dev-packages.sh true 2>&1 >/dev/null); then
    exec bash scripts/without-dev-packages.sh bash "$self" --rehearse --hidden "hidden (scripts/without-dev-packages.sh)" --steps "${steps[*]}"
  fi
  hidden="NOT hidden ($(tail -1 <<<"$why_not")); the build step's bundle check still proves the bundle was used"
fi

if rehearsing; then
  export VERIFY_BUILD=${BUILD_DIR:-build-gpu-rehearsal}
  budget=${VERIFY_BUDGET_S:-2400}  # generous: a CPU machine shared with other work builds slowly
  declare -A limits=([env]=60 [configure]=300 [build]=1800 [test]=300 [programs]=300 [bench]=120 [golden]=300)
else
  export VERIFY_BUILD=${BUILD_DIR:-build-gpu-verify}
  budget=${VERIFY_BUDGET_S:-540}
  declare -A limits=([env]=30 [configure]=120 [build]=330 [test]=180 [programs]=150 [bench]=180 [golden]=300)
fi
export VERIFY_LOGS=$PWD/$VERIFY_BUILD/logs-$VERIFY_MODE
out=${OUT:-$PWD/$VERIFY_BUILD/out}
rm -rf "$VERIFY_LOGS"
mkdir -p "$VERIFY_LOGS" "$out"
summary=$VERIFY_LOGS/summary.txt

# The route: the bundle when it is here; else the installed packages; the standalone build (no
# CMake) only if configure fails.
bundle_name=$LLAMA4_BUNDLE  # as given: the GPU tool's carry list names it so
if [[ -f $LLAMA4_BUNDLE/MANIFEST.txt ]]; then
  export VERIFY_ROUTE=bundle
  why="$LLAMA4_BUNDLE is here ($(head -1 "$LLAMA4_BUNDLE/MANIFEST.txt" | sed 's/^# //'))"
  LLAMA4_BUNDLE=$(cd "$LLAMA4_BUNDLE" && pwd)  # the steps see the whole path
else
  export VERIFY_ROUTE=installed
  why="no $LLAMA4_BUNDLE here (scripts/gpu-bundle.sh writes it): the system's packages must do"
fi
{
  echo "chapter 09 GPU verification, $(date -u '+%Y-%m-%d %H:%M UTC'), mode: $VERIFY_MODE"
  echo "route: $VERIFY_ROUTE, because $why"
  rehearsing && echo "system development packages: $hidden"
  echo "budget: $budget s; build folder: $VERIFY_BUILD"
  echo
  printf '%-10s %-9s %7s %7s  %s\n' step status seconds limit result
} | tee "$summary"

# Puts summary.txt, bench_gpu.md and logs.tar.gz (everything else) in $out.
pack() {
  cp "$summary" "$out/summary.txt"
  [[ -f $VERIFY_LOGS/bench_gpu.md ]] && cp "$VERIFY_LOGS/bench_gpu.md" "$out/bench_gpu.md"
  tar -czf "$out/logs.tar.gz.partial" -C "$VERIFY_BUILD" --exclude=summary.txt --exclude=bench_gpu.md "logs-$VERIFY_MODE" &&
    mv "$out/logs.tar.gz.partial" "$out/logs.tar.gz"
}

start=$SECONDS
failed=0
# step NAME: runs body_NAME in its own process, under timeout, its output in logs/NAME.log.
step() {
  export VERIFY_STEP=$1
  local name=$1 left=$((budget - (SECONDS - start) - 15)) limit=${limits[$1]}
  ((limit > left)) && limit=$left
  if ((limit < 5)); then
    printf '%-10s %-9s %7s %7s  %s\n' "$name" "not run" - - "out of time (budget $budget s)" | tee -a "$summary"
    failed=1
    return 1
  fi
  echo "=== $name (at most $limit s)"
  local began=$SECONDS status result
  timeout -k 10 "$limit" bash "$self" --body "$name" >"$VERIFY_LOGS/$name.log" 2>&1
  status=$?
  tail -n 12 "$VERIFY_LOGS/$name.log" | cut -c1-200
  result=$(paste -sd '|' "$VERIFY_LOGS/$name.note" 2>/dev/null | sed 's/|/ | /g')
  local word=ok
  if ((status == 124 || status == 137)); then
    word=TIMEOUT result="stopped after $limit s; $result"
  elif ((status != 0)); then
    word=FAILED result="exit $status; $result"
  fi
  printf '%-10s %-9s %7d %7d  %s\n' "$name" "$word" $((SECONDS - began)) "$limit" "$result" | tee -a "$summary"
  ((status == 0)) || failed=1
  pack
  return $status
}

for name in "${steps[@]}"; do
  case $name in
    env | build | test | programs | bench | golden) step "$name" ;;
    configure)
      if ! step configure && [[ " ${steps[*]} " == *" build "* ]]; then
        export VERIFY_ROUTE=standalone
        echo "route: standalone (gpu/standalone_test.sh, no CMake), because configure failed (configure.log)" | tee -a "$summary"
      fi
      ;;
    *) echo "unknown step '$name' (env configure build test programs bench golden)" >&2; exit 2 ;;
  esac
done

# --- the rehearsal's checks of what the GPU run would send and bring back -------------------------
if rehearsing; then
  echo "=== rehearsal checks"
  checks=""
  files=$(find "$out" -type f | wc -l)
  bad_names=$(find "$out" -mindepth 1 | sed "s|^$out/||" | grep -Ev '^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+){0,2}$' || true)
  large=$(find "$out" -type f -size +16M)
  if ((files > 8)) || [[ -n $bad_names || -n $large ]]; then
    checks+="output folder: $files files (8 at most), odd names: ${bad_names:-none}, over 16 MiB: ${large:-none}; "
    failed=1
  fi
  # The GPU run's own code (not the rehearsal's), here, on the same build: without a GPU its test,
  # programs and bench steps must fail, each saying why, and still leave the three files.
  dry_out=$PWD/$VERIFY_BUILD/dry-run-out
  rm -rf "$dry_out" && mkdir -p "$dry_out"
  OUT=$dry_out VERIFY_MODE=gpu BUILD_DIR=$VERIFY_BUILD bash "$self" --steps "test programs bench" >"$VERIFY_LOGS/dry-run.log" 2>&1
  dry_status=$?
  if ((dry_status != 1)) || [[ $(find "$dry_out" -type f | wc -l) != 3 ]] ||
     [[ $(grep -cE '^(test|programs|bench) +FAILED .*(no usable GPU|tests: .* failed)' "$dry_out/summary.txt") != 3 ]]; then
    checks+="the GPU run's steps without a GPU: exit $dry_status, not the expected failures (logs-rehearse/dry-run.log); "
    failed=1
  fi
  bundle_bytes=$(du -sb "$LLAMA4_BUNDLE" | cut -f1)
  # What the GPU tool sends: tracked and untracked-not-ignored files, plus the bundle (carried).
  tree_bytes=$( (git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s -- 2>/dev/null || true) | awk '{s += $1} END {print s + 0}')
  ((bundle_bytes > 15 * 1024 * 1024)) && { checks+="bundle over 15 MB; "; failed=1; }
  ((tree_bytes + bundle_bytes > 64 * 1024 * 1024)) && { checks+="what travels is over 64 MiB; "; failed=1; }
  {
    echo
    echo "output folder: $(find "$out" -type f -printf '%f ') ($files files; the GPU tool brings back 8)"
    echo "the GPU run's steps without a GPU: exit $dry_status; $(grep -cE '^(test|programs|bench) +FAILED .*(no usable GPU|tests: .* failed)' "$dry_out/summary.txt") of 3 failed for want of a GPU (dry-run-out/summary.txt)"
    echo "travels: repository $((tree_bytes / 1024)) KiB + bundle $((bundle_bytes / 1024)) KiB (64 MiB allowed)"
    [[ -n $checks ]] && echo "rehearsal checks FAILED: $checks"
    echo "total: $((SECONDS - start)) s; rehearsal $([[ $failed == 0 ]] && echo PASSED || echo FAILED)"
  } | tee -a "$summary"
  pack
else
  echo "total: $((SECONDS - start)) s of $budget; $([[ $failed == 0 ]] && echo PASSED || echo FAILED)" | tee -a "$summary"
  pack
fi
echo
echo "=== summary ($out/summary.txt)"
cat "$summary"
echo "results: $out"
if rehearsing; then
  ((failed == 0)) || echo "(the rehearsal FAILED: mend that before using the command below)"
  cat <<EOF

=== the GPU run
On a machine with the Debian packages, from the repository root: bash scripts/gpu-bundle.sh
Then on the GPU machine (the GPU tool's run), from the repository root:
  command:    bash gpu/verify_on_gpu.sh
  carry:      ["$bundle_name"]
  timeout_s:  600
Expected: about 5 minutes of the command (configure ~20 s, build ~2 min on 16 cores, test ~1 min,
programs ~1 min, bench ~1 min), under a hard budget of 540 s, plus the machine's start. Results in
\$OUT: summary.txt (read it first), bench_gpu.md (for bench/RESULTS.md) and logs.tar.gz.
EOF
fi
exit $failed
