# Checks that headers compile on their own. Each header gets a generated
# translation unit that includes it twice (the include guard), compiled for
# syntax and meaning only: tests/syntax_check.sh is the targets' compiler
# launcher and runs `-fsyntax-only` with the flags CMake gives, so the checks
# see exactly a consumer's flags and dependency tracking, without generating
# code, the test programs' job.
#
# The checker is clang where it is installed (KPLUG_HEADER_CHECK_CXX): it
# parses these headers in about half GCC's time and adds a second compiler's
# warnings. The project's compiler checks all the headers once more, in one
# unit, so that its own warnings still reach every header.

find_program(KPLUG_HEADER_CHECK_CXX NAMES clang++
             DOC "Compiler of the headers' self-containment checks (default: clang++, else the C++ compiler)")
if(NOT KPLUG_HEADER_CHECK_CXX)
  set(KPLUG_HEADER_CHECK_CXX "${CMAKE_CXX_COMPILER}")
endif()

# kplug_syntax_check(TARGET CHECKER SOURCE...): an object library whose
# sources CHECKER compiles with -fsyntax-only, with the test suite's warnings.
function(kplug_syntax_check target checker)
  add_library(${target} OBJECT ${ARGN})
  target_link_libraries(${target} PRIVATE kplug_test_options)
  set_target_properties(${target} PROPERTIES
    CXX_COMPILER_LAUNCHER "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/syntax_check.sh;${checker}")
endfunction()

# kplug_check_headers(TARGET HEADER...): HEADER (relative to include/) each on
# its own with the checker, and all together with the project's compiler
# (TARGET_together).
function(kplug_check_headers target)
  set(_dir "${CMAKE_CURRENT_BINARY_DIR}/${target}")
  set(_units)
  set(_together "")
  foreach(_header IN LISTS ARGN)
    string(MAKE_C_IDENTIFIER "${_header}" _id)
    file(CONFIGURE OUTPUT "${_dir}/${_id}.cpp"
         CONTENT "#include <${_header}>\n#include <${_header}>  // include guard works\n")
    list(APPEND _units "${_dir}/${_id}.cpp")
    string(APPEND _together "#include <${_header}>\n")
  endforeach()
  file(CONFIGURE OUTPUT "${_dir}/together.cpp" CONTENT "${_together}")
  kplug_syntax_check(${target} "${KPLUG_HEADER_CHECK_CXX}" ${_units})
  kplug_syntax_check(${target}_together "${CMAKE_CXX_COMPILER}" "${_dir}/together.cpp")
endfunction()
