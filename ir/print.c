/* print.c — textual IR printer (placeholder until it lands). */
#include "ir/ir.h"
qc_status qc_graph_print(const qc_graph *g, FILE *f) { (void)g; (void)f; return qc_error(QC_ERR_UNSUPPORTED, "printer not implemented"); }
qc_status qc_graph_print_string(const qc_graph *g, char **out) { (void)g; *out = NULL; return qc_error(QC_ERR_UNSUPPORTED, "printer not implemented"); }
