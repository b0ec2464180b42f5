#!/usr/bin/env bash
# Builds and runs the chapter 09 GPU tests on an NVIDIA machine WITHOUT CMake: the last resort of
# gpu/verify_on_gpu.sh, for when CMake's configure fails there even with the bundle
# (scripts/gpu-bundle.sh). It needs only nvcc, g++, GoogleTest's sources and nlohmann-json's
# headers, both in the bundle:
#
#   NLOHMANN_JSON_INCLUDE=build-gpu-bundle/nlohmann-json/include \
#     gpu/standalone_test.sh build-gpu-bundle/googletest [build dir] [gtest arguments ...]
#
# Runs the tests with REQUIRE_GPU=1, so a missing GPU fails them instead of skipping them (RUN_TESTS=0:
# build only). It also links bench_gpu (bench/bench_gpu.cpp) into the build directory. Not built
# here: chapter09_hip, which needs the tokenizer and so PCRE2; its command-line tests report skipped.
# Environment: GPU_NVIDIA_ARCH (default 90, i.e. sm_90), NVCC (default: nvcc on PATH, else
# /usr/local/cuda/bin/nvcc), CXX (default g++), NLOHMANN_JSON_INCLUDE (a directory holding
# nlohmann/json.hpp, which the checkpoint and config readers use; default /usr/include),
# CLI11_INCLUDE (a directory holding CLI/CLI.hpp, for bench_gpu's command line: the bundle's
# cli11/include; default /usr/include; without it bench_gpu is not built).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -lt 1 || ! -f "$1/googletest/src/gtest-all.cc" ]]; then
  echo "usage: $0 <googletest source dir, e.g. build-gpu-bundle/googletest> [build dir] [gtest args]" >&2
  exit 2
