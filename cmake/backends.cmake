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

message(STATUS "qcomp backends: ref=ON (always) "
  "cpu/llvm packages=${QC_WITH_LLVM_ENABLED} vulkan packages=${QC_WITH_VULKAN_ENABLED} "
  "cuda packages=${QC_WITH_CUDA_ENABLED} (code generators not yet implemented)")
