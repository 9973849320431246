# Packaging checks, run by ctest as
#   cmake -DUVA_SOURCE_DIR=... -DUVA_BUILD_DIR=... -DWORK_DIR=...
#         -DC_COMPILER=... -DUVA_VERSION=... -P run.cmake
# 1. The build ctest runs in (both libraries) installed as it is, without
#    building again: find_package(uva) and pkg-config consumers, the
#    consumer's own variables untouched, another minor version refused.
# 2. A machine without Check (pkg-config sees only libuv): configuring with
#    UVA_BUILD_TESTS=ON fails clearly; the default skips the tests with one
#    line, and a static-only build installs and serves both kinds of
#    consumers.
# 3. add_subdirectory with a shared-only build, then installed from the
#    parent and found with find_package; a parent with its own uv target.
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}\n${out}\n${err}")
  endif()
  set(last_out "${out}${err}" PARENT_SCOPE)
endfunction()
function(run_fails)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0)
    message(FATAL_ERROR "succeeded, but should have failed: ${ARGV}\n${out}\n${err}")
  endif()
  set(last_out "${out}${err}" PARENT_SCOPE)
endfunction()
function(expect_output)
  if(NOT last_out MATCHES "uva ${UVA_VERSION}: 42")
    message(FATAL_ERROR "consumer printed: ${last_out}")
  endif()
endfunction()
function(expect_files prefix)
  foreach(f IN LISTS ARGN)
    file(GLOB hit ${prefix}/${f})
    if(NOT hit)
      message(FATAL_ERROR "not installed: ${prefix}/${f}")
    endif()
  endforeach()
endfunction()
function(expect_no_files prefix)
  foreach(f IN LISTS ARGN)
    file(GLOB hit ${prefix}/${f})
    if(hit)
      message(FATAL_ERROR "should not be there: ${hit}")
    endif()
  endforeach()
endfunction()
set(cc -DCMAKE_C_COMPILER=${C_COMPILER})
# The uva trees built here only check packaging: no optimisation, no debug
# information (CMake's flags for a build type it does not know: none).
set(quick -DCMAKE_BUILD_TYPE=None)
string(REGEX MATCH "^([0-9]+)\\.([0-9]+)" _ "${UVA_VERSION}")
math(EXPR other_minor "${CMAKE_MATCH_2} - 1")
if(other_minor LESS 0)
  math(EXPR other_minor "${CMAKE_MATCH_2} + 1")
endif()
set(other "${CMAKE_MATCH_1}.${other_minor}")
set(headers include/uva.h include/uva/base.h include/uva/future.h include/uva/task.h
    include/uva/chan.h include/uva/stream.h)

# A find_package(uva) consumer of the installation in prefix; its configure
# output must not mention libuv (found quietly).
function(find_package_consumer name prefix shared static)
  run(${CMAKE_COMMAND} -S ${UVA_SOURCE_DIR}/tests/install/find_package -B ${WORK_DIR}/${name}
      -DCMAKE_PREFIX_PATH=${prefix} -DUVA_VERSION=${UVA_VERSION} -DUVA_OTHER_MINOR=${other}
      -DEXPECT_SHARED=${shared} -DEXPECT_STATIC=${static} ${cc})
  string(TOLOWER "${last_out}" lower)
  if(lower MATCHES "libuv")
    message(FATAL_ERROR "find_package(uva) talked about libuv:\n${last_out}")
  endif()
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/${name})
  run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/lib:${prefix}/lib64 ${WORK_DIR}/${name}/consumer)
  expect_output()
  if(static)
    run(${WORK_DIR}/${name}/consumer_static)
    expect_output()
  endif()
endfunction()
# A pkg-config consumer of the installation in prefix.
function(pkg_config_consumer name prefix)
  file(GLOB pcdir ${prefix}/lib*/pkgconfig)
  run(${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pcdir} pkg-config --print-requires uva)
  if(NOT last_out MATCHES "libuv >= 1\\.40")
    message(FATAL_ERROR "uva.pc requires: ${last_out}")
  endif()
  run(${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pcdir} pkg-config --modversion uva)
  if(NOT last_out MATCHES "^${UVA_VERSION}")
    message(FATAL_ERROR "uva.pc version: ${last_out}")
  endif()
  run(${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pcdir} pkg-config --cflags --libs uva)
  string(STRIP "${last_out}" flags)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run(${C_COMPILER} -std=gnu11 ${UVA_SOURCE_DIR}/tests/install/consumer.c ${flags}
      -o ${WORK_DIR}/${name})
  run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/lib:${prefix}/lib64 ${WORK_DIR}/${name})
  expect_output()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})

