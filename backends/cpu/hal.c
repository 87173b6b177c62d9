/* hal.c — the cpu device: host memory (as the ref device), nodes with a
 * generated kernel split over the runtime's thread pool, the rest run by
 * the ref kernels (qc_hal_ref_launch), so a model whose ops are only partly
 * generated still runs, and its fallback nodes are bit-identical to ref.
 *
 * Per model (model_open): the kernel table validated (hal_ktable.c), the
 * host checked for the required features, the code found — the JIT's
 * in-process provider, else the SO section loaded with dlopen from a memfd —
 * and every symbol resolved once. That state lives with the model, so the
 * device itself keeps none and concurrent models/sessions need no locks. */
#define _GNU_SOURCE 1   /* memfd_create */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "backends/cpu/hal_ktable.h"
#include "ir/dtype.h"
#include "passes/row_chain.h"
#include "runtime/hal.h"

#define CPU_MAX_IO 64
/* A node whose estimated work (units * the table's cost per unit) is below
 * this runs on the calling thread: handing a job to the pool and waiting for
 * it costs a few us (measured on the seed FNN, docs/backend-cpu.md), more
 * than splitting such a node saves. */
#define QC_CPU_INLINE_PS INT64_C(4000000)
/* A chain (chain.c) runs in blocks of batch rows whose arena footprint is
 * about this much, so a block's intermediates stay in L1/L2 from one node to
 * the next; at least two blocks per thread keep the pool balanced. */
#define QC_CPU_CHAIN_BLOCK_BYTES 49152
#define QC_CPU_CHAIN_MAX_NODES 64
#define QC_CPU_CHAIN_MAX_IO 1024
/* The most block scratch one worker gets (values internal to a chain). */
#define QC_CPU_CHAIN_SCRATCH_MAX (INT64_C(1) << 20)

struct qc_device {
    qc_threadpool *pool;
};

typedef struct cpu_kernel {
    qc_cpu_kernel_fn fn;      /* NULL: ref fallback */
    int64_t units_a, units_b, grain;
    uint32_t cost_ps;         /* estimated ps per unit; 0 = unknown */
    const void *packed;
    uint32_t chain;           /* head of a chain of this many nodes, or 0 */
    uint32_t row_bytes;
    struct chain_plan *cp;    /* chain head: where its internal values live */
    bool in_chain;            /* a chain's non-head node: its head runs it */
} cpu_kernel;

typedef struct chain_plan chain_plan;
static qc_status chain_plan_make(const qc_model_data *m, int32_t head, int32_t len,
                                 chain_plan **out);
static void chain_plan_free(chain_plan *cp);

/* QC_CPU_PROFILE=1 (read at model load): each node's launch is timed and,
 * when the model closes, its mean and last time are printed to stderr with
 * the node's units and the chunking used. A diagnostic only: the counters
 * are relaxed atomics, so concurrent sessions of one model just sum up. */
typedef struct cpu_prof {
    _Atomic int64_t ns_total, ns_last, runs;
} cpu_prof;

typedef struct cpu_model {
    int32_t n;
    cpu_kernel *k;
    void *dl;                 /* dlopen handle (AOT), or NULL */
    cpu_prof *prof;           /* [n], or NULL when not profiling */
    int64_t inline_ps;        /* nodes with less estimated work run inline */
    int64_t chain_bytes;      /* a chain block's target arena footprint */
    const qc_model_data *m;   /* for the profile's node names */
} cpu_model;

static qc_status cpu_create(const qc_hal_create_params *params, qc_device **out) {
#if !(defined(__x86_64__))
    (void)params;
    *out = NULL;
    return qc_error(QC_ERR_UNSUPPORTED, "cpu device: generated code is x86-64 only");
#else
    qc_device *d = calloc(1, sizeof *d);
    if (!d) return qc_error(QC_ERR_NOMEM, "cpu device: out of memory");
    d->pool = params ? params->pool : NULL;
    *out = d;
    return NULL;
#endif
}

static void cpu_destroy(qc_device *d) { free(d); }

/* Host memory, exactly the ref device's (reused, not copied). */
static qc_status cpu_alloc(qc_device *d, size_t bytes, qc_hal_buffer *out) {
    (void)d;
    return qc_hal_ref_driver.alloc(NULL, bytes, out);
}
static void cpu_free(qc_device *d, qc_hal_buffer *buf) {
    (void)d;
    qc_hal_ref_driver.free(NULL, buf);
}
static qc_status cpu_copy(qc_device *d, const qc_hal_copy *c) {
    (void)d;
    return qc_hal_ref_driver.copy(NULL, c);
}

