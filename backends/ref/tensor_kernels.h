/* tensor_kernels.h — internal: the ref kernels of the 'tensor' op group,
 * split by kind. backends/ref/tensor.c dispatches to them; every one runs
 * after type inference accepted the node with these exact inputs, so it
 * trusts the shapes it is given (see kernels.h). */
#ifndef QC_BACKENDS_REF_TENSOR_KERNELS_H
#define QC_BACKENDS_REF_TENSOR_KERNELS_H

#include "backends/ref/kernels.h"

/* Unary and binary elementwise math (backends/ref/elementwise.c). */
qc_status qc_ref_elementwise(const qc_ref_args *a);
/* Identity and the shape/data-movement ops (backends/ref/shape.c). */
qc_status qc_ref_shape(const qc_ref_args *a);
/* Cast (backends/ref/cast.c). */
qc_status qc_ref_cast(const qc_ref_args *a);

/* Float -> integer type t: NaN gives 0, values beyond t's range saturate to
 * its min/max, the rest truncate toward zero (backends/ref/cast.c). */
int64_t qc_ref_float_to_int(double v, qc_dtype t);

#endif
