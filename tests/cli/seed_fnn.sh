# seed_fnn.sh — the quickstart: run the bundled example model on its input
# (bare FILE form: the model has one input) and compare with numpy's float64
# forward pass (examples/models/gen_seed_fnn.py).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"

E=examples/models
q run "$E/seed_fnn.qcir" --input "$E/seed_fnn_input.npy" --output-dir "$TMP/out"
expect_rc "run seed_fnn" 0
expect_out "run seed_fnn" "y: f32[1000,1] = [" "... (1000 values)]" "time: "
q compare "$TMP/out/y.npy" "$E/seed_fnn_expected.npy" --rtol 1e-5 --atol 1e-6
expect_rc "seed_fnn matches numpy within 1e-5" 0

q run "$E/seed_fnn.qcir" --input "x=$E/seed_fnn_input.npy" --repeat 3 --quiet
expect_rc "seed_fnn --repeat 3 --quiet" 0

finish
