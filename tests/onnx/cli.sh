# cli.sh — `qcomp run` / `inspect` on ONNX models: .pb and .npy inputs,
# sniffing a model by content, and one-line errors naming file and nodes.
# Uses the ONNX node tests' data when libonnx-testdata is installed.
# Run as: bash tests/onnx/cli.sh /path/to/qcomp (from the source root).
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib/common.bash"

O=tests/onnx
N=/usr/share/libonnx-testdata/data/node

# ---- inspect ----
q inspect "$O/softmax_opset11.onnx"
expect_rc "inspect onnx" 0
expect_out "inspect onnx" "qcir 1" "Flatten(x) {axis=1}" "Softmax(" "output y"
cp "$O/add_relu.onnx" "$TMP/model.bin"
q inspect "$TMP/model.bin"
expect_rc "inspect sniffed onnx" 0
expect_out "inspect sniffed onnx" "= Relu("
q inspect "$O/bad/unsupported_ops.onnx"
expect_error "unsupported ops" "$O/bad/unsupported_ops.onnx: 4 unsupported ops: Resize (nodes 'up1', 'up2'), NonMaxSuppression (node 'nms'), com.example.Frobnicate (node 'frob')"
q run "$O/bad/raw_length.onnx"
expect_error "bad initializer" "$O/bad/raw_length.onnx" "initializer 'w': raw_data has 20 bytes"
q run "$O/external/escape_dotdot.onnx"
expect_error "external data escaping" "escape_dotdot.onnx" "'..' component"

# ---- run with .pb and .npy inputs ----
if [ -d "$N/test_add" ]; then
    A=$N/test_add/test_data_set_0
    q run "$N/test_add/model.onnx" --input "x=$A/input_0.pb" --input "y=$A/input_1.pb" \
        --output-dir "$TMP/out"
    expect_rc "run onnx with .pb inputs" 0
    expect_out "run onnx with .pb inputs" "sum: f32[3,4,5] = [" "wrote $TMP/out/sum.npy"
    # The output .npy feeds the next model.
    q run "$N/test_relu/model.onnx" --input "x=$TMP/out/sum.npy"
    expect_rc "run onnx with an .npy input" 0
    expect_out "run onnx with an .npy input" "y: f32[3,4,5] = ["
    q run "$N/test_add/model.onnx" --input "x=$N/test_add_uint8/test_data_set_0/input_0.pb" \
        --input "y=$A/input_1.pb"
    expect_error "wrong .pb dtype" "input 'x': file $N/test_add_uint8/test_data_set_0/input_0.pb has u8[3,4,5], model expects f32[3,4,5]"
    cp "$O/bad/not_onnx.onnx" "$TMP/bad.pb"
    q run "$N/test_relu/model.onnx" --input "x=$TMP/bad.pb"
    expect_error "bad .pb" "$TMP/bad.pb"
else
    echo "cli.sh: $N missing, .pb input checks skipped"
fi

finish