# 1. This build, installed as it is.
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${UVA_BUILD_DIR} --prefix ${prefix})
expect_files(${prefix} ${headers} lib*/libuva.a
             lib*/pkgconfig/uva.pc lib*/cmake/uva/uvaConfig.cmake)
string(REGEX MATCH "^[0-9]+\\.[0-9]+" soversion "${UVA_VERSION}")
expect_files(${prefix} lib*/libuva.so.${soversion})
find_package_consumer(fp ${prefix} ON ON)
pkg_config_consumer(pc_consumer ${prefix})

# 2. No Check: pkg-config finds libuv and nothing else.
execute_process(COMMAND pkg-config --variable=pcfiledir libuv OUTPUT_VARIABLE uvpc
                OUTPUT_STRIP_TRAILING_WHITESPACE)
file(MAKE_DIRECTORY ${WORK_DIR}/nocheck-pc)
file(COPY ${uvpc}/libuv.pc DESTINATION ${WORK_DIR}/nocheck-pc)
set(nocheck ${CMAKE_COMMAND} -E env PKG_CONFIG_LIBDIR=${WORK_DIR}/nocheck-pc PKG_CONFIG_PATH=)
run_fails(${nocheck} ${CMAKE_COMMAND} -S ${UVA_SOURCE_DIR} -B ${WORK_DIR}/nocheck-on
          -DUVA_BUILD_TESTS=ON ${cc})
if(NOT last_out MATCHES "UVA_BUILD_TESTS=ON, but Check")
  message(FATAL_ERROR "UVA_BUILD_TESTS=ON without Check failed unclearly:\n${last_out}")
endif()
set(prefix ${WORK_DIR}/prefix-static)
run(${nocheck} ${CMAKE_COMMAND} -S ${UVA_SOURCE_DIR} -B ${WORK_DIR}/static
    -DUVA_BUILD_SHARED=OFF -DUVA_BUILD_DEMOS=OFF -DUVA_BUILD_BENCH=OFF
    -DCMAKE_INSTALL_PREFIX=${prefix} ${cc} ${quick})
if(NOT last_out MATCHES "uva: tests skipped: Check")
  message(FATAL_ERROR "no line saying the tests are skipped:\n${last_out}")
endif()
run(${CMAKE_COMMAND} --build ${WORK_DIR}/static -j 2)
run(${CMAKE_COMMAND} --install ${WORK_DIR}/static)
expect_files(${prefix} ${headers} lib*/libuva.a lib*/pkgconfig/uva.pc
             lib*/cmake/uva/uvaConfig.cmake)
expect_no_files(${prefix} lib*/libuva.so*)
find_package_consumer(fp-static ${prefix} OFF ON)
pkg_config_consumer(pc_static_consumer ${prefix})

# 3. add_subdirectory, shared library only.
run(${CMAKE_COMMAND} -S ${UVA_SOURCE_DIR}/tests/install/subdir -B ${WORK_DIR}/sub
    -DUVA_SOURCE_DIR=${UVA_SOURCE_DIR} -DUVA_BUILD_STATIC=OFF
    -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix-shared ${cc} ${quick})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/sub -j 2)
run(${WORK_DIR}/sub/consumer)
expect_output()
expect_no_files(${WORK_DIR}/sub uva/libuva.a)
run(${CMAKE_COMMAND} --install ${WORK_DIR}/sub)
set(prefix ${WORK_DIR}/prefix-shared)
expect_files(${prefix} ${headers} lib*/libuva.so.${soversion} lib*/cmake/uva/uvaConfig.cmake)
expect_no_files(${prefix} lib*/libuva.a)
find_package_consumer(fp-shared ${prefix} ON OFF)
# A parent with its own uv target (checked when configuring).
run(${CMAKE_COMMAND} -S ${UVA_SOURCE_DIR}/tests/install/subdir -B ${WORK_DIR}/sub2
    -DUVA_SOURCE_DIR=${UVA_SOURCE_DIR} -DPARENT_HAS_UV=ON ${cc})
message(STATUS "install: packaging checks passed")
