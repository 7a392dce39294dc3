/* The GGML tensor type table: every type id a GGUF file may name, with its
 * name, block size (elements per block) and bytes per block.
 *
 * Ids follow ggml's numbering; gaps are ids ggml retired, which we reject. */
#ifndef LT_DTYPE_H
#define LT_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ggml_type {
	GGML_TYPE_F32 = 0,
	GGML_TYPE_F16 = 1,
	GGML_TYPE_Q4_0 = 2,
	GGML_TYPE_Q4_1 = 3,
	GGML_TYPE_Q5_0 = 6,
	GGML_TYPE_Q5_1 = 7,
	GGML_TYPE_Q8_0 = 8,
	GGML_TYPE_Q8_1 = 9,
	GGML_TYPE_Q2_K = 10,
	GGML_TYPE_Q3_K = 11,
	GGML_TYPE_Q4_K = 12,
	GGML_TYPE_Q5_K = 13,
	GGML_TYPE_Q6_K = 14,
	GGML_TYPE_Q8_K = 15,
	GGML_TYPE_IQ2_XXS = 16,
	GGML_TYPE_IQ2_XS = 17,
	GGML_TYPE_IQ3_XXS = 18,
	GGML_TYPE_IQ1_S = 19,
	GGML_TYPE_IQ4_NL = 20,
	GGML_TYPE_IQ3_S = 21,
	GGML_TYPE_IQ2_S = 22,
	GGML_TYPE_IQ4_XS = 23,
	GGML_TYPE_I8 = 24,
	GGML_TYPE_I16 = 25,
	GGML_TYPE_I32 = 26,
	GGML_TYPE_I64 = 27,
	GGML_TYPE_F64 = 28,
	GGML_TYPE_IQ1_M = 29,
	GGML_TYPE_BF16 = 30,
	GGML_TYPE_TQ1_0 = 34,
	GGML_TYPE_TQ2_0 = 35,
	GGML_TYPE_MXFP4 = 39,
	GGML_TYPE_COUNT = 40,
};

/* The block size of the k-quants. */
#define QK_K 256

struct dtype_info {
	const char *name;     /* as ggml prints it: "q4_K", "f16" */
	int block_size;       /* elements per block */
	int block_bytes;      /* bytes per block */
	bool quantized;       /* a block format rather than plain numbers */
};

/* Returns the entry for a type id, or NULL for an id that names no type. */
const struct dtype_info *dtype_info(int type);

/* Returns the type's name, or "?" for an unknown id. */
const char *dtype_name(int type);

/* Finds a type by name (case-insensitive: "Q4_K", "q4_k"); -1 if none. */
int dtype_from_name(const char *name);

/* Bytes needed for n elements of a type; 0 when n is not a whole number of
 * blocks or the type is unknown. */
size_t dtype_row_bytes(int type, int64_t n);

/* Bits per weight, for summaries. */
double dtype_bits_per_weight(int type);

#endif
