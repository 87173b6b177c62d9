# The ONNX frontend's protobuf code, generated at build time by protoc-c from
# the system's onnx.proto (Debian libonnx-dev) and linked with libprotobuf-c.
# The frontend is not optional: without these packages the configure stops
# and names the script that installs them.
#
# Defines:
#   QC_ONNX_PB_SRC      the generated onnx.pb-c.c (add it to a target)
#   QC_ONNX_GEN_DIR     include directory holding the generated onnx.pb-c.h
#   QC_PROTOBUF_C_INC   include directory of protobuf-c/protobuf-c.h
#   QC_PROTOBUF_C_LIB   the protobuf-c library to link

find_program(QC_PROTOC_C NAMES protoc-c)
find_file(QC_ONNX_PROTO NAMES onnx/onnx.proto PATHS /usr/include /usr/local/include)

find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(QC_PC_PROTOBUF_C QUIET libprotobuf-c)
endif()
find_path(QC_PROTOBUF_C_INC NAMES protobuf-c/protobuf-c.h HINTS ${QC_PC_PROTOBUF_C_INCLUDE_DIRS})
find_library(QC_PROTOBUF_C_LIB NAMES protobuf-c HINTS ${QC_PC_PROTOBUF_C_LIBRARY_DIRS})

set(_qc_onnx_missing "")
if(NOT QC_PROTOC_C)
  list(APPEND _qc_onnx_missing "protoc-c (package protobuf-c-compiler)")
endif()
if(NOT QC_ONNX_PROTO)
  list(APPEND _qc_onnx_missing "onnx/onnx.proto (package libonnx-dev)")
endif()
if(NOT QC_PROTOBUF_C_INC OR NOT QC_PROTOBUF_C_LIB)
  list(APPEND _qc_onnx_missing "libprotobuf-c (package libprotobuf-c-dev)")
endif()
if(_qc_onnx_missing)
  list(JOIN _qc_onnx_missing ", " _qc_onnx_missing_text)
  message(FATAL_ERROR "qcomp's ONNX frontend needs ${_qc_onnx_missing_text}, which "
    "were not found. Run scripts/setup.sh to install them.")
endif()

set(QC_ONNX_GEN_DIR ${CMAKE_BINARY_DIR}/generated/onnx)
set(QC_ONNX_PB_SRC ${QC_ONNX_GEN_DIR}/onnx.pb-c.c)
get_filename_component(_qc_onnx_proto_dir ${QC_ONNX_PROTO} DIRECTORY)
add_custom_command(
  OUTPUT ${QC_ONNX_GEN_DIR}/onnx.pb-c.c ${QC_ONNX_GEN_DIR}/onnx.pb-c.h
  COMMAND ${CMAKE_COMMAND} -E make_directory ${QC_ONNX_GEN_DIR}
  COMMAND ${QC_PROTOC_C} --proto_path=${_qc_onnx_proto_dir} --c_out=${QC_ONNX_GEN_DIR}
          ${QC_ONNX_PROTO}
  DEPENDS ${QC_ONNX_PROTO}
  COMMENT "Generating onnx.pb-c.c from ${QC_ONNX_PROTO} (protoc-c)"
  VERBATIM)
# Generated code is not ours to keep warning-free across protobuf-c
# versions: warnings stay visible but never fail the build for this file.
set_source_files_properties(${QC_ONNX_PB_SRC} PROPERTIES GENERATED ON
  COMPILE_OPTIONS "-Wno-error")

message(STATUS "qcomp onnx: ${QC_ONNX_PROTO} via ${QC_PROTOC_C}, ${QC_PROTOBUF_C_LIB}")
