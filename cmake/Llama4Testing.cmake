# llama4_add_test(<name> LABEL chapterNN SOURCES a.cpp ... [LIBRARIES ...] [LABELS extra ...])
# (LABELS gpu also gives the tests RESOURCE_LOCK gpu.)
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
  # Tests labelled gpu never run two at a time (ctest -j), so they do not compete for the device
  # and their timings mean something.
  set(resource_lock "")
  if("gpu" IN_LIST ARG_LABELS)
    set(resource_lock RESOURCE_LOCK gpu)
  endif()
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS ${ARG_LABEL} ${resource_lock})
  # More than one label cannot go through PROPERTIES: CMake 3.25's generated script flattens the
  # list, and every label after the first becomes a property name. So a second script, which ctest
  # runs right after the discovery, gives each discovered test the whole list.
  if(ARG_LABELS)
    set(labels_script "${CMAKE_CURRENT_BINARY_DIR}/${name}_labels.cmake")
    file(WRITE "${labels_script}"
         "foreach(test IN LISTS ${name}_TESTS)\n"
         "  set_tests_properties(\"\${test}\" PROPERTIES LABELS \"${ARG_LABEL};${ARG_LABELS}\")\n"
         "endforeach()\n")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${labels_script}")
  endif()
endfunction()
