/* test_ir_text.c — the textual IR: printer and parser.
 *
 *  - every tests/ir/NAME.qcir parses, prints back to the identical file, and
 *    round-trips print -> parse -> print byte-identically with equal graphs;
 *  - random graphs built with the builder (odd names, every attr kind, every
 *    dtype with random bit patterns) round-trip exactly; the seed is fresh per
 *    run and printed (set QC_SEED to replay one);
 *  - malformed text fails with QC_ERR_PARSE at the right line:col;
 *  - truncated and mutated samples never crash (run under ASan for leaks),
 *    and whatever parses round-trips. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ir/dtype.h"
#include "ir/ir.h"
#include "qc_test.h"

#define SAMPLES_DIR "tests/ir"

/* ---- small utilities ------------------------------------------------------- */

typedef qc_rng rng;

static uint64_t rnd(rng *r) { return qc_rng_next(r); }

static int rnd_below(rng *r, int n) { return (int)(rnd(r) % (uint64_t)n); }

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (buf) buf[n] = 0;
    *len = n;
    return buf;
}

/* Parses exactly len bytes from a private copy, so ASan catches any read past
 * the end (the parser must not rely on a terminating NUL). */
static qc_status parse_exact(const char *text, size_t len, const char *source, qc_graph **g) {
    char *copy = malloc(len ? len : 1);
    if (len) memcpy(copy, text, len);
    qc_status st = qc_graph_parse(copy, len, source, g);
    free(copy);
    return st;
}

static char *print(const qc_graph *g) {
    char *s = NULL;
    qc_status st = qc_graph_print_string(g, &s);
    CHECK_MSG(!st, "print failed: %s", qc_status_message(st));
    qc_status_free(st);
    return s;
}

/* ---- graph equality (by value name: value ids may be ordered differently) -- */

static const char *vname(const qc_graph *g, int32_t id) {
    return id >= 0 && id < g->n_values ? g->values[id].name : "<absent>";
}

static bool same_value(const qc_graph *a, const qc_value *va, const qc_graph *b, char *why,
                       size_t n) {
    int32_t id = qc_graph_find_value(b, va->name);
    if (id < 0) return snprintf(why, n, "value '%s' missing", va->name), false;
    const qc_value *vb = &b->values[id];
    const qc_quant *qa = &va->quant, *qb = &vb->quant;
    if (!qc_type_equal(&va->type, &vb->type)) return snprintf(why, n, "type of '%s'", va->name), false;
    if (qa->kind != qb->kind || qa->axis != qb->axis || qa->block != qb->block ||
        qa->count != qb->count ||
        (qa->count && (memcmp(qa->scale, qb->scale, (size_t)qa->count * 4) ||
                       memcmp(qa->zero, qb->zero, (size_t)qa->count * 4))))
        return snprintf(why, n, "quant of '%s'", va->name), false;
    if (!va->data != !vb->data || va->nbytes != vb->nbytes ||
        (va->data && va->nbytes && memcmp(va->data, vb->data, va->nbytes)))
        return snprintf(why, n, "data of '%s'", va->name), false;
    if ((va->producer >= 0) != (vb->producer >= 0))
        return snprintf(why, n, "producer of '%s'", va->name), false;
    (void)a;
    return true;
}

static bool same_attr(const qc_attr *x, const qc_attr *y) {
    if (strcmp(x->name, y->name) || x->kind != y->kind) return false;
    switch (x->kind) {
    case QC_ATTR_INT: return x->i == y->i;
    case QC_ATTR_FLOAT: return memcmp(&x->f, &y->f, 4) == 0;
    case QC_ATTR_STRING: return strcmp(x->s, y->s) == 0;
    case QC_ATTR_INTS: return x->n == y->n && (!x->n || !memcmp(x->ints, y->ints, (size_t)x->n * 8));
    case QC_ATTR_FLOATS:
        return x->n == y->n && (!x->n || !memcmp(x->floats, y->floats, (size_t)x->n * 4));
    }
    return false;
}

static bool same_ids(const qc_graph *a, const int32_t *ia, const qc_graph *b, const int32_t *ib,
                     int32_t n) {
    for (int32_t i = 0; i < n; i++)
        if ((ia[i] < 0) != (ib[i] < 0) || strcmp(vname(a, ia[i]), vname(b, ib[i]))) return false;
    return true;
}

