/* x86-64 kernels: the "avx2" kernel variant (kernels.h), AVX2 + FMA + F16C
 * versions of the hot quant kernels (activation quantizers, dot products,
 * prefill tiles and panels), chosen at run time from the CPU's features so
 * one binary runs on any x86-64. Types without a SIMD kernel keep the
 * scalar reference functions in the table. Only built on x86. */
#ifndef LT_QUANT_X86_H
#define LT_QUANT_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels.h"
#include "quant.h"

/* True when the CPU has AVX2, FMA and F16C. */
bool quant_x86_probe(void);

/* The SIMD kernels for type, or NULL when type is not computed. Call only
 * after quant_x86_probe said yes. */
const struct quant_kernels *quant_x86(enum ggml_type type);

/* The tile kernel that goes with quant_x86(type)'s vec_dot, or NULL. */
const struct quant_tile *quant_x86_tile(enum ggml_type type);

/* The panel kernels for type, or NULL when type has none. */
const struct quant_panel *quant_x86_panel(enum ggml_type type);

/* The same for the k-quants (quant_x86_kpanel.c), which quant_x86_panel
 * asks; NULL for every other type. */
const struct quant_panel *quant_x86_kpanel(enum ggml_type type);

/* The k-quant panels' activations and packing for thirty-two rows, as
 * four panels of quant_x86_kpanel's eight one after the other (every
 * super-block of rows 0-7, then of rows 8-15, ...), with no gemm: the
 * layout avx512-vnni's gemm reads. NULL for every other type. */
const struct quant_panel *quant_x86_kpanel32(enum ggml_type type);

/* Puts the VNNI variants' k-quant panels (quant_x86_vnni_kpanel.c) into a
 * table indexed by type: avx512-vnni's thirty-two-row ones on 512 bits when
 * avx512 is true, else avx-vnni's. Call only after the variant's probe
 * said yes. */
void quant_x86_vnni_kpanels(struct quant_panel *panel, bool avx512);

#endif
