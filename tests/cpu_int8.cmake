# The cpu backend's int8 kernel generators (backends/cpu/gen_int8.c,
# gen_qgemm.c, gen_qconv.c): differential test vs the ref kernels
# (test_cpu_qgemm, label unit) and the qgemm_bench program.
#
# When the whole cpu backend is built (QC_BACKEND_CPU, backends/cpu/hal.c
# present) those sources are already in libqcomp and the targets just link
# it; before that, they compile the generator sources (plus cg.c) directly.
if(NOT QC_WITH_LLVM_ENABLED)
  return()
endif()
set(QC_CPU_INT8_SRC "")
if(NOT QC_BACKEND_CPU)
  set(_cpu ${PROJECT_SOURCE_DIR}/backends/cpu)
  set(QC_CPU_INT8_SRC ${_cpu}/cg.c ${_cpu}/gen_int8.c ${_cpu}/gen_qgemm.c)
  if(EXISTS ${_cpu}/gen_qconv.c)
    list(APPEND QC_CPU_INT8_SRC ${_cpu}/gen_qconv.c)
  endif()
endif()
execute_process(COMMAND ${QC_LLVM_CONFIG} --includedir OUTPUT_VARIABLE QC_INT8_LLVM_INCLUDE
                OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND ${QC_LLVM_CONFIG} --libdir OUTPUT_VARIABLE QC_INT8_LLVM_LIBDIR
                OUTPUT_STRIP_TRAILING_WHITESPACE)
find_library(QC_INT8_LLVM_LIB NAMES LLVM-19 LLVM PATHS ${QC_INT8_LLVM_LIBDIR} NO_DEFAULT_PATH)
if(NOT QC_INT8_LLVM_LIB)
  message(STATUS "int8 cpu kernel tests: libLLVM-19 not found, not built")
  return()
endif()

function(qc_cpu_int8_exe name)
  add_executable(${name} ${ARGN} ${QC_CPU_INT8_SRC})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
  target_include_directories(${name} SYSTEM PRIVATE ${QC_INT8_LLVM_INCLUDE})
  target_link_libraries(${name} PRIVATE qcomp qctools ${QC_INT8_LLVM_LIB} m)
  set_property(TARGET ${name} APPEND PROPERTY BUILD_RPATH ${QC_INT8_LLVM_LIBDIR})
endfunction()

qc_cpu_int8_exe(test_cpu_qgemm ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_cpu_qgemm.c)
add_test(NAME test_cpu_qgemm COMMAND test_cpu_qgemm WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(test_cpu_qgemm PROPERTIES LABELS unit TIMEOUT 600)

if(EXISTS ${PROJECT_SOURCE_DIR}/bench/qgemm_bench.c)
  qc_cpu_int8_exe(qgemm_bench ${PROJECT_SOURCE_DIR}/bench/qgemm_bench.c)
endif()