static bool graphs_equal(const qc_graph *a, const qc_graph *b, char *why, size_t n) {
    if (strcmp(a->name, b->name)) return snprintf(why, n, "graph name"), false;
    if (!a->batch != !b->batch || (a->batch && strcmp(a->batch, b->batch)))
        return snprintf(why, n, "batch name"), false;
    if (a->n_values != b->n_values || a->n_nodes != b->n_nodes || a->n_inputs != b->n_inputs ||
        a->n_outputs != b->n_outputs)
        return snprintf(why, n, "counts"), false;
    for (int32_t i = 0; i < a->n_values; i++)
        if (!same_value(a, &a->values[i], b, why, n)) return false;
    if (!same_ids(a, a->inputs, b, b->inputs, a->n_inputs)) return snprintf(why, n, "inputs"), false;
    if (!same_ids(a, a->outputs, b, b->outputs, a->n_outputs))
        return snprintf(why, n, "outputs"), false;
    for (int32_t i = 0; i < a->n_nodes; i++) {
        const qc_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (x->op != y->op || strcmp(x->name, y->name) || x->n_in != y->n_in ||
            x->n_out != y->n_out || x->n_attr != y->n_attr || !same_ids(a, x->in, b, y->in, x->n_in) ||
            !same_ids(a, x->out, b, y->out, x->n_out))
            return snprintf(why, n, "node %d ('%s')", (int)i, x->name), false;
        for (int32_t k = 0; k < x->n_attr; k++)
            if (!same_attr(&x->attr[k], &y->attr[k]))
                return snprintf(why, n, "node '%s' attr '%s'", x->name, x->attr[k].name), false;
    }
    return true;
}

/* print(g) -> parse -> equal graph -> print identical. Returns false (and
 * reports) on the first difference. */
static bool check_round_trip(const qc_graph *g, const char *what) {
    char *t1 = print(g), *t2 = NULL, why[256] = "";
    qc_graph *g2 = NULL;
    bool ok = false;
    qc_status st = t1 ? parse_exact(t1, strlen(t1), what, &g2) : NULL;
    CHECK_MSG(!st, "%s: re-parse failed: %s", what, qc_status_message(st));
    if (!st && t1) {
        bool eq = graphs_equal(g, g2, why, sizeof why);
        CHECK_MSG(eq, "%s: parsed graph differs: %s", what, why);
        t2 = print(g2);
        bool same = t2 && strcmp(t1, t2) == 0;
        CHECK_MSG(same, "%s: print -> parse -> print differs", what);
        ok = eq && same;
    }
    if (!ok && t1) fprintf(stderr, "---- %s printed as:\n%.4000s\n----\n", what, t1);
    qc_status_free(st);
    qc_graph_destroy(g2);
    free(t1);
    free(t2);
    return ok;
}

/* ---- sample files ---------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every prefix must fail cleanly (or parse); a few hundred random byte edits
 * must never crash, and whatever still parses must round-trip. */
static void mutate_sample(const char *text, size_t len, rng *r) {
    for (size_t k = 0; k < len; k++) {
        qc_graph *g = NULL;
        qc_status st = parse_exact(text, k, "prefix", &g);
        CHECK(st ? qc_status_code(st) == QC_ERR_PARSE && !g : g != NULL);
        qc_status_free(st);
        qc_graph_destroy(g);
    }
    static const char pool[] = "{}[]()=,:@_\"\\#-.e9 \n\x00\xff" "quant" "inf";
    char *buf = malloc(len + 8);
    for (int iter = 0; iter < 400; iter++) {
        memcpy(buf, text, len);
        size_t n = len;
        for (int e = 1 + rnd_below(r, 3); e > 0 && n > 0; e--) {
            size_t at = (size_t)rnd_below(r, (int)n);
            char c = rnd_below(r, 2) ? pool[rnd_below(r, sizeof pool - 1)] : (char)rnd(r);
            int op = rnd_below(r, 3);
            if (op == 0) buf[at] = c;
            else if (op == 1) memmove(buf + at, buf + at + 1, --n - at);
            else if (n < len + 7) {
                memmove(buf + at + 1, buf + at, n++ - at);
                buf[at] = c;
            }
        }
        qc_graph *g = NULL;
        qc_status st = parse_exact(buf, n, "mutant", &g);
        CHECK(st ? (qc_status_code(st) == QC_ERR_PARSE && !g) : g != NULL);
        if (!st) check_round_trip(g, "parsed mutant");
        qc_status_free(st);
        qc_graph_destroy(g);
    }
    free(buf);
}

