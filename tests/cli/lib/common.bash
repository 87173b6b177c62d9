# common.bash — helpers sourced by tests/cli/*.sh (not itself a test: ctest
# only globs tests/cli/*.sh). Each script runs as
#   bash tests/cli/<name>.sh /path/to/qcomp
# from the source root, counts checks and ends with `finish`, which prints
# "N passed, M failed" and sets the exit status.
set -u

QCOMP=${1:?usage: bash $0 /path/to/qcomp}
case $QCOMP in /*) ;; *) QCOMP=$PWD/$QCOMP ;; esac
passed=0
failed=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/qcomp_cli.XXXXXX") || exit 1
trap 'chmod -R u+rwx "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
rc=0

pass() { passed=$((passed + 1)); }
fail() {
    failed=$((failed + 1))
    echo "FAIL: $*" >&2
    if [ -s "$TMP/stderr" ]; then sed 's/^/  stderr: /' "$TMP/stderr" | head -20 >&2; fi
}

# q ARGS...: runs qcomp, keeping stdout/stderr in $TMP/{stdout,stderr} and the
# exit status in $rc. A sanitizer report or a signal is always a failure (ASan
# exits 1, which would otherwise pass as an ordinary error).
q() {
    "$QCOMP" "$@" >"$TMP/stdout" 2>"$TMP/stderr"
    rc=$?
    if [ "$rc" -ge 128 ] || grep -qE 'Sanitizer|runtime error:' "$TMP/stderr"; then
        fail "qcomp $* crashed or tripped a sanitizer (exit $rc)"
    fi
}

# expect_rc WHAT CODE
expect_rc() {
    if [ "$rc" -eq "$2" ]; then pass; else fail "$1: exit $rc, expected $2"; fi
}

# expect_err WHAT TEXT...: stderr contains every TEXT (fixed strings).
expect_err() {
    local what=$1 text
    shift
    for text in "$@"; do
        if grep -qF -- "$text" "$TMP/stderr"; then pass; else fail "$what: stderr lacks '$text'"; fi
    done
}

# expect_out WHAT TEXT...: stdout contains every TEXT.
expect_out() {
    local what=$1 text
    shift
    for text in "$@"; do
        if grep -qF -- "$text" "$TMP/stdout"; then pass; else fail "$what: stdout lacks '$text'"; fi
    done
}

# expect_error WHAT TEXT... : exit 1, one line on stderr starting with the
# command's prefix, containing every TEXT, and nothing on stdout.
expect_error() {
    local what=$1
    shift
    expect_rc "$what" 1
    local lines
    lines=$(wc -l <"$TMP/stderr")
    if [ "$lines" -eq 1 ]; then pass; else fail "$what: $lines lines on stderr, expected 1"; fi
    if grep -qE '^qcomp [a-z]+: ' "$TMP/stderr"; then pass; else fail "$what: no 'qcomp <cmd>: ' prefix"; fi
    if [ ! -s "$TMP/stdout" ]; then pass; else fail "$what: wrote to stdout"; fi
    expect_err "$what" "$@"
}

# expect_no_files WHAT DIR: DIR is absent or empty (no partial output).
expect_no_files() {
    if [ ! -e "$2" ] || [ -z "$(ls -A "$2")" ]; then pass; else fail "$1: left files in $2: $(ls -A "$2" | tr '\n' ' ')"; fi
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
