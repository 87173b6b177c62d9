/* test_onnx_export.c — qc_onnx_export: export -> re-import (qc_onnx_import
 * from memory, folding off so nothing is rewritten) must give the same graph
 * (nodes, names, attributes, constants byte for byte) and bit-identical ref
 * outputs, for every tests/models/<name>/model.onnx and every runnable
 * tests/ops/cases/<name>/model.qcir; plus the opset/ir_version/domains
 * written, form rewrites between opsets, every dtype's raw_data, and the
 * errors (internal ops, quant params without Q/DQ, opsets, atomic files).
 * argv[1], if given, filters model and case names. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/ref/ref.h"
#include "frontend/onnx/onnx.h"
#include "ir/dtype.h"
#include "passes/pass.h"
#include "qc_test.h"
#include "tools/npy.h"

#define MAX_IO 16

/* ---- a minimal protobuf reader for the few ModelProto fields checked ---------- */

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    *v = 0;
    for (int sh = 0; *p < end && sh < 64; sh += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << sh;
        if (!(b & 0x80)) return true;
    }
    return false;
}

typedef struct model_head {
    int64_t ir_version, opset, ms_opset;
} model_head;

/* ir_version (field 1) and opset_import (field 8: domain 1, version 2). */
static bool read_head(const uint8_t *p, size_t len, model_head *h) {
    const uint8_t *end = p + len;
    memset(h, 0, sizeof *h);
    while (p < end) {
        uint64_t key, v;
        if (!read_varint(&p, end, &key)) return false;
        int wt = (int)(key & 7), field = (int)(key >> 3);
        if (wt == 0) {
            if (!read_varint(&p, end, &v)) return false;
            if (field == 1) h->ir_version = (int64_t)v;
        } else if (wt == 2) {
            if (!read_varint(&p, end, &v) || v > (uint64_t)(end - p)) return false;
            if (field == 8) {
                const uint8_t *q = p, *qe = p + v;
                char domain[64] = "";
                int64_t version = 0;
                while (q < qe) {
                    uint64_t k2, v2;
                    if (!read_varint(&q, qe, &k2) || !read_varint(&q, qe, &v2)) return false;
                    if ((k2 & 7) == 2) {
                        if (v2 > (uint64_t)(qe - q)) return false;
                        if ((k2 >> 3) == 1 && v2 < sizeof domain) {
                            memcpy(domain, q, v2);
                            domain[v2] = 0;
                        }
                        q += v2;
                    } else if ((k2 >> 3) == 2) {
                        version = (int64_t)v2;
                    }
                }
                if (!domain[0]) h->opset = version;
                else if (!strcmp(domain, "com.microsoft")) h->ms_opset = version;
            }
            p += v;
        } else {
            return false;   /* ModelProto's top level has only varints and bytes */
        }
    }
    return true;
}

/* ---- graph comparison ------------------------------------------------------------ */

/* Attributes the exporter may move to inputs (or back) between opsets. */
static bool movable_attr(const char *k) {
    static const char *const keys[] = {"axes", "split", "pads", "value", "min", "max",
                                       "num_outputs", "noop_with_empty_axes", "ratio",
                                       /* defaults made explicit or dropped */
                                       "dtype", "approximate"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(k, keys[i])) return true;
    return false;
}

static bool attr_equal(const qc_attr *a, const qc_attr *b) {
    if (a->kind != b->kind || a->n != b->n) return false;
    switch (a->kind) {
    case QC_ATTR_INT: return a->i == b->i;
    case QC_ATTR_FLOAT: return memcmp(&a->f, &b->f, sizeof a->f) == 0;
    case QC_ATTR_STRING: return !strcmp(a->s, b->s);
    case QC_ATTR_INTS: return !a->n || !memcmp(a->ints, b->ints, (size_t)a->n * 8);
    case QC_ATTR_FLOATS: return !a->n || !memcmp(a->floats, b->floats, (size_t)a->n * 4);
    }
    return false;
}

static int32_t trimmed_inputs(const qc_node *n) {
    int32_t k = n->n_in;
    while (k && n->in[k - 1] < 0) k--;
    return k;
}

static const char *vname(const qc_graph *g, int32_t id) { return id < 0 ? "" : g->values[id].name; }

/* Same graph up to the opset rewrites: `strict` also demands no moved
 * attributes and no extra constants. Writes the first difference to why. */