static void test_sample_files(rng *r) {
    DIR *d = opendir(SAMPLES_DIR);
    CHECK_MSG(d != NULL, "cannot open %s (run from the source root)", SAMPLES_DIR);
    if (!d) return;
    char *names[256];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 256;) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".qcir") == 0) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_str);
    CHECK_MSG(n >= 5, "only %d sample files", n);
    for (int i = 0; i < n; i++) {
        char path[512];
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%s", SAMPLES_DIR, names[i]);
        char *text = read_file(path, &len);
        qc_graph *g = NULL;
        qc_status st = qc_graph_parse_file(path, &g);
        CHECK_MSG(!st, "%s", qc_status_message(st));
        if (!st) {
            char *out = print(g);
            bool canonical = out && text && strcmp(out, text) == 0;
            CHECK_MSG(canonical, "%s is not printed back identically; printed:\n%s", path, out);
            check_round_trip(g, path);
            free(out);
        }
        if (text) mutate_sample(text, len, r);
        qc_status_free(st);
        qc_graph_destroy(g);
        free(text);
        free(names[i]);
    }
}

/* ---- random graphs ----------------------------------------------------------------- */

static void random_name(rng *r, char *buf, size_t n) {
    static const char *const odd[] = {
        "input", "const", "output", "graph", "batch", "quant", "qcir", "_",   "nan",
        "inf",   "-inf",  "tensor", "1abc",  "a.b",   "x y",   "\"",   "\\",  "\xc3\xa9",
        "t\tb",  "n\nl",  "-1",     "0",     "@",     "a=b",   "{}",   "#c", "axis"};
    int k = rnd_below(r, 4);
    if (k == 0) {
        snprintf(buf, n, "%s", odd[rnd_below(r, sizeof odd / sizeof odd[0])]);
        return;
    }
    size_t len = 1 + (size_t)rnd_below(r, 10);
    for (size_t i = 0; i < len && i + 1 < n; i++) {
        static const char plain[] = "abcxyzABZ_019.";
        char c = k == 1 ? (char)(1 + rnd_below(r, 255)) : plain[rnd_below(r, sizeof plain - 1)];
        buf[i] = (i == 0 && k != 1 && (c == '.' || (c >= '0' && c <= '9'))) ? 'v' : c;
        buf[i + 1] = 0;
    }
}

/* A name not yet used by a value. */
static void fresh_name(rng *r, const qc_graph *g, char *buf, size_t n) {
    random_name(r, buf, n);
    for (int k = 0; qc_graph_find_value(g, buf) >= 0; k++) {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%d", k);
    }
}

static float random_f32(rng *r) {
    static const float special[] = {0.0f, -0.0f, 1.0f, -1.5f, 0.1f, 1e-45f, 3.4028235e38f, 100.0f};
    float f = rnd_below(r, 4) == 0 ? special[rnd_below(r, 8)] : qc_bits_f32((uint32_t)rnd(r));
    return isnan(f) ? NAN : f;   /* only the canonical NaN reads back */
}

static qc_type random_type(rng *r, const qc_graph *g, bool allow_sym) {
    qc_type t = {.dtype = (qc_dtype)(1 + rnd_below(r, QC_DT_COUNT - 1))};
    t.rank = rnd_below(r, 10) == 0 ? QC_MAX_RANK : rnd_below(r, 4);
    for (int i = 0; i < t.rank; i++) {
        t.dims[i] = t.rank == QC_MAX_RANK ? 1 : rnd_below(r, 8) == 0 ? 0 : 1 + rnd_below(r, 3);
        if (allow_sym && g->batch && rnd_below(r, 4) == 0) t.dims[i] = QC_DIM_SYM;
    }
    return t;
}

