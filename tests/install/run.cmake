# Installs uva into a scratch prefix and builds a consumer three ways:
# find_package(uva), pkg-config, and add_subdirectory.  Run by ctest as
#   cmake -DUVA_SOURCE_DIR=... -DWORK_DIR=... -DC_COMPILER=... -P run.cmake
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}\n${out}\n${err}")
  endif()
  set(last_out "${out}" PARENT_SCOPE)
endfunction()
function(expect_output)
  if(NOT last_out MATCHES "uva [0-9]+\\.[0-9]+\\.[0-9]+: 42")
    message(FATAL_ERROR "consumer printed: ${last_out}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} -S ${UVA_SOURCE_DIR} -B ${WORK_DIR}/uva -DUVA_BUILD_TESTS=OFF
    -DUVA_BUILD_DEMOS=OFF -DCMAKE_INSTALL_PREFIX=${prefix} -DCMAKE_C_COMPILER=${C_COMPILER})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/uva -j 2)
run(${CMAKE_COMMAND} --install ${WORK_DIR}/uva)

# find_package(uva) with uva::uva and uva::uva_static
run(${CMAKE_COMMAND} -S ${UVA_SOURCE_DIR}/tests/install/find_package -B ${WORK_DIR}/fp
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${C_COMPILER})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/fp)
run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/lib:${prefix}/lib64 ${WORK_DIR}/fp/consumer)
expect_output()
run(${WORK_DIR}/fp/consumer_static)
expect_output()

# pkg-config
file(GLOB pcdir ${prefix}/lib*/pkgconfig)
run(${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pcdir} pkg-config --cflags --libs uva)
string(STRIP "${last_out}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run(${C_COMPILER} -std=gnu11 ${UVA_SOURCE_DIR}/tests/install/consumer.c ${flags} -o ${WORK_DIR}/pc_consumer)
run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/lib:${prefix}/lib64 ${WORK_DIR}/pc_consumer)
expect_output()

# add_subdirectory
run(${CMAKE_COMMAND} -S ${UVA_SOURCE_DIR}/tests/install/subdir -B ${WORK_DIR}/sub
    -DUVA_SOURCE_DIR=${UVA_SOURCE_DIR} -DCMAKE_C_COMPILER=${C_COMPILER})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/sub -j 2)
run(${WORK_DIR}/sub/consumer)
expect_output()
run(${CMAKE_COMMAND} -S ${UVA_SOURCE_DIR}/tests/install/subdir -B ${WORK_DIR}/sub2
    -DUVA_SOURCE_DIR=${UVA_SOURCE_DIR} -DPARENT_HAS_UV=ON -DCMAKE_C_COMPILER=${C_COMPILER})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/sub2 -j 2)
run(${WORK_DIR}/sub2/consumer)
expect_output()
message(STATUS "install: find_package, pkg-config and add_subdirectory consumers work")
