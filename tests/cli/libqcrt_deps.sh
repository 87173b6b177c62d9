#!/usr/bin/env bash
# libqcrt_deps.sh QCOMP — libqcrt stands alone: its DT_NEEDED entries name no
# compiler-side library (LLVM, glslang, NVRTC, protobuf) and not libqcomp.
# The runtime must be deployable without any of them; backends that need a
# driver library at run time (libvulkan, libcuda) may add those only.
set -u
lib=$(dirname "$1")/libqcrt.so
[ -f "$lib" ] || { echo "FAIL: $lib not found"; exit 1; }
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
echo "libqcrt NEEDED: $(echo $needed)"
bad=$(echo "$needed" | grep -Ei 'llvm|glslang|spirv|nvrtc|protobuf|libqcomp|onnx' || true)
if [ -n "$bad" ]; then
  echo "FAIL: libqcrt depends on: $bad"
  exit 1
fi
# And it exports no compiler entry points.
if nm -D --defined-only "$lib" | grep -Eq ' (qc_graph_|qc_onnx_|qc_memplan|qc_compile)'; then
  echo "FAIL: libqcrt defines compiler symbols"; exit 1
fi
echo "libqcrt_deps: ok"