static bool same_graph(const qc_graph *a, const qc_graph *b, bool strict, char *why, size_t n) {
    if ((a->batch == NULL) != (b->batch == NULL) || (a->batch && strcmp(a->batch, b->batch))) {
        snprintf(why, n, "batch name differs");
        return false;
    }
    if (a->n_nodes != b->n_nodes || a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs) {
        snprintf(why, n, "counts differ: nodes %d/%d inputs %d/%d outputs %d/%d", a->n_nodes,
                 b->n_nodes, a->n_inputs, b->n_inputs, a->n_outputs, b->n_outputs);
        return false;
    }
    for (int32_t i = 0; i < a->n_inputs; i++)
        if (strcmp(vname(a, a->inputs[i]), vname(b, b->inputs[i])) ||
            !qc_type_equal(&a->values[a->inputs[i]].type, &b->values[b->inputs[i]].type)) {
            snprintf(why, n, "input %d differs", (int)i);
            return false;
        }
    for (int32_t i = 0; i < a->n_outputs; i++)
        if (strcmp(vname(a, a->outputs[i]), vname(b, b->outputs[i])) ||
            !qc_type_equal(&a->values[a->outputs[i]].type, &b->values[b->outputs[i]].type)) {
            snprintf(why, n, "output %d differs", (int)i);
            return false;
        }
    for (int32_t i = 0; i < a->n_nodes; i++) {
        const qc_node *x = &a->nodes[i], *y = &b->nodes[i];
        bool ok = x->op == y->op && !strcmp(x->name, y->name) && x->n_out == y->n_out;
        for (int32_t k = 0; ok && k < x->n_out; k++)
            ok = !strcmp(vname(a, x->out[k]), vname(b, y->out[k]));
        /* Trailing absent inputs are not written; rewrites may add generated
         * constants ("<out>/axes") or move constant inputs to attributes. */
        int32_t na = trimmed_inputs(x), nb = trimmed_inputs(y);
        for (int32_t k = 0; ok && k < (na > nb ? na : nb); k++) {
            int32_t ia = k < na ? x->in[k] : -1, ib = k < nb ? y->in[k] : -1;
            if (!strcmp(vname(a, ia), vname(b, ib))) continue;
            ok = !strict && ((ia < 0 && strchr(vname(b, ib), '/')) ||
                             (ib < 0 && a->values[ia].data));
        }
        for (int32_t k = 0; ok && k < x->n_attr; k++) {
            const qc_attr *ya = qc_node_attr(y, x->attr[k].name);
            ok = ya ? attr_equal(&x->attr[k], ya) : !strict && movable_attr(x->attr[k].name);
        }
        for (int32_t k = 0; ok && k < y->n_attr; k++)
            ok = qc_node_attr(x, y->attr[k].name) || (!strict && movable_attr(y->attr[k].name));
        if (!ok) {
            snprintf(why, n, "node %d '%s' differs", (int)i, x->name);
            return false;
        }
    }
    for (int32_t v = 0; v < a->n_values; v++) {
        const qc_value *x = &a->values[v];
        if (!x->data) continue;
        int32_t w = qc_graph_find_value(b, x->name);
        const qc_value *y = w >= 0 ? &b->values[w] : NULL;
        if (!y || !y->data || !qc_type_equal(&x->type, &y->type) || x->nbytes != y->nbytes ||
            (x->nbytes && memcmp(x->data, y->data, x->nbytes))) {
            snprintf(why, n, "constant '%s' differs", x->name);
            return false;
        }
    }
    for (int32_t v = 0; v < b->n_values; v++)
        if (b->values[v].data && qc_graph_find_value(a, b->values[v].name) < 0 &&
            (strict || !strchr(b->values[v].name, '/'))) {
            snprintf(why, n, "extra constant '%s'", b->values[v].name);
            return false;
        }
    return true;
}

/* ---- round trip ------------------------------------------------------------------- */

static qc_status export_import(const qc_graph *g, int opset, qc_graph **back, model_head *h) {
    void *buf;
    size_t len;
    qc_status st = qc_onnx_export(g, opset, &buf, &len);
    if (st) return st;
    if (h && !read_head(buf, len, h)) memset(h, 0, sizeof *h);
    qc_onnx_options o;
    qc_onnx_options_init(&o);
    o.fold_constants = 0;   /* the re-imported graph must be the exported one */
    st = qc_onnx_import(buf, len, "exported", NULL, &o, back);
    free(buf);
    return st;
}

