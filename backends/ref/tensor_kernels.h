/* tensor_kernels.h — internal: the ref kernels of the 'tensor' op group,
 * split by kind. backends/ref/tensor.c dispatches to them; every one runs
 * after type inference accepted the node with these exact inputs, so it
 * trusts the shapes it is given (see kernels.h). */
#ifndef QC_BACKENDS_REF_TENSOR_KERNELS_H
#define QC_BACKENDS_REF_TENSOR_KERNELS_H

#include "backends/ref/kernels.h"

/* Unary and binary elementwise math (backends/ref/elementwise.c). */
qc_status qc_ref_elementwise(const qc_ref_args *a);
/* Identity, the shape/data-movement ops, and Shape, Size, ConstantOfShape,
 * Range, Dropout (backends/ref/shape.c). */
qc_status qc_ref_shape(const qc_ref_args *a);
/* Cast and CastLike (backends/ref/cast.c). */
qc_status qc_ref_cast(const qc_ref_args *a);
/* Neg ... IsNaN and PRelu (backends/ref/unary_math.c). */
qc_status qc_ref_unary_math(const qc_ref_args *a);
/* Mod, Max/Min/Sum/Mean, comparisons, And/Or/Xor, Where
 * (backends/ref/compare.c). */
qc_status qc_ref_compare(const qc_ref_args *a);
/* Pad, Tile, Expand, Trilu, DepthToSpace, SpaceToDepth: copies where every
 * output element comes from one computed input position (backends/ref/pad.c). */
qc_status qc_ref_pad(const qc_ref_args *a);

/* Float -> integer type t: NaN gives 0, values beyond t's range saturate to
 * its min/max, the rest truncate toward zero (backends/ref/cast.c). */
int64_t qc_ref_float_to_int(double v, qc_dtype t);

/* Copies count elements of type t from src[si..] to dst[di..] (element
 * indices; the packed 4-bit types are moved one nibble at a time)
 * (backends/ref/shape.c). */
void qc_ref_copy_elems(qc_dtype t, void *dst, int64_t di, const void *src, int64_t si,
                       int64_t count);

/* Element strides of x seen as an operand of a numpy broadcast whose result
 * has rank r (right-aligned; 0 along broadcast dims) (backends/ref/elementwise.c). */
void qc_ref_bcast_strides(const qc_tensor_desc *x, int32_t r, int64_t *s);

#endif
