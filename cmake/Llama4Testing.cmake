# llama4_add_test(<name> LABEL chapterNN SOURCES a.cpp ... [LIBRARIES ...] [LABELS extra ...])
#
# One GoogleTest executable. Every test in it is registered with ctest carrying the chapter's
# label, so `ctest -L chapter05` runs exactly chapter 05. DISCOVERY_MODE PRE_TEST lists the tests
# when ctest runs, not at build time, so sanitizer builds and compile-only GPU builds link fine.
include(GoogleTest)

function(llama4_add_test name)
  cmake_parse_arguments(ARG "" "LABEL" "SOURCES;LIBRARIES;LABELS" ${ARGN})
  if(NOT ARG_LABEL MATCHES "^chapter[0-9][0-9]$")
    message(FATAL_ERROR "llama4_add_test(${name}): LABEL must be chapterNN, got '${ARG_LABEL}'")
  endif()
  add_executable(${name} ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_link_libraries(${name} PRIVATE llama4_test_support ${ARG_LIBRARIES}
                                        GTest::gmock GTest::gtest GTest::gtest_main llama4_flags)
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS "${ARG_LABEL};${ARG_LABELS}")
endfunction()
