/* Kernel variants: one per instruction set, chosen once per process.
 *
 * A variant bundles every kernel an instruction set speeds up: the quant
 * table (activation quantizers, conversions, dot products), the prefill
 * tiles and panels, and the row kernels of ops.c. Each part may be missing
 * for a type or as a whole; the scalar reference serves there. The list in
 * kernels.c is the one place variants are named, best first, with the
 * scalar reference last; the first whose probe accepts the CPU is used,
 * unless the environment asks for another:
 *   LLAMATERM_KERNELS=NAME     that variant (refused if the CPU lacks it)
 *   LLAMATERM_FORCE_SCALAR=1   the scalar reference (same as NAME=scalar)
 *
 * Adding a variant: its kernels in engine/quant_<isa>.c (and ops_<isa>.c
 * for rows), one `const struct kernel_variant kernel_variant_<isa>` filled
 * with them, its extern at the end of this file, and one entry in
 * kernels.c's list under the #if of its architecture.
 * tests/unit/test_simd.c and test_ops_simd.c run every variant this CPU can
 * run against the scalar reference and name the ones it cannot. */
#ifndef LT_KERNELS_H
#define LT_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "ops.h"
#include "quant.h"

/* A block kernel for prefill: y[t*ldy + r] = dot(weight row r, activation
 * row t) for r < rows and t < tokens, with weight rows w_stride bytes apart
 * and activation rows (of vec_dot_type) a_stride bytes apart. Each weight
 * block is loaded once for all tokens of the block, and every output equals
 * the variant's vec_dot of the same pair bit for bit. */
typedef void (*quant_tile_fn)(int64_t n, const void *w, size_t w_stride, const void *a,
			      size_t a_stride, float *y, size_t ldy);

struct quant_tile {
	quant_tile_fn fn;
	int rows;       /* weight rows per call */
	int tokens;     /* activation rows per call */
	quant_tile_fn gemv;  /* the same for gemv_rows rows by one token (decode), or NULL */
	int gemv_rows;
};

/* Kernels whose vector lanes are weight rows. For prefill (pack + gemm) a
 * panel is `rows` weight rows repacked, block by block, so that the 4-byte
 * groups of all rows at one position sit side by side: then one multiply
 * serves every row of the panel against one token and the lanes of the
 * sums are rows. ops_matmul packs each panel into per-thread scratch (the
 * mapped weights are never copied as a whole) and runs it against every
 * token of the batch. For decode (gemv) the same transpose happens in
 * registers on rows read in place. A type may have either kind or both.
 *
 * The integer sum of each block is exact, as in vec_dot; the float steps
 * differ (one scaled sum per block instead of eight lanes, or for floats
 * one running sum per row), so results agree with vec_dot to rounding,
 * not bit for bit. */
struct quant_panel {
	int rows;               /* weight rows per panel; rows are a multiple of 32 long */
	size_t act_block_bytes; /* activation bytes per 32 elements */
	size_t block_bytes;     /* panel bytes per 32 elements of all rows */
	/* Quantizes one activation row of n floats into the panel's format;
	 * NULL when the kernels read the floats as they are. */
	void (*act_from_float)(const float *x, void *dst, int64_t n);
	/* Packs n_rows (<= rows) weight rows, w_stride bytes apart; missing rows
	 * are zero. */
	void (*pack)(int64_t n, const void *w, size_t w_stride, int n_rows, void *panel);
	/* y[t*ldy + r] = dot(row r, token t) for r < n_rows, t < n_tok, with the
	 * activation rows a_stride bytes apart. */
	void (*gemm)(int64_t n, const void *panel, const void *act, size_t a_stride, int n_tok,
		     float *y, size_t ldy, int n_rows);
	/* Decode, or NULL: y[r] = dot(row r, one token) for r < n_rows (>= 1),
	 * reading the rows in place rather than from a packed panel. */
	void (*gemv)(int64_t n, const void *w, size_t w_stride, int n_rows, const void *act,
		     float *y);
};

struct kernel_variant {
	const char *name;  /* "avx2": what bench and info print, LLAMATERM_KERNELS takes */
	const char *needs; /* the CPU features it needs, in words */
	/* True when this CPU has them; asked once. */
	bool (*probe)(void);
	/* The kernels for type, or NULL where the variant has none. Any of
	 * these hooks may be NULL as a whole. */
	const struct quant_kernels *(*quant)(enum ggml_type type);
	const struct quant_tile *(*tile)(enum ggml_type type);
	const struct quant_panel *(*panel)(enum ggml_type type);
	const struct ops_row_kernels *(*rows)(void);
};

/* Every variant built into this binary, best first; the scalar reference
 * is last and always runs. */
const struct kernel_variant *const *kernels_list(size_t *n);

/* The variant in use (chosen at the first call, see above). */
const struct kernel_variant *kernels_active(void);

/* True when this CPU can run v. */
bool kernels_runnable(const struct kernel_variant *v);

/* Uses the variant named name from now on (tests compare variants this
 * way). Kernel pointers already taken (a model binds its weights' kernels
 * at load) keep theirs; not meant to race with running evaluations.
 * Returns 0, LT_E_NOTFOUND for an unknown name, LT_E_UNSUPPORTED when the
 * CPU lacks what it needs. */
int kernels_select(const char *name);

/* The variant's kernels for type, falling back to the scalar reference
 * (NULL only when no kernel computes type). */
const struct quant_kernels *kernels_quant(const struct kernel_variant *v, enum ggml_type type);

/* The variants of this build (kernels.c lists them). */
extern const struct kernel_variant kernel_variant_scalar;
extern const struct kernel_variant kernel_variant_avx512_vnni;
extern const struct kernel_variant kernel_variant_avx_vnni;
extern const struct kernel_variant kernel_variant_avx2;
extern const struct kernel_variant kernel_variant_neon_dotprod;
extern const struct kernel_variant kernel_variant_neon;

#endif