static void random_quant(rng *r, qc_graph *g, int32_t id) {
    if (rnd_below(r, 3)) return;
    float scale[4];
    int32_t zero[4];
    qc_quant q = {.kind = (qc_qkind)(1 + rnd_below(r, 3)), .count = 1 + rnd_below(r, 4)};
    if (q.kind != QC_Q_TENSOR) q.axis = rnd_below(r, 6) - 2;
    if (q.kind == QC_Q_BLOCK) q.block = rnd_below(r, 40) - 1;
    for (int i = 0; i < q.count; i++) {
        scale[i] = random_f32(r);
        zero[i] = (int32_t)(uint32_t)rnd(r);
    }
    q.scale = scale;
    q.zero = zero;
    CHECK_OK(qc_value_set_quant(g, id, &q));
}

/* Random bits, then made readable: canonical NaNs, 0/1 bools, zero padding. */
static void add_random_const(rng *r, qc_graph *g) {
    char name[64];
    qc_type t = random_type(r, g, false);
    int64_t numel = qc_type_numel(&t);
    size_t nbytes = qc_dtype_bytes(t.dtype, numel);
    uint8_t *data = malloc(nbytes + 1);
    for (size_t i = 0; i < nbytes; i++) data[i] = (uint8_t)rnd(r);
    for (int64_t i = 0; i < numel; i++) {
        if (qc_dtype_is_float(t.dtype) && isnan(qc_elem_get_f64(t.dtype, data, i)))
            qc_elem_set_f64(t.dtype, data, i, NAN);
        if (t.dtype == QC_BOOL) data[i] &= 1;
    }
    if ((t.dtype == QC_I4 || t.dtype == QC_U4) && (numel & 1)) data[numel >> 1] &= 0x0f;
    int32_t id;
    fresh_name(r, g, name, sizeof name);
    CHECK_OK(qc_graph_add_const(g, name, &t, data, nbytes, &id));
    free(data);
    random_quant(r, g, id);
}

static void add_random_attrs(rng *r, qc_graph *g, int32_t node) {
    for (int k = rnd_below(r, 6); k > 0; k--) {
        char key[64], s[16];
        int64_t ints[5];
        float floats[5];
        random_name(r, key, sizeof key);
        if (qc_node_attr(&g->nodes[node], key)) continue;
        int n = rnd_below(r, 6);
        for (int i = 0; i < n; i++) {
            ints[i] = rnd_below(r, 3) ? (int64_t)rnd(r) : rnd_below(r, 2) ? INT64_MIN : -3;
            floats[i] = random_f32(r);
        }
        switch (rnd_below(r, 5)) {
        case 0: CHECK_OK(qc_node_set_int(g, node, key, n ? ints[0] : INT64_MAX)); break;
        case 1: CHECK_OK(qc_node_set_float(g, node, key, floats[0] = random_f32(r))); break;
        case 2:
            for (int i = 0; i < 15; i++) s[i] = (char)(1 + rnd_below(r, 255));
            s[rnd_below(r, 16)] = 0;
            CHECK_OK(qc_node_set_string(g, node, key, s));
            break;
        case 3: CHECK_OK(qc_node_set_ints(g, node, key, ints, n)); break;
        /* An empty list reads back as ints (docs/ir.md), so float lists are
         * never empty here. */
        default: CHECK_OK(qc_node_set_floats(g, node, key, floats, n ? n : 1)); break;
        }
    }
}

static void add_random_node(rng *r, qc_graph *g, const int32_t *defined, int32_t n_defined,
                            int32_t *fresh, int32_t *n_fresh) {
    qc_op op = (qc_op)(1 + rnd_below(r, QC_OP_COUNT - 1));
    const qc_op_info *info = qc_op_get_info(op);
    int32_t in[8], out[4], n_in = info->min_in + rnd_below(r, 3), n_out = info->min_out + rnd_below(r, 2);
    if (n_in > info->max_in) n_in = info->max_in;
    if (n_in > 8) n_in = 8;
    if (n_out > info->max_out) n_out = info->max_out;
    for (int32_t i = 0; i < n_in; i++)
        in[i] = n_defined == 0 || rnd_below(r, 5) == 0 ? -1 : defined[rnd_below(r, n_defined)];
    for (int32_t i = 0; i < n_out; i++) {
        char name[64];
        qc_type t = random_type(r, g, true);
        fresh_name(r, g, name, sizeof name);
        CHECK_OK(qc_graph_add_value(g, name, &t, &out[i]));
        random_quant(r, g, out[i]);
        fresh[(*n_fresh)++] = out[i];
    }
    char nname[64];
    random_name(r, nname, sizeof nname);
    int32_t node = -1;
    CHECK_OK(qc_graph_add_node(g, op, rnd_below(r, 2) ? nname : NULL, in, n_in, out, n_out, &node));
    if (node >= 0) add_random_attrs(r, g, node);
}

