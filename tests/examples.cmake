# Run by ctest as
#   cmake -DUVA_SOURCE_DIR=... -DWORK_DIR=... -DC_COMPILER=... -DUVA_LIB=libuva.a
#         [-DSANITIZE=address,...] [-DVALGRIND=valgrind|-q|...] -P examples.cmake
# Every ```c block of README.md and docs/**/*.md is compiled against the
# headers (-Wall -Wextra -Werror); a block with a main function is linked
# with UVA_LIB and run (under VALGRIND when given; it must exit with 0
# within 60 s, 600 s under valgrind), unless the line before its fence is
# <!-- example: compile only -->.
cmake_minimum_required(VERSION 3.16)
set(timeout 60)
if(VALGRIND)
  string(REPLACE "|" ";" VALGRIND "${VALGRIND}") # its words, joined with |
  set(timeout 600)
endif()
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  TIMEOUT ${timeout} WORKING_DIRECTORY ${WORK_DIR})
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}\n${out}\n${err}\n${context}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(flags -std=gnu11 -Wall -Wextra -Werror -I${UVA_SOURCE_DIR}/include)
if(SANITIZE)
  list(APPEND flags -fsanitize=${SANITIZE})
endif()
execute_process(COMMAND pkg-config --cflags libuv OUTPUT_VARIABLE uvcflags
                OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND pkg-config --libs libuv OUTPUT_VARIABLE uvlibs
                OUTPUT_STRIP_TRAILING_WHITESPACE)
separate_arguments(uvcflags UNIX_COMMAND "${uvcflags}")
separate_arguments(uvlibs UNIX_COMMAND "${uvlibs}")
list(APPEND flags ${uvcflags})

file(GLOB_RECURSE docs ${UVA_SOURCE_DIR}/docs/*.md)
set(compiled 0)
set(ran 0)
foreach(md ${UVA_SOURCE_DIR}/README.md ${docs})
  file(RELATIVE_PATH rel ${UVA_SOURCE_DIR} ${md})
  string(MAKE_C_IDENTIFIER "${rel}" id)
  # Searched with string(FIND) on the raw text: C code is no CMake list.
  file(READ ${md} text)
  set(k 0)
  set(base_line 1) # the line number of text's first line
  while(TRUE)
    string(FIND "${text}" "\n```c\n" at)
    if(at EQUAL -1)
      break()
    endif()
    string(SUBSTRING "${text}" 0 ${at} before)
    math(EXPR body "${at} + 6")
    string(SUBSTRING "${text}" ${body} -1 rest)
    string(FIND "${rest}" "\n```" close)
    if(close EQUAL -1)
      message(FATAL_ERROR "${rel}: a ```c block is not closed")
    endif()
    math(EXPR close "${close} + 1")
    string(SUBSTRING "${rest}" 0 ${close} code)
    string(REGEX MATCHALL "\n" nl "${before}")
    list(LENGTH nl start)
    math(EXPR start "${base_line} + ${start} + 2") # the fence's line + 1
    string(REGEX MATCHALL "\n" nl "${code}")
    list(LENGTH nl code_lines)
    set(compile_only OFF)
    if(before MATCHES "<!-- example: compile only -->[ \t]*$")
      set(compile_only ON)
    endif()
    # Go on from the closing fence.
    math(EXPR next "${body} + ${close}")
    string(SUBSTRING "${text}" ${next} -1 text)
    math(EXPR base_line "${start} + ${code_lines}")
    math(EXPR k "${k} + 1")
    set(src ${WORK_DIR}/${id}-${k}.c)
    file(WRITE ${src} "#line ${start} \"${rel}\"\n${code}")
    set(context "(the C example at ${rel}:${start})")
    run(${C_COMPILER} ${flags} -c ${src} -o ${src}.o)
    math(EXPR compiled "${compiled} + 1")
    if(code MATCHES "int main\\(" AND NOT compile_only)
      run(${C_COMPILER} ${flags} ${src}.o ${UVA_LIB} ${uvlibs} -lpthread -o ${src}.exe)
      run(${VALGRIND} ${src}.exe)
      math(EXPR ran "${ran} + 1")
    endif()
  endwhile()
endforeach()
if(compiled EQUAL 0)
  message(FATAL_ERROR "no C example found in README.md or docs/")
endif()
message(STATUS "examples: ${compiled} compiled, ${ran} linked and run")