static qc_status check_code(const qc_model_data *m, const qc_cpu_ktable *t) {
    qc_status st = qc_cpu_check_host(t->features, t->cpu);
    if (st || !t->n_generated) return st;
    bool jit = m->code.lookup && m->code.target == QC_TARGET_CPU;
    if (!jit && !t->so)
        return qc_error(QC_ERR_INVALID,
                        "cpu: %d generated kernels but no SO section (a JIT image from another "
                        "process?)", (int)t->n_generated);
    if (t->so && (t->so_len < 64 || memcmp(t->so, "\177ELF", 4)))
        return qc_error(QC_ERR_INVALID, "cpu SO section: not an ELF file");
    return NULL;
}

/* A model compiled without cpu code runs here entirely on the ref kernels,
 * so "best available" (cpu) still runs every artifact ref runs. */
static bool has_cpu_code(const qc_model_data *m) { return (m->targets >> QC_TARGET_CPU) & 1u; }

static qc_status cpu_check_model(qc_device *d, const qc_model_data *m) {
    (void)d;
    qc_cpu_ktable t = {0};
    qc_status st = has_cpu_code(m) ? qc_cpu_ktable_parse(m, &t) : NULL;
    if (st) return st;
    for (int32_t i = 0; i < m->n_nodes && !st; i++) {
        const qc_node *n = &m->nodes[i];
        if (!qc_op_get_info(n->op)) st = qc_node_error(n, QC_ERR_UNSUPPORTED, "unknown op");
        else if (n->n_in > CPU_MAX_IO || n->n_out > CPU_MAX_IO)
            st = qc_node_error(n, QC_ERR_UNSUPPORTED, "more than %d inputs or outputs", CPU_MAX_IO);
    }
    if (!st && has_cpu_code(m)) st = check_code(m, &t);
    qc_cpu_ktable_free(&t);
    return st;
}

