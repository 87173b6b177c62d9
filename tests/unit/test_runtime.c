/* test_runtime.c — the runtime (libqcrt) against the graph interpreter.
 *
 * Every tests/ops/cases case (but expect_error ones) and the tests/models
 * models are compiled in memory (qc_compile_jit: verify, plan, serialize,
 * load through the artifact loader) and run through qc_session_run on the
 * ref device; outputs must be bit-identical to qc_ref_run on the graph.
 * Also: the public API's introspection, caller buffers, named runs, batch
 * binding, errors, and 4 threads running sessions of one model at once.
 * argv[1], if given, filters case and model names. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "frontend/onnx/onnx.h"
#include "ir/dtype.h"
#include "qc_test.h"
#include "qcomp/qcomp.h"
#include "runtime/hal.h"
#include "tools/npy.h"

#define MAX_IO 16

static size_t tensor_bytes(const qc_tensor *t) {
    return qc_dtype_bytes(t->desc.dtype, qc_type_numel(&t->desc));
}

static bool same_tensor(const qc_tensor *a, const qc_tensor *b) {
    return qc_type_equal(&a->desc, &b->desc) &&
           (tensor_bytes(a) == 0 || !memcmp(a->data, b->data, tensor_bytes(a)));
}

static bool file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* Runs g on the interpreter and through the runtime; 1 if bit-identical. */
static int check_graph(qc_runtime *rt, const char *what, const qc_graph *g, const qc_tensor *in,
                       int n_in) {
    qc_tensor want[MAX_IO] = {0}, got[MAX_IO] = {0};
    int n_out = g->n_outputs, ok = 1;
    if (n_out > MAX_IO) return 1;
    qc_status st = qc_ref_run(g, in, n_in, want, n_out);
    if (st) {   /* the interpreter's own tests cover its failures */
        qc_status_free(st);
        return 1;
    }
    qc_model *m = NULL;
    qc_session *s = NULL;
    st = qc_compile_jit(rt, g, &m);
    if (!st) st = qc_session_create(m, NULL, &s);
    if (!st) st = qc_session_run(s, in, n_in, got, n_out);
    if (st) {
        fprintf(stderr, "FAIL %s: %s\n", what, qc_status_message(st));
        qc_status_free(st);
        ok = 0;
    } else {
        for (int i = 0; i < n_out; i++)
            if (!same_tensor(&want[i], &got[i])) {
                fprintf(stderr, "FAIL %s: output %d differs from qc_ref_run\n", what, i);
                ok = 0;
            }
    }
    for (int i = 0; i < n_out; i++) {
        qc_tensor_release(&want[i]);
        qc_tensor_release(&got[i]);
    }
    qc_session_destroy(s);
    qc_model_release(m);
    return ok;
}

static int read_inputs(const char *dir, const char *prefix, int n, qc_tensor *in) {
    for (int i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s%d.npy", dir, prefix, i);
        qc_status st = qc_npy_read(path, &in[i]);
        if (st) {
            fprintf(stderr, "%s: %s\n", path, qc_status_message(st));
            qc_status_free(st);
            for (int k = 0; k < i; k++) qc_tensor_release(&in[k]);
            return 0;
        }
    }
    return 1;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **list_dir(const char *root, size_t *n) {
    DIR *d = opendir(root);
    char **names = NULL;
    *n = 0;
    if (!d) return NULL;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        names = realloc(names, (*n + 1) * sizeof *names);
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    if (names) qsort(names, *n, sizeof *names, cmp_str);
    return names;
}

static void test_op_cases(qc_runtime *rt, const char *filter) {
    size_t n;
    char **names = list_dir("tests/ops/cases", &n);
    CHECK_MSG(n > 0, "no op cases found (run from the source root)");
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        char dir[1024], path[2048];
        snprintf(dir, sizeof dir, "tests/ops/cases/%s", names[i]);
        snprintf(path, sizeof path, "%s/expect_error", dir);
        if ((filter && !strstr(names[i], filter)) || file_exists(path)) {
            free(names[i]);
            continue;
        }
        snprintf(path, sizeof path, "%s/model.qcir", dir);
        qc_graph *g = NULL;
        qc_tensor in[MAX_IO] = {0};
        qc_status st = qc_graph_parse_file(path, &g);
        if (!st) st = qc_graph_verify(g);
        if (st) {
            qc_status_free(st);   /* test_ops reports broken cases */
        } else if (g->n_inputs <= MAX_IO && read_inputs(dir, "input_", g->n_inputs, in)) {
            CHECK_MSG(check_graph(rt, names[i], g, in, g->n_inputs), "case %s", names[i]);
            ran++;
            for (int k = 0; k < g->n_inputs; k++) qc_tensor_release(&in[k]);
        }
        qc_graph_destroy(g);
        free(names[i]);
    }
    free(names);
    printf("op cases through the runtime: %d\n", ran);
}

