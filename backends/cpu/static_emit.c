/* static_emit.c — `qcomp compile --emit-object m.o --emit-header m.h`: the
 * model as an ELF object for static linking into a host program.
 *
 * The object is the lowering's own LLVM module (every kernel) plus, added
 * here, the artifact image (GRAPH, CONSTANTS, PLAN, the cpu KTABLE and
 * PACKED sections; no SO section: the kernels are in the object) and a
 * table of {symbol, function} pairs, wrapped in one exported
 *   const qc_static_model qcm_<name>   (include/qcomp/qcrt.h)
 * Every function becomes internal, so two models linked into one program
 * never clash; only qcm_<name> is visible. The runtime's
 * qc_model_load_static hands the table to the cpu device as a code
 * provider, the same hook the JIT uses. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/cpu/static_emit.h"
#include "compiler/artifact_write.h"
#include "qcomp/qcrt.h"
#include "runtime/model.h"

/* A C identifier from `want` (or the graph name): [A-Za-z0-9_], not
 * starting with a digit. */
static void c_ident(const char *want, char *out, size_t n) {
    size_t k = 0;
    for (const char *p = want && *want ? want : "model"; *p && k + 1 < n; p++)
        out[k++] = isalnum((unsigned char)*p) ? *p : '_';
    out[k] = 0;
    if (!k || isdigit((unsigned char)out[0])) {
        memmove(out + 1, out, k + 1 < n ? k + 1 : n - 1);
        out[0] = '_';
        out[n - 1] = 0;
    }
}

static LLVMValueRef const_bytes(qc_cpu_cg *cg, const char *name, const void *p, size_t n,
                                bool nul) {
    LLVMValueRef init = LLVMConstStringInContext(cg->ctx, p, (unsigned)n, !nul);
    LLVMValueRef gv = LLVMAddGlobal(cg->mod, LLVMTypeOf(init), name);
    LLVMSetInitializer(gv, init);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMPrivateLinkage);
    LLVMSetAlignment(gv, 64);
    return gv;
}

/* The kernels' functions (in kt's order) into *fns; then makes every
 * defined function internal (the table keeps the kernels alive). */
static qc_status collect_kernels(qc_cpu_cg *cg, const qc_cpu_ktable_view *kt, LLVMValueRef **fns) {
    *fns = calloc((size_t)kt->n + 1, sizeof **fns);
    if (!*fns) return qc_error(QC_ERR_NOMEM, "cpu: out of memory");
    for (int32_t i = 0; i < kt->n; i++) {
        LLVMValueRef fn = LLVMGetNamedFunction(cg->mod, kt->symbols[i]);
        if (!fn || LLVMIsDeclaration(fn))
            return qc_error(QC_ERR_INTERNAL, "cpu: kernel '%s' is not in the module", kt->symbols[i]);
        (*fns)[i] = fn;
    }
    for (LLVMValueRef f = LLVMGetFirstFunction(cg->mod); f; f = LLVMGetNextFunction(f))
        if (!LLVMIsDeclaration(f)) LLVMSetLinkage(f, LLVMInternalLinkage);
    return NULL;
}

