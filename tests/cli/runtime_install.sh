#!/usr/bin/env bash
# runtime_install.sh QCOMP — `cmake --install` into a temporary prefix, then
# build two tiny consumers against it: one with pkg-config (qcrt.pc) and one
# with find_package(qcomp) (lib/cmake/qcomp), and run them.
set -u
build=$(dirname "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail=0
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { echo "FAIL cmake --install:"; cat "$tmp/install.log"; exit 1; }
libdir=$(dirname "$(find "$prefix" -name libqcrt.so | head -1)")
for f in include/qcomp/qcrt.h include/qcomp/qcomp.h bin/qcomp; do
  [ -e "$prefix/$f" ] || { echo "FAIL: $f not installed"; fail=1; }
done
for f in pkgconfig/qcrt.pc pkgconfig/qcomp.pc cmake/qcomp/qcompConfig.cmake libqcomp.so; do
  [ -e "$libdir/$f" ] || { echo "FAIL: $libdir/$f not installed"; fail=1; }
done
# The installed CLI runs (rpath $ORIGIN/../lib).
"$prefix/bin/qcomp" --help >/dev/null 2>&1 || { echo "FAIL: installed qcomp does not run"; fail=1; }

cat >"$tmp/consumer.c" <<'C'
#include <stdio.h>
#include <qcomp/qcrt.h>
int main(void) {
    qc_runtime *rt = NULL;
    qc_status st = qc_runtime_create(NULL, &rt);
    if (st) { fprintf(stderr, "%s\n", qc_status_message(st)); qc_status_free(st); return 1; }
    qc_model *m = NULL;
    st = qc_model_load_file(rt, "/nonexistent.qcm", &m);
    int ok = st && qc_status_code(st) == QC_ERR_NOT_FOUND;
    qc_status_free(st);
    printf("device %s, missing file reported: %s\n", qc_runtime_device_name(rt), ok ? "yes" : "no");
    qc_runtime_destroy(rt);
    return ok ? 0 : 1;
}
C
# A sanitizer build's libraries need the consumer built the same way.
san=
readelf -d "$libdir/libqcrt.so" | grep -q 'libasan' && san="-fsanitize=address,undefined"
export PKG_CONFIG_PATH=$libdir/pkgconfig
flags=$(pkg-config --cflags --libs qcrt) || { echo "FAIL: pkg-config qcrt"; exit 1; }
echo "pkg-config --cflags --libs qcrt: $flags"
pkg-config --cflags --libs qcomp >/dev/null || { echo "FAIL: pkg-config qcomp"; fail=1; }
if cc -std=c11 -Wall -Werror $san -o "$tmp/consumer" "$tmp/consumer.c" $flags 2>"$tmp/cc.log"; then
  LD_LIBRARY_PATH=$libdir "$tmp/consumer" || { echo "FAIL: pkg-config consumer run"; fail=1; }
else
  echo "FAIL: pkg-config consumer build:"; cat "$tmp/cc.log"; fail=1
fi

mkdir -p "$tmp/cm"
cp "$tmp/consumer.c" "$tmp/cm/"
cat >"$tmp/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(qcomp REQUIRED)
add_executable(consumer consumer.c)
target_link_libraries(consumer PRIVATE qcomp::qcrt)
CM
if cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$san" >"$tmp/cm.log" 2>&1 &&
   cmake --build "$tmp/cm/build" >>"$tmp/cm.log" 2>&1; then
  "$tmp/cm/build/consumer" || { echo "FAIL: find_package consumer run"; fail=1; }
else
  echo "FAIL: find_package(qcomp) consumer:"; tail -20 "$tmp/cm.log"; fail=1
fi
[ $fail = 0 ] && echo "runtime_install: ok"
exit $fail
