/* lex.c — the .qcir tokenizer.
 *
 * Reads exactly `len` bytes (the text need not be NUL-terminated and may
 * contain NUL bytes, which are errors outside comments). Every token's text is
 * copied NUL-terminated into one buffer the lexer owns, so the parser can hand
 * it to strtof / name lookups without caring where the token came from. */
#include "frontend/text/lex.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_ident_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c) || c == '.'; }
static bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int hex_val(char c) {
    return is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : c - 'A' + 10;
}

void qc_lex_init(qc_lexer *lx, const char *text, size_t len, const char *source) {
    memset(lx, 0, sizeof *lx);
    if (!text) {      /* NULL + 0 is still undefined pointer arithmetic */
        text = "";
        len = 0;
    }
    lx->at = text;
    lx->end = text + len;
    lx->source = source ? source : "<text>";
    lx->line = 1;
    lx->line_start = text;
}

void qc_lex_free(qc_lexer *lx) {
    free(lx->buf);
    lx->buf = NULL;
    lx->cap = 0;
}

qc_status qc_lex_error_v(const qc_lexer *lx, long line, long col, const char *fmt, va_list ap) {
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return qc_error(QC_ERR_PARSE, "%s:%ld:%ld: %s", lx->source, line, col, msg);
}

qc_status qc_lex_error(const qc_lexer *lx, long line, long col, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    qc_status st = qc_lex_error_v(lx, line, col, fmt, ap);
    va_end(ap);
    return st;
}

/* Quotes s[0..len) with quote character q for a message: unprintable bytes
 * become \xHH and long text is cut to keep messages one readable line. */
static void quote_into(const char *s, size_t len, char q, char *buf, size_t n) {
    const size_t max_shown = 40;
    size_t at = 0;
    if (n < 16) {
        if (n) buf[0] = 0;
        return;
    }
    buf[at++] = q;
    for (size_t i = 0; i < len && i < max_shown && at + 10 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f) buf[at++] = (char)c;
        else at += (size_t)snprintf(buf + at, n - at, "\\x%02x", c);
    }
    if (len > max_shown && at + 5 < n) {
        memcpy(buf + at, "...", 3);
        at += 3;
    }
    buf[at++] = q;
    buf[at] = 0;
}

void qc_lex_quote(const char *s, char *buf, size_t n) { quote_into(s, strlen(s), '\'', buf, n); }

void qc_tok_describe(const qc_token *t, char *buf, size_t n) {
    switch (t->kind) {
    case QC_TOK_EOF: snprintf(buf, n, "end of input"); break;
    case QC_TOK_PUNCT: snprintf(buf, n, "'%c'", t->punct); break;
    case QC_TOK_STRING: {
        char q[96];
        quote_into(t->str, t->len, '"', q, sizeof q);
        snprintf(buf, n, "string %s", q);
        break;
    }
    default: quote_into(t->str, t->len, '\'', buf, n); break;
    }
}

bool qc_tok_is_word(const qc_token *t, const char *word) {
    return t->kind == QC_TOK_IDENT && strcmp(t->str, word) == 0;
}

bool qc_tok_is_punct(const qc_token *t, char c) { return t->kind == QC_TOK_PUNCT && t->punct == c; }

bool qc_tok_is_number(const qc_token *t) {
    return t->kind == QC_TOK_INT || t->kind == QC_TOK_FLOAT || qc_tok_is_word(t, "nan") ||
           qc_tok_is_word(t, "inf");
}

static qc_status reserve(qc_lexer *lx, size_t n) {
    if (n <= lx->cap) return NULL;
    size_t cap = lx->cap ? lx->cap : 64;
    while (cap < n) {
        if (cap > SIZE_MAX / 2) return qc_error(QC_ERR_NOMEM, "out of memory reading text");
        cap *= 2;
    }
    char *b = realloc(lx->buf, cap);
    if (!b) return qc_error(QC_ERR_NOMEM, "out of memory reading text");
    lx->buf = b;
    lx->cap = cap;
    return NULL;
}

