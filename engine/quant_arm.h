/* AArch64 kernels: the "neon" and "neon-dotprod" kernel variants
 * (kernels.h). NEON (Advanced SIMD) is part of every AArch64 CPU, so "neon"
 * always runs there; "neon-dotprod" adds the Armv8.2 dot product
 * instructions (SDOT) for the integer dots and runs where the kernel
 * reports them (HWCAP_ASIMDDP). Both carry the activation quantizers, the
 * float, half and bfloat16 dots and conversions, and the legacy and
 * K-quant dot products, and share the row kernels of ops_arm.c; types
 * without a NEON kernel keep the scalar reference ones. Of the prefill
 * kernels there are the F32 (with its decode kernel), q4_K and q6_K tiles
 * but no panels yet (ops_matmul then calls vec_dot per row for the rest).
 * Only built on AArch64.
 *
 * Accuracy against the scalar reference (quant_ref), as tests/unit/
 * test_simd.c checks it: the q8 activation quantizers and the conversions
 * give the same bytes; the integer parts of every block dot are exact, so
 * the dots differ only in the order of their float sums. The two variants
 * give each other's results bit for bit: they differ only in how the exact
 * integer sums are formed. */
#ifndef LT_QUANT_ARM_H
#define LT_QUANT_ARM_H

#include "kernels.h"
#include "quant.h"

/* The NEON kernels for type, or NULL when type is not computed. */
const struct quant_kernels *quant_arm(enum ggml_type type);

/* The same with the dot product instructions; call only where the CPU has
 * them (kernel_variant_neon_dotprod's probe said yes). */
const struct quant_kernels *quant_arm_dotprod(enum ggml_type type);

#endif
