# Checks that each README code snippet is the region between the lines
# "// readme-begin" and "// readme-end" of its compiled example (dedented by
# two spaces), so the README cannot drift from code the tests build and run.
#   cmake -DREADME=README.md -DEXAMPLES="a.cpp;b.cpp" -P check_readme_snippets.cmake
file(READ "${README}" readme)
foreach(example IN LISTS EXAMPLES)
  file(READ "${example}" text)
  string(FIND "${text}" "// readme-begin\n" begin)
  string(FIND "${text}" "// readme-end" end)
  if(begin EQUAL -1 OR end EQUAL -1)
    message(FATAL_ERROR "${example}: no readme-begin/readme-end region")
  endif()
  math(EXPR begin "${begin} + 16")
  math(EXPR length "${end} - ${begin}")
  string(SUBSTRING "${text}" ${begin} ${length} snippet)
  string(REGEX REPLACE "\n +$" "\n" snippet "${snippet}")  # indentation before "// readme-end"
  string(REPLACE "\n  " "\n" snippet "\n${snippet}")
  string(SUBSTRING "${snippet}" 1 -1 snippet)
  string(FIND "${readme}" "${snippet}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "README.md does not contain the snippet of ${example} verbatim; copy it again")
  endif()
  message(STATUS "README snippet of ${example}: in sync")
endforeach()
