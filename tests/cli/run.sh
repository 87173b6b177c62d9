# run.sh — `qcomp run` on tests/data/cli/small.qcir: outputs byte-identical to
# numpy's (cmp), previews, timing, option spellings, output directories and
# all-or-nothing output writing.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"

D=tests/data/cli
M=$D/small.qcir
IN=(--input "x=$D/x.npy" --input "y=$D/y.npy")

# expect_same WHAT GOT WANT: byte-identical files.
expect_same() {
    if cmp -s "$2" "$3"; then pass; else fail "$1: $2 differs from $3"; fi
}

q run "$M" "${IN[@]}" --output-dir "$TMP/out"
expect_rc "run small" 0
expect_out "run small" "r: f32[2,4] = [0, 0, 0.25, 0.25, 1, 0, 0, 0]" "h/out: f32[2,3] = [" \
    "z: f32[2,3] = [" "time: " "wrote $TMP/out/r.npy, $TMP/out/h_out.npy, $TMP/out/z.npy"
if [ "$(grep -c '^time: ' "$TMP/stdout")" -eq 1 ]; then pass; else fail "run small: not one timing line"; fi
expect_same "r" "$TMP/out/r.npy" "$D/r.npy"
expect_same "h/out sanitized to h_out.npy" "$TMP/out/h_out.npy" "$D/h_out.npy"
# Sigmoid goes through libm, so z is compared within tolerance, by qcomp itself.
q compare "$TMP/out/z.npy" "$D/z.npy" --rtol 1e-6 --atol 1e-7
expect_rc "z within 1e-6 of numpy" 0
# Exactly the three outputs: no staging or temporary files left behind.
if [ "$(ls -A "$TMP/out" | tr '\n' ' ')" = "h_out.npy r.npy z.npy " ]; then pass
else fail "output dir holds: $(ls -A "$TMP/out" | tr '\n' ' ')"; fi

# Running again over existing outputs replaces them.
q run "$M" "${IN[@]}" --output-dir "$TMP/out" --quiet
expect_rc "rerun into the same dir" 0
expect_same "rerun r" "$TMP/out/r.npy" "$D/r.npy"

# --opt=value spelling, inputs in any order, --quiet prints nothing.
q run --quiet --input="y=$D/y.npy" --output-dir="$TMP/out2" "$M" --input="x=$D/x.npy" --backend=ref
expect_rc "=-style options" 0
if [ ! -s "$TMP/stdout" ] && [ ! -s "$TMP/stderr" ]; then pass; else fail "--quiet printed something"; fi
expect_same "=-style r" "$TMP/out2/r.npy" "$D/r.npy"

# A .qcir on a runtime device other than ref is compiled in memory (JIT) for
# it: the same outputs as ref (float kernels: within tolerance).
if "$QCOMP" bench --list-backends | grep -qx cpu; then
    q run "$M" "${IN[@]}" --backend cpu --output-dir "$TMP/outcpu"
    expect_rc "run --backend cpu (JIT)" 0
    expect_out "run --backend cpu (JIT)" "r: f32[2,4] = [0, 0, 0.25, 0.25, 1, 0, 0, 0]" "time: "
    for f in r h_out z; do
        q compare "$TMP/outcpu/$f.npy" "$D/$f.npy" --rtol 1e-5 --atol 1e-6
        expect_rc "cpu JIT $f matches numpy" 0
    done
else
    echo "skipped: no cpu device in this build"
fi

# Nested output directories are created.
q run "$M" "${IN[@]}" --output-dir "$TMP/a/b/c" --quiet
expect_rc "nested output dir" 0
expect_same "nested r" "$TMP/a/b/c/h_out.npy" "$D/h_out.npy"

# Without --output-dir nothing is written (the working directory is untouched).
before=$(ls -A | tr '\n' ' ')
q run "$M" "${IN[@]}"
expect_rc "no output dir" 0
if [ "$(ls -A | tr '\n' ' ')" = "$before" ]; then pass; else fail "run without --output-dir wrote files"; fi

# --repeat: one summary line with min and median.
q run "$M" "${IN[@]}" --repeat 5
expect_rc "--repeat 5" 0
expect_out "--repeat 5" "time: min " " ms, median " " ms over 5 runs"
if [ "$(grep -c '^time: ' "$TMP/stdout")" -eq 1 ]; then pass; else fail "--repeat: not one timing line"; fi

# All or nothing: when the last output cannot be placed (its name is taken by a
# directory), the outputs already written are removed again.
mkdir -p "$TMP/part/z.npy"
q run "$M" "${IN[@]}" --output-dir "$TMP/part"
expect_error "output blocked by a directory" "output 'z'" "z.npy"
if [ "$(ls -A "$TMP/part" | tr '\n' ' ')" = "z.npy " ]; then pass
else fail "partial outputs left: $(ls -A "$TMP/part" | tr '\n' ' ')"; fi

finish
