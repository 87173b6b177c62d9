# The cpu backend's compile side links libLLVM-19 (LLVM C API: codegen,
# LLJIT). libqcrt never does: its cpu device loads the generated shared
# object with dlopen.
execute_process(COMMAND ${QC_LLVM_CONFIG} --includedir OUTPUT_VARIABLE QC_LLVM_INCLUDE
                OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND ${QC_LLVM_CONFIG} --libdir OUTPUT_VARIABLE QC_LLVM_LIBDIR
                OUTPUT_STRIP_TRAILING_WHITESPACE)
find_library(QC_LLVM_LIB NAMES LLVM-19 LLVM PATHS ${QC_LLVM_LIBDIR} NO_DEFAULT_PATH)
if(NOT QC_LLVM_LIB)
  message(FATAL_ERROR "cpu backend: libLLVM-19 not found in ${QC_LLVM_LIBDIR}")
endif()
# LLVM headers as system headers: their warnings are not ours under -Werror.
target_include_directories(qcomp_cpu SYSTEM PRIVATE ${QC_LLVM_INCLUDE})
target_link_libraries(qcomp_cpu PRIVATE ${QC_LLVM_LIB})
set_property(TARGET qcomp_cpu APPEND PROPERTY BUILD_RPATH ${QC_LLVM_LIBDIR})
set_property(TARGET qcomp_cpu APPEND PROPERTY INSTALL_RPATH ${QC_LLVM_LIBDIR})
# The runtime side opens generated code with dlopen.
target_link_libraries(qcrt PRIVATE ${CMAKE_DL_LIBS})
