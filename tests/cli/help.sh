# help.sh — `--help` for every command (stdout, exit 0) and usage errors
# (exit 2 with the command's usage on stderr).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"

M=tests/data/cli/small.qcir

for cmd in run inspect; do
    for flag in --help -h; do
        q "$cmd" "$flag"
        expect_rc "$cmd $flag" 0
        expect_out "$cmd $flag" "usage: qcomp $cmd"
        if [ ! -s "$TMP/stderr" ]; then pass; else fail "$cmd $flag wrote to stderr"; fi
    done
    # --help wins over anything else on the line, even bad options.
    q "$cmd" "$M" --bogus --help
    expect_rc "$cmd ... --help" 0
    expect_out "$cmd ... --help" "usage: qcomp $cmd"
done
q run --help
expect_out "run --help" "--input NAME=FILE.npy" "--output-dir DIR" "--backend" "--repeat N" "--quiet"
q inspect --help
expect_out "inspect --help" "--no-verify"

for flag in --help -h help; do
    q "$flag"
    expect_rc "qcomp $flag" 0
    expect_out "qcomp $flag" "usage: qcomp <command>" "run MODEL" "inspect MODEL"
done
q --version
expect_rc "--version" 0
expect_out "--version" "qcomp "

# expect_usage WHAT TEXT ARGS...: exit 2, TEXT and the usage on stderr.
expect_usage() {
    local what=$1 text=$2
    shift 2
    q "$@"
    expect_rc "$what" 2
    expect_err "$what" "$text" "usage: qcomp"
    if [ ! -s "$TMP/stdout" ]; then pass; else fail "$what: wrote to stdout"; fi
}

expect_usage "no command" "usage: qcomp <command>"
expect_usage "unknown command" "qcomp: unknown command 'frobnicate'" frobnicate
expect_usage "run without a model" "qcomp run: no MODEL given" run
expect_usage "run with two models" "unexpected argument 'b.qcir'" run "$M" b.qcir
expect_usage "run unknown option" "qcomp run: unknown option '--bogus'" run "$M" --bogus
expect_usage "run --inputs is not --input" "unknown option '--inputs'" run "$M" --inputs x.npy
expect_usage "run --input without value" "option --input needs a value" run "$M" --input
expect_usage "run --input= empty" "option --input needs a non-empty value" run "$M" --input=
expect_usage "run --output-dir without value" "option --output-dir needs a value" run "$M" --output-dir
expect_usage "run --backend without value" "option --backend needs a value" run "$M" --backend
for bad in 0 -1 abc 1.5 " 3" 99999999999999999999 2000000; do
    expect_usage "run --repeat '$bad'" "--repeat needs a whole number" run "$M" --repeat "$bad"
done
expect_usage "inspect without a model" "qcomp inspect: no MODEL given" inspect
expect_usage "inspect with two models" "unexpected argument" inspect "$M" "$M"
expect_usage "inspect unknown option" "unknown option '--verify'" inspect "$M" --verify

finish
