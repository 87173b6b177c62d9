/* json_out.h — the two JSON writers every report shares (quantization,
 * mixed precision, the int8-vs-fp32 guard, qcomp bench): a string with the
 * escapes JSON requires, and a number that is null when not finite (JSON has
 * no NaN or Inf). Header-only, so passes/ and tools/ use one copy. */
#ifndef QC_IR_JSON_OUT_H
#define QC_IR_JSON_OUT_H

#include <math.h>
#include <stdio.h>

static inline void qc_json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static inline void qc_json_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.9g", v);
    else fputs("null", f);
}

#endif