static qc_graph *import_model(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "tests/models/%s/model.onnx", name);
    qc_graph *g = NULL;
    qc_status st = qc_onnx_import_file(path, NULL, &g);
    if (!st) st = qc_graph_verify(g);
    if (st) {
        fprintf(stderr, "%s: %s\n", path, qc_status_message(st));
        qc_status_free(st);
        qc_graph_destroy(g);
        return NULL;
    }
    return g;
}

static void test_models(qc_runtime *rt, const char *filter) {
    static const char *const required[] = {"seed_fnn", "digits_cnn", "digits_cnn_qdq",
                                           "transformer_block"};
    size_t n;
    char **names = list_dir("tests/models", &n);
    for (size_t i = 0; i < n; i++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "tests/models/%s/model.onnx", names[i]);
        bool want = !filter || strstr(names[i], filter);
        bool req = false;
        for (size_t k = 0; k < sizeof required / sizeof required[0]; k++)
            req |= !strcmp(required[k], names[i]);
        if (want && file_exists(dir)) {
            qc_graph *g = import_model(names[i]);
            qc_tensor in[MAX_IO] = {0};
            snprintf(dir, sizeof dir, "tests/models/%s", names[i]);
            if (!g) {
                CHECK_MSG(!req, "model %s did not import", names[i]);
            } else if (g->n_inputs <= MAX_IO && read_inputs(dir, "input_", g->n_inputs, in)) {
                CHECK_MSG(check_graph(rt, names[i], g, in, g->n_inputs), "model %s", names[i]);
                /* Optimized (fused, in-place planned): still bit-identical
                 * to the interpreter on the same optimized graph. */
                char what[300];
                snprintf(what, sizeof what, "%s (optimized)", names[i]);
                qc_status ost = qc_compile_optimize(g);
                CHECK_MSG(!ost, "optimizing %s: %s", names[i], qc_status_message(ost));
                qc_status_free(ost);
                if (!ost) CHECK_MSG(check_graph(rt, what, g, in, g->n_inputs), "%s", what);
                printf("model %s: runtime == ref (plain and optimized)\n", names[i]);
                for (int k = 0; k < g->n_inputs; k++) qc_tensor_release(&in[k]);
            }
            qc_graph_destroy(g);
        } else if (want) {
            CHECK_MSG(!req, "model %s missing", names[i]);
        }
        free(names[i]);
    }
    free(names);
}

/* ---- API behaviour on seed_fnn (f32[N,200] -> f32[N,1]) --------------------- */

typedef struct thread_job {
    qc_model *m;
    const qc_tensor *in;
    const qc_tensor *want;
    int iters, ok;
} thread_job;

static void *thread_main(void *arg) {
    thread_job *j = arg;
    qc_session *s = NULL;
    qc_status st = qc_session_create(j->m, NULL, &s);
    j->ok = !st;
    for (int i = 0; !st && i < j->iters; i++) {
        qc_tensor out = {0};
        st = qc_session_run(s, j->in, 1, &out, 1);
        if (!st && !same_tensor(&out, j->want)) j->ok = 0;
        qc_tensor_release(&out);
    }
    if (st) {
        fprintf(stderr, "thread: %s\n", qc_status_message(st));
        j->ok = 0;
        qc_status_free(st);
    }
    qc_session_destroy(s);
    return NULL;
}

static void expect_error(qc_status st, const char *text) {
    CHECK_MSG(st && strstr(qc_status_message(st), text), "expected an error with '%s', got '%s'",
              text, st ? qc_status_message(st) : "success");
    qc_status_free(st);
}

