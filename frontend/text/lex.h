/* lex.h — internal to frontend/text: the tokenizer for the .qcir text IR
 * (docs/ir.md). The parser keeps one current token; everything a token
 * carries stays valid until the next qc_lex_next call. */
#ifndef QC_FRONTEND_TEXT_LEX_H
#define QC_FRONTEND_TEXT_LEX_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qcomp/qcrt.h"

typedef enum qc_tok_kind {
    QC_TOK_EOF = 0,
    QC_TOK_IDENT,   /* [A-Za-z_][A-Za-z0-9_.]* (keywords, op names, nan, inf too) */
    QC_TOK_STRING,  /* "...", escapes decoded */
    QC_TOK_INT,     /* -?[0-9]+ */
    QC_TOK_FLOAT,   /* a number with '.' or an exponent, or -inf */
    QC_TOK_PUNCT,   /* one of : , = [ ] ( ) { } @ */
} qc_tok_kind;

typedef struct qc_token {
    qc_tok_kind kind;
    char punct;        /* QC_TOK_PUNCT: the character */
    /* IDENT, STRING, INT, FLOAT: the text (decoded for STRING), NUL-terminated
     * and owned by the lexer; NULL for the other kinds. */
    const char *str;
    size_t len;        /* strlen(str) */
    long line, col;    /* 1-based; col counts bytes */
} qc_token;

typedef struct qc_lexer {
    const char *at, *end;
    const char *source;       /* names the text in messages */
    long line;
    const char *line_start;
    char *buf;                /* backing store of the current token's str */
    size_t cap;
} qc_lexer;

void qc_lex_init(qc_lexer *lx, const char *text, size_t len, const char *source);
void qc_lex_free(qc_lexer *lx);
qc_status qc_lex_next(qc_lexer *lx, qc_token *tok);

/* A QC_ERR_PARSE status "source:line:col: <message>". */
qc_status qc_lex_error(const qc_lexer *lx, long line, long col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
qc_status qc_lex_error_v(const qc_lexer *lx, long line, long col, const char *fmt, va_list ap);

/* Writes how a token reads in "found X" messages: 'text' (shortened, with
 * unprintable bytes escaped), string "...", or end of input. */
void qc_tok_describe(const qc_token *t, char *buf, size_t n);
/* Quotes and escapes arbitrary text the same way, for "unknown value 'x'". */
void qc_lex_quote(const char *s, char *buf, size_t n);

bool qc_tok_is_word(const qc_token *t, const char *word);   /* IDENT with this text */
bool qc_tok_is_punct(const qc_token *t, char c);
/* INT, FLOAT, or the words nan / inf. */
bool qc_tok_is_number(const qc_token *t);

/* Token value conversions; errors point at the token. qc_tok_int takes an
 * INT token; the float ones take anything qc_tok_is_number accepts and
 * reject finite text too large for the type. */
qc_status qc_tok_int(const qc_lexer *lx, const qc_token *t, int64_t *v);
qc_status qc_tok_f32(const qc_lexer *lx, const qc_token *t, float *v);
qc_status qc_tok_f64(const qc_lexer *lx, const qc_token *t, double *v);

#endif
