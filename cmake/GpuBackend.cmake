# GpuBackend: which compiler builds the GPU code in gpu/ (chapter 09 on).
#
#   -DGPU_BACKEND=auto     (default) pick what this machine has; never fails, see below
#   -DGPU_BACKEND=amd      .hip files compiled as HIP by ROCm's clang, for GPU_AMD_ARCHS
#   -DGPU_BACKEND=nvidia   the same .hip files compiled as CUDA by nvcc, for GPU_NVIDIA_ARCHS
#   -DGPU_BACKEND=off      no GPU compiler; gpu/ builds its stub, whose probe() says why
#
# auto picks, in this order:
#   1. amd     if an AMD GPU is present (/dev/kfd) and a HIP toolchain works;
#   2. nvidia  if an NVIDIA driver is present and nvcc works;
#   3. amd     compile-only, if a HIP toolchain works (no GPU: the tests skip);
#   4. nvidia  compile-only, if nvcc works;
#   5. off.
# An explicit amd or nvidia without its toolchain is an error. Use one build directory per
# backend: switching GPU_BACKEND inside a configured directory leaves the other language cached.
#
# After include(GpuBackend), GPU_BACKEND_RESOLVED is amd, nvidia or off, and
#   gpu_add_hip_library(<name> SOURCES a.hip ... OFF_SOURCES stub.cpp ...)
# makes a static library from the .hip sources, or from the stub sources when the backend is off.
#
# Debian/Ubuntu's ROCm packages (bookworm: ROCm 5.2, clang-15) need workarounds that AMD's own
# /opt/rocm install does not; each is marked "Debian" below. gpu/README.md has the build commands.

set(GPU_BACKEND auto CACHE STRING "GPU backend: auto, amd, nvidia or off")
set_property(CACHE GPU_BACKEND PROPERTY STRINGS auto amd nvidia off)
set(GPU_AMD_ARCHS "gfx90a;gfx940" CACHE STRING
    "AMD GPU targets (gfx90a = MI200, gfx940 = MI300; gfx942 needs ROCm >= 6)")
set(GPU_NVIDIA_ARCHS "90" CACHE STRING "NVIDIA compute capabilities (90 = H100/H200)")

if(NOT GPU_BACKEND MATCHES "^(auto|amd|nvidia|off)$")
  message(FATAL_ERROR "GPU_BACKEND must be auto, amd, nvidia or off, got '${GPU_BACKEND}'")
endif()

include(CheckLanguage)

# --- finding the toolchains -------------------------------------------------------------------

