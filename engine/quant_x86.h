/* x86-64 kernels: AVX2 + FMA + F16C variants of the hot quant kernels
 * (activation quantizers and dot products), chosen at run time from the
 * CPU's features so one binary runs on any x86-64. Types without a SIMD
 * kernel keep the scalar reference functions in the table. On other
 * architectures quant_x86 always returns NULL.
 *
 * The environment variable LLAMATERM_FORCE_SCALAR=1 (read once, at the first
 * call) turns these kernels off, as does quant_x86_set_enabled(false); tests
 * use them to compare both paths. */
#ifndef LT_QUANT_X86_H
#define LT_QUANT_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quant.h"

/* The SIMD kernels for type, or NULL when the CPU lacks AVX2/FMA/F16C, the
 * kernels are disabled, or type is not computed. Fits quant_arch_fn. */
const struct quant_kernels *quant_x86(enum ggml_type type);

/* A block kernel for prefill: y[t*ldy + r] = dot(weight row r, activation
 * row t) for r < rows and t < tokens, with weight rows w_stride bytes apart
 * and activation rows (of vec_dot_type) a_stride bytes apart. Each weight
 * block is loaded once for all tokens of the block, and every output equals
 * the table's vec_dot of the same pair bit for bit. */
typedef void (*quant_tile_fn)(int64_t n, const void *w, size_t w_stride, const void *a,
			      size_t a_stride, float *y, size_t ldy);

struct quant_tile {
	quant_tile_fn fn;
	int rows;       /* weight rows per call */
	int tokens;     /* activation rows per call */
	quant_tile_fn gemv;  /* the same for gemv_rows rows by one token (decode), or NULL */
	int gemv_rows;
};

/* The tile kernel that goes with quant_x86(type)'s vec_dot, or NULL. */
const struct quant_tile *quant_x86_tile(enum ggml_type type);

/* Kernels whose vector lanes are weight rows. For prefill (pack + gemm:
 * f32, q8_0, q4_0) a panel is `rows` weight rows repacked, block by block,
 * so that the 4-byte groups of all rows at one position sit side by side:
 * then one maddubs serves every row of the panel against one token, the
 * lanes of the integer sums are rows, and one conversion and one
 * multiply-add per block cover the whole panel. ops_matmul packs each panel
 * into per-thread scratch (the mapped weights are never copied as a whole)
 * and runs it against every token of the batch. For decode (gemv: q8_0,
 * q4_0, q4_K) the same transpose happens in registers on rows read in place.
 * A type may have either kind or both.
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

/* The panel kernels for type, or NULL when the SIMD kernels are off or type
 * has none. */
const struct quant_panel *quant_x86_panel(enum ggml_type type);

/* Turns the SIMD kernels on or off for later quant_best calls. Kernel
 * pointers already taken (a model's weights bind theirs at load) keep
 * theirs. Not meant to race with running evaluations. */
void quant_x86_set_enabled(bool on);

/* True when the SIMD kernels are in use (the CPU has them and they are on). */
bool quant_x86_active(void);

#endif