/* Makes s[0..n) the current token's text. */
static qc_status set_text(qc_lexer *lx, qc_token *t, const char *s, size_t n) {
    qc_status st = reserve(lx, n + 1);
    if (st) return st;
    memcpy(lx->buf, s, n);
    lx->buf[n] = 0;
    t->str = lx->buf;
    t->len = n;
    return NULL;
}

static void skip_space_and_comments(qc_lexer *lx) {
    while (lx->at < lx->end) {
        char c = *lx->at;
        if (c == '\n') {
            lx->at++;
            lx->line++;
            lx->line_start = lx->at;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            lx->at++;
        } else if (c == '#') {
            while (lx->at < lx->end && *lx->at != '\n') lx->at++;
        } else {
            break;
        }
    }
}

/* Decodes the string starting at lx->at (its opening quote). Strings do not
 * span lines, so an error's column is the token's column plus the offset. */
static qc_status lex_string(qc_lexer *lx, qc_token *t) {
    const char *p = lx->at + 1;
    while (p < lx->end && *p != '"' && *p != '\n')
        p += (*p == '\\' && p + 1 < lx->end && p[1] != '\n') ? 2 : 1;
    if (p >= lx->end || *p != '"') return qc_lex_error(lx, t->line, t->col, "unterminated string");
    qc_status st = reserve(lx, (size_t)(p - lx->at));
    if (st) return st;
    char *o = lx->buf;
    for (const char *s = lx->at + 1; s < p;) {
        long col = t->col + (long)(s - lx->at);
        if (*s == '\0') return qc_lex_error(lx, t->line, col, "NUL byte in string");
        if (*s != '\\') {
            *o++ = *s++;
            continue;
        }
        /* The scan above skipped escaped characters, so s + 1 < p here. */
        switch (s[1]) {
        case '"': *o++ = '"'; s += 2; break;
        case '\\': *o++ = '\\'; s += 2; break;
        case 'n': *o++ = '\n'; s += 2; break;
        case 't': *o++ = '\t'; s += 2; break;
        case 'x':
            if (p - s < 4 || !is_hex(s[2]) || !is_hex(s[3]))
                return qc_lex_error(lx, t->line, col, "expected two hex digits after '\\x'");
            if (s[2] == '0' && s[3] == '0')
                return qc_lex_error(lx, t->line, col, "'\\x00' (NUL) is not allowed in a string");
            *o++ = (char)(hex_val(s[2]) * 16 + hex_val(s[3]));
            s += 4;
            break;
        default: {
            char q[16];
            quote_into(s, 2, '\'', q, sizeof q);
            return qc_lex_error(lx, t->line, col, "invalid escape %s in string", q);
        }
        }
    }
    *o = 0;
    t->kind = QC_TOK_STRING;
    t->str = lx->buf;
    t->len = (size_t)(o - lx->buf);
    lx->at = p + 1;
    return NULL;
}

/* -?[0-9]+ ('.' [0-9]*)? ([eE] [+-]? [0-9]+)?, not followed by a name
 * character (so "12ab" or "1.2.3" are one error, not two tokens). */
static qc_status lex_number(qc_lexer *lx, qc_token *t) {
    const char *s = lx->at, *p = s;
    bool is_float = false, ok = true;
    if (*p == '-') p++;
    while (p < lx->end && is_digit(*p)) p++;
    if (p < lx->end && *p == '.') {
        is_float = true;
        for (p++; p < lx->end && is_digit(*p);) p++;
    }
    if (p < lx->end && (*p == 'e' || *p == 'E')) {
        is_float = true;
        p++;
        if (p < lx->end && (*p == '+' || *p == '-')) p++;
        ok = p < lx->end && is_digit(*p);
        while (p < lx->end && is_digit(*p)) p++;
    }
    if (!ok || (p < lx->end && is_ident_char(*p))) {
        while (p < lx->end && (is_ident_char(*p) || *p == '+' || *p == '-')) p++;
        char q[96];
        quote_into(s, (size_t)(p - s), '\'', q, sizeof q);
        return qc_lex_error(lx, t->line, t->col, "malformed number %s", q);
    }
    t->kind = is_float ? QC_TOK_FLOAT : QC_TOK_INT;
    lx->at = p;
    return set_text(lx, t, s, (size_t)(p - s));
}

