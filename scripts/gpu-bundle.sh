#!/usr/bin/env bash
# Writes build-gpu-bundle/: what the project's build needs that the NVIDIA GPU machine lacks, taken
# from this machine's Debian packages (scripts/setup.sh installs them), in one git-ignored folder
# small enough to travel with the repository (under 15 MB; about 3.5 MB today).
#
#   scripts/gpu-bundle.sh [FOLDER]        (default: build-gpu-bundle)
#
# The GPU machine has g++, nvcc, CMake and ninja, but none of the development packages, and
# nothing can be installed there. With this folder, `cmake -DLLAMA4_DEPENDENCIES_DIR=FOLDER`
# (cmake/Llama4Dependencies.cmake) configures the normal build there, every target included:
#
#   googletest/           GoogleTest and GoogleMock sources (Debian: googletest, /usr/src/googletest);
#                         compiled there by the project's own CMake, with that machine's g++
#   nlohmann-json/include nlohmann-json's headers (nlohmann-json3-dev)
#   cli11/include         CLI11's headers, the programs' command lines (libcli11-dev)
#   pcre2/include, lib    PCRE2's header and static library, 8-bit (libpcre2-dev); plain C that
#                         needs only glibc's oldest symbols (malloc, memcpy, pthread_mutex_lock)
#   MANIFEST.txt          what came from which package and version
#
# Google Benchmark is not in it: Debian ships it as a shared library only, and the one program the
# GPU machine runs, bench_gpu, is a plain program. With the bundle, CMake leaves out the Google
# Benchmark programs (bench_tensor, bench_stages, bench_tokenizer, bench_model).
set -euo pipefail
cd "$(dirname "$0")/.."

bundle=${1:-build-gpu-bundle}
max_bytes=$((15 * 1024 * 1024))
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)

# source path -> the Debian package that installs it (named in the error when it is missing)
sources=(/usr/src/googletest/googletest/src/gtest-all.cc googletest
         /usr/src/googletest/googlemock/src/gmock-all.cc googletest
         /usr/include/nlohmann/json.hpp nlohmann-json3-dev
         /usr/include/CLI/CLI.hpp libcli11-dev
         /usr/include/pcre2.h libpcre2-dev
         "/usr/lib/$multiarch/libpcre2-8.a" libpcre2-dev)
for ((i = 0; i < ${#sources[@]}; i += 2)); do
  if [[ ! -f ${sources[i]} ]]; then
    echo "gpu-bundle: ${sources[i]} is missing: install the Debian package ${sources[i + 1]} (scripts/setup.sh)" >&2
    exit 1
  fi
done

# Written beside the final folder, then moved into place: a failed run never leaves half a bundle.
staging="$bundle.partial"
rm -rf "$staging"
mkdir -p "$staging/googletest" "$staging/nlohmann-json/include" "$staging/cli11/include" \
         "$staging/pcre2/include" "$staging/pcre2/lib"
# cp -p keeps the files' dates, so a bundle written again does not make a build recompile.
for part in googletest googlemock; do  # headers and sources only: no docs, tests or samples
  mkdir -p "$staging/googletest/$part"
  cp -rp "/usr/src/googletest/$part/include" "/usr/src/googletest/$part/src" "$staging/googletest/$part/"
done
cp -rp /usr/include/nlohmann "$staging/nlohmann-json/include/"
cp -rp /usr/include/CLI "$staging/cli11/include/"
cp -p /usr/include/pcre2.h "$staging/pcre2/include/"
cp -p "/usr/lib/$multiarch/libpcre2-8.a" "$staging/pcre2/lib/"

version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "unknown"; }
{
  echo "# scripts/gpu-bundle.sh, $(date -u +%Y-%m-%d), on $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "googletest/     googletest $(version googletest)     (/usr/src/googletest: include/ and src/)"
  echo "nlohmann-json/  nlohmann-json3-dev $(version nlohmann-json3-dev)     (/usr/include/nlohmann)"
  echo "cli11/          libcli11-dev $(version libcli11-dev)     (/usr/include/CLI)"
  echo "pcre2/          libpcre2-dev $(version libpcre2-dev)     (/usr/include/pcre2.h, /usr/lib/$multiarch/libpcre2-8.a)"
} >"$staging/MANIFEST.txt"

bytes=$(du -sb "$staging" | cut -f1)
if ((bytes > max_bytes)); then
  echo "gpu-bundle: $staging is $bytes bytes, over the $max_bytes allowed (it travels with the repository)" >&2
  exit 1
fi
rm -rf "$bundle"
mv "$staging" "$bundle"
echo "gpu-bundle: $bundle, $((bytes / 1024)) KiB, $(find "$bundle" -type f | wc -l) files"