static void test_api(qc_runtime *rt) {
    qc_graph *g = import_model("seed_fnn");
    CHECK(g != NULL);
    if (!g) return;
    qc_tensor in = {0}, want = {0};
    CHECK_OK(qc_npy_read("tests/models/seed_fnn/input_0.npy", &in));
    CHECK_OK(qc_ref_run(g, &in, 1, &want, 1));
    qc_model *m = NULL;
    CHECK_OK(qc_compile_jit(rt, g, &m));
    if (!m || !in.data || !want.data) goto done;

    CHECK(qc_model_input_count(m) == 1 && qc_model_output_count(m) == 1);
    CHECK(!strcmp(qc_model_input_name(m, 0), "input"));
    CHECK(!strcmp(qc_model_output_name(m, 0), "output"));
    CHECK(qc_model_input_name(m, 1) == NULL && qc_model_output_desc(m, -1) == NULL);
    CHECK(qc_model_find_input(m, "input") == 0 && qc_model_find_input(m, "nope") == -1);
    CHECK(qc_model_find_output(m, "output") == 0);
    const qc_tensor_desc *d = qc_model_input_desc(m, 0);
    CHECK(d && d->dtype == QC_F32 && d->rank == 2 && d->dims[0] == QC_DIM_SYM && d->dims[1] == 200);
    CHECK(qc_model_batch_name(m) != NULL);

    /* Runtime-allocated output, then a caller buffer, then a wrong one. */
    qc_session *s = NULL;
    CHECK_OK(qc_session_create(m, NULL, &s));
    CHECK(qc_session_batch(s) == -1);
    qc_tensor out = {0};
    CHECK_OK(qc_session_run(s, &in, 1, &out, 1));
    CHECK(same_tensor(&out, &want));
    CHECK(qc_session_batch(s) == 1000);
    memset(out.data, 0, tensor_bytes(&out));
    CHECK_OK(qc_session_run(s, &in, 1, &out, 1));
    CHECK(same_tensor(&out, &want));
    out.desc.dims[0] = 999;
    expect_error(qc_session_run(s, &in, 1, &out, 1), "output 'output'");
    out.desc.dims[0] = 1000;

    /* Named run, outputs by name. */
    const char *in_names[] = {"input"}, *out_names[] = {"output"}, *bad[] = {"nope"};
    qc_tensor out2 = {0};
    CHECK_OK(qc_session_run_named(s, in_names, &in, 1, out_names, &out2, 1));
    CHECK(same_tensor(&out2, &want));
    qc_tensor_release(&out2);
    expect_error(qc_session_run_named(s, bad, &in, 1, out_names, &out2, 1), "no input 'nope'");
    CHECK(out2.data == NULL);

    /* Errors name the API call and the tensor. */
    expect_error(qc_session_run(s, &in, 0, &out2, 1), "takes 1 inputs");
    qc_tensor wrong = in;
    wrong.desc.dtype = QC_F16;
    expect_error(qc_session_run(s, &wrong, 1, &out2, 1), "input 'input'");
    wrong = in;
    wrong.desc.dims[1] = 201;
    expect_error(qc_session_run(s, &wrong, 1, &out2, 1), "input 'input'");

    /* A smaller batch rebinds (first rows of the same input). */
    qc_tensor in3 = in, want3 = {0}, out3 = {0};
    in3.desc.dims[0] = 3;
    CHECK_OK(qc_ref_run(g, &in3, 1, &want3, 1));
    CHECK_OK(qc_session_run(s, &in3, 1, &out3, 1));
    CHECK(want3.data && out3.data && same_tensor(&out3, &want3));
    CHECK(qc_session_batch(s) == 3);
    qc_tensor_release(&out3);
    qc_session_destroy(s);

    /* A fixed batch rejects other batches. */
    qc_session_options so;
    qc_session_options_init(&so);
    so.batch = 3;
    CHECK_OK(qc_session_create(m, &so, &s));
    expect_error(qc_session_run(s, &in, 1, &out3, 1), "dim 0 is 1000");
    CHECK_OK(qc_session_run(s, &in3, 1, &out3, 1));
    CHECK(out3.data && same_tensor(&out3, &want3));
    qc_tensor_release(&out3);
    qc_tensor_release(&want3);
    qc_session_destroy(s);

    /* Sessions of one model on 4 threads at once. */
    enum { N_THREADS = 4 };
    pthread_t th[N_THREADS];
    thread_job jobs[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        jobs[i] = (thread_job){m, &in, &want, 8, 0};
        CHECK(pthread_create(&th[i], NULL, thread_main, &jobs[i]) == 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_MSG(jobs[i].ok, "thread %d", i);
    }

    /* The model outlives its creator's reference while a session holds it. */
    CHECK_OK(qc_session_create(m, NULL, &s));
    qc_model_release(m);
    m = NULL;
    CHECK_OK(qc_session_run(s, &in, 1, &out, 1));
    CHECK(same_tensor(&out, &want));
    qc_session_destroy(s);

    /* The image round-trips through a file and borrowed memory. */
    void *img = NULL;
    size_t len = 0;
    CHECK_OK(qc_compile_to_memory(g, &img, &len));
    if (img) {
        char path[] = "/tmp/qc_test_runtime_XXXXXX";
        int fd = mkstemp(path);
        FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
        CHECK(f && fwrite(img, 1, len, f) == len);
        if (f) fclose(f);
        qc_model *m2 = NULL, *m3 = NULL;
        CHECK_OK(qc_model_load_file(rt, path, &m2));
        CHECK_OK(qc_model_load_memory(rt, img, len, QC_LOAD_BORROW, &m3));
        qc_model *ms[] = {m2, m3};
        for (int i = 0; i < 2; i++) {
            if (!ms[i]) continue;
            CHECK_OK(qc_session_create(ms[i], NULL, &s));
            memset(out.data, 0, tensor_bytes(&out));
            CHECK_OK(qc_session_run(s, &in, 1, &out, 1));
            CHECK(same_tensor(&out, &want));
            qc_session_destroy(s);
            qc_model_release(ms[i]);
        }
        remove(path);
        expect_error(qc_model_load_file(rt, path, &m2), path);
        expect_error(qc_model_load_memory(rt, img, len / 2, QC_LOAD_COPY, &m2), "");
        CHECK(m2 == NULL);
        free(img);
    }
    qc_tensor_release(&out);
done:
    qc_model_release(m);
    qc_tensor_release(&in);
    qc_tensor_release(&want);
    qc_graph_destroy(g);
}

static void test_runtime_create(void) {
    qc_runtime *rt = NULL;
    qc_runtime_options o;
    qc_runtime_options_init(&o);
    o.backend = "no-such-device";
    expect_error(qc_runtime_create(&o, &rt), "available: ref");
    CHECK(rt == NULL);
    o.backend = NULL;
    o.threads = 3;
    CHECK_OK(qc_runtime_create(&o, &rt));
    if (rt) {
        CHECK(qc_runtime_thread_count(rt) == 3);
        CHECK(qc_runtime_device_name(rt) != NULL);
    }
    qc_runtime_destroy(rt);
    CHECK(qc_runtime_device_count() >= 1 && !strcmp(qc_runtime_device_at(0), "ref"));
    CHECK(qc_runtime_device_at(qc_runtime_device_count()) == NULL);
}

/* The HAL directly: registry choice and the ref device's memory ops. */
static void test_hal(void) {
    const qc_hal_driver *drv = NULL;
    qc_device *dev = NULL;
    CHECK_OK(qc_hal_open(NULL, NULL, &drv, &dev));   /* best available */
    CHECK(drv && dev);
    if (dev) drv->destroy(dev);
    CHECK_OK(qc_hal_open("ref", NULL, &drv, &dev));
    if (!dev) return;
    CHECK(!strcmp(drv->name, "ref") && drv->target == 1);
    qc_hal_buffer a = {0}, b = {0};
    CHECK_OK(drv->alloc(dev, 100, &a));
    CHECK_OK(drv->alloc(dev, 100, &b));
    CHECK(a.host && ((uintptr_t)a.host % 64) == 0 && a.size == 100);
    uint8_t src[100], dst[100];
    for (int i = 0; i < 100; i++) src[i] = (uint8_t)i;
    qc_hal_copy c1 = {.kind = QC_COPY_H2D, .dst = &a, .dst_off = 10, .host_src = src, .bytes = 50};
    qc_hal_copy c2 = {.kind = QC_COPY_D2D, .dst = &b, .dst_off = 0, .src = &a, .src_off = 10,
                      .bytes = 50};
    qc_hal_copy c3 = {.kind = QC_COPY_D2H, .host_dst = dst, .src = &b, .src_off = 0, .bytes = 50};
    CHECK_OK(drv->copy(dev, &c1));
    CHECK_OK(drv->copy(dev, &c2));
    CHECK_OK(drv->copy(dev, &c3));
    CHECK(!memcmp(src, dst, 50));
    CHECK_OK(drv->sync(dev));
    drv->free(dev, &a);
    drv->free(dev, &b);
    CHECK(a.host == NULL);
    drv->destroy(dev);
    qc_status st = qc_hal_open("nope", NULL, &drv, &dev);
    CHECK(st && qc_status_code(st) == QC_ERR_NOT_FOUND && strstr(qc_status_message(st), "ref"));
    qc_status_free(st);
    CHECK(dev == NULL && drv == NULL);
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    test_runtime_create();
    test_hal();
    qc_runtime_options o;
    qc_runtime_options_init(&o);
    o.backend = "ref";
    qc_runtime *rt = NULL;
    CHECK_OK(qc_runtime_create(&o, &rt));
    if (!rt) return 1;
    if (!filter) test_api(rt);
    test_op_cases(rt, filter);
    test_models(rt, filter);
    qc_runtime_destroy(rt);
    return qc_test_summary("runtime");
}