static void release_all(qc_tensor *t, int n) {
    for (int i = 0; i < n; i++) qc_tensor_release(&t[i]);
}

/* Both graphs on the same inputs: outputs must be bit-identical. */
static bool same_outputs(const qc_graph *a, const qc_graph *b, const qc_tensor *in, int n_in,
                         char *why, size_t n) {
    qc_tensor oa[MAX_IO], ob[MAX_IO];
    memset(oa, 0, sizeof oa);
    memset(ob, 0, sizeof ob);
    if (a->n_outputs > MAX_IO) {
        snprintf(why, n, "too many outputs");
        return false;
    }
    qc_status st = qc_ref_run(a, in, n_in, oa, a->n_outputs);
    if (!st) st = qc_ref_run(b, in, n_in, ob, b->n_outputs);
    bool ok = !st;
    if (st) snprintf(why, n, "ref run: %s", qc_status_message(st));
    for (int32_t i = 0; ok && i < a->n_outputs; i++) {
        size_t bytes = qc_dtype_bytes(oa[i].desc.dtype, qc_type_numel(&oa[i].desc));
        ok = qc_type_equal(&oa[i].desc, &ob[i].desc) &&
             (!bytes || !memcmp(oa[i].data, ob[i].data, bytes));
        if (!ok) snprintf(why, n, "output %d differs", (int)i);
    }
    qc_status_free(st);
    release_all(oa, a->n_outputs);
    release_all(ob, b->n_outputs);
    return ok;
}

static int read_inputs(const char *dir, int n, qc_tensor *in) {
    char path[2048];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/input_%d.npy", dir, i);
        qc_status st = qc_npy_read(path, &in[i]);
        if (st) {
            fprintf(stderr, "%s: %s\n", path, qc_status_message(st));
            qc_status_free(st);
            release_all(in, i);
            return -1;
        }
    }
    return n;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted subdirectory names of dir (malloc'd, *n of them). */
static char **list_dirs(const char *dir, int *n) {
    DIR *d = opendir(dir);
    char **names = NULL;
    *n = 0;
    if (!d) return NULL;
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[2048];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &sb) || !S_ISDIR(sb.st_mode)) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, (size_t)cap * sizeof *names);
        }
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    if (*n) qsort(names, (size_t)*n, sizeof *names, cmp_str);
    return names;
}