/* The SO section as a file only this process sees, opened with dlopen. */
static qc_status load_so(const qc_cpu_ktable *t, void **out) {
    *out = NULL;
    int fd = (int)memfd_create("qcomp-kernels.so", MFD_CLOEXEC);
    if (fd < 0) return qc_error(QC_ERR_IO, "cpu: memfd_create failed: %s", strerror(errno));
    size_t done = 0;
    while (done < t->so_len) {
        ssize_t w = write(fd, t->so + done, t->so_len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            close(fd);
            return qc_error(QC_ERR_IO, "cpu: writing the shared object to a memfd failed");
        }
        done += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    /* RTLD_LOCAL: two models' kernels never see each other's symbols. */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    qc_status st = NULL;
    if (!h) {
        const char *e = dlerror();
        st = qc_error(QC_ERR_INVALID, "cpu SO section: dlopen failed: %s", e ? e : "?");
    }
    close(fd);   /* the mapping keeps the code */
    *out = h;
    return st;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void print_profile(const cpu_model *cm) {
    int64_t runs = cm->n ? atomic_load(&cm->prof[0].runs) : 0;
    fprintf(stderr, "QC_CPU_PROFILE: %lld runs; per node mean / last in us\n", (long long)runs);
    double sum_mean = 0, sum_last = 0;
    for (int32_t i = 0; i < cm->n; i++) {
        const cpu_prof *p = &cm->prof[i];
        int64_t r = atomic_load(&p->runs);
        double mean = r ? (double)atomic_load(&p->ns_total) / (double)r / 1e3 : 0;
        double last = (double)atomic_load(&p->ns_last) / 1e3;
        sum_mean += mean;
        sum_last += last;
        const qc_node *n = i < cm->m->n_nodes ? &cm->m->nodes[i] : NULL;
        const qc_op_info *oi = n ? qc_op_get_info(n->op) : NULL;
        const cpu_kernel *k = &cm->k[i];
        char chain[48] = "";
        if (k->chain) snprintf(chain, sizeof chain, ", chain of %u nodes", k->chain);
        if (k->in_chain) snprintf(chain, sizeof chain, ", in the chain above");
        fprintf(stderr, "  %3d %-18s %9.2f %9.2f  %s%s\n", (int)i, oi ? oi->name : "?", mean, last,
                k->fn ? "generated" : "ref", chain);
    }
    fprintf(stderr, "  sum                    %9.2f %9.2f\n", sum_mean, sum_last);
}

static void cpu_model_close(qc_device *d, void *state) {
    (void)d;
    cpu_model *cm = state;
    if (!cm) return;
    if (cm->prof) print_profile(cm);
    if (cm->dl) dlclose(cm->dl);
    for (int32_t i = 0; cm->k && i < cm->n; i++) chain_plan_free(cm->k[i].cp);
    free(cm->prof);
    free(cm->k);
    free(cm);
}

static qc_status cpu_model_open(qc_device *d, const qc_model_data *m, void **state) {
    *state = NULL;
    if (!has_cpu_code(m)) return NULL;   /* every node on ref */
    qc_cpu_ktable t;
    qc_status st = qc_cpu_ktable_parse(m, &t);
    if (!st) st = check_code(m, &t);
    cpu_model *cm = st ? NULL : calloc(1, sizeof *cm);
    if (!st && cm) cm->k = calloc((size_t)t.n + 1, sizeof *cm->k);
    if (!st && (!cm || !cm->k)) st = qc_error(QC_ERR_NOMEM, "cpu: out of memory");
    bool jit = m->code.lookup && m->code.target == QC_TARGET_CPU;
    if (!st && t.n_generated && !jit) st = load_so(&t, &cm->dl);
    for (int32_t i = 0; !st && i < t.n; i++) {
        const qc_cpu_kentry *e = &t.e[i];
        cpu_kernel *k = &cm->k[i];
        if (e->kind != QC_CPU_KT_GENERATED) continue;
        void *fn = jit ? m->code.lookup(m->code.ctx, e->symbol) : dlsym(cm->dl, e->symbol);
        if (!fn) {
            st = qc_error(QC_ERR_INVALID, "cpu: node %d: kernel symbol '%s' is not in the %s",
                          (int)i, e->symbol, jit ? "JIT" : "SO section");
            break;
        }
        /* Object pointer -> function pointer: POSIX guarantees dlsym's works. */
        memcpy(&k->fn, &fn, sizeof fn);
        k->units_a = e->units_a;
        k->units_b = e->units_b;
        k->grain = e->grain;
        k->cost_ps = e->cost_ps;
        k->packed = e->packed;
    }
    /* QC_CPU_CHAIN=0 runs chains node by node (a diagnostic knob). */
    const char *ce = getenv("QC_CPU_CHAIN");
    bool chains = !ce || strcmp(ce, "0") != 0;
    for (int32_t i = 0; !st && chains && i < t.n; i++) {
        uint32_t len = t.e[i].chain;
        if (len < 2 || len > QC_CPU_CHAIN_MAX_NODES) continue;
        st = chain_plan_make(m, i, (int32_t)len, &cm->k[i].cp);
        if (st) break;
        cm->k[i].chain = len;
        cm->k[i].row_bytes = t.e[i].row_bytes;
        for (uint32_t j = 1; j < len; j++) cm->k[i + (int32_t)j].in_chain = true;
        i += (int32_t)len - 1;
    }
    if (cm) cm->n = t.n;
    if (!st && cm) {
        const char *pe = getenv("QC_CPU_PROFILE");
        cm->m = m;
        const char *ie = getenv("QC_CPU_INLINE_US");   /* a tuning knob, undocumented */
        cm->inline_ps = ie ? (int64_t)(atof(ie) * 1e6) : QC_CPU_INLINE_PS;
        const char *be = getenv("QC_CPU_CHAIN_BYTES");   /* a tuning knob (backend-cpu.md) */
        cm->chain_bytes = be && atoll(be) > 0 ? atoll(be) : QC_CPU_CHAIN_BLOCK_BYTES;
        if (pe && *pe && strcmp(pe, "0") != 0) {
            cm->prof = calloc((size_t)t.n + 1, sizeof *cm->prof);
            if (!cm->prof) st = qc_error(QC_ERR_NOMEM, "cpu: out of memory");
        }
    }
    qc_cpu_ktable_free(&t);
    if (st) {
        cpu_model_close(d, cm);
        return st;
    }
    *state = cm;
    return NULL;
}

/* ---- launch ------------------------------------------------------------------------ */

typedef struct job {
    qc_cpu_kernel_fn fn;
    const qc_cpu_kargs *args;
    int64_t units, grain;
} job;

static void run_chunk(void *ctx, int64_t begin, int64_t end, int32_t worker) {
    (void)worker;
    const job *j = ctx;
    int64_t b = begin * j->grain, e = end * j->grain;
    if (e > j->units) e = j->units;
    if (b < e) j->fn(j->args, b, e);
}

/* Node ni's kernel arguments: in/out get its buffers' addresses. */
static qc_cpu_kargs node_args(const qc_hal_launch *l, const cpu_kernel *k, int32_t ni, void **in,
                              void **out) {
    const qc_model_data *m = l->model;
    const qc_node *n = &m->nodes[ni];
    uint8_t *arena = l->arena->host;
    for (int32_t i = 0; i < n->n_in; i++) {
        int32_t v = n->in[i];
        const qc_rt_value *rv = v >= 0 ? &m->values[v] : NULL;
        const void *bound = rv && l->host_values ? l->host_values[v] : NULL;
        in[i] = !rv        ? NULL
                : rv->data ? (void *)rv->data
                : bound    ? (void *)(uintptr_t)bound   /* read only: an input bound in place */
                           : arena + rv->off_a + rv->off_b * l->batch;
    }
    for (int32_t i = 0; i < n->n_out; i++) {
        const qc_rt_value *rv = &m->values[n->out[i]];
        out[i] = arena + rv->off_a + rv->off_b * l->batch;
    }
    return (qc_cpu_kargs){in, out, k->packed, l->batch};
}

/* One node on its own: split over the pool by its grain, or inline. */
static qc_status launch_one(qc_device *d, const cpu_model *cm, const qc_hal_launch *l) {
    const cpu_kernel *k = &cm->k[l->node];
    void *in[CPU_MAX_IO], *out[CPU_MAX_IO];
    qc_cpu_kargs a = node_args(l, k, l->node, in, out);
    int64_t units = k->units_a + k->units_b * l->batch;
    if (units <= 0) return NULL;
    /* Chunks of whole grains; the pool never runs more threads than it has,
     * and a node too small to share runs inline. */
    int64_t chunks = (units + k->grain - 1) / k->grain;
    job j = {k->fn, &a, units, k->grain};
    bool small = k->cost_ps && units < cm->inline_ps / k->cost_ps;
    if (chunks == 1 || !d->pool || small) k->fn(&a, 0, units);
    else qc_threadpool_parallel_for(d->pool, chunks, run_chunk, &j);
    return NULL;
}

/* ---- chains: consecutive row-local nodes run block of batch rows by block */

/* Built at model open for each chain head: which of the chain's pointer
 * slots (node by node, inputs then outputs, as launch_chain lays them out)
 * hold a value internal to the chain (qc_row_chain_internal, the rule the
 * compiler's chain.c used): those live in the worker's block scratch, never
 * in their arena slots, which the plan may share with other values. */
struct chain_plan {
    int32_t n_io;
    int32_t *scratch_of;      /* [n_io]: internal value index, or -1 */
    int32_t n_internal;
    int64_t *row_bytes;       /* [n_internal]: bytes per batch row (the kernels' stride) */
    int64_t scratch_row;      /* their sum */
};

static void chain_plan_free(chain_plan *cp) {
    if (!cp) return;
    free(cp->scratch_of);
    free(cp->row_bytes);
    free(cp);
}

static int64_t value_row_bytes(const qc_rt_value *v) {
    int64_t n = 1;
    for (int32_t d = 1; d < v->desc.rank; d++) n *= v->desc.dims[d] > 0 ? v->desc.dims[d] : 1;
    return (int64_t)qc_dtype_bytes(v->desc.dtype, n);
}

static qc_status chain_plan_make(const qc_model_data *m, int32_t head, int32_t len,
                                 chain_plan **out) {
    *out = NULL;
    chain_plan *cp = calloc(1, sizeof *cp);
    int32_t io = 0;
    for (int32_t i = 0; i < len; i++) io += m->nodes[head + i].n_in + m->nodes[head + i].n_out;
    int32_t *vals = cp ? calloc((size_t)io + 1, sizeof *vals) : NULL;
    if (cp) {
        cp->n_io = io;
        cp->scratch_of = calloc((size_t)io + 1, sizeof *cp->scratch_of);
        cp->row_bytes = calloc((size_t)io + 1, sizeof *cp->row_bytes);
    }
    if (!cp || !vals || !cp->scratch_of || !cp->row_bytes) {
        free(vals);
        chain_plan_free(cp);
        return qc_error(QC_ERR_NOMEM, "cpu: out of memory");
    }
    for (int32_t i = 0, at = 0; i < len; i++) {
        const qc_node *n = &m->nodes[head + i];
        for (int32_t k = 0; k < n->n_in + n->n_out; k++, at++) {
            int32_t v = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
            cp->scratch_of[at] = -1;
            if (v < 0 || m->values[v].data ||
                !qc_row_chain_internal(m->nodes, m->n_nodes, m->outputs, m->n_outputs, head,
                                       head + len, v))
                continue;
            int32_t s = 0;
            while (s < cp->n_internal && vals[s] != v) s++;
            if (s == cp->n_internal) {
                vals[s] = v;
                cp->row_bytes[s] = value_row_bytes(&m->values[v]);
                cp->scratch_row += cp->row_bytes[s];
                cp->n_internal++;
            }
            cp->scratch_of[at] = s;
        }
    }
    free(vals);
    *out = cp;
    return NULL;
}

typedef struct chain_job {
    int32_t len;
    const cpu_kernel *k;        /* the chain's nodes */
    const qc_cpu_kargs *args;   /* [len], over ptrs */
    void *const *ptrs;          /* [cp->n_io]: arena / constant addresses */
    const chain_plan *cp;
    const int64_t *soff;        /* [cp->n_internal]: offset in a worker's scratch */
    uint8_t *scratch;           /* workers x stride bytes, 64-aligned */
    int64_t stride;
    int64_t rows, block;        /* batch rows, rows per block */
} chain_job;

static void run_blocks(void *ctx, int64_t begin, int64_t end, int32_t worker) {
    const chain_job *j = ctx;
    const chain_plan *cp = j->cp;
    /* This worker's pointer arrays: the shared ones with internal values
     * redirected into its scratch, shifted so that row r0 of the block
     * lands at the scratch start (the kernels address rows from unit
     * indices, which are absolute). */
    void *ptrs[QC_CPU_CHAIN_MAX_IO];
    qc_cpu_kargs args[QC_CPU_CHAIN_MAX_NODES];
    const qc_cpu_kargs *use = j->args;
    if (cp->n_internal) {
        memcpy(ptrs, j->ptrs, sizeof(void *) * (size_t)cp->n_io);
        for (int32_t i = 0; i < j->len; i++) {
            args[i] = j->args[i];
            args[i].in = ptrs + (j->args[i].in - j->ptrs);
            args[i].out = ptrs + (j->args[i].out - j->ptrs);
        }
        use = args;
    }
    uintptr_t base = (uintptr_t)(j->scratch + (int64_t)worker * j->stride);
    for (int64_t blk = begin; blk < end; blk++) {
        int64_t r0 = blk * j->block, r1 = r0 + j->block < j->rows ? r0 + j->block : j->rows;
        for (int32_t at = 0; at < cp->n_io; at++) {
            int32_t s = cp->scratch_of[at];
            if (s >= 0)
                ptrs[at] = (void *)(base + (uintptr_t)j->soff[s] - (uintptr_t)(r0 * cp->row_bytes[s]));
        }
        for (int32_t i = 0; i < j->len; i++)
            j->k[i].fn(&use[i], r0 * j->k[i].units_b, r1 * j->k[i].units_b);
    }
}

static int64_t chain_block_rows(const qc_device *d, const cpu_model *cm, const cpu_kernel *head,
                                int64_t rows) {
    int64_t threads = d->pool ? qc_threadpool_size(d->pool) : 1;
    int64_t block = cm->chain_bytes / (head->row_bytes ? head->row_bytes : 1);
    int64_t balanced = (rows + 2 * threads - 1) / (2 * threads);
    if (block > balanced) block = balanced;
    if (block >= 8) block -= block % 8;   /* whole int8 micro-kernel row blocks */
    return block < 1 ? 1 : block;
}

static qc_status launch_nodes(qc_device *d, const cpu_model *cm, const qc_hal_launch *l,
                              int32_t len) {
    qc_status st = NULL;
    for (int32_t i = 0; i < len && !st; i++) {
        qc_hal_launch li = *l;
        li.node = l->node + i;
        st = launch_one(d, cm, &li);
    }
    return st;
}

/* The chain at l->node, every node on the same block of rows before the
 * next block, internal values in per-worker scratch. Node by node (always
 * correct: the plan is valid for that order) when the pointer arrays or a
 * block's scratch would not fit. */
static qc_status launch_chain(qc_device *d, const cpu_model *cm, const qc_hal_launch *l) {
    const cpu_kernel *head = &cm->k[l->node];
    const chain_plan *cp = head->cp;
    int32_t len = (int32_t)head->chain;
    const qc_model_data *m = l->model;
    int64_t rows = l->batch;
    if (rows <= 0) return NULL;   /* every chain node's units are b * batch */
    int64_t block = chain_block_rows(d, cm, head, rows);
    /* (+ 64 per value: each block slot is rounded up to 64 bytes) */
    int64_t pad = 64 * (int64_t)cp->n_internal;
    if (cp->scratch_row && block * cp->scratch_row + pad > QC_CPU_CHAIN_SCRATCH_MAX)
        block = (QC_CPU_CHAIN_SCRATCH_MAX - pad) / cp->scratch_row;
    if (cp->n_io > QC_CPU_CHAIN_MAX_IO || block < 1) return launch_nodes(d, cm, l, len);
    void *ptrs[QC_CPU_CHAIN_MAX_IO];
    qc_cpu_kargs args[QC_CPU_CHAIN_MAX_NODES];
    for (int32_t i = 0, used = 0; i < len; i++) {
        const qc_node *n = &m->nodes[l->node + i];
        args[i] = node_args(l, &cm->k[l->node + i], l->node + i, ptrs + used, ptrs + used + n->n_in);
        used += n->n_in + n->n_out;
    }
    int64_t soff[QC_CPU_CHAIN_MAX_IO], stride = 0;
    for (int32_t s = 0; s < cp->n_internal; s++) {
        soff[s] = stride;
        stride += (block * cp->row_bytes[s] + 63) / 64 * 64;   /* each value 64-aligned */
    }
    int64_t blocks = (rows + block - 1) / block;
    /* as for single nodes: too little work to be worth the pool runs inline */
    double ps = 0;
    for (int32_t i = 0; i < len; i++) ps += (double)head[i].cost_ps * (double)head[i].units_b;
    bool serial = blocks == 1 || !d->pool || ps * (double)rows < (double)cm->inline_ps;
    int64_t workers = serial ? 1 : qc_threadpool_size(d->pool);
    uint8_t *scratch = NULL;
    if (stride && !(scratch = aligned_alloc(64, (size_t)(stride * workers))))
        return qc_error(QC_ERR_NOMEM, "cpu: out of memory for a chain's block scratch");
    chain_job j = {len, head, args, ptrs, cp, soff, scratch, stride, rows, block};
    if (serial) run_blocks(&j, 0, blocks, 0);
    else qc_threadpool_parallel_for(d->pool, blocks, run_blocks, &j);
    free(scratch);
    return NULL;
}

static qc_status launch_node(qc_device *d, const qc_hal_launch *l) {
    const cpu_model *cm = l->model_state;
    if (!cm || l->node < 0 || l->node >= cm->n || !cm->k[l->node].fn) return qc_hal_ref_launch(l);
    const cpu_kernel *k = &cm->k[l->node];
    if (k->in_chain) return NULL;   /* its chain's head ran it */
    return k->chain ? launch_chain(d, cm, l) : launch_one(d, cm, l);
}

static qc_status cpu_launch(qc_device *d, const qc_hal_launch *l) {
    const cpu_model *cm = l->model_state;
    if (!cm || !cm->prof || l->node < 0 || l->node >= cm->n) return launch_node(d, l);
    int64_t t0 = now_ns();
    qc_status st = launch_node(d, l);
    int64_t dt = now_ns() - t0;
    cpu_prof *p = &cm->prof[l->node];
    atomic_fetch_add_explicit(&p->ns_total, dt, memory_order_relaxed);
    atomic_store_explicit(&p->ns_last, dt, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->runs, 1, memory_order_relaxed);
    return st;
}

static qc_status cpu_sync(qc_device *d) {
    (void)d;
    return NULL;   /* launches complete before they return */
}

const qc_hal_driver qc_hal_cpu_driver = {
    .name = "cpu",
    .target = QC_TARGET_CPU,
    .priority = 20,   /* above vulkan (10) and ref (0): "best available" picks cpu */
    .host_memory = true,
    .create = cpu_create,
    .destroy = cpu_destroy,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .copy = cpu_copy,
    .check_model = cpu_check_model,
    .launch = cpu_launch,
    .sync = cpu_sync,
    .model_open = cpu_model_open,
    .model_close = cpu_model_close,
};
