# Compiler flags shared by every target, collected in one interface library so a target opts in
# with a single `target_link_libraries(<target> PRIVATE llama4_flags)`.
add_library(llama4_flags INTERFACE)

target_compile_options(llama4_flags INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                  -Wcast-align -Wunused -Woverloaded-virtual>)
if(LLAMA4_WERROR)
  target_compile_options(llama4_flags INTERFACE $<$<CXX_COMPILER_ID:GNU,Clang>:-Werror>)
endif()

if(LLAMA4_NATIVE AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(llama4_flags INTERFACE -march=native)
endif()
# common/quantization/quantized_matmul.cpp (and matmul.cpp on AVX-512) compute on 64-byte vectors
# (16 floats). Where the target has no AVX-512 (LLAMA4_NATIVE=OFF, as for the GPU machine, or a CPU
# without it) g++ and clang++ warn that passing such a vector "changes the ABI" (-Wpsabi). The
# functions that pass them are internal to their file, compiled with one set of flags, so no two
# ABIs ever meet: the warning is noise.
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(llama4_flags INTERFACE -Wno-psabi)
endif()

if(LLAMA4_SANITIZE)
  # ASan + UBSan; any report aborts the test that caused it, so ctest turns it into a failure.
  set(_sanitizers -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_compile_options(llama4_flags INTERFACE ${_sanitizers})
  target_link_options(llama4_flags INTERFACE ${_sanitizers})
endif()

if(LLAMA4_FUZZ)
  # libFuzzer's coverage instrumentation on every target, with ASan + UBSan; the fuzz targets add
  # -fsanitize=fuzzer when they link (tests/fuzz/CMakeLists.txt).
  set(_fuzz_sanitizers -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_compile_options(llama4_flags INTERFACE -fsanitize=fuzzer-no-link ${_fuzz_sanitizers})
  target_link_options(llama4_flags INTERFACE ${_fuzz_sanitizers})
endif()
