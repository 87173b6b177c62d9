# The cpu backend's int8 kernel generators (backends/cpu/gen_int8.c,
# gen_qgemm.c, gen_qconv.c): differential test vs the ref kernels
# (test_cpu_qgemm, label unit) and the qgemm_bench program.
#
# They use the generators' internals (gen_int8.h), so they link the cpu
# backend's plugin library directly, and LLVM's headers.
if(NOT QC_BACKEND_CPU)
  return()
endif()

function(qc_cpu_int8_exe name)
  add_executable(${name} ${ARGN})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
  target_include_directories(${name} SYSTEM PRIVATE ${QC_LLVM_INCLUDE})
  target_link_libraries(${name} PRIVATE qcomp_cpu qcomp qctools ${QC_LLVM_LIB} m)
  set_property(TARGET ${name} APPEND PROPERTY BUILD_RPATH ${QC_LLVM_LIBDIR})
endfunction()

qc_cpu_int8_exe(test_cpu_qgemm ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_cpu_qgemm.c)
add_test(NAME test_cpu_qgemm COMMAND test_cpu_qgemm WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(test_cpu_qgemm PROPERTIES LABELS unit TIMEOUT 600)

if(EXISTS ${PROJECT_SOURCE_DIR}/bench/qgemm_bench.c)
  qc_cpu_int8_exe(qgemm_bench ${PROJECT_SOURCE_DIR}/bench/qgemm_bench.c)
endif()
