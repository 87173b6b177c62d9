/* test_vulkan_bad.c — the vulkan section under bad input, and spirv-val.
 *
 *   test_vulkan_bad             byte flips in the header, kernel records and
 *                               shader table, and truncations, each with the
 *                               container CRCs fixed up so the vulkan device's
 *                               own validation is what answers: every load
 *                               either fails with an error or runs; none may
 *                               crash, and truncations and header damage must fail.
 *   test_vulkan_bad --spirv-val every SPIR-V module the lowering emits for a
 *                               set of models passes `spirv-val --target-env
 *                               vulkan1.2` (needs no device; skipped without spirv-val).
 * SPIR-V bodies are not flipped: the device checks their structure only and
 * trusts their semantics, as the cpu target trusts its shared object. */
#include <unistd.h>

#include "backends/vulkan/vk_format.h"
#include "runtime/crc32.h"
#include "vk_test.h"

static const char *const models[] = {
    /* int8 QGemm, K % 4 != 0, N % 4 != 0, bias, clamp */
    "qcir 1\ngraph q batch B {\n  input a: u8[B,6]\n  const sa: f32[] = [0.02]\n  const za: u8[] = [128]\n"
    "  const b: i8[6,3] = [1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12, 13, -14, 15, -16, 17, -18]\n"
    "  const sb: f32[3] = [0.01, 0.02, 0.03]\n  const zb: i8[3] = [0, 1, -1]\n  const sy: f32[] = [0.05]\n"
    "  const zy: u8[] = [10]\n  const bias: i32[3] = [100, -200, 300]\n"
    "  y: u8[B,3] = qc.QGemm(a, sa, za, b, sb, zb, sy, zy, bias) {act_min=10, act_max=200}\n  output y\n}\n",
    /* i8 x i8, N % 4 == 0 */
    "qcir 1\ngraph q2 {\n  input a: i8[2,8]\n  const sa: f32[] = [0.1]\n  const za: i8[] = [0]\n"
    "  const b: i8[8,4] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, -1, -2, -3, -4, -5, -6, -7, -8,"
    " -9, -10, -11, -12, -13, -14, -15, -16]\n  const sb: f32[] = [0.05]\n  const zb: i8[] = [0]\n"
    "  const sy: f32[] = [0.2]\n  const zy: i8[] = [0]\n"
    "  y: i8[2,4] = qc.QGemm(a, sa, za, b, sb, zb, sy, zy)\n  output y\n}\n",
    /* fp32 Gemm + epilogue, then a node that falls back (Softmax) */
    "qcir 1\ngraph f batch B {\n  input a: f32[B,3]\n  const w: f32[2,3] = [1, 2, 3, 4, 5, 6]\n"
    "  const c: f32[2] = [0.5, -0.5]\n  h = Gemm(a, w, c) {transB=1}\n  r = Relu(h)\n  y = Softmax(r)\n"
    "  output y\n}\n",
    /* QuantizeLinear (both variants) */
    "qcir 1\ngraph qz batch B {\n  input a: f32[B,3]\n  const s: f32[] = [0.05]\n  const z: u8[] = [128]\n"
    "  y: u8[B,3] = QuantizeLinear(a, s, z)\n  output y\n}\n",
};
#define N_MODELS ((int)(sizeof models / sizeof models[0]))