static void free_names(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* One model or case: 1 pass, 0 fail, -1 skipped (not exportable, with why). */
static int round_trip(const char *label, const char *dir, const qc_graph *g, bool strict) {
    char why[600] = "";
    qc_graph *back = NULL;
    qc_tensor in[MAX_IO];
    memset(in, 0, sizeof in);
    model_head h;
    qc_status st = export_import(g, 0, &back, &h);
    if (st) {
        bool skip = qc_status_code(st) == QC_ERR_UNSUPPORTED;
        printf("  %-40s %s: %s\n", label, skip ? "not exportable" : "FAIL", qc_status_message(st));
        qc_status_free(st);
        return skip ? -1 : 0;
    }
    bool ok = same_graph(g, back, strict, why, sizeof why);
    int n_in = g->n_inputs <= MAX_IO ? read_inputs(dir, g->n_inputs, in) : -1;
    if (ok && n_in < 0) {
        ok = false;
        snprintf(why, sizeof why, "cannot read inputs");
    }
    if (ok) ok = same_outputs(g, back, in, n_in, why, sizeof why);
    if (n_in > 0) release_all(in, n_in);
    if (!ok) printf("  %-40s FAIL (opset %lld): %s\n", label, (long long)h.opset, why);
    qc_graph_destroy(back);
    return ok;
}

static void test_models(const char *filter) {
    int n, pass = 0, total = 0;
    char **names = list_dirs("tests/models", &n);
    for (int i = 0; i < n; i++) {
        if (filter && !strstr(names[i], filter)) continue;
        char dir[1200], path[1300];
        snprintf(dir, sizeof dir, "tests/models/%s", names[i]);
        snprintf(path, sizeof path, "%s/model.onnx", dir);
        qc_graph *g = NULL;
        qc_status st = qc_onnx_import_file(path, NULL, &g);
        if (st) {
            printf("  %-40s FAIL: import: %s\n", names[i], qc_status_message(st));
            qc_status_free(st);
            CHECK(0);
            continue;
        }
        total++;
        int r = round_trip(names[i], dir, g, true);
        CHECK_MSG(r == 1, "model %s", names[i]);
        pass += r == 1;
        qc_graph_destroy(g);
    }
    printf("models: %d of %d round-trip exactly\n", pass, total);
    CHECK(total >= 12 || filter);
    free_names(names, n);
}

static void test_op_cases(const char *filter) {
    int n, pass = 0, skipped = 0, failed = 0, total = 0;
    char **names = list_dirs("tests/ops/cases", &n);
    for (int i = 0; i < n; i++) {
        if (filter && !strstr(names[i], filter)) continue;
        char dir[1200], path[1300];
        snprintf(dir, sizeof dir, "tests/ops/cases/%s", names[i]);
        snprintf(path, sizeof path, "%s/expect_error", dir);
        if (access(path, F_OK) == 0) continue;   /* error cases: nothing to run */
        snprintf(path, sizeof path, "%s/model.qcir", dir);
        qc_graph *g = NULL;
        qc_status st = qc_graph_parse_file(path, &g);
        if (!st) st = qc_graph_verify(g);
        if (st) {   /* not a valid graph on its own: test_ops covers it */
            qc_status_free(st);
            qc_graph_destroy(g);
            continue;
        }
        total++;
        int r = round_trip(names[i], dir, g, false);
        pass += r == 1;
        skipped += r < 0;
        failed += r == 0;
        CHECK_MSG(r != 0, "case %s", names[i]);
        qc_graph_destroy(g);
    }
    printf("op cases: %d of %d round-trip (outputs bit-identical), %d not exportable, %d "
           "failed\n", pass, total, skipped, failed);
    CHECK(filter || pass > 400);
    free_names(names, n);
}

/* ---- targeted tests ------------------------------------------------------------------ */

static qc_graph *parse(const char *text) {
    qc_graph *g = NULL;
    qc_status st = qc_graph_parse(text, strlen(text), "test", &g);
    if (st) {
        fprintf(stderr, "parse: %s\n", qc_status_message(st));
        qc_status_free(st);
    }
    return g;
}

/* Exports `text` at `opset`; the error (or NULL) must contain `want`. */
static void expect_error(const char *text, int opset, const char *want) {
    qc_graph *g = parse(text);
    CHECK(g != NULL);
    if (!g) return;
    void *buf = NULL;
    size_t len;
    qc_status st = qc_onnx_export(g, opset, &buf, &len);
    CHECK_MSG(st && strstr(qc_status_message(st), want), "want '%s', got '%s'", want,
              st ? qc_status_message(st) : "success");
    CHECK(buf == NULL);
    qc_status_free(st);
    qc_graph_destroy(g);
}

/* Round trip of `text` at `opset`: the header written, and same outputs on
 * the graph's constants (graphs here take no inputs). */
static void expect_trip(const char *text, int opset, int64_t want_opset, int64_t want_ir,
                        int64_t want_ms, bool strict) {
    qc_graph *g = parse(text), *back = NULL;
    CHECK(g != NULL);
    if (!g) return;
    model_head h;
    qc_status st = export_import(g, opset, &back, &h);
    CHECK_OK(st);
    if (back) {
        char why[400] = "";
        CHECK_MSG(h.opset == want_opset && h.ir_version == want_ir && h.ms_opset == want_ms,
                  "opset %lld ir %lld ms %lld", (long long)h.opset, (long long)h.ir_version,
                  (long long)h.ms_opset);
        CHECK_MSG(same_graph(g, back, strict, why, sizeof why), "%s", why);
        CHECK_MSG(same_outputs(g, back, NULL, 0, why, sizeof why), "%s", why);
    }
    qc_graph_destroy(back);
    qc_graph_destroy(g);
}

static void test_dtypes(void) {
    /* Every qcomp dtype as an initializer (raw_data), exact bytes back. */
    expect_trip("qcir 1\ngraph dt {\n"
                "  const a: f32[2] = [1.5, -2]\n  const b: f16[3] = [0.5, -65504, inf]\n"
                "  const c: bf16[2] = [1, -3.5]\n  const d: f64[2] = [0.1, -1e300]\n"
                "  const e: i64[2] = [-9223372036854775807, 5]\n  const f: i32[1] = [-7]\n"
                "  const h: i16[2] = [-32768, 3]\n  const i: i8[2] = [-128, 127]\n"
                "  const j: u8[2] = [0, 255]\n  const k: bool[3] = [1, 0, 1]\n"
                "  const l: i4[3] = [-8, 7, -1]\n  const m: u4[3] = [0, 15, 9]\n"
                "  const n: f8e4m3fn[2] = [448, -0.5]\n  const o: f8e5m2[2] = [57344, 0.25]\n"
                "  const p: f32[0] = []\n  const q: f32[] = [3]\n"
                "  y = Identity(a)\n"
                "  output y, b, c, d, e, f, h, i, j, k, l, m, n, o, p, q\n}\n",
                0, 21, 10, 0, true);
}

static void test_forms(void) {
    /* Attribute forms become the inputs of opset 13/18. */
    expect_trip("qcir 1\ngraph f {\n  const x: f32[2,1,3] = [1, 2, 3, 4, 5, 6]\n"
                "  s = Squeeze(x) {axes=[1]}\n  u = Unsqueeze(s) {axes=[0]}\n"
                "  r = ReduceSum(x) {axes=[2], keepdims=0}\n"
                "  m = ReduceMean(x) {axes=[-1]}\n"
                "  a: f32[2,1,1], b: f32[2,1,2] = Split(x) {axis=2, split=[1, 2]}\n"
                "  c = Clip(x) {min=1.5, max=4.0}\n"
                "  p = Pad(x) {pads=[0, 0, 1, 0, 0, 0], value=9.0}\n"
                "  output u, r, m, a, b, c, p\n}\n",
                0, 13, 8, 0, false);
    /* ReduceMean's constant axes input below 18 becomes the attribute; at 18
     * it stays an input, and auto picks 18. num_outputs below 18 becomes sizes. */
    const char *reduce =
        "qcir 1\ngraph r {\n  const x: f32[2,3] = [1, 2, 3, 4, 5, 6]\n"
        "  const ax: i64[1] = [1]\n  m = ReduceMax(x, ax) {keepdims=0}\n"
        "  a, b = Split(x) {axis=1, num_outputs=2}\n  output m, a, b\n}\n";
    expect_trip(reduce, 13, 13, 8, 0, false);
    expect_trip(reduce, 0, 18, 8, 0, true);
    expect_trip(reduce, 19, 19, 9, 0, true);
    /* QLinearAdd brings com.microsoft in; Gelu below 20 goes there too. */
    expect_trip("qcir 1\ngraph q {\n  const a: u8[2] = [1, 200]\n  const s: f32[] = [0.5]\n"
                "  const z: u8[] = [3]\n  y = QLinearAdd(a, s, z, a, s, z, s, z)\n"
                "  const x: f32[2] = [0.5, -1]\n  g = Gelu(x)\n  output y, g\n}\n",
                0, 13, 8, 1, true);
    /* Shape start/end exists from 15; ReduceL2's default noop flag is dropped
     * below 18 (not an attribute there). */
    expect_trip("qcir 1\ngraph s {\n  const x: f32[2,3,4] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, "
                "11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]\n"
                "  y = Shape(x) {start=1}\n  z = ReduceL2(x) {axes=[1], noop_with_empty_axes=0}\n"
                "  output y, z\n}\n",
                0, 15, 8, 0, false);
    expect_trip("qcir 1\ngraph c {\n  const s: i64[2] = [2, 3]\n"
                "  y = ConstantOfShape(s) {dtype=\"i8\", value=-3}\n"
                "  z = ConstantOfShape(s) {dtype=\"f16\", value=0.25}\n  output y, z\n}\n",
                0, 13, 8, 0, true);
}

static void test_errors(void) {
    const char *quant = "qcir 1\ngraph q {\n  input x: i8[2] quant(tensor, scale=[0.5], zero=[0])\n"
                        "  y = Identity(x)\n  output y\n}\n";
    expect_error(quant, 0, "before qdq_fold");
    expect_error(quant, 0, "'x'");
    const char *ln = "qcir 1\ngraph l {\n  input x: f32[2,4]\n  const s: f32[4] = [1, 1, 1, 1]\n"
                     "  y = LayerNormalization(x, s)\n  output y\n}\n";
    expect_error(ln, 13, "needs opset 17");
    expect_error(ln, 12, "opsets 13 to 21");
    expect_error(ln, 22, "opsets 13 to 21");
    expect_error("qcir 1\ngraph b {\n  input x: i4[2]\n  y = Identity(x)\n  output y\n}\n", 19,
                 "int4");
    expect_error("qcir 1\ngraph r {\n  input x: f32[2,3]\n"
                 "  y = ReduceL2(x) {noop_with_empty_axes=1}\n  output y\n}\n", 17,
                 "noop_with_empty_axes and no axes");
    /* After qdq_fold the graph holds qcomp-internal ops (qc.QConv, ...) and
     * quant params on plain values: both refused, naming them. */
    qc_graph *g = NULL;
    qc_status st = qc_onnx_import_file("tests/models/digits_cnn_qdq/model.onnx", NULL, &g);
    if (!st) st = qc_pass_run_pipeline(g, "qdq_fold");
    CHECK_OK(st);
    if (g) {
        void *buf = NULL;
        size_t len;
        st = qc_onnx_export(g, 0, &buf, &len);
        const char *msg = qc_status_message(st);
        CHECK_MSG(st && buf == NULL && strstr(msg, "qc.QConv") && strstr(msg, "qdq_fold/fuse"),
                  "%s", st ? msg : "success");
        qc_status_free(st);
        free(buf);
    }
    qc_graph_destroy(g);
}

static void test_file(void) {
    char dir[] = "/tmp/qc_export_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128], bad[160];
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    snprintf(bad, sizeof bad, "%s/no/such/dir/m.onnx", dir);
    qc_graph *g = parse("qcir 1\ngraph f batch N {\n  input x: f32[N,2]\n  y = Relu(x)\n"
                        "  output y\n}\n");
    qc_graph *q = parse("qcir 1\ngraph q {\n  input x: i8[2] quant(tensor, scale=[0.5], "
                        "zero=[0])\n  y = Identity(x)\n  output y\n}\n");
    CHECK(g && q);
    if (g && q) {
        CHECK_OK(qc_onnx_export_file(g, 0, path));
        qc_graph *back = NULL;
        CHECK_OK(qc_onnx_import_file(path, NULL, &back));
        CHECK(back && back->batch && !strcmp(back->batch, "N"));
        qc_graph_destroy(back);
        struct stat before, after;
        CHECK(stat(path, &before) == 0);
        /* A failing export leaves the existing file alone and no temp file. */
        qc_status st = qc_onnx_export_file(q, 0, path);
        CHECK(st != NULL);
        qc_status_free(st);
        CHECK(stat(path, &after) == 0 && after.st_size == before.st_size);
        st = qc_onnx_export_file(g, 0, bad);
        CHECK(st != NULL && qc_status_code(st) == QC_ERR_IO);
        qc_status_free(st);
        int entries = 0;
        DIR *d = opendir(dir);
        for (struct dirent *e; d && (e = readdir(d));) entries += e->d_name[0] != '.';
        if (d) closedir(d);
        CHECK_MSG(entries == 1, "%d entries in %s", entries, dir);
    }
    qc_graph_destroy(g);
    qc_graph_destroy(q);
    unlink(path);
    rmdir(dir);
}

/* `--export IN OUT [OPSET]`: imports IN (.onnx or .qcir) and exports it to
 * OUT, for tests/quant/ort_check.sh --export (until `qcomp quantize -o
 * OUT.onnx` covers it). */
static int export_tool(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: test_onnx_export --export IN OUT.onnx [OPSET]\n");
        return 2;
    }
    qc_graph *g = NULL;
    qc_status st = qc_onnx_is_model_file(argv[2]) ? qc_onnx_import_file(argv[2], NULL, &g)
                                                  : qc_graph_parse_file(argv[2], &g);
    if (!st) st = qc_onnx_export_file(g, argc > 4 ? atoi(argv[4]) : 0, argv[3]);
    qc_graph_destroy(g);
    if (st) fprintf(stderr, "%s\n", qc_status_message(st));
    qc_status_free(st);
    return st ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--export")) return export_tool(argc, argv);
    const char *filter = argc > 1 ? argv[1] : NULL;
    if (!filter) {
        test_dtypes();
        test_forms();
        test_errors();
        test_file();
    }
    test_models(filter);
    test_op_cases(filter);
    return qc_test_summary("test_onnx_export");
}
