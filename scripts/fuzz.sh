#!/usr/bin/env bash
# Fuzzes every parser of outside input with libFuzzer (clang), under ASan + UBSan.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]     default 15 s (or $FUZZ_SECONDS), all targets
#
# Targets (tests/fuzz/, one per reader of files or flags):
#   chapter 01  fuzz_safetensors           a safetensors file (header, shapes, offsets), round trip
#               fuzz_model_config          config.json
#               fuzz_shard_index           model.safetensors.index.json next to two real shards
#               fuzz_checkpoint_directory  config + weights as a whole, loaded and run for 3 tokens
#   chapter 02  fuzz_tiktoken_ranks        tokenizer.model
#               fuzz_hf_tokenizer_json     tokenizer.json
#               fuzz_encode                encode/decode/stream decoder on any bytes
#   chapter 08  fuzz_activation_dump       what chapter08_compare reads
#               fuzz_command_line          chapter08_model / chapter09_hip's options
#               fuzz_multiple_choice       --multiple-choice questions (JSON Lines)
#   chapter 11  fuzz_training_checkpoint   config + training_state.safetensors (--resume)
#   chapter 12  fuzz_gguf                  a GGUF file (llama.cpp's format), loaded and run for 3 tokens
#   chapter 13  fuzz_conversations         conversation files (JSON Lines), tokenized and packed
#               fuzz_adapter               a LoRA adapter (adapter_config.json + safetensors), merged
#   challenge   fuzz_challenge_files       a workload and a thresholds file (bench/challenge)
# Each starts from a seed corpus (tests/fuzz/make_seeds.py: the golden files and small hand-made
# ones) and runs for the given time with inputs up to 1 MiB, enough for 200,000-deep nesting. A
# crash, a leak, undefined behaviour, a hang (20 s), 2 GB of memory or an exception other than
# llama4::Error stops the script with the failing input saved under build-fuzz/ (or $FUZZ_DIR).
# Needs clang with its libFuzzer runtime and OpenMP: `scripts/setup.sh --fuzz` installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-${FUZZ_SECONDS:-15}}
shift $(($# > 0 ? 1 : 0))
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(fuzz_safetensors fuzz_model_config fuzz_shard_index fuzz_checkpoint_directory
           fuzz_tiktoken_ranks fuzz_hf_tokenizer_json fuzz_encode
           fuzz_activation_dump fuzz_command_line fuzz_multiple_choice
           fuzz_training_checkpoint fuzz_gguf fuzz_conversations fuzz_adapter
           fuzz_challenge_files)
fi
out=$(realpath -m "${FUZZ_DIR:-build-fuzz}")  # absolute: fuzz_command_line changes directory
cxx=${FUZZ_CXX:-$(command -v clang++ || command -v clang++-14)}

echo "fuzz: building ${targets[*]} with $cxx"
cmake -S . -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DCMAKE_CXX_COMPILER="$cxx" \
  -DLLAMA4_FUZZ=ON -DGPU_BACKEND=off >/dev/null
cmake --build "$out" --target "${targets[@]}"

# Seed corpora: the golden files, small hand-made ones, and the tokenizer seeds.
corpus="$out/corpus"
python3 tests/fuzz/make_seeds.py "$corpus"
mkdir -p "$corpus/fuzz_tiktoken_ranks" "$corpus/fuzz_hf_tokenizer_json" "$corpus/fuzz_encode"
cp golden/tokenizer/toy.tiktoken "$corpus/fuzz_tiktoken_ranks/toy.tiktoken"
head -c 2000 golden/tokenizer/toy.tiktoken >"$corpus/fuzz_tiktoken_ranks/toy-cut.tiktoken"
cp tests/fuzz/seeds/hf_tokenizer_json/toy.json "$corpus/fuzz_hf_tokenizer_json/toy.json"
python3 - "$corpus/fuzz_encode" <<'PY'
import json, sys
cases = json.load(open("golden/tokenizer/toy-cases.json"))["cases"]
for i, case in enumerate(c for c in cases if "text" in c and len(c["text"]) < 2000):
    if i % 4 == 0:
        open(f"{sys.argv[1]}/golden-{i:04d}", "w", encoding="utf-8").write(case["text"])
PY

tokenizer=${LLAMA4_TOKENIZER:-../shared/llama4/tokenizer.model}
if [[ -f "$tokenizer" ]]; then export LLAMA4_TOKENIZER="$(realpath "$tokenizer")"; else unset LLAMA4_TOKENIZER; fi

# allocator_may_return_null: a refused huge allocation returns null (which the code reports, see
# Tensor::zeros), as without ASan, instead of aborting. -malloc_limit_mb keeps libFuzzer's own
# check in line with -rss_limit_mb.
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for target in "${targets[@]}"; do
  echo "fuzz: $target for ${seconds}s"
  if ! ("$out/bin/$target" "$corpus/$target" -artifact_prefix="$out/" -max_total_time="$seconds" \
          -timeout=20 -max_len=1048576 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
          -print_final_stats=1 2>&1 |
        tail -n 12; exit "${PIPESTATUS[0]}"); then
    echo "fuzz: $target failed; the input is saved in $out:" "$out"/{crash,leak,timeout,oom}-* 2>/dev/null
    exit 1
  fi
done
echo "fuzz: no failures"