/* Further models for spirv-val only: every shader generator and variant. */
static const char *const val_models[] = {
    "qcir 1\ngraph qdq batch B {\n  input x: f32[B,7]\n  input qi: i8[B,7]\n"
    "  const s: f32[7] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]\n  const z: i8[7] = [0, 1, -1, 2, -2, 3, -3]\n"
    "  const s1: f32[] = [0.25]\n  const z1: u8[] = [3]\n"
    "  q: i8[B,7] = QuantizeLinear(x, s, z) {axis=1}\n  d: f32[B,7] = DequantizeLinear(qi, s, z) {axis=1}\n"
    "  q1: u8[B,7] = QuantizeLinear(x, s1, z1)\n  d1: f32[B,7] = DequantizeLinear(q1, s1, z1)\n"
    "  output q\n  output d\n  output d1\n}\n",
    "qcir 1\ngraph ew batch B {\n  input x: f32[B,7]\n  input w: f32[B,7]\n  const lo: f32[] = [-0.5]\n"
    "  const hi: f32[] = [0.5]\n  const c: f32[7] = [1, 2, 3, 4, 5, 6, 7]\n  const c1: f32[1,7] = [1, 2, 3, 4, 5, 6, 7]\n"
    "  const k: f32[] = [3]\n"
    "  r = Relu(x)\n  a = Abs(x)\n  n = Neg(x)\n  l = LeakyRelu(x) {alpha=0.2}\n  cl = Clip(x, lo, hi)\n"
    "  sg = Sigmoid(x)\n  t = Tanh(x)\n  e = Exp(x)\n  sq = Sqrt(x)\n  ad = Add(x, w)\n  sb = Sub(x, c)\n"
    "  ml = Mul(c1, x)\n  dv = Div(x, k)\n"
    "  output r\n  output a\n  output n\n  output l\n  output cl\n  output sg\n  output t\n  output e\n"
    "  output sq\n  output ad\n  output sb\n  output ml\n  output dv\n}\n",
    "qcir 1\ngraph pool batch B {\n  input x: f32[B,3,9,11]\n  input q: u8[B,3,9,11]\n  input qs: i8[B,3,9,11]\n"
    "  m = MaxPool(x) {kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1}\n"
    "  mq = MaxPool(q) {kernel_shape=[2, 2], auto_pad=\"SAME_UPPER\"}\n"
    "  ms = MaxPool(qs) {kernel_shape=[3, 2], dilations=[2, 1]}\n"
    "  a = AveragePool(x) {kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1}\n"
    "  g = GlobalAveragePool(x)\n"
    "  output m\n  output mq\n  output ms\n  output a\n  output g\n}\n",
    "qcir 1\ngraph norm batch B {\n  input x: f32[B,3,300]\n  input s2: f32[3,300]\n"
    "  const s: f32[] = [1.5]\n  const b: f32[] = [0.25]\n"
    "  sm = Softmax(x) {axis=-1}\n  ln = LayerNormalization(x, s, b) {epsilon=0.001}\n"
    "  l1 = LayerNormalization(x, s2) {axis=1}\n"
    "  output sm\n  output ln\n  output l1\n}\n",
    /* int8 conv: u8 x, per-channel i8 weights with zero points, pads (plane % 4 == 0 and not),
     * depthwise stride 2, i8 x with bias and clamp, 1-D */
    "qcir 1\ngraph conv batch B {\n  input x: u8[B,2,4,4]\n  input xs: i8[B,2,5,3]\n  input x1: u8[B,2,7]\n"
    "  const sx: f32[] = [0.02]\n  const zx: u8[] = [128]\n  const zxs: i8[] = [-3]\n"
    "  const w: i8[3,2,3,3] = [1, -2, 3, -4, 5, -6, 7, -8, 9, -1, 2, -3, 4, -5, 6, -7, 8, -9, 1, 1, 1, 1, 1, 1, 1,"
    " 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4]\n"
    "  const wd: u8[2,1,2,2] = [1, 2, 3, 4, 5, 6, 7, 8]\n  const w1: i8[2,2,3] = [1, 2, 3, -1, -2, -3, 4, 5, 6, 0, 1, 0]\n"
    "  const sw: f32[3] = [0.01, 0.02, 0.03]\n  const zw: i8[3] = [0, 1, -1]\n  const sw1: f32[] = [0.01]\n"
    "  const zw1: i8[] = [0]\n  const zwd: u8[] = [128]\n  const sy: f32[] = [0.05]\n  const zy: u8[] = [10]\n"
    "  const zys: i8[] = [-5]\n  const bias: i32[3] = [100, -200, 300]\n"
    "  y = qc.QConv(x, sx, zx, w, sw, zw, sy, zy) {pads=[1, 1, 1, 1]}\n"
    "  ys = qc.QConv(xs, sx, zxs, w, sw, zw, sy, zys, bias) {pads=[1, 0, 1, 0], act_min=-20, act_max=90}\n"
    "  yd = qc.QConv(x, sx, zx, wd, sw1, zwd, sy, zy) {group=2, strides=[2, 2]}\n"
    "  y1 = qc.QConv(x1, sx, zx, w1, sw1, zw1, sy, zy) {strides=[2], pads=[1, 1]}\n"
    "  output y\n  output ys\n  output yd\n  output y1\n}\n",
    /* QLinearAdd (same shape, broadcast, constant operand) / QLinearMul,
     * qc.Elementwise (fused from Add + Relu + Clip), the copies, and the
     * float-output qc.QGemm */
    "qcir 1\ngraph qe batch B {\n  input a: u8[B,3,5]\n  input b: u8[B,3,5]\n  input c: u8[3,1]\n"
    "  input x: f32[B,6]\n  input z: f32[B,6]\n  const k: u8[5] = [1, 2, 3, 4, 5]\n"
    "  const s: f32[] = [0.25]\n  const zp: u8[] = [7]\n  const lo: f32[] = [0]\n  const hi: f32[] = [6]\n"
    "  const sh: i64[2] = [0, 15]\n"
    "  const w: u8[15,6] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,"
    " 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,"
    " 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78,"
    " 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90]\n"
    "  y1 = QLinearAdd(a, s, zp, b, s, zp, s, zp) {act_min=7}\n  y2 = QLinearMul(a, s, zp, c, s, zp, s, zp)\n"
    "  y3 = QLinearAdd(a, s, _, k, s, zp, s)\n"
    "  t = Add(x, z)\n  r = Relu(t)\n  y4 = Clip(r, lo, hi)\n"
    "  f = Reshape(y1, sh)\n  y5: f32[B,6] = qc.QGemm(f, s, zp, w, s, zp, _, _)\n  y6 = Identity(y2)\n"
    "  output y3\n  output y4\n  output y5\n  output y6\n}\n",
};
#define N_VAL_MODELS ((int)(sizeof val_models / sizeof val_models[0]))