/* Values are added in an order unlike the printed one (constants between
 * nodes), so equality is checked by name, not id. */
static qc_graph *random_graph(rng *r) {
    char name[64];
    qc_graph *g = NULL;
    random_name(r, name, sizeof name);
    CHECK_OK(qc_graph_create(name, &g));
    if (rnd_below(r, 2)) {
        random_name(r, name, sizeof name);
        CHECK_OK(qc_graph_set_batch(g, name));
    }
    int32_t defined[256], n_defined = 0;
    for (int k = rnd_below(r, 4); k > 0; k--) {
        qc_type t = random_type(r, g, true);
        fresh_name(r, g, name, sizeof name);
        CHECK_OK(qc_graph_add_value(g, name, &t, &defined[n_defined]));
        CHECK_OK(qc_graph_add_input(g, defined[n_defined]));
        random_quant(r, g, defined[n_defined++]);
    }
    for (int k = rnd_below(r, 10); k > 0; k--) {
        if (rnd_below(r, 2)) {
            add_random_const(r, g);
            defined[n_defined++] = g->n_values - 1;
        } else {
            int32_t fresh[4], n_fresh = 0;
            add_random_node(r, g, defined, n_defined, fresh, &n_fresh);
            for (int32_t i = 0; i < n_fresh; i++) defined[n_defined++] = fresh[i];
        }
    }
    for (int k = rnd_below(r, 4); k > 0 && n_defined > 0; k--)
        CHECK_OK(qc_graph_add_output(g, defined[rnd_below(r, n_defined)]));
    return g;
}

static void test_random_graphs(uint64_t seed) {
    rng r = {seed};
    int failures = 0;
    for (int i = 0; i < 300 && failures < 3; i++) {
        qc_graph *g = random_graph(&r);
        char what[64];
        snprintf(what, sizeof what, "random graph %d (seed %llu)", i, (unsigned long long)seed);
        failures += !check_round_trip(g, what);
        qc_graph_destroy(g);
    }
}

/* ---- malformed text ----------------------------------------------------------------- */

typedef struct bad_case {
    const char *text;
    const char *where;   /* "t:LINE:COL:" prefix */
    const char *msg;     /* substring of the rest */
} bad_case;

#define HDR "qcir 1\ngraph g {\n"   /* the body starts on line 3 */

