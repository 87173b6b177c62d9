# The cuda backend. Compile side (libqcomp): NVRTC, opened with dlopen when a
# cuda target is first compiled (backends/cuda/lower_nvrtc.c) — never linked:
# CMake's CUDA::nvrtc drags in libcuda (no start without a driver), and even
# a by-path link costs every qcomp process NVRTC's static initializers.
# Runtime side (libqcrt): only the toolkit headers (cuda.h, cublasLt.h for
# types and enums); libcuda.so.1 and libcublasLt.so.13 are opened with dlopen
# at device creation, so libqcrt links neither.
get_filename_component(QC_CUDA_ROOT ${QC_CUDA_INCLUDE} DIRECTORY)
find_library(QC_NVRTC_LIB NAMES nvrtc PATHS ${QC_CUDA_ROOT}/lib64 ${QC_CUDA_ROOT}/lib
             NO_DEFAULT_PATH)
if(NOT QC_NVRTC_LIB)
  find_library(QC_NVRTC_LIB NAMES nvrtc)
endif()
if(NOT QC_NVRTC_LIB)
  message(FATAL_ERROR "cuda backend: libnvrtc not found under ${QC_CUDA_ROOT}")
endif()
get_filename_component(QC_NVRTC_LIBDIR ${QC_NVRTC_LIB} DIRECTORY)
target_include_directories(qcomp_cuda SYSTEM PRIVATE ${QC_CUDA_INCLUDE})
target_compile_definitions(qcomp_cuda PRIVATE QC_NVRTC_PATH="${QC_NVRTC_LIB}")
target_link_libraries(qcomp_cuda PRIVATE ${CMAKE_DL_LIBS} Threads::Threads)
target_include_directories(qcrt SYSTEM PRIVATE ${QC_CUDA_INCLUDE})
# Where the runtime looks for libcublasLt besides the loader's path.
target_compile_definitions(qcrt PRIVATE QC_CUDA_LIBDIR="${QC_CUDA_ROOT}/lib64")
target_link_libraries(qcrt PRIVATE ${CMAKE_DL_LIBS})
message(STATUS "qcomp cuda: headers ${QC_CUDA_INCLUDE}, NVRTC ${QC_NVRTC_LIB}")
