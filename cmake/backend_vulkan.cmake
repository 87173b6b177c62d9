# The vulkan backend. Its compile side (backends/vulkan/lower*.c, glsl.c in
# libqcomp) links the glslang C API; the static glslang libraries need this
# exact order to resolve in one pass (notes: glslang.pc alone misses SPIRV,
# SPIRV-Tools and the resource limits). libqcrt links neither glslang nor
# libvulkan: its device (backends/vulkan/hal*.c) opens libvulkan.so.1 with
# dlopen, so an AOT host runs without the Vulkan loader installed (the
# device then reports "no Vulkan device" and other devices still work).
target_include_directories(qcomp_vulkan SYSTEM PRIVATE ${QC_GLSLANG_INCLUDE})
target_link_libraries(qcomp_vulkan PRIVATE glslang-default-resource-limits SPIRV glslang
  MachineIndependent OSDependent GenericCodeGen OGLCompiler SPIRV-Tools-opt SPIRV-Tools
  stdc++ m pthread)
target_include_directories(qcrt SYSTEM PRIVATE ${QC_VULKAN_INCLUDE})
target_link_libraries(qcrt PRIVATE ${CMAKE_DL_LIBS})
