/* AArch64 row kernels: NEON versions of the row operations in ops.c (RMS
 * norm, softmax, SwiGLU, add, exp, RoPE) and of attention's inner loops
 * (scores against the cached keys, weighted sum of the cached values), for
 * the "neon" and "neon-dotprod" kernel variants alike (quant_arm.h): they
 * need nothing beyond Armv8.0 Advanced SIMD.
 *
 * Accuracy against the scalar reference table (ops_rows_ref) is that of the
 * x86 kernels (ops_x86.h), as the arithmetic is the same step for step:
 * - exp: the same polynomial and scaling, within 1 ulp of the exact e^x
 *   for normal results; 0 below about -103.97, +inf above about 88.72,
 *   -inf gives 0 and NaN stays NaN.
 * - rmsnorm and softmax keep the reference's double sums, so only the order
 *   of those sums (and exp's error for softmax) differs.
 * - swiglu, rope, scores and wsum use fused multiply-adds and sum in float
 *   lanes: a few ulp from the reference.
 * - add is exact. */
#ifndef LT_OPS_ARM_H
#define LT_OPS_ARM_H

#include "ops.h"

/* The NEON row kernels; only built on AArch64. */
const struct ops_row_kernels *ops_arm_rows(void);

#endif