static const bad_case bad_cases[] = {
    {"", "t:1:1:", "expected 'qcir' and a version at the start, found end of input"},
    {"qcir 2\ngraph g {\n}\n", "t:1:6:", "unsupported qcir version 2"},
    {"qcir 1\ngraf g {\n}\n", "t:2:1:", "expected 'graph', found 'graf'"},
    {HDR "  input x: f32[2]\n  y: f32[2] = Foo(x)\n}\n", "t:4:15:", "unknown op 'Foo'"},
    {HDR "  input x: f32[2]\n  y: f32[2] = Relu(z)\n}\n", "t:4:20:", "unknown value 'z'"},
    {HDR "  input x: f32[2]\n  input x: f32[3]\n}\n", "t:4:9:", "value 'x' defined twice"},
    {HDR "  const w: f32[2,3] = [1, 2, 3, 4, 5]\n}\n", "t:3:23:",
     "constant 'w' has 5 values, type f32[2,3] needs 6"},
    {HDR "  const w: u8[2] = [1, 300]\n}\n", "t:3:24:", "integer 300 out of range for u8 (0..255)"},
    {HDR "  input \"abc: f32[2]\n}\n", "t:3:9:", "unterminated string"},
    {HDR "  input \"a\\qb\": f32[2]\n}\n", "t:3:11:", "invalid escape '\\q' in string"},
    {HDR "  input x: f32[2] $\n}\n", "t:3:19:", "unexpected character '$'"},
    {HDR "  input x: f32[2]\n  y: f32[2] = Relu(x {\n}\n", "t:4:22:",
     "expected ')' after node inputs, found '{'"},
    {HDR "  input x: f33[2]\n}\n", "t:3:12:", "unknown element type 'f33'"},
    {HDR "  input x: f32[1,1,1,1,1,1,1,1,1]\n}\n", "t:3:32:", "at most 8 dimensions"},
    {HDR "  input x: f32[N,2]\n}\n", "t:3:16:",
     "symbolic dimension 'N' but the graph declares no batch name"},
    {"qcir 1\ngraph g batch N {\n  input x: f32[M,2]\n}\n", "t:3:16:",
     "unknown dimension 'M' (the batch dimension is 'N')"},
    {HDR "  input x: i8[2] quant(tensor, scale=[1.0, 2.0], zero=[0])\n}\n", "t:3:18:",
     "quant has 2 scales and 1 zero points"},
    {HDR "  input x: f32[2]\n  y: f32[2] = Relu(x) {a=1, a=2}\n}\n", "t:4:29:",
     "attribute 'a' given twice"},
    {HDR "  input x: f32[2]\n", "t:4:1:", "expected a statement or '}', found end of input"},
    {HDR "}\nx\n", "t:4:1:", "expected end of input after the graph, found 'x'"},
    {HDR "  input x: f32[2]\n  y: f32[2] = Relu(x) {a=9223372036854775808}\n}\n", "t:4:26:",
     "integer '9223372036854775808' does not fit in 64 bits"},
    {HDR "  const w: i32[1] = [1.5]\n}\n", "t:3:22:",
     "expected an integer (the constant is i32), found '1.5'"},
    {HDR "  const w: f32[1] [1]\n}\n", "t:3:19:", "expected '=' and the constant data, found '['"},
    {HDR "  const w: f32[1] = [12ab]\n}\n", "t:3:22:", "malformed number '12ab'"},
    {HDR "  input x: f32[-2]\n}\n", "t:3:16:", "dimension -2 is negative"},
    {HDR "  input x: f32[2]\n  y: f32[2] = Relu(x, x)\n}\n", "t:4:15:", "Relu takes 1 input, found 2"},
    {HDR "  input x: f32[2]\n  a: f32[2], b: f32[2] = Relu(x)\n}\n", "t:4:26:",
     "Relu produces 1 output, found 2"},
    {HDR "  input x: f32[2]\n  output q\n}\n", "t:4:10:", "unknown value 'q'"},
    {HDR "  const b: bool[1] = [2]\n}\n", "t:3:23:", "integer 2 out of range for bool (0..1)"},
    {HDR "  const w: f32[1] = [- 1]\n}\n", "t:3:22:", "expected a digit or 'inf' after '-'"},
    {HDR "  const w: f32[1] = [1e39]\n}\n", "t:3:22:", "number '1e39' is too large for f32"},
    {HDR "  input \"a\\x00\": f32[1]\n}\n", "t:3:11:", "'\\x00' (NUL) is not allowed in a string"},
    {HDR "  input x: f32[2]\n  _: f32[2] = Relu(x)\n}\n", "t:4:3:",
     "expected a statement or '}', found '_'"},
    {HDR "  x: f32[2] = Relu(x)\n}\n", "t:3:20:", "unknown value 'x'"},
    {HDR "  input x: f32[2]\n  a: f32[1], a: f32[1] = Split(x)\n}\n", "t:4:14:",
     "value 'a' defined twice"},
    {"qcir 1\ngraph g batch N {\n  const w: f32[N] = []\n}\n", "t:3:9:",
     "constant 'w' cannot have the symbolic dimension"},
    {HDR "  input x: i8[1] quant(tensor, scale=[1.0], zero=[0.5])\n}\n", "t:3:18:",
     "quant zero points must be integers"},
    {HDR "  input x: f32[2]\n  y: f32[2] = Relu x\n}\n", "t:4:20:",
     "expected '(' after the op name, found 'x'"},
    {HDR "  input x: f32[100000000000,100000000000]\n}\n", "t:3:12:", "more than 2^56 elements"},
    {HDR "  input x: f32[2] quant(axis=0 scale=[1.0], zero=[0])\n}\n", "t:3:32:",
     "expected ',' in quant(...), found 'scale'"},
    {HDR "  input x: f32[2]\n  y: f32[2] = Relu(x) {s=mode}\n}\n", "t:4:26:",
     "expected an attribute value (integer, float, string or list), found 'mode'"},
    {HDR "  input x: f32[2]\n  y: f32[2] = Relu(x) @\n}\n", "t:5:1:",
     "expected a node name after '@', found '}'"},
    {"qcir 1 graph g { input x: f32[2] } }", "t:1:36:", "expected end of input after the graph"},
};