# Sets <result> to TRUE when a HIP compiler for AMD GPUs is found, and in the caller's scope
# _gpu_amd_clang (the clang++ to use; empty when CMake is to find it itself), _gpu_amd_debian (TRUE
# for Debian's split layout, which needs the workarounds below) and _gpu_amd_hip_version.
function(_gpu_find_amd_toolchain result)
  set(${result} FALSE PARENT_SCOPE)
  set(_gpu_amd_clang "" PARENT_SCOPE)
  set(_gpu_amd_debian FALSE PARENT_SCOPE)
  set(_gpu_amd_hip_version "" PARENT_SCOPE)
  # A compiler the user named wins over the one found below (the layout still matters).
  set(user_clang "${CMAKE_HIP_COMPILER}")
  if(NOT user_clang AND DEFINED ENV{HIPCXX})
    set(user_clang "$ENV{HIPCXX}")
  endif()
  # AMD's own install: /opt/rocm (or $ROCM_PATH, $HIP_PATH) with clang under llvm/.
  foreach(root "$ENV{ROCM_PATH}" "$ENV{HIP_PATH}" /opt/rocm)
    if(root AND EXISTS "${root}/lib/cmake/hip-lang/hip-lang-config.cmake"
       AND EXISTS "${root}/llvm/bin/clang++")
      set(${result} TRUE PARENT_SCOPE)
      if(user_clang)
        set(_gpu_amd_clang "${user_clang}" PARENT_SCOPE)
      else()
        set(_gpu_amd_clang "${root}/llvm/bin/clang++" PARENT_SCOPE)
      endif()
      return()
    endif()
  endforeach()
  # Debian: hipcc in /usr/bin, the CMake package under the multiarch directory. hipcc itself is a
  # wrapper CMake refuses as a HIP compiler; ask it which clang it runs (Debian's default clang++
  # is an older clang that cannot read ROCm's device libraries).
  find_program(_gpu_hipcc hipcc NO_CACHE)
  set(hip_lang_config "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/hip-lang/hip-lang-config.cmake")
  if(_gpu_hipcc AND CMAKE_LIBRARY_ARCHITECTURE AND EXISTS "${hip_lang_config}")
    # An --offload-arch is needed: without one hipcc runs rocm_agent_enumerator, which fails on a
    # machine without an AMD GPU.
    execute_process(
      COMMAND ${CMAKE_COMMAND} -E env HIPCC_VERBOSE=1 ${_gpu_hipcc} --offload-arch=gfx90a --version
      OUTPUT_VARIABLE hipcc_output ERROR_VARIABLE hipcc_output RESULT_VARIABLE hipcc_status)
    set(clang "")
    if(hipcc_status EQUAL 0 AND hipcc_output MATCHES "hipcc-cmd: *([^ \n]+)")
      set(clang "${CMAKE_MATCH_1}")
    endif()
    if(clang AND EXISTS "${clang}")
      if(hipcc_output MATCHES "--hip-version=([0-9.]+)")
        set(_gpu_amd_hip_version "${CMAKE_MATCH_1}" PARENT_SCOPE)
      endif()
      if(user_clang)
        set(clang "${user_clang}")
      endif()
      set(${result} TRUE PARENT_SCOPE)
      set(_gpu_amd_clang "${clang}" PARENT_SCOPE)
      set(_gpu_amd_debian TRUE PARENT_SCOPE)
      return()
    endif()
  endif()
  # Neither layout: a compiler the user named may still know where its ROCm is.
  if(user_clang)
    set(${result} TRUE PARENT_SCOPE)
    set(_gpu_amd_clang "${user_clang}" PARENT_SCOPE)
  endif()
endfunction()

# Debian: the compile flags clang needs to find ROCm in /usr.
set(_gpu_debian_rocm_flags
    --rocm-path=/usr --rocm-device-lib-path=/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/amdgcn/bitcode)

