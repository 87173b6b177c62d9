/* test_npy.c — the .npy reader and writer (tools/npy.c):
 *
 *  - write -> read round trips for every supported dtype and ranks 0..8 with
 *    random shapes and data (seed from the clock, printed; QC_TEST_SEED=n
 *    replays a run), through files and through qc_npy_parse;
 *  - files written by numpy (tests/data/npy, from
 *    tests/bad_input/gen_test_data.py): values checked against the formulas
 *    that script used, and our writer must reproduce v1.0 files byte for byte;
 *  - malformed files (tests/bad_input/npy): each must fail with a message
 *    naming the file and the fault, and leave the output tensor empty;
 *  - writer errors: unsupported dtypes, bad ranks/dims, unwritable paths
 *    leave no file behind. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ir/dtype.h"
#include "ir/ir.h"
#include "qc_test.h"
#include "tools/npy.h"

#define DATA_DIR "tests/data/npy"
#define BAD_DIR "tests/bad_input/npy"

/* ---- helpers --------------------------------------------------------------- */

/* splitmix64: a tiny PRNG whose state the caller owns. */
static uint64_t next_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint8_t *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && (buf = malloc((size_t)sb.st_size + 1))) {
        *len = fread(buf, 1, (size_t)sb.st_size, f);
        if (*len != (size_t)sb.st_size) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

static size_t tensor_bytes(const qc_tensor *t) {
    return qc_dtype_bytes(t->desc.dtype, qc_type_numel(&t->desc));
}

static bool file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* ---- round trips ------------------------------------------------------------ */

static const qc_dtype npy_dtypes[] = {QC_F32, QC_F64, QC_F16, QC_I64, QC_I32,
                                      QC_I16, QC_I8,  QC_U8,  QC_BOOL};
#define N_DTYPES (sizeof npy_dtypes / sizeof npy_dtypes[0])

/* A random tensor of `rank`: dims 0..4 (a zero now and then), at most a few
 * thousand elements, random bytes (bool: 0/1). */
static void random_tensor(uint64_t *rng, qc_dtype dt, int rank, qc_tensor *t) {
    qc_tensor_desc d = {dt, rank, {0}};
    for (int k = 0; k < rank; k++) d.dims[k] = (int64_t)(next_rand(rng) % (rank > 4 ? 3 : 6));
    qc_status st = qc_tensor_alloc(&d, t);
    CHECK_OK(st);
    uint8_t *p = t->data;
    size_t n = tensor_bytes(t);
    for (size_t i = 0; p && i < n; i++)
        p[i] = dt == QC_BOOL ? (uint8_t)(next_rand(rng) & 1) : (uint8_t)next_rand(rng);
}

static void check_same(const qc_tensor *a, const qc_tensor *b, const char *what) {
    bool same_desc = a->desc.dtype == b->desc.dtype && a->desc.rank == b->desc.rank;
    for (int k = 0; same_desc && k < a->desc.rank; k++) same_desc = a->desc.dims[k] == b->desc.dims[k];
    CHECK_MSG(same_desc, "%s: %s rank %d read back as %s rank %d", what,
              qc_dtype_name(a->desc.dtype), (int)a->desc.rank, qc_dtype_name(b->desc.dtype),
              (int)b->desc.rank);
    if (same_desc)
        CHECK_MSG(memcmp(a->data, b->data, tensor_bytes(a)) == 0, "%s: data differs", what);
}

static void test_round_trips(uint64_t *rng, const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/t.npy", dir);
    for (size_t di = 0; di < N_DTYPES; di++) {
        for (int rank = 0; rank <= QC_MAX_RANK; rank++) {
            for (int rep = 0; rep < 3; rep++) {
                qc_tensor t, back, parsed;
                random_tensor(rng, npy_dtypes[di], rank, &t);
                char what[96];
                snprintf(what, sizeof what, "%s rank %d", qc_dtype_name(npy_dtypes[di]), rank);
                CHECK_OK(qc_npy_write(path, &t));
                qc_status st = qc_npy_read(path, &back);
                CHECK_MSG(!st, "%s: %s", what, qc_status_message(st));
                if (!st) check_same(&t, &back, what);
                qc_status_free(st);
                /* The in-memory parser sees the same bytes; the header must be
                 * 64-byte aligned like numpy's. */
                size_t len = 0;
                uint8_t *buf = read_all(path, &len);
                CHECK(buf != NULL);
                if (buf) {
                    size_t hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
                    CHECK_MSG((10 + hlen) % 64 == 0 && buf[10 + hlen - 1] == '\n',
                              "%s: header length %zu not aligned", what, hlen);
                    st = qc_npy_parse(buf, len, "mem", &parsed);
                    CHECK_MSG(!st, "%s: %s", what, qc_status_message(st));
                    if (!st) check_same(&t, &parsed, what);
                    qc_status_free(st);
                    qc_tensor_release(&parsed);
                }
                free(buf);
                qc_tensor_release(&t);
                qc_tensor_release(&back);
            }
        }
    }
    remove(path);
}

/* ---- files written by numpy ---------------------------------------------------- */

typedef struct numpy_case {
    const char *file;
    qc_dtype dtype;
    int rank;
    int64_t dims[QC_MAX_RANK];
    int kind;        /* which formula gen_test_data.py used (see numpy_value) */
    bool v1;         /* format 1.0: our writer must reproduce it exactly */
} numpy_case;

/* Element i of each file, as gen_test_data.py computed it. */
static double numpy_value(int kind, int64_t i) {
    switch (kind) {
    case 0: return (double)i * 0.5 - 1;                  /* f32_2x3 */
    case 1: return 3.25;                                 /* f64_scalar */
    case 2: return (double)i * 0.25 - 0.5;               /* f16_5 */
    case 3: return (double)(i - 4) * 1e12;               /* i64_2x2x2 */
    case 4: return (double)i * -100000;                  /* i32_4 */
    case 5: return (double)i * 1000 - 1000;              /* i16_3x1 */
    case 6: return (double)i * 20 - 60;                  /* i8_7 */
    case 7: return (double)i * 30;                       /* u8_2x4 */
    case 8: return i % 3 == 0;                           /* bool_6 */
    default: return (double)i;                           /* arange */
    }
}

static const numpy_case numpy_cases[] = {
    {"f32_2x3.npy", QC_F32, 2, {2, 3}, 0, true},
    {"f64_scalar.npy", QC_F64, 0, {0}, 1, true},
    {"f16_5.npy", QC_F16, 1, {5}, 2, true},
    {"i64_2x2x2.npy", QC_I64, 3, {2, 2, 2}, 3, true},
    {"i32_4.npy", QC_I32, 1, {4}, 4, true},
    {"i16_3x1.npy", QC_I16, 2, {3, 1}, 5, true},
    {"i8_7.npy", QC_I8, 1, {7}, 6, true},
    {"u8_2x4.npy", QC_U8, 2, {2, 4}, 7, true},
    {"bool_6.npy", QC_BOOL, 1, {6}, 8, true},
    {"f32_0x3.npy", QC_F32, 2, {0, 3}, 9, true},
    {"f32_rank8.npy", QC_F32, 8, {2, 2, 2, 2, 2, 2, 2, 2}, 9, true},
    {"f32_v2.npy", QC_F32, 1, {4}, 9, false},
    {"f32_v3.npy", QC_F32, 1, {4}, 9, false},
};

static void test_numpy_files(const char *dir) {
    char out[4096];
    snprintf(out, sizeof out, "%s/copy.npy", dir);
    for (size_t c = 0; c < sizeof numpy_cases / sizeof numpy_cases[0]; c++) {
        const numpy_case *nc = &numpy_cases[c];
        char path[512];
        snprintf(path, sizeof path, "%s/%s", DATA_DIR, nc->file);
        qc_tensor t;
        qc_status st = qc_npy_read(path, &t);
        CHECK_MSG(!st, "%s: %s", path, qc_status_message(st));
        qc_status_free(st);
        if (st) continue;
        bool shape_ok = t.desc.dtype == nc->dtype && t.desc.rank == nc->rank;
        for (int k = 0; shape_ok && k < nc->rank; k++) shape_ok = t.desc.dims[k] == nc->dims[k];
        CHECK_MSG(shape_ok, "%s: read as %s rank %d", path, qc_dtype_name(t.desc.dtype),
                  (int)t.desc.rank);
        int64_t numel = shape_ok ? qc_type_numel(&t.desc) : 0;
        int64_t bad = -1;
        for (int64_t i = 0; i < numel && bad < 0; i++) {
            bool eq = qc_dtype_is_float(t.desc.dtype)
                          ? qc_elem_get_f64(t.desc.dtype, t.data, i) == numpy_value(nc->kind, i)
                          : qc_elem_get_i64(t.desc.dtype, t.data, i) ==
                                (int64_t)numpy_value(nc->kind, i);
            if (!eq) bad = i;
        }
        CHECK_MSG(bad < 0, "%s: element %lld is %g, expected %g", path, (long long)bad,
                  bad < 0 ? 0.0 : qc_elem_get_f64(t.desc.dtype, t.data, bad),
                  bad < 0 ? 0.0 : numpy_value(nc->kind, bad));
        if (nc->v1 && shape_ok) {
            CHECK_OK(qc_npy_write(out, &t));
            size_t la = 0, lb = 0;
            uint8_t *a = read_all(path, &la), *b = read_all(out, &lb);
            CHECK_MSG(a && b && la == lb && memcmp(a, b, la) == 0,
                      "%s: our writer's bytes differ from numpy's", path);
            free(a);
            free(b);
        }
        qc_tensor_release(&t);
    }
    remove(out);
}

/* ---- malformed files --------------------------------------------------------------- */

static const struct {
    const char *file;
    const char *fault;   /* must appear in the error message */
} bad_cases[] = {
    {"empty.npy", "bad magic"},
    {"bad_magic.npy", "bad magic"},
    {"text_file.npy", "bad magic"},
    {"truncated_magic.npy", "bad magic"},
    {"truncated_header.npy", "header truncated"},
    {"header_past_eof.npy", "runs past the end of the file"},
    {"bad_version.npy", "version 9.0 is not supported"},
    {"v2_truncated.npy", "header truncated"},
    {"not_a_dict.npy", "header is not a dict"},
    {"no_descr.npy", "no 'descr'"},
    {"no_fortran_order.npy", "no 'fortran_order'"},
    {"no_shape.npy", "no 'shape'"},
    {"unknown_descr.npy", "'<c8' is not supported"},
    {"object_descr.npy", "'|O' is not supported"},
    {"structured_descr.npy", "structured arrays"},
    {"big_endian.npy", "big-endian"},
    {"fortran_order.npy", "Fortran-order"},
    {"fortran_garbage.npy", "neither True nor False"},
    {"shape_not_tuple.npy", "'shape' is not a tuple"},
    {"bad_shape_text.npy", "'shape' is malformed"},
    {"shape_no_comma.npy", "'shape' is malformed"},
    {"unterminated_shape.npy", "'shape' is malformed"},
    {"negative_dim.npy", "dim 0 is negative"},
    {"huge_dim.npy", "dim 0 is out of range"},
    {"huge_numel.npy", "shape is too large"},
    {"rank9.npy", "rank exceeds 8"},
    {"data_short.npy", "data is 60 bytes, its header's f32[4,4] needs 64"},
    {"data_long.npy", "data is 68 bytes, its header's f32[4,4] needs 64"},
    {"data_missing.npy", "data is 0 bytes"},
};

static void expect_error(qc_status st, const char *name, const char *fault) {
    const char *msg = qc_status_message(st);
    CHECK_MSG(st != NULL, "%s: accepted, expected '%s'", name, fault);
    CHECK_MSG(!st || strstr(msg, name), "%s: message does not name the file: %s", name, msg);
    CHECK_MSG(!st || strstr(msg, fault), "%s: message lacks '%s': %s", name, fault, msg);
    qc_status_free(st);
}

static void test_malformed(void) {
    size_t n_files = 0;
    for (size_t c = 0; c < sizeof bad_cases / sizeof bad_cases[0]; c++, n_files++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", BAD_DIR, bad_cases[c].file);
        CHECK_MSG(file_exists(path), "%s is missing (run tests/bad_input/gen_test_data.py)", path);
        qc_tensor t = {{QC_F32, 1, {1}}, (void *)&t};   /* must be reset on failure */
        expect_error(qc_npy_read(path, &t), path, bad_cases[c].fault);
        CHECK_MSG(t.data == NULL, "%s: tensor not left empty", path);
        /* The in-memory parser gives the same verdict for the same bytes. */
        size_t len = 0;
        uint8_t *buf = read_all(path, &len);
        if (buf) expect_error(qc_npy_parse(buf, len, "image", &t), "image", bad_cases[c].fault);
        free(buf);
    }
    CHECK(n_files >= 15);
    /* Every prefix of a valid file is malformed: no crash, always an error. */
    size_t len = 0;
    uint8_t *buf = read_all(DATA_DIR "/f32_2x3.npy", &len);
    CHECK(buf != NULL);
    for (size_t cut = 0; buf && cut < len; cut++) {
        qc_tensor t;
        qc_status st = qc_npy_parse(buf, cut, "prefix", &t);
        CHECK_MSG(st != NULL, "a %zu-byte prefix was accepted", cut);
        qc_status_free(st);
    }
    free(buf);
    /* Not files at all. */
    qc_tensor t;
    expect_error(qc_npy_read(BAD_DIR "/does_not_exist.npy", &t), "does_not_exist.npy",
                 "cannot open");
    expect_error(qc_npy_read(BAD_DIR, &t), BAD_DIR, "is a directory");
}

/* ---- writer errors ------------------------------------------------------------------ */

static void test_write_errors(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/w.npy", dir);
    uint8_t data[64] = {0};
    qc_tensor bf16 = {{QC_BF16, 1, {4}}, data};
    expect_error(qc_npy_write(path, &bf16), "w.npy", "cannot store bf16");
    qc_tensor i4 = {{QC_I4, 1, {4}}, data};
    expect_error(qc_npy_write(path, &i4), "w.npy", "cannot store i4");
    qc_tensor rank9 = {{QC_F32, 9, {1}}, data};
    expect_error(qc_npy_write(path, &rank9), "w.npy", "rank 9");
    qc_tensor sym = {{QC_F32, 2, {QC_DIM_SYM, 4}}, data};
    expect_error(qc_npy_write(path, &sym), "w.npy", "unbound or negative");
    qc_tensor nodata = {{QC_F32, 1, {4}}, NULL};
    expect_error(qc_npy_write(path, &nodata), "w.npy", "no data");
    CHECK_MSG(!file_exists(path), "a failed write left %s behind", path);
    qc_tensor ok = {{QC_F32, 1, {4}}, data};
    char missing[4096];
    snprintf(missing, sizeof missing, "%s/no/such/dir/w.npy", dir);
    expect_error(qc_npy_write(missing, &ok), "no/such/dir/w.npy", "cannot create");
    /* Writing over a directory fails and removes the temporary file. */
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/adir.npy", dir);
    CHECK(mkdir(sub, 0777) == 0);
    expect_error(qc_npy_write(sub, &ok), "adir.npy", "write failed");
    CHECK(rmdir(sub) == 0);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", sub, (long)getpid());
    CHECK_MSG(!file_exists(tmp), "%s left behind", tmp);
}

int main(void) {
    uint64_t seed;
    const char *env = getenv("QC_TEST_SEED");
    if (env) {
        seed = strtoull(env, NULL, 10);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec;
    }
    printf("test_npy: seed %llu (QC_TEST_SEED=%llu replays it)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    char dir[] = "/tmp/qc_test_npy_XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    uint64_t rng = seed;
    test_round_trips(&rng, dir);
    test_numpy_files(dir);
    test_malformed();
    test_write_errors(dir);
    CHECK_MSG(rmdir(dir) == 0, "temporary directory %s not empty at the end", dir);
    return qc_test_summary("test_npy");
}
