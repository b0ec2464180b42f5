#!/usr/bin/env bash
# Fuzzes chapter 02's file parsers and encoder with libFuzzer (clang), under ASan + UBSan.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      default 30 (or $FUZZ_SECONDS)
#
# Targets (tests/fuzz/): fuzz_tiktoken_ranks (tokenizer.model parser), fuzz_hf_tokenizer_json
# (tokenizer.json parser), fuzz_encode (encode/decode/stream decoder, hand-made vocabulary, plus
# Meta's tokenizer.model when found). Each runs for the given time from a seed corpus; a crash,
# a leak, undefined behaviour or an exception other than llama4::Error stops the script with the
# failing input saved under build-fuzz/ (or $FUZZ_DIR). Needs clang with its libFuzzer runtime
# (Debian: clang, libclang-rt-dev or the clang-14 package) and libpcre2-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-${FUZZ_SECONDS:-30}}
out=${FUZZ_DIR:-build-fuzz}
cxx=${FUZZ_CXX:-$(command -v clang++ || command -v clang++-14)}
mkdir -p "$out/objects"

sources=(utf8 base64 token_vocabulary tiktoken_ranks byte_level_alphabet hf_tokenizer_json
         special_tokens long_run_splitter pretokenizer byte_pair_encoding tokenizer
         utf8_stream_decoder toy_vocabulary mapped_file)
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -I. -fsanitize=address,undefined
       -fno-sanitize-recover=all $(pkg-config --cflags libpcre2-8))

echo "fuzz: building with $cxx"
objects=()
for source in "${sources[@]}"; do
  object="$out/objects/$source.o"
  if [[ ! -f "$object" || "common/$source.cpp" -nt "$object" || "common/$source.hpp" -nt "$object" ]]; then
    "$cxx" "${flags[@]}" -fsanitize=fuzzer-no-link -c "common/$source.cpp" -o "$object"
  fi
  objects+=("$object")
done

# Seed corpora: a valid file of each kind, and the golden strings.
mkdir -p "$out/corpus/fuzz_tiktoken_ranks" "$out/corpus/fuzz_hf_tokenizer_json" "$out/corpus/fuzz_encode"
cp golden/tokenizer/toy.tiktoken "$out/corpus/fuzz_tiktoken_ranks/toy.tiktoken"
head -c 2000 golden/tokenizer/toy.tiktoken > "$out/corpus/fuzz_tiktoken_ranks/toy-cut.tiktoken"
cp tests/fuzz/seeds/hf_tokenizer_json/toy.json "$out/corpus/fuzz_hf_tokenizer_json/toy.json"
python3 - "$out/corpus/fuzz_encode" <<'PY'
import json, sys
cases = json.load(open("golden/tokenizer/toy-cases.json"))["cases"]
for i, case in enumerate(c for c in cases if "text" in c and len(c["text"]) < 2000):
    if i % 4 == 0:
        open(f"{sys.argv[1]}/golden-{i:04d}", "w", encoding="utf-8").write(case["text"])
PY

tokenizer=${LLAMA4_TOKENIZER:-../shared/llama4/tokenizer.model}
if [[ -f "$tokenizer" ]]; then export LLAMA4_TOKENIZER="$(realpath "$tokenizer")"; else unset LLAMA4_TOKENIZER; fi

for target in fuzz_tiktoken_ranks fuzz_hf_tokenizer_json fuzz_encode; do
  "$cxx" "${flags[@]}" -fsanitize=fuzzer "tests/fuzz/$target.cpp" "${objects[@]}" \
    $(pkg-config --libs libpcre2-8) -o "$out/$target"
  echo "fuzz: $target for ${seconds}s"
  if ! (cd "$out" && ASAN_OPTIONS=detect_leaks=1 "./$target" "corpus/$target" \
          -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 2>&1 |
        tail -n 12); then
    echo "fuzz: $target failed; the input is saved in $out:" "$out"/{crash,leak,timeout,oom}-* 2>/dev/null
    exit 1
  fi
done
echo "fuzz: no failures"