static void test_malformed(void) {
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        qc_graph *g = (qc_graph *)1;
        qc_status st = parse_exact(c->text, strlen(c->text), "t", &g);
        const char *m = qc_status_message(st);
        bool ok = st && qc_status_code(st) == QC_ERR_PARSE && g == NULL &&
                  strncmp(m, c->where, strlen(c->where)) == 0 && strstr(m, c->msg);
        CHECK_MSG(ok, "case %zu: got '%s', want '%s ... %s'", i, st ? m : "success", c->where,
                  c->msg);
        qc_status_free(st);
        qc_graph_destroy(g == (qc_graph *)1 ? NULL : g);
    }
    /* NUL bytes inside len are errors, not terminators. */
    static const char nul[] = "qcir 1\ngraph g {\0}\n";
    qc_graph *g = NULL;
    qc_status st = parse_exact(nul, sizeof nul - 1, "t", &g);
    CHECK_MSG(st && strstr(qc_status_message(st), "t:2:10: unexpected byte 0x00"), "%s",
              qc_status_message(st));
    qc_status_free(st);
}

/* ---- canonical form and smaller behaviours ------------------------------------------ */

static void expect_print(const char *text, const char *want, const char *what) {
    qc_graph *g = NULL;
    qc_status st = parse_exact(text, strlen(text), what, &g);
    CHECK_MSG(!st, "%s: %s", what, qc_status_message(st));
    if (!st) {
        char *got = print(g);
        CHECK_MSG(got && strcmp(got, want) == 0, "%s printed as:\n%s\nwanted:\n%s", what, got, want);
        free(got);
    }
    qc_status_free(st);
    qc_graph_destroy(g);
}

static void test_canonical_form(void) {
    expect_print("# leading comment\r\nqcir   1 # version\n"
                 "graph \"g\"{input \"x\":f32[2]   # a quoted plain name\n"
                 "const c:f32[2]=[1.50,2e0]\n"
                 "y:f32[2]=Add(x,c){}@y\n"
                 "z: f32[2] = Mul(y, c) {alpha = 1, beta=[1, 2.5], gamma=[], d=-0.0, e=1e3}\n"
                 "output y\noutput z}\n# trailing comment",
                 "qcir 1\ngraph g {\n  input x: f32[2]\n  const c: f32[2] = [1.5, 2]\n"
                 "  y: f32[2] = Add(x, c)\n"
                 "  z: f32[2] = Mul(y, c) {alpha=1, beta=[1.0, 2.5], gamma=[], d=-0.0, e=1000.0}\n"
                 "  output y, z\n}\n",
                 "non-canonical text");
    /* Keyword names are quoted; the batch name is quoted in dims too. */
    expect_print("qcir 1 graph \"input\" batch \"my batch\" { input \"const\": f32[\"my batch\"] "
                 "input \"a-b\": u4[] output \"const\", \"a-b\" }",
                 "qcir 1\ngraph \"input\" batch \"my batch\" {\n  input \"const\": f32[\"my batch\"]\n"
                 "  input \"a-b\": u4[]\n  output \"const\", \"a-b\"\n}\n",
                 "quoted names");
}

