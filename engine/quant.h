/* Tensor element formats: F16/BF16 conversion, the packed quantization block
 * structs, and one kernel table indexed by type with
 *   to_float   dequantize a row of n elements into floats,
 *   from_float quantize n floats into a row of the type,
 *   vec_dot    dot product of a row of the type with a row of vec_dot_type
 *              (the type the activations are quantized into first).
 *
 * quant_ref() returns the portable scalar reference kernels, kept forever
 * because tests compare every faster variant with them; quant_best() returns
 * those of the kernel variant in use (kernels.h), the reference where it has
 * none. */
#ifndef LT_QUANT_H
#define LT_QUANT_H

#include <stdint.h>

#include "dtype.h"

/* IEEE half and bfloat16 conversions. Floats round to nearest, ties to even;
 * infinities and NaNs survive (NaNs become quiet NaNs); subnormals are exact. */
float fp16_to_f32(uint16_t h);
uint16_t f32_to_fp16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

/* Packed quantization blocks, byte for byte as ggml lays them out in GGUF
 * files (so a tensor's data can be used in place). Scales stored as IEEE
 * half are uint16_t; read them with fp16_to_f32. */

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define K_SCALE_SIZE 12

/* 4.5 bits per weight: x = d * (q - 8). */
struct block_q4_0 {
	uint16_t d;             /* scale (fp16) */
	uint8_t qs[QK4_0 / 2];  /* element j in the low nibble of qs[j], element j+16 in the high */
};
_Static_assert(sizeof(struct block_q4_0) == 18, "block_q4_0 size");

/* 5 bits per weight: x = d * q + m. */
struct block_q4_1 {
	uint16_t d;             /* scale (fp16) */
	uint16_t m;             /* minimum (fp16) */
	uint8_t qs[QK4_1 / 2];  /* nibbles as in q4_0 */
};
_Static_assert(sizeof(struct block_q4_1) == 20, "block_q4_1 size");

/* 5.5 bits per weight: x = d * (q - 16). */
struct block_q5_0 {
	uint16_t d;             /* scale (fp16) */
	uint8_t qh[4];          /* fifth bit of element j is bit j of this little-endian word */
	uint8_t qs[QK5_0 / 2];  /* low four bits, nibbles as in q4_0 */
};
_Static_assert(sizeof(struct block_q5_0) == 22, "block_q5_0 size");

/* 6 bits per weight: x = d * q + m. */
struct block_q5_1 {
	uint16_t d;             /* scale (fp16) */
	uint16_t m;             /* minimum (fp16) */
	uint8_t qh[4];          /* fifth bits as in q5_0 */
	uint8_t qs[QK5_1 / 2];  /* low four bits as in q5_0 */
};
_Static_assert(sizeof(struct block_q5_1) == 24, "block_q5_1 size");

/* 8.5 bits per weight: x = d * q. */
struct block_q8_0 {
	uint16_t d;             /* scale (fp16) */
	int8_t qs[QK8_0];
};
_Static_assert(sizeof(struct block_q8_0) == 34, "block_q8_0 size");

/* 9 bits per weight: q8_0 plus s = d * sum(qs), for dots with q4_1/q5_1. */
struct block_q8_1 {
	uint16_t d;             /* scale (fp16) */
	uint16_t s;             /* d * sum(qs) (fp16) */
	int8_t qs[QK8_1];
};
_Static_assert(sizeof(struct block_q8_1) == 36, "block_q8_1 size");

/* 2.625 bits per weight: 16 groups of 16, x = d * sc * q - dmin * m. */
struct block_q2_K {
	uint8_t scales[QK_K / 16];  /* group g: scale sc in the low nibble, min m in the high */
	uint8_t qs[QK_K / 4];       /* 2-bit quants, four 32-element runs per 128 share a byte */
	uint16_t d;                 /* super-block scale of the scales (fp16) */
	uint16_t dmin;              /* super-block scale of the mins (fp16) */
};
_Static_assert(sizeof(struct block_q2_K) == 84, "block_q2_K size");

