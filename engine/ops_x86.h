/* x86-64 row kernels: AVX2 + FMA variants of the row operations in ops.c
 * (RMS norm, softmax, SwiGLU, add, exp, RoPE) and of attention's inner
 * loops (scores against the cached keys, weighted sum of the cached
 * values), chosen at run time like the quant kernels of quant_x86.
 *
 * Accuracy against the scalar reference table (ops_rows_ref):
 * - exp: within 1 ulp of the exact e^x for normal results (0.94 ulp at
 *   worst); subnormal results are within 1 ulp of theirs, below about
 *   -103.97 the result is 0, above about 88.72 it is +inf, -inf gives 0
 *   and NaN stays NaN.
 * - rmsnorm and softmax keep the reference's double sums, so only the order
 *   of those sums (and exp's error for softmax) differs.
 * - swiglu, rope, scores and wsum use fused multiply-adds and sum in float
 *   lanes: a few ulp from the reference.
 * - add is exact. */
#ifndef LT_OPS_X86_H
#define LT_OPS_X86_H

#include "ops.h"

/* The SIMD row kernels of the "avx2" variant (kernels.h); only built on
 * x86, and only for a CPU with AVX2, FMA and F16C (quant_x86_probe). */
const struct ops_row_kernels *ops_x86_rows(void);

/* The same with attention's scores and weighted sums on 512-bit registers:
 * the "avx512-vnni" variant's, only for a CPU with AVX-512 F/BW/VL/DQ. */
const struct ops_row_kernels *ops_x86_rows512(void);

#endif
