# The libraries the project builds on, found one of two ways.
#
#   installed (the default)   Debian's development packages (scripts/setup.sh installs them),
#                             through find_package and pkg-config.
#   -DLLAMA4_DEPENDENCIES_DIR=build-gpu-bundle
#                             a bundle folder that scripts/gpu-bundle.sh writes: for a machine with a
#                             compiler, CMake and ninja but no development packages, such as the
#                             NVIDIA GPU machine gpu/verify_on_gpu.sh runs on. GoogleTest is compiled
#                             from the bundle's sources; nlohmann-json, CLI11 and PCRE2 are headers
#                             and a static library. Nothing is looked up in the system's prefixes, so a
#                             bundle that lacks a file fails here, naming it. Google Benchmark is not
#                             in the bundle, and the programs that need it are left out (bench_gpu
#                             does not: it builds either way).
#
# Afterwards these targets exist: OpenMP::OpenMP_CXX, Threads::Threads, nlohmann_json::nlohmann_json,
# CLI11::CLI11 (the programs' command lines),
# GTest::gtest, GTest::gmock, GTest::gtest_main, llama4::pcre2 (the 8-bit library), and
# benchmark::benchmark unless the bundle is used (bench/CMakeLists.txt asks if(TARGET ...)).

set(LLAMA4_DEPENDENCIES_DIR "" CACHE PATH
    "A folder written by scripts/gpu-bundle.sh to take GoogleTest, nlohmann-json and PCRE2 from (empty: the installed packages)")

find_package(OpenMP REQUIRED)
find_package(Threads REQUIRED)

if(NOT LLAMA4_DEPENDENCIES_DIR)
  find_package(nlohmann_json 3.10 REQUIRED)
  find_package(CLI11 2.1 REQUIRED)  # the programs' command lines (Debian: libcli11-dev)
  find_package(GTest REQUIRED)
  find_package(benchmark REQUIRED)
  # Chapter 02's pre-tokenizer runs the o200k split pattern with PCRE2 (Debian: libpcre2-dev).
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
  add_library(llama4::pcre2 ALIAS PkgConfig::PCRE2)
  message(STATUS "Dependencies: the installed packages")
  return()
endif()

# --- the bundle ----------------------------------------------------------------------------------
get_filename_component(_bundle "${LLAMA4_DEPENDENCIES_DIR}" ABSOLUTE BASE_DIR "${PROJECT_SOURCE_DIR}")
foreach(file googletest/googletest/src/gtest-all.cc googletest/googletest/src/gtest_main.cc
             googletest/googlemock/src/gmock-all.cc nlohmann-json/include/nlohmann/json.hpp
             cli11/include/CLI/CLI.hpp
             pcre2/include/pcre2.h pcre2/lib/libpcre2-8.a)
  if(NOT EXISTS "${_bundle}/${file}")
    message(FATAL_ERROR "LLAMA4_DEPENDENCIES_DIR=${LLAMA4_DEPENDENCIES_DIR}: ${_bundle}/${file} is "
                        "missing; write the folder with scripts/gpu-bundle.sh")
  endif()
endforeach()

# GoogleTest and GoogleMock, compiled from source with this machine's compiler (a library compiled
# elsewhere could disagree with its C++ library). Not with llama4_flags: no -Werror on code not ours.
set(_googletest "${_bundle}/googletest")
add_library(llama4_bundle_gtest STATIC "${_googletest}/googletest/src/gtest-all.cc")
target_include_directories(llama4_bundle_gtest SYSTEM PUBLIC "${_googletest}/googletest/include"
                           PRIVATE "${_googletest}/googletest")
target_link_libraries(llama4_bundle_gtest PUBLIC Threads::Threads)
add_library(llama4_bundle_gmock STATIC "${_googletest}/googlemock/src/gmock-all.cc")
target_include_directories(llama4_bundle_gmock SYSTEM PUBLIC "${_googletest}/googlemock/include"
                           PRIVATE "${_googletest}/googlemock")
target_link_libraries(llama4_bundle_gmock PUBLIC llama4_bundle_gtest)
add_library(llama4_bundle_gtest_main STATIC "${_googletest}/googletest/src/gtest_main.cc")
target_link_libraries(llama4_bundle_gtest_main PUBLIC llama4_bundle_gtest)
add_library(GTest::gtest ALIAS llama4_bundle_gtest)
add_library(GTest::gmock ALIAS llama4_bundle_gmock)
add_library(GTest::gtest_main ALIAS llama4_bundle_gtest_main)

# nlohmann-json: headers only.
add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
set_target_properties(nlohmann_json::nlohmann_json PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${_bundle}/nlohmann-json/include")

# CLI11: headers only.
add_library(CLI11::CLI11 INTERFACE IMPORTED)
set_target_properties(CLI11::CLI11 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_bundle}/cli11/include")

# PCRE2 (8-bit code units), static: the program then needs no libpcre2 on the machine it runs on.
add_library(llama4::pcre2 STATIC IMPORTED)
set_target_properties(llama4::pcre2 PROPERTIES
  IMPORTED_LOCATION "${_bundle}/pcre2/lib/libpcre2-8.a"
  INTERFACE_INCLUDE_DIRECTORIES "${_bundle}/pcre2/include"
  INTERFACE_LINK_LIBRARIES Threads::Threads)

message(STATUS "Dependencies: the bundle ${_bundle} (GoogleTest from source, nlohmann-json, PCRE2; "
               "no Google Benchmark, so only bench_gpu of bench/)")