static qc_status add_descriptor(qc_cpu_cg *cg, const char *ident, const uint8_t *img, size_t len,
                                const qc_cpu_ktable_view *kt) {
    LLVMValueRef *fns = NULL;
    qc_status st = collect_kernels(cg, kt, &fns);
    if (st) {
        free(fns);
        return st;
    }
    LLVMTypeRef ptr = LLVMPointerTypeInContext(cg->ctx, 0);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(cg->ctx), i64 = LLVMInt64TypeInContext(cg->ctx);
    LLVMTypeRef kty_f[2] = {ptr, ptr};
    LLVMTypeRef kty = LLVMStructTypeInContext(cg->ctx, kty_f, 2, 0);
    LLVMValueRef *rows = calloc((size_t)kt->n + 1, sizeof *rows);
    if (!rows) {
        free(fns);
        return qc_error(QC_ERR_NOMEM, "cpu: out of memory");
    }
    char name[160];
    for (int32_t i = 0; i < kt->n; i++) {
        snprintf(name, sizeof name, "%s.sym%d", ident, (int)i);
        LLVMValueRef s = const_bytes(cg, name, kt->symbols[i], strlen(kt->symbols[i]), true);
        LLVMSetAlignment(s, 1);
        LLVMValueRef f[2] = {s, fns[i]};
        rows[i] = LLVMConstNamedStruct(kty, f, 2);
    }
    LLVMValueRef table_init = LLVMConstArray2(kty, rows, (uint64_t)kt->n);
    snprintf(name, sizeof name, "%s.kernels", ident);
    LLVMValueRef table = LLVMAddGlobal(cg->mod, LLVMTypeOf(table_init), name);
    LLVMSetInitializer(table, table_init);
    LLVMSetGlobalConstant(table, 1);
    LLVMSetLinkage(table, LLVMPrivateLinkage);
    snprintf(name, sizeof name, "%s.image", ident);
    LLVMValueRef image = const_bytes(cg, name, img, len, false);
    /* qc_static_model: {u32 abi, u32 target, ptr image, u64 len, ptr kernels, u64 n} */
    LLVMTypeRef dty_f[6] = {i32, i32, ptr, i64, ptr, i64};
    LLVMTypeRef dty = LLVMStructTypeInContext(cg->ctx, dty_f, 6, 0);
    LLVMValueRef d[6] = {LLVMConstInt(i32, QC_STATIC_MODEL_ABI, 0),
                         LLVMConstInt(i32, QC_TARGET_CPU, 0),
                         image,
                         LLVMConstInt(i64, (uint64_t)len, 0),
                         table,
                         LLVMConstInt(i64, (uint64_t)kt->n, 0)};
    snprintf(name, sizeof name, "qcm_%s", ident);
    LLVMValueRef desc = LLVMAddGlobal(cg->mod, dty, name);
    LLVMSetInitializer(desc, LLVMConstNamedStruct(dty, d, 6));
    LLVMSetGlobalConstant(desc, 1);
    free(rows);
    free(fns);
    return NULL;
}

static qc_status write_header(const char *path, const char *ident, const char *model_name) {
    char text[2048];
    int n = snprintf(text, sizeof text,
                     "/* %s: model '%s' compiled by qcomp for static linking.\n"
                     " * Link the object written with it and libqcrt, then:\n"
                     " *   qc_model *m = NULL;\n"
                     " *   qc_status st = qc_model_load_static(rt, &qcm_%s, &m);\n"
                     " * The cpu code needs the CPU features it was compiled for\n"
                     " * (`qcomp inspect` on the .qcm lists them). */\n"
                     "#ifndef QCM_%s_H\n#define QCM_%s_H\n\n#include \"qcomp/qcrt.h\"\n\n"
                     "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
                     "extern const qc_static_model qcm_%s;\n\n"
                     "#ifdef __cplusplus\n}\n#endif\n#endif\n",
                     path, model_name, ident, ident, ident, ident);
    if (n < 0 || (size_t)n >= sizeof text)
        return qc_error(QC_ERR_INVALID, "model name too long for a header");
    return qc_artifact_write_image((const uint8_t *)text, (size_t)n, path);
}

qc_status qc_cpu_emit_static(qc_cpu_cg *cg, const qc_graph *g, const qc_plan *plan,
                             const qc_code_sections *cpu_sections, const qc_cpu_ktable_view *kt,
                             const qc_compile_options *o) {
    char ident[96];
    c_ident(o->static_name ? o->static_name : g->name, ident, sizeof ident);
    uint8_t *img = NULL;
    size_t len = 0;
    qc_status st = qc_artifact_write_mem_ex(g, plan, (1u << QC_TARGET_REF) | (1u << QC_TARGET_CPU),
                                            cpu_sections, &img, &len);
    if (!st) st = add_descriptor(cg, ident, img, len, kt);
    free(img);
    uint8_t *obj = NULL;
    size_t obj_len = 0;
    if (!st) st = qc_cpu_cg_emit_object(cg, NULL, &obj, &obj_len);
    if (!st && o->emit_header) st = write_header(o->emit_header, ident, g->name ? g->name : "");
    if (!st) {
        st = qc_artifact_write_image(obj, obj_len, o->emit_object);
        if (st && o->emit_header) unlink(o->emit_header);   /* both or neither */
    }
    free(obj);
    return st ? qc_status_wrap(st, "cpu: writing the static object") : NULL;
}
