# Backend package detection. Each QC_WITH_<X> is AUTO (enable when found),
# ON (fail the configure if not found) or OFF. The backends' code generators
# arrive in later milestones; today this only records what the machine has,
# so the summary says honestly which backends could be built.

function(qc_backend_option var found what)
  if(${var} STREQUAL "OFF")
    set(${var}_ENABLED OFF PARENT_SCOPE)
  elseif(${found})
    set(${var}_ENABLED ON PARENT_SCOPE)
  elseif(${var} STREQUAL "ON")
    message(FATAL_ERROR "${var}=ON but ${what} was not found (run scripts/setup.sh)")
  else()
    set(${var}_ENABLED OFF PARENT_SCOPE)
  endif()
endfunction()

find_program(QC_LLVM_CONFIG NAMES llvm-config-19)
set(QC_HAVE_LLVM OFF)
if(QC_LLVM_CONFIG)
  set(QC_HAVE_LLVM ON)
endif()
qc_backend_option(QC_WITH_LLVM QC_HAVE_LLVM "LLVM 19 (llvm-config-19)")

find_path(QC_GLSLANG_INCLUDE glslang/Include/glslang_c_interface.h)
find_path(QC_VULKAN_INCLUDE vulkan/vulkan.h)
set(QC_HAVE_VULKAN OFF)
if(QC_GLSLANG_INCLUDE AND QC_VULKAN_INCLUDE)
  set(QC_HAVE_VULKAN ON)
endif()
qc_backend_option(QC_WITH_VULKAN QC_HAVE_VULKAN "glslang + Vulkan headers")

find_path(QC_CUDA_INCLUDE cublasLt.h PATHS /usr/local/cuda/include)
set(QC_HAVE_CUDA OFF)
if(QC_CUDA_INCLUDE)
  set(QC_HAVE_CUDA ON)
endif()
qc_backend_option(QC_WITH_CUDA QC_HAVE_CUDA "CUDA toolkit headers (cublasLt.h)")

# A backend is built when its packages are enabled AND its code exists
# (cmake/backend_<b>.cmake and backends/<b>/hal.c); QC_BACKEND_<B> says which. Each backend's
# cmake/backend_<b>.cmake (when present) adds its include dirs and libraries
# to the targets qcomp / qcrt after they are defined (see CMakeLists.txt).
set(QC_BACKEND_CPU OFF)
set(QC_BACKEND_VULKAN OFF)
set(QC_BACKEND_CUDA OFF)
if(QC_WITH_LLVM_ENABLED AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/cmake/backend_cpu.cmake
   AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/backends/cpu/hal.c)
  set(QC_BACKEND_CPU ON)
endif()
if(QC_WITH_VULKAN_ENABLED AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/cmake/backend_vulkan.cmake
   AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/backends/vulkan/hal.c)
  set(QC_BACKEND_VULKAN ON)
endif()
if(QC_WITH_CUDA_ENABLED AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/cmake/backend_cuda.cmake
   AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/backends/cuda/hal.c)
  set(QC_BACKEND_CUDA ON)
endif()

message(STATUS "qcomp backends: ref=ON (always) cpu=${QC_BACKEND_CPU} "
  "vulkan=${QC_BACKEND_VULKAN} cuda=${QC_BACKEND_CUDA} "
  "(packages: llvm=${QC_WITH_LLVM_ENABLED} vulkan=${QC_WITH_VULKAN_ENABLED} "
  "cuda=${QC_WITH_CUDA_ENABLED})")
