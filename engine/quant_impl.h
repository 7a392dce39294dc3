/* Internal to the quant*.c files: never include it anywhere else, and
 * nothing here is API. It holds the bit and rounding helpers quant.c and
 * quant_k.c share, the q3_K scale layout quant_x86.c reads too, and the
 * K-quant reference kernels quant_k.c defines for quant.c's table (named as
 * its KERNELS macro expects). */
#ifndef LT_QUANT_IMPL_H
#define LT_QUANT_IMPL_H

#include <stdint.h>
#include <string.h>

#include "quant.h"

/* Float bit patterns, for the half conversions and round_nearest. */
static inline uint32_t f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof(u));
	return u;
}

static inline float bits_f32(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof(f));
	return f;
}

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

/* Rounds to nearest with ties to even, for |v| < 2^22. Adding 1.5 * 2^23
 * leaves no fraction bits in the sum, so the FPU's rounding picks the integer
 * and its value sits in the low mantissa bits. ggml rounds the same way, and
 * a NaN or huge input gives a wrong integer but never undefined behaviour. */
static inline int round_nearest(float v)
{
	uint32_t u = f32_bits(v + 12582912.0f);
	return (int)(u & 0x7fffff) - 0x400000;
}

/* Reads the sixteen 6-bit scales of a q3_K block, minus their bias of 32:
 * bytes 0-7 hold low nibbles (scales 0-7, then 8-15 in the high halves),
 * bytes 8-11 hold the top two bits, byte 8 + j%4 at bit 2*(j/4). The
 * reference and the AVX2 kernel both read them so. */
static inline void q3_K_scales(const uint8_t *s, int *out)
{
	for (int j = 0; j < 16; j++) {
		int lo = j < 8 ? s[j] & 0x0f : s[j - 8] >> 4;
		int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
		out[j] = (lo | hi << 4) - 32;
	}
}

/* K-quant reference kernels, in quant_k.c. */
void q2_K_from_float(const float *x, void *vy, int64_t n);
void q2_K_to_float(const void *vx, float *y, int64_t n);
void q2_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy);
void q3_K_from_float(const float *x, void *vy, int64_t n);
void q3_K_to_float(const void *vx, float *y, int64_t n);
void q3_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy);
void q4_K_from_float(const float *x, void *vy, int64_t n);
void q4_K_to_float(const void *vx, float *y, int64_t n);
void q4_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy);
void q5_K_from_float(const float *x, void *vy, int64_t n);
void q5_K_to_float(const void *vx, float *y, int64_t n);
void q5_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy);
void q6_K_from_float(const float *x, void *vy, int64_t n);
void q6_K_to_float(const void *vx, float *y, int64_t n);
void q6_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy);
void q8_K_from_float(const float *x, void *vy, int64_t n);
void q8_K_to_float(const void *vx, float *y, int64_t n);
void q8_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy);

#endif