/* 3.4375 bits per weight: 16 groups of 16, x = d * (sc - 32) * (q - 4). */
struct block_q3_K {
	uint8_t hmask[QK_K / 8];    /* third bit: element e in bit e/32 of hmask[e%32] */
	uint8_t qs[QK_K / 4];       /* low two bits, laid out as in q2_K */
	uint8_t scales[12];         /* sixteen 6-bit scales: low nibbles, then high pairs */
	uint16_t d;                 /* super-block scale (fp16) */
};
_Static_assert(sizeof(struct block_q3_K) == 110, "block_q3_K size");

/* 4.5 bits per weight: 8 groups of 32, x = d * sc * q - dmin * m. */
struct block_q4_K {
	uint16_t d;                     /* super-block scale of the scales (fp16) */
	uint16_t dmin;                  /* super-block scale of the mins (fp16) */
	uint8_t scales[K_SCALE_SIZE];   /* eight 6-bit scales and eight 6-bit mins */
	uint8_t qs[QK_K / 2];           /* per 64 elements, 32 bytes: low nibbles the first 32 */
};
_Static_assert(sizeof(struct block_q4_K) == 144, "block_q4_K size");

/* 5.5 bits per weight: 8 groups of 32, x = d * sc * q - dmin * m. */
struct block_q5_K {
	uint16_t d;                     /* super-block scale of the scales (fp16) */
	uint16_t dmin;                  /* super-block scale of the mins (fp16) */
	uint8_t scales[K_SCALE_SIZE];   /* as in q4_K */
	uint8_t qh[QK_K / 8];           /* fifth bit: group g in bit g of qh[e%32] */
	uint8_t qs[QK_K / 2];           /* low four bits as in q4_K */
};
_Static_assert(sizeof(struct block_q5_K) == 176, "block_q5_K size");

/* 6.5625 bits per weight: 16 groups of 16, x = d * sc * (q - 32). */
struct block_q6_K {
	uint8_t ql[QK_K / 2];       /* low four bits */
	uint8_t qh[QK_K / 4];       /* high two bits */
	int8_t scales[QK_K / 16];   /* signed 8-bit group scales */
	uint16_t d;                 /* super-block scale (fp16) */
};
_Static_assert(sizeof(struct block_q6_K) == 210, "block_q6_K size");

/* 9.125 bits per weight, activations only: x = d * q, with group sums so
 * dots with the min-carrying k-quants need no second pass. */
struct block_q8_K {
	float d;                    /* scale (f32) */
	int8_t qs[QK_K];
	int16_t bsums[QK_K / 16];   /* sum of each 16 consecutive qs */
};
_Static_assert(sizeof(struct block_q8_K) == 292, "block_q8_K size");

/* In all three, n counts elements and must be a whole number of the type's
 * blocks (dtype_info()->block_size); rows do not overlap. */
typedef void (*quant_to_float_fn)(const void *src, float *dst, int64_t n);
typedef void (*quant_from_float_fn)(const float *src, void *dst, int64_t n);
/* *s = dot(x[0..n), y[0..n)); x of the row's type, y of vec_dot_type. */
typedef void (*quant_vec_dot_fn)(int64_t n, float *s, const void *x, const void *y);

struct quant_kernels {
	quant_to_float_fn to_float;
	quant_from_float_fn from_float;
	quant_vec_dot_fn vec_dot;
	enum ggml_type vec_dot_type;
};

/* Fills table with the reference kernels (zeros where a type is not
 * computed): where a variant's table starts before it puts in its own. */
void quant_ref_table(struct quant_kernels table[GGML_TYPE_COUNT]);

/* The kernels for type, or NULL when the type is not computed. */
const struct quant_kernels *quant_ref(enum ggml_type type);
const struct quant_kernels *quant_best(enum ggml_type type);

/* q8_0 blocks as ggml's x86 CPU code writes them (scale 127/amax, ties to
 * even) rather than as its reference quantizer does: llama.cpp fills a q8_0
 * KV cache, and quantizes the queries that meet it, this way, so a cache
 * that should hold llama.cpp's bytes uses it. */
void quant_q8_0_like_ggml_cpu(const float *x, void *y, int64_t n);

#endif