static bool at_minus_inf(const qc_lexer *lx) {
    const char *p = lx->at;
    return lx->end - p >= 4 && memcmp(p, "-inf", 4) == 0 &&
           (lx->end - p == 4 || !is_ident_char(p[4]));
}

qc_status qc_lex_next(qc_lexer *lx, qc_token *t) {
    skip_space_and_comments(lx);
    memset(t, 0, sizeof *t);
    t->line = lx->line;
    t->col = (long)(lx->at - lx->line_start) + 1;
    if (lx->at >= lx->end) {
        t->kind = QC_TOK_EOF;
        return NULL;
    }
    char c = *lx->at;
    if (is_ident_start(c)) {
        const char *s = lx->at;
        while (lx->at < lx->end && is_ident_char(*lx->at)) lx->at++;
        t->kind = QC_TOK_IDENT;
        return set_text(lx, t, s, (size_t)(lx->at - s));
    }
    if (is_digit(c) || (c == '-' && lx->end - lx->at > 1 && is_digit(lx->at[1])))
        return lex_number(lx, t);
    if (at_minus_inf(lx)) {
        t->kind = QC_TOK_FLOAT;
        lx->at += 4;
        return set_text(lx, t, "-inf", 4);
    }
    if (c == '"') return lex_string(lx, t);
    if (c == '-') return qc_lex_error(lx, t->line, t->col, "expected a digit or 'inf' after '-'");
    if (c != '\0' && strchr(":,=[](){}@", c)) {
        t->kind = QC_TOK_PUNCT;
        t->punct = c;
        lx->at++;
        return NULL;
    }
    if (c > 0x20 && c < 0x7f)
        return qc_lex_error(lx, t->line, t->col, "unexpected character '%c'", c);
    return qc_lex_error(lx, t->line, t->col, "unexpected byte 0x%02x", (unsigned)(unsigned char)c);
}

qc_status qc_tok_int(const qc_lexer *lx, const qc_token *t, int64_t *v) {
    const char *s = t->str;
    bool neg = *s == '-';
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX, mag = 0;
    for (s += neg; *s; s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (mag > (limit - d) / 10) {
            char q[96];
            qc_tok_describe(t, q, sizeof q);
            return qc_lex_error(lx, t->line, t->col, "integer %s does not fit in 64 bits", q);
        }
        mag = mag * 10 + d;
    }
    /* -(INT64_MAX + 1) is computed in unsigned arithmetic to stay defined. */
    *v = neg ? (int64_t)(0u - mag) : (int64_t)mag;
    return NULL;
}

/* nan, inf and -inf are spelled out; anything else goes to strtod/strtof,
 * which only ever see text lex_number accepted. */
static bool special_value(const qc_token *t, double *v) {
    if (qc_tok_is_word(t, "nan")) *v = NAN;
    else if (qc_tok_is_word(t, "inf")) *v = INFINITY;
    else if (t->kind == QC_TOK_FLOAT && strcmp(t->str, "-inf") == 0) *v = -INFINITY;
    else return false;
    return true;
}

static qc_status too_large(const qc_lexer *lx, const qc_token *t, const char *type) {
    char q[96];
    qc_tok_describe(t, q, sizeof q);
    return qc_lex_error(lx, t->line, t->col, "number %s is too large for %s", q, type);
}

qc_status qc_tok_f32(const qc_lexer *lx, const qc_token *t, float *v) {
    double d;
    if (special_value(t, &d)) {
        *v = (float)d;
        return NULL;
    }
    *v = strtof(t->str, NULL);
    return isinf(*v) ? too_large(lx, t, "f32") : NULL;
}

qc_status qc_tok_f64(const qc_lexer *lx, const qc_token *t, double *v) {
    if (special_value(t, v)) return NULL;
    *v = strtod(t->str, NULL);
    return isinf(*v) ? too_large(lx, t, "f64") : NULL;
}
