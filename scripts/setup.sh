#!/usr/bin/env bash
# Installs, from Debian/Ubuntu packages, whatever the project needs and the machine lacks.
#
#   scripts/setup.sh          compilers, CMake, GoogleTest/GoogleMock, Google Benchmark, JSON, PCRE2,
#                             Python 3 (the checks of the READMEs' code excerpts and figures),
#                             CLI11 (the programs' command lines), OpenMPI (chapter 14)
#   scripts/setup.sh --gpu    also Debian's HIP compiler, to build the GPU chapters for AMD
#   scripts/setup.sh --dev    also gdb, to step through a chapter in the debug build (and for its
#                             test: ctest --preset debug -L gdb)
#   scripts/setup.sh --fuzz   also clang with its libFuzzer runtime and OpenMP (scripts/fuzz.sh)
#   scripts/setup.sh --train  also chapter 11's training text: two public-domain Bibles (KJV, WEB)
#                             and their readers, for scripts/prepare_bible.py (python3)
#   scripts/setup.sh --golden also NumPy and PyTorch, to regenerate the golden data (golden/*.py)
#                             and for the scripts of bench/ that write model files
#
# Nothing is downloaded at build time; this is the only place packages come from.
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config
          libgtest-dev libgmock-dev libbenchmark-dev
          nlohmann-json3-dev libpcre2-dev python3 libcli11-dev
          libopenmpi-dev openmpi-bin)
for argument in "$@"; do
  case "$argument" in
    --gpu) packages+=(hipcc libamdhip64-dev) ;;
    --dev) packages+=(gdb) ;;
    --fuzz) packages+=(clang libclang-rt-dev libomp-dev) ;;
    --train) packages+=(bible-kjv bible-kjv-text sword-text-web diatheke python3) ;;
    --golden) packages+=(python3-numpy python3-torch) ;;
    *) echo "usage: $0 [--gpu] [--dev] [--fuzz] [--train] [--golden]" >&2; exit 2 ;;
  esac
done

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo=sudo; fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