static int spirv_val(void) {
    if (system("spirv-val --version > /dev/null 2>&1") != 0) {
        printf("skipped: spirv-val not installed (scripts/setup.sh installs spirv-tools)\n");
        return 77;
    }
    int failures = 0, modules = 0;
    char path[] = "/tmp/qc_spirv_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 1;
    close(fd);
    for (int m = 0; m < N_MODELS + N_VAL_MODELS; m++) {
        uint8_t *img = NULL;
        size_t len = 0, off = 0, slen = 0;
        qc_status st = vt_compile(m < N_MODELS ? models[m] : val_models[m - N_MODELS], "vulkan", &img, &len);
        if (st || vt_find_section(img, len, &off, &slen) < 0) {
            printf("FAIL: model %d does not compile for vulkan: %s\n", m, qc_status_message(st));
            failures++;
        } else {
            const uint8_t *s = img + off;
            uint32_t ns = qc_le32(s + QC_VK_H_N_SHADERS), so = qc_le32(s + QC_VK_H_SHADERS_OFF);
            for (uint32_t i = 0; i < ns; i++) {
                const uint8_t *r = s + so + i * QC_VK_SHADER_SIZE;
                FILE *f = fopen(path, "wb");
                if (!f || fwrite(s + qc_le32(r), 1, qc_le32(r + 4), f) != qc_le32(r + 4)) failures++;
                if (f) fclose(f);
                char cmd[256];
                snprintf(cmd, sizeof cmd, "spirv-val --target-env vulkan1.2 %s", path);
                modules++;
                if (system(cmd) != 0) {
                    printf("FAIL: model %d shader %u does not validate\n", m, i);
                    failures++;
                }
            }
        }
        qc_status_free(st);
        free(img);
    }
    unlink(path);
    printf("%s: spirv-val on %d modules, %d failure(s)\n", failures ? "FAIL" : "ok", modules, failures);
    return failures || !modules ? 1 : 0;
}

/* Rewrites the section's CRC (and its length), the table CRC and the header CRC. */
static void fix_crcs(uint8_t *img, int entry, size_t off, size_t slen) {
    uint32_t count = qc_le32(img + QC_QCM_H_SECTION_COUNT), toff = qc_le32(img + QC_QCM_H_TABLE_OFFSET);
    uint8_t *e = img + toff + 32 * (size_t)entry;
    qc_put64(e + 16, slen);
    qc_put32(e + 24, qc_crc32(0, img + off, slen));
    qc_put32(img + QC_QCM_H_TABLE_CRC, qc_crc32(0, img + toff, (size_t)count * 32));
    qc_put32(img + QC_QCM_H_HEADER_CRC, qc_crc32(0, img, QC_QCM_H_HEADER_CRC));
}

/* Loads (and, when that works, runs once) a mutated image; returns whether
 * the load failed. */