static void test_misc(void) {
    /* Only len bytes are read: what follows is not part of the text. */
    static const char tail[] = "qcir 1\ngraph g {\n}\nGARBAGE";
    qc_graph *g = NULL;
    qc_status st = parse_exact(tail, sizeof tail - 8, "t", &g);
    CHECK_MSG(!st && g && g->n_values == 0, "%s", qc_status_message(st));
    qc_status_free(st);
    qc_graph_destroy(g);

    /* An empty list is an int list; a list with any float is a float list. */
    static const char lists[] =
        "qcir 1 graph g { input x: f32[2] y: f32[2] = Relu(x) {e=[], m=[1, 2.5]} output y }";
    g = NULL;
    st = parse_exact(lists, sizeof lists - 1, "t", &g);
    CHECK_MSG(!st, "%s", qc_status_message(st));
    if (!st) {
        const qc_attr *e = qc_node_attr(&g->nodes[0], "e"), *m = qc_node_attr(&g->nodes[0], "m");
        CHECK(e && e->kind == QC_ATTR_INTS && e->n == 0);
        CHECK(m && m->kind == QC_ATTR_FLOATS && m->n == 2 && m->floats[0] == 1.0f &&
              m->floats[1] == 2.5f);
    }
    qc_status_free(st);
    qc_graph_destroy(g);

    /* Omitted output types come from op inference, which names the node and
     * points at the statement when it fails. */
    static const char omitted[] =
        "qcir 1\ngraph g {\n  input x: f32[2,3]\n  y = Relu(x) @r\n  output y\n}\n";
    g = NULL;
    st = parse_exact(omitted, sizeof omitted - 1, "t", &g);
    if (!st) {
        qc_type want = {.dtype = QC_F32, .rank = 2, .dims = {2, 3}};
        CHECK(qc_type_equal(&g->values[qc_graph_find_value(g, "y")].type, &want));
    } else {
        CHECK_MSG(strstr(qc_status_message(st), "t:4:3: node 'r' (Relu)"), "%s",
                  qc_status_message(st));
        printf("note: inference for Relu not available yet: %s\n", qc_status_message(st));
    }
    qc_status_free(st);
    qc_graph_destroy(g);

    /* Output lists are bounded by the widest op (Split: 64), so hostile input
     * cannot make the duplicate-name check quadratic. */
    char many[2048] = "qcir 1\ngraph g {\n  input x: f32[65]\n  o0";
    for (int i = 1; i < 65; i++) snprintf(many + strlen(many), 16, ", o%d", i);
    strcat(many, " = Split(x)\n  output o0\n}\n");
    g = NULL;
    st = parse_exact(many, strlen(many), "t", &g);
    CHECK_MSG(st && strstr(qc_status_message(st), "t:4:") &&
                  strstr(qc_status_message(st), "too many node outputs (no op has more than 64)"),
              "%s", qc_status_message(st));
    qc_status_free(st);

    /* Files: missing or unreadable ones are I/O errors naming the path and
     * the reason. */
    st = qc_graph_parse_file("tests/ir/no-such-file.qcir", &g);
    CHECK(qc_status_code(st) == QC_ERR_IO && g == NULL);
    CHECK_MSG(strstr(qc_status_message(st), "tests/ir/no-such-file.qcir") &&
                  strstr(qc_status_message(st), strerror(ENOENT)),
              "%s", qc_status_message(st));
    qc_status_free(st);
    st = qc_graph_parse_file("tests/ir", &g);
    CHECK_MSG(qc_status_code(st) == QC_ERR_IO && g == NULL &&
                  strstr(qc_status_message(st), "'tests/ir'"),
              "%s", qc_status_message(st));
    qc_status_free(st);

    /* qc_graph_print writes what qc_graph_print_string returns; untyped
     * outputs print without a type. */
    CHECK_OK(qc_graph_create("p", &g));
    qc_type t = {.dtype = QC_F32, .rank = 1, .dims = {2}}, undef = {0};
    int32_t x, y;
    CHECK_OK(qc_graph_add_value(g, "x", &t, &x));
    CHECK_OK(qc_graph_add_input(g, x));
    CHECK_OK(qc_graph_add_value(g, "y", &undef, &y));
    CHECK_OK(qc_graph_add_node(g, QC_OP_RELU, NULL, &x, 1, &y, 1, NULL));
    CHECK_OK(qc_graph_add_output(g, y));
    FILE *f = tmpfile();
    CHECK_OK(qc_graph_print(g, f));
    char buf[256] = "";
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    CHECK_MSG(strcmp(buf, "qcir 1\ngraph p {\n  input x: f32[2]\n  y = Relu(x)\n  output y\n}\n") == 0,
              "%s", buf);
    qc_graph_destroy(g);
}

int main(void) {
    uint64_t seed = qc_test_seed("test_ir_text");
    rng r = {seed ^ 0x5eed};
    test_sample_files(&r);
    test_random_graphs(seed);
    test_malformed();
    test_canonical_form();
    test_misc();
    return qc_test_summary("test_ir_text");
}
