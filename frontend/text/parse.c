/* parse.c — textual IR parser (placeholder until it lands). */
#include "ir/ir.h"
qc_status qc_graph_parse(const char *text, size_t len, const char *source, qc_graph **out) { (void)text; (void)len; (void)source; *out = NULL; return qc_error(QC_ERR_UNSUPPORTED, "parser not implemented"); }
qc_status qc_graph_parse_file(const char *path, qc_graph **out) { (void)path; *out = NULL; return qc_error(QC_ERR_UNSUPPORTED, "parser not implemented"); }