# Compiles one tiny kernel per requested architecture with the found clang. Catches what would
# otherwise be an opaque "HIP compiler is not able to compile a simple test program": an
# architecture this clang does not know (gfx942 with clang-15), missing device libraries, a
# missing HIP runtime header. Sets <result> TRUE or FALSE and <why> to the compiler's complaint.
function(_gpu_check_amd_archs result why)
  set(${result} TRUE PARENT_SCOPE)
  if(NOT _gpu_amd_clang)
    return()  # CMake finds and checks the compiler itself
  endif()
  if("${_gpu_amd_clang};${GPU_AMD_ARCHS}" STREQUAL "$CACHE{_GPU_AMD_ARCHS_CHECKED}")
    return()  # checked at an earlier configure
  endif()
  set(flags "")
  if(_gpu_amd_debian)
    set(flags ${_gpu_debian_rocm_flags})
    if(_gpu_amd_hip_version)
      list(APPEND flags --hip-version=${_gpu_amd_hip_version})
    endif()
  endif()
  set(source "${CMAKE_BINARY_DIR}/CMakeFiles/gpu_check_amd.hip")
  file(WRITE "${source}" "#include <hip/hip_runtime.h>\n__global__ void k(float* x) { x[threadIdx.x] = 1.0f; }\n")
  foreach(arch IN LISTS GPU_AMD_ARCHS)
    execute_process(
      COMMAND ${_gpu_amd_clang} -x hip ${flags} --offload-arch=${arch} -c ${source}
              -o ${CMAKE_BINARY_DIR}/CMakeFiles/gpu_check_amd.o
      OUTPUT_VARIABLE output ERROR_VARIABLE output RESULT_VARIABLE status)
    if(NOT status EQUAL 0)
      set(${result} FALSE PARENT_SCOPE)
      set(${why} "${_gpu_amd_clang} cannot compile HIP for ${arch}:\n${output}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(_GPU_AMD_ARCHS_CHECKED "${_gpu_amd_clang};${GPU_AMD_ARCHS}" CACHE INTERNAL "")
endfunction()

# Sets <result> TRUE when nvcc compiles a trial project. check_language(CUDA) is the test; it must
# not be given CMAKE_CUDA_COMPILER in advance, or it skips the trial and trusts a path that may be
# a dangling wrapper script. So point CUDACXX at the nvcc we find and let it try.
function(_gpu_find_nvidia_toolchain result)
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
    find_program(_gpu_nvcc nvcc NO_CACHE
                 PATHS "$ENV{CUDA_PATH}/bin" "$ENV{CUDA_HOME}/bin" /usr/local/cuda/bin)
    if(_gpu_nvcc)
      set(ENV{CUDACXX} "${_gpu_nvcc}")
    endif()
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(${result} TRUE PARENT_SCOPE)
  else()
    set(${result} FALSE PARENT_SCOPE)
  endif()
endfunction()

function(_gpu_nvidia_driver_present result)
  if(EXISTS /dev/nvidiactl OR EXISTS /proc/driver/nvidia/version)
    set(${result} TRUE PARENT_SCOPE)
  else()
    set(${result} FALSE PARENT_SCOPE)
  endif()
endfunction()

# --- choosing the backend ---------------------------------------------------------------------

set(GPU_BACKEND_RESOLVED off)
set(_gpu_why "")
if(GPU_BACKEND STREQUAL "amd")
  _gpu_find_amd_toolchain(_gpu_amd_found)
  if(NOT _gpu_amd_found)
    message(FATAL_ERROR "GPU_BACKEND=amd, but no HIP toolchain was found: install ROCm (/opt/rocm) "
                        "or Debian's hipcc and libamdhip64-dev (scripts/setup.sh --gpu)")
  endif()
  _gpu_check_amd_archs(_gpu_amd_works _gpu_amd_complaint)
  if(NOT _gpu_amd_works)
    message(FATAL_ERROR "GPU_BACKEND=amd, GPU_AMD_ARCHS=${GPU_AMD_ARCHS}: ${_gpu_amd_complaint}")
  endif()
  set(GPU_BACKEND_RESOLVED amd)
elseif(GPU_BACKEND STREQUAL "nvidia")
  _gpu_find_nvidia_toolchain(_gpu_nvidia_found)
  if(NOT _gpu_nvidia_found)
    message(FATAL_ERROR "GPU_BACKEND=nvidia, but nvcc was not found or does not work "
                        "(put it on PATH, or set CUDACXX or CUDA_PATH)")
  endif()
  set(GPU_BACKEND_RESOLVED nvidia)
elseif(GPU_BACKEND STREQUAL "auto")
  _gpu_find_amd_toolchain(_gpu_amd_found)
  if(_gpu_amd_found)
    _gpu_check_amd_archs(_gpu_amd_found _gpu_amd_complaint)
    if(NOT _gpu_amd_found)
      message(STATUS "GPU: ignoring the HIP toolchain: ${_gpu_amd_complaint}")
    endif()
  endif()
  _gpu_nvidia_driver_present(_gpu_nvidia_driver)
  if(_gpu_amd_found AND EXISTS /dev/kfd)
    set(GPU_BACKEND_RESOLVED amd)
  else()
    set(_gpu_nvidia_found FALSE)
    if(_gpu_nvidia_driver OR NOT _gpu_amd_found)
      _gpu_find_nvidia_toolchain(_gpu_nvidia_found)
    endif()
    if(_gpu_nvidia_found AND _gpu_nvidia_driver)
      set(GPU_BACKEND_RESOLVED nvidia)
    elseif(_gpu_amd_found)
      set(GPU_BACKEND_RESOLVED amd)
    elseif(_gpu_nvidia_found)
      set(GPU_BACKEND_RESOLVED nvidia)
    else()
      set(_gpu_why " (neither a HIP toolchain nor a working nvcc was found)")
    endif()
  endif()
else()
  set(_gpu_why " (GPU_BACKEND=off)")
endif()

# --- enabling the language ------------------------------------------------------------------
# enable_language() must run at file scope, so this is not in a function.

if(GPU_BACKEND_RESOLVED STREQUAL "amd")
  # Always name the architectures: without them CMake runs rocm_agent_enumerator, which fails on
  # a machine without an AMD GPU. A normal variable, so editing GPU_AMD_ARCHS takes effect.
  set(CMAKE_HIP_ARCHITECTURES "${GPU_AMD_ARCHS}")
  if(_gpu_amd_clang AND NOT CMAKE_HIP_COMPILER)
    set(CMAKE_HIP_COMPILER "${_gpu_amd_clang}")
  endif()
  if(_gpu_amd_debian)
    # Debian 1: CMake 3.25 looks for <rocm root>/lib/cmake/hip-lang, but Debian installs it under
    # the multiarch directory. A link from a directory of ours makes that path exist; the package
    # resolves its real location itself, so it still points at /usr.
    set(_gpu_shim "${CMAKE_BINARY_DIR}/_rocm_root_shim")
    file(MAKE_DIRECTORY "${_gpu_shim}/lib/cmake")
    file(CREATE_LINK "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/hip-lang"
         "${_gpu_shim}/lib/cmake/hip-lang" SYMBOLIC)
    set(CMAKE_HIP_COMPILER_ROCM_ROOT "${_gpu_shim}")
    # Debian 2: clang does not look in /usr for the HIP runtime and device libraries.
    string(JOIN " " CMAKE_HIP_FLAGS_INIT ${_gpu_debian_rocm_flags})
    # Debian 3: CMake's compiler check loads hip-lang, which looks for amd_comgr in a directory it
    # does not search; the check runs in this process, so the environment reaches it.
    set(ENV{amd_comgr_DIR} "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/amd_comgr")
    # Debian 4: hip-lang picks the first clang runtime it globs (an older clang's); use ours.
    execute_process(COMMAND ${_gpu_amd_clang} --rtlib=compiler-rt -print-libgcc-file-name
                    OUTPUT_VARIABLE _gpu_builtins OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(EXISTS "${_gpu_builtins}")
      set(CLANGRT_BUILTINS "${_gpu_builtins}" CACHE FILEPATH "clang runtime builtins for HIP" FORCE)
    endif()
  endif()
  enable_language(HIP)
  # Executables that link a HIP library would otherwise be linked by clang (HIP's linker
  # preference beats C++'s). The rest of the project is g++ code using g++'s OpenMP and
  # sanitizer runtimes, so keep the C++ linker and link the HIP runtime explicitly.
  set(CMAKE_HIP_LINKER_PREFERENCE_PROPAGATES 0)
  message(STATUS "GPU backend: amd (${CMAKE_HIP_COMPILER}, ${GPU_AMD_ARCHS})")
elseif(GPU_BACKEND_RESOLVED STREQUAL "nvidia")
  set(CMAKE_CUDA_ARCHITECTURES "${GPU_NVIDIA_ARCHS}")
  if(NOT DEFINED CMAKE_CUDA_HOST_COMPILER)
    set(CMAKE_CUDA_HOST_COMPILER "${CMAKE_CXX_COMPILER}")  # the project's own C++ compiler
  endif()
  # One copy of the CUDA runtime: the shared one, as CUDA::cudart (the default, static, plus
  # CUDA::cudart would link both).
  set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  # CMake before 3.26 does not know nvcc's C++20 flag and refuses CUDA_STANDARD 20.
  if(CMAKE_VERSION VERSION_LESS 3.26 AND CMAKE_CUDA_COMPILER_VERSION VERSION_GREATER_EQUAL 12)
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  endif()
  message(STATUS "GPU backend: nvidia (${CMAKE_CUDA_COMPILER} ${CMAKE_CUDA_COMPILER_VERSION}, "
                 "sm_${GPU_NVIDIA_ARCHS})")
else()
  message(STATUS "GPU backend: off${_gpu_why}; the GPU tests will report skipped")
endif()

if(NOT GPU_BACKEND_RESOLVED STREQUAL "off")
  _gpu_nvidia_driver_present(_gpu_nvidia_driver)
  if((GPU_BACKEND_RESOLVED STREQUAL "amd" AND NOT EXISTS /dev/kfd)
     OR (GPU_BACKEND_RESOLVED STREQUAL "nvidia" AND NOT _gpu_nvidia_driver))
    message(STATUS "GPU: no ${GPU_BACKEND_RESOLVED} GPU on this machine: compile only, "
                   "the GPU tests will report skipped")
  endif()
endif()

# --- the helper -------------------------------------------------------------------------------

# gpu_add_hip_library(<name> SOURCES a.hip ... OFF_SOURCES stub.cpp ...)
#
# A static library built from the .hip sources by the chosen backend, or from OFF_SOURCES (plain
# C++) when there is none. Code that links it sees only plain C++ headers either way.
function(gpu_add_hip_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;OFF_SOURCES" ${ARGN})
  if(GPU_BACKEND_RESOLVED STREQUAL "off")
    add_library(${name} STATIC ${ARG_OFF_SOURCES})
    target_link_libraries(${name} PRIVATE llama4_flags)
    return()
  endif()

  add_library(${name} STATIC ${ARG_SOURCES})
  # llama4_flags holds g++ options (-march=native, sanitizers) that are not for device
  # compilers, so the warnings are spelled here per compiler.
  if(GPU_BACKEND_RESOLVED STREQUAL "amd")
    set_source_files_properties(${ARG_SOURCES} PROPERTIES LANGUAGE HIP)
    set_target_properties(${name} PROPERTIES HIP_STANDARD 20 HIP_STANDARD_REQUIRED ON
                                             HIP_EXTENSIONS OFF HIP_ARCHITECTURES "${GPU_AMD_ARCHS}")
    target_compile_options(${name} PRIVATE -Wall -Wextra -Wpedantic -Wshadow)
    if(LLAMA4_WERROR)
      target_compile_options(${name} PRIVATE -Werror)
    endif()
    if(_gpu_amd_debian AND _gpu_amd_hip_version)
      # Debian: without it clang assumes HIP 3.5 and does not pre-include HIP's runtime wrapper.
      # Per target, not in CMAKE_HIP_FLAGS: CMake's own compiler check breaks with it.
      target_compile_options(${name} PRIVATE --hip-version=${_gpu_amd_hip_version})
    endif()
    target_link_libraries(${name} PUBLIC hip-lang::amdhip64)
  else()
    # nvcc compiles the .hip files as CUDA; __HIP_PLATFORM_NVIDIA__ tells gpu/hip_portable.hpp to
    # map the HIP names onto CUDA's.
    set_source_files_properties(${ARG_SOURCES} PROPERTIES LANGUAGE CUDA)
    set_target_properties(${name} PROPERTIES CUDA_STANDARD 20 CUDA_STANDARD_REQUIRED ON
                                             CUDA_EXTENSIONS OFF
                                             CUDA_ARCHITECTURES "${GPU_NVIDIA_ARCHS}")
    target_compile_definitions(${name} PRIVATE __HIP_PLATFORM_NVIDIA__)
    target_compile_options(${name} PRIVATE -Xcompiler=-Wall,-Wextra,-Wshadow)
    if(LLAMA4_WERROR)
      target_compile_options(${name} PRIVATE -Werror=all-warnings -Xcompiler=-Werror)
    endif()
    target_link_libraries(${name} PUBLIC CUDA::cudart)
  endif()
endfunction()
