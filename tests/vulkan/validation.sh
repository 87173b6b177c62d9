#!/usr/bin/env bash
# validation.sh ONNX_NODE_RUNNER TEST_VULKAN_DIFF [TEST...] — runs the vulkan
# backend's differential test (and each further TEST; test_vulkan_replay also
# with QC_VULKAN_FORCE_STAGING=1, the DEVICE_LOCAL + staging copies path) and
# the ONNX node suite on vulkan with the Khronos
# validation layer (package vulkan-validationlayers) loaded through the
# loader's environment; any validation error is logged and raises SIGTRAP
# (debug_action BREAK), so the run fails; the log must stay empty.
# Exit 77 (skipped) when the layer or a Vulkan device is missing.
set -u
runner=$1 diff=$2
shift 2
manifest=/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json
[ -f "$manifest" ] || { echo "skipped: VK_LAYER_KHRONOS_validation is not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/vk_layer_settings.txt" <<SET
khronos_validation.report_flags = error
khronos_validation.debug_action = VK_DBG_LAYER_ACTION_LOG_MSG,VK_DBG_LAYER_ACTION_BREAK
khronos_validation.log_filename = $tmp/validation.log
SET
export VK_LAYER_SETTINGS_PATH=$tmp VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation
fail=0
# The layer must really be in the instance, or an empty log proves nothing.
VK_LOADER_DEBUG=layer "$diff" >"$tmp/probe" 2>&1
rc=$?
[ $rc = 77 ] && { echo "skipped: no Vulkan device"; exit 77; }
if ! grep -q 'Insert instance layer "VK_LAYER_KHRONOS_validation"' "$tmp/probe"; then
  echo "FAIL: the validation layer was not loaded"; tail -5 "$tmp/probe"; exit 1
fi
[ $rc = 0 ] || { echo "FAIL test_vulkan_diff under validation (rc $rc):"; grep -v LAYER "$tmp/probe" | tail -20; fail=1; }
for t in "$@"; do
  "$t" >"$tmp/extra" 2>&1 || { echo "FAIL $t under validation:"; tail -20 "$tmp/extra"; fail=1; }
  case "$t" in
  *test_vulkan_replay)
    QC_VULKAN_FORCE_STAGING=1 "$t" >"$tmp/extra" 2>&1 ||
      { echo "FAIL $t (QC_VULKAN_FORCE_STAGING=1) under validation:"; tail -20 "$tmp/extra"; fail=1; } ;;
  esac
done
"$runner" --backend vulkan --claimed tests/onnx_node/claimed_ops.txt \
    /usr/share/libonnx-testdata/data/node >"$tmp/node" 2>&1 ||
  { echo "FAIL ONNX node suite on vulkan under validation:"; tail -20 "$tmp/node"; fail=1; }
tail -2 "$tmp/node"
if [ -s "$tmp/validation.log" ]; then
  echo "FAIL: validation errors:"; head -40 "$tmp/validation.log"; fail=1
fi
[ $fail = 0 ] && echo "vulkan validation: 0 errors (test_vulkan_diff $* + ONNX node suite)"
exit $fail