static bool load_fails(qc_runtime *rt, const uint8_t *img, size_t len, int m) {
    qc_model *model = NULL;
    qc_status st = qc_model_load_memory(rt, img, len, QC_LOAD_COPY, &model);
    bool failed = st != NULL;
    if (st && !*qc_status_message(st)) printf("FAIL: an error without a message\n");
    qc_status_free(st);
    if (!model) return failed;
    qc_session *s = NULL;
    qc_session_options so;
    qc_session_options_init(&so);
    so.batch = 2;
    if (!qc_session_create(model, &so, &s)) {
        static uint8_t zeros[4096];
        qc_tensor in = {.desc = {m >= 2 ? QC_F32 : m == 1 ? QC_I8 : QC_U8, 2, {2, m == 0 ? 6 : m == 1 ? 8 : 3}},
                        .data = zeros};
        qc_tensor out = {0};
        qc_status_free(qc_session_run(s, &in, 1, &out, 1));
        qc_tensor_release(&out);
    }
    qc_session_destroy(s);
    qc_model_release(model);
    return false;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--spirv-val")) return spirv_val();
    if (!vt_device_opens("vulkan")) return 77;
    qc_runtime_options ro;
    qc_runtime_options_init(&ro);
    ro.backend = "vulkan";
    ro.threads = 1;
    qc_runtime *rt = NULL;
    qc_status st = qc_runtime_create(&ro, &rt);
    if (st) return 1;
    int failures = 0, loads = 0, rejected = 0;
    for (int m = 0; m < N_MODELS; m++) {
        uint8_t *img = NULL;
        size_t len = 0, off = 0, slen = 0;
        if ((st = vt_compile(models[m], "vulkan", &img, &len))) return 1;
        int entry = vt_find_section(img, len, &off, &slen);
        if (entry < 0) return 1;
        const uint8_t *s = img + off;
        size_t tables_end = qc_le32(s + QC_VK_H_SHADERS_OFF) + qc_le32(s + QC_VK_H_N_SHADERS) * QC_VK_SHADER_SIZE;
        uint8_t *mut = malloc(len);
        /* Byte flips over the header, kernel records and shader table. */
        size_t ko = qc_le32(s + QC_VK_H_KERNELS_OFF), so = qc_le32(s + QC_VK_H_SHADERS_OFF);
        for (size_t at = 0; at < tables_end; at++) {
            /* Unused push constant slots of a record are plain zeros: a few suffice. */
            if (at >= ko && at < so && (at - ko) % QC_VK_KERNEL_SIZE >= QC_VK_K_PUSH + 4 * QC_VK_PUSH_SIZE)
                continue;
            for (int v = 0; v < 1; v++) {
                memcpy(mut, img, len);
                mut[off + at] ^= v ? 0x80 : 0xff;
                fix_crcs(mut, entry, off, slen);
                bool failed = load_fails(rt, mut, len, m);
                loads++;
                rejected += failed;
                if (at < QC_VK_H_RESERVED && at != QC_VK_H_CONSTS_SIZE && !failed &&
                    !(at >= QC_VK_H_CONSTS_SIZE && at < QC_VK_H_RESERVED)) {
                    printf("FAIL: model %d: header byte %zu flipped, still loads\n", m, at);
                    failures++;
                }
            }
        }
        /* Truncations (the cut bytes zeroed: the container requires zero padding). */
        size_t cuts[] = {0, 4, 16, QC_VK_HEADER_SIZE - 1, QC_VK_HEADER_SIZE, QC_VK_HEADER_SIZE + 100,
                         slen / 2, tables_end - 1, slen - 1};
        for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
            if (cuts[c] >= slen) continue;
            memcpy(mut, img, len);
            memset(mut + off + cuts[c], 0, slen - cuts[c]);
            fix_crcs(mut, entry, off, cuts[c]);
            loads++;
            bool failed = load_fails(rt, mut, len, m);
            rejected += failed;
            if (!failed) {
                printf("FAIL: model %d: section cut to %zu of %zu bytes still loads\n", m, cuts[c], slen);
                failures++;
            }
        }
        /* The unmutated image still loads and runs. */
        if (load_fails(rt, img, len, m)) {
            printf("FAIL: model %d: the intact image does not load\n", m);
            failures++;
        }
        free(mut);
        free(img);
    }
    qc_runtime_destroy(rt);
    printf("%s: %d mutated loads, %d rejected with an error, none crashed; %d failure(s)\n",
           failures ? "FAIL" : "ok", loads, rejected, failures);
    return failures ? 1 : 0;
}