fi
googletest=$(cd "$1" && pwd)
build=${2:-build-gpu-standalone}
shift $(($# >= 2 ? 2 : 1))
arch=${GPU_NVIDIA_ARCH:-90}
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
cxx=${CXX:-g++}
cuda_home=$(dirname "$(dirname "$(readlink -f "$nvcc")")")
mkdir -p "$build"
jobs=$(nproc)

# The CPU side of the tests: the CPU functions the kernels are checked against, the plain C++
# part of gpu/, and the tests. Add a file here when a chapter 09 test needs more of common/.
# The model's part of common/ (not the tokenizer) and the plain C++ part of gpu/; then the tests.
library_sources=(common/tensors/dtype.cpp common/tensors/tensor.cpp common/tensors/mapped_file.cpp common/tensors/safetensors.cpp
                 common/tensors/checkpoint.cpp common/tensors/model_config.cpp common/tensors/matmul.cpp common/debugging/data_paths.cpp
                 common/debugging/golden.cpp common/tensors/checkpoint_weights.cpp common/debugging/activation_recorder.cpp
                 common/layers/embedding.cpp common/layers/rms_norm.cpp common/layers/rope.cpp common/layers/attention_temperature.cpp
                 common/layers/kv_cache.cpp common/layers/attention.cpp common/layers/feed_forward.cpp common/layers/moe_router.cpp
                 common/layers/moe.cpp common/layers/decoder_layer.cpp common/model/model.cpp common/model/sampler.cpp
                 common/model/synthetic_model.cpp common/debugging/activation_dump.cpp common/model/inference_session.cpp
                 common/model/generation.cpp
                 gpu/device_info.cpp gpu/moe_dispatch.cpp gpu/kv_cache.cpp gpu/gpu_layers.cpp
                 gpu/gpu_model.cpp gpu/gpu_session.cpp)
test_sources=(tests/support/test_support.cpp tests/support/golden_model.cpp
              tests/chapter09/test_device.cpp tests/chapter09/test_convert.cpp
              tests/chapter09/test_matmul.cpp tests/chapter09/test_reduce.cpp
              tests/chapter09/test_layer_kernels.cpp tests/chapter09/test_attention.cpp
              tests/chapter09/test_feed_forward.cpp tests/chapter09/test_model.cpp)
cpu_sources=("${library_sources[@]}" "${test_sources[@]}")
gpu_sources=(gpu/device.hip gpu/convert.hip gpu/matmul.hip gpu/reduce.hip gpu/embedding.hip
             gpu/rms_norm.hip gpu/rope.hip gpu/attention_temperature.hip gpu/attention.hip
             gpu/feed_forward.hip gpu/moe.hip gpu/residual.hip gpu/sampler.hip gpu/bandwidth.hip gpu/benchmark_support.hip)
# nlohmann/json.hpp: on the default include path, or in a directory we add (never -I/usr/include
# itself: that breaks the C++ library's #include_next).
json_flags=()
if [[ -n ${NLOHMANN_JSON_INCLUDE:-} ]]; then json_flags=(-isystem "$NLOHMANN_JSON_INCLUDE")
elif [[ -f /usr/include/nlohmann/json.hpp ]]; then json_flags=()
else
  echo "standalone: nlohmann/json.hpp not found: set NLOHMANN_JSON_INCLUDE (the bundle's" \
       "nlohmann-json/include, scripts/gpu-bundle.sh)" >&2
  exit 2
fi
# CLI/CLI.hpp (header-only): only bench_gpu needs it, so without it the tests still build.
cli11_flags=()
bench_sources=(common/program/command_line.cpp bench/bench_gpu.cpp)
if [[ -n ${CLI11_INCLUDE:-} ]]; then cli11_flags=(-isystem "$CLI11_INCLUDE")
elif [[ -f /usr/include/CLI/CLI.hpp ]]; then cli11_flags=()
else
  echo "standalone: CLI/CLI.hpp not found, so bench_gpu is not built: set CLI11_INCLUDE (the" \
       "bundle's cli11/include, scripts/gpu-bundle.sh)" >&2
  bench_sources=()
fi
gtest_sources=("$googletest/googletest/src/gtest-all.cc" "$googletest/googlemock/src/gmock-all.cc"
               "$googletest/googletest/src/gtest_main.cc")
gtest_includes=(-I"$googletest/googletest/include" -I"$googletest/googletest"
                -I"$googletest/googlemock/include" -I"$googletest/googlemock")

# build/<path with / as _>.o
object() { echo "$build/${1//\//_}.o"; }

# Runs the queued compile commands, `jobs` at a time; stops at the first that fails.
pids=()
run() {
  if ((${#pids[@]} >= jobs)); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
  "$@" &
  pids+=($!)
}
finish() { for pid in "${pids[@]}"; do wait "$pid"; done; pids=(); }

echo "standalone: $("$nvcc" --version | tail -1), sm_$arch, into $build"
for source in "${gtest_sources[@]}"; do  # GoogleTest once: it does not change
  [[ -f $(object "$source") ]] || run "$cxx" -std=c++20 -O2 -pthread "${gtest_includes[@]}" \
                                      -c "$source" -o "$(object "$source")"
done
for source in "${gpu_sources[@]}"; do
  run "$nvcc" -x cu -D__HIP_PLATFORM_NVIDIA__ -arch=sm_"$arch" -std=c++20 -O3 -I. \
      -c "$source" -o "$(object "$source")"
done
for source in "${cpu_sources[@]}" "${bench_sources[@]}"; do
  run "$cxx" -std=c++20 -O2 -fopenmp -I. "${json_flags[@]}" "${cli11_flags[@]}" "${gtest_includes[@]}" \
      -DLLAMA4_SOURCE_DIR="\"$PWD\"" -DLLAMA4_CHAPTER09_HIP="\"$PWD/$build/chapter09_hip\"" \
      -c "$source" -o "$(object "$source")"
done
finish

objects=()
library_objects=()
for source in "${gpu_sources[@]}" "${library_sources[@]}"; do library_objects+=("$(object "$source")"); done
for source in "${gtest_sources[@]}" "${test_sources[@]}"; do objects+=("$(object "$source")"); done
cuda_link=(-L"$cuda_home/lib64" -L"$cuda_home/lib" -lcudart -Wl,-rpath,"$cuda_home/lib64:$cuda_home/lib")
"$cxx" -o "$build/test_chapter09" "${objects[@]}" "${library_objects[@]}" -fopenmp -pthread "${cuda_link[@]}"
if ((${#bench_sources[@]} > 0)); then
  "$cxx" -o "$build/bench_gpu" "$(object common/program/command_line.cpp)" "$(object bench/bench_gpu.cpp)" \
      "${library_objects[@]}" -fopenmp -pthread "${cuda_link[@]}"
fi

if [[ ${RUN_TESTS:-1} == 0 ]]; then
  echo "standalone: built $build/test_chapter09 and $build/bench_gpu"
  exit 0
fi
echo "standalone: running $build/test_chapter09 with REQUIRE_GPU=1"
REQUIRE_GPU=1 "$build/test_chapter09" "$@"
