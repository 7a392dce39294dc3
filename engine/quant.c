/* Scalar reference kernels for every tensor format we compute.
 *
 * Quantization follows ggml's reference algorithms step for step (same
 * operations in the same order) so a row quantized here gets the bytes
 * llama.cpp's quantizer would write without an importance matrix, and
 * dequantization and dot products use ggml's arithmetic so our logits differ
 * from llama.cpp's only by float rounding. Speed lives in the per-architecture
 * tables; these stay simple and are kept as the oracle the tests use.
 *
 * This file holds the F16/BF16 conversions, the 32-element block formats
 * (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1) and the dispatch
 * tables; the K-quants are in quant_k.c. */
#include "quant.h"
#include "quant_impl.h"
#include "kernels.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* The integer part of v clamped to [lo, hi]; NaN gives lo. The legacy
 * quantizers truncate after adding 0.5, and a bare (int) cast of an
 * out-of-range float would be undefined. */
static inline int trunc_clamp(float v, int lo, int hi)
{
	if (v >= (float)hi)
		return hi;
	if (v > (float)lo)
		return (int)v;
	return lo;
}

/* ---------------------------------------------------------------- F16, BF16 */

float fp16_to_f32(uint16_t h)
{
	/* Selects rather than branches, so loops over rows vectorize. */
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t em = h & 0x7fff;
	uint32_t normal = (em << 13) + ((uint32_t)112 << 23); /* rebias 15 -> 127 */
	uint32_t special = (em << 13) | 0x7f800000;         /* inf, NaN */
	uint32_t subnormal = f32_bits((float)em * 0x1p-24f); /* exact below 2^-14 */
	uint32_t r = em >= 0x7c00 ? special : em >= 0x0400 ? normal : subnormal;
	return bits_f32(r | sign);
}

uint16_t f32_to_fp16(float f)
{
	uint32_t x = f32_bits(f);
	uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
	uint32_t ax = x & 0x7fffffff;

	if (ax > 0x7f800000) /* NaN: keep the top payload bits, force quiet */
		return sign | 0x7e00 | (uint16_t)((ax >> 13) & 0x3ff);
	if (ax >= 0x477ff000) /* 65520 and up round to infinity */
		return sign | 0x7c00;
	if (ax >= 0x38800000) {
		/* Normal half: rebias the exponent, then round the 13 dropped
		 * bits to even; a carry out of the mantissa bumps the exponent,
		 * which is exactly right. */
		uint32_t r = ax - ((uint32_t)(127 - 15) << 23);
		r += 0xfff + ((r >> 13) & 1);
		return sign | (uint16_t)(r >> 13);
	}
	/* Subnormal half (or zero): count units of 2^-24 with the implicit
	 * bit restored, rounding the bits shifted out to even. */
	int shift = 126 - (int)(ax >> 23);
	if (shift > 24)
		return sign; /* below half the smallest subnormal */
	uint32_t m = (ax & 0x7fffff) | 0x800000;
	uint32_t q = m >> shift;
	uint32_t rem = m & ((1u << shift) - 1);
	uint32_t half = 1u << (shift - 1);
	if (rem > half || (rem == half && (q & 1)))
		q++;
	return sign | (uint16_t)q;
}

float bf16_to_f32(uint16_t h)
{
	return bits_f32((uint32_t)h << 16);
}

uint16_t f32_to_bf16(float f)
{
	uint32_t x = f32_bits(f);
	if ((x & 0x7fffffff) > 0x7f800000)
		return (uint16_t)((x >> 16) | 0x40); /* NaN stays NaN, made quiet */
	/* Round to nearest even; finite values near the top round to inf. */
	return (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

/* ---------------------------------------------------------------- F32 */

static void f32_to_float(const void *src, float *dst, int64_t n)
{
	memcpy(dst, src, (size_t)n * sizeof(float));
}

static void f32_from_float(const float *src, void *dst, int64_t n)
{
	memcpy(dst, src, (size_t)n * sizeof(float));
}

/* Plain float dots accumulate in double, as ggml's scalar path does. */
static void f32_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const float *x = vx, *y = vy;
	double sum = 0;
	for (int64_t i = 0; i < n; i++)
		sum += (double)(x[i] * y[i]);
	*s = (float)sum;
}

/* ---------------------------------------------------------------- F16 */

static void f16_to_float(const void *src, float *dst, int64_t n)
{
	const uint16_t *h = src;
	for (int64_t i = 0; i < n; i++)
		dst[i] = fp16_to_f32(h[i]);
}

static void f16_from_float(const float *src, void *dst, int64_t n)
{
	uint16_t *h = dst;
	for (int64_t i = 0; i < n; i++)
		h[i] = f32_to_fp16(src[i]);
}

static void f16_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const uint16_t *x = vx, *y = vy;
	double sum = 0;
	for (int64_t i = 0; i < n; i++)
		sum += (double)(fp16_to_f32(x[i]) * fp16_to_f32(y[i]));
	*s = (float)sum;
}

/* ---------------------------------------------------------------- BF16 */

static void bf16_to_float(const void *src, float *dst, int64_t n)
{
	const uint16_t *h = src;
	for (int64_t i = 0; i < n; i++)
		dst[i] = bf16_to_f32(h[i]);
}

static void bf16_from_float(const float *src, void *dst, int64_t n)
{
	uint16_t *h = dst;
	for (int64_t i = 0; i < n; i++)
		h[i] = f32_to_bf16(src[i]);
}

static void bf16_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const uint16_t *x = vx, *y = vy;
	double sum = 0;
	for (int64_t i = 0; i < n; i++)
		sum += (double)(bf16_to_f32(x[i]) * bf16_to_f32(y[i]));
	*s = (float)sum;
}

/* ---------------------------------------------------------------- Q4_0 */

static void q4_0_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q4_0 *y = vy;
	for (int64_t i = 0; i < n / QK4_0; i++, x += QK4_0) {
		/* The value of largest magnitude maps to -8 exactly, keeping
		 * its sign, so the asymmetric range [-8, 7] is used fully. */
		float amax = 0, max = 0;
		for (int j = 0; j < QK4_0; j++) {
			if (amax < fabsf(x[j])) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		}
		const float d = max / -8;
		const float id = d ? 1.0f / d : 0.0f;
		y[i].d = f32_to_fp16(d);
		for (int j = 0; j < QK4_0 / 2; j++) {
			int q0 = trunc_clamp(x[j] * id + 8.5f, 0, 15);
			int q1 = trunc_clamp(x[j + QK4_0 / 2] * id + 8.5f, 0, 15);
			y[i].qs[j] = (uint8_t)(q0 | q1 << 4);
		}
	}
}

static void q4_0_to_float(const void *vx, float *y, int64_t n)
{
	const struct block_q4_0 *x = vx;
	for (int64_t i = 0; i < n / QK4_0; i++, y += QK4_0) {
		const float d = fp16_to_f32(x[i].d);
		for (int j = 0; j < QK4_0 / 2; j++) {
			y[j] = ((x[i].qs[j] & 0x0f) - 8) * d;
			y[j + QK4_0 / 2] = ((x[i].qs[j] >> 4) - 8) * d;
		}
	}
}

static void q4_0_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_0 *x = vx;
	const struct block_q8_0 *y = vy;
	float sum = 0;
	for (int64_t i = 0; i < n / QK4_0; i++) {
		int isum = 0;
		for (int j = 0; j < QK4_0 / 2; j++) {
			isum += ((x[i].qs[j] & 0x0f) - 8) * y[i].qs[j];
			isum += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + QK4_0 / 2];
		}
		sum += isum * fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d);
	}
	*s = sum;
}

/* ---------------------------------------------------------------- Q4_1 */

static void q4_1_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q4_1 *y = vy;
	for (int64_t i = 0; i < n / QK4_1; i++, x += QK4_1) {
		float min = FLT_MAX, max = -FLT_MAX;
		for (int j = 0; j < QK4_1; j++) {
			if (x[j] < min)
				min = x[j];
			if (x[j] > max)
				max = x[j];
		}
		const float d = (max - min) / 15;
		const float id = d ? 1.0f / d : 0.0f;
		y[i].d = f32_to_fp16(d);
		y[i].m = f32_to_fp16(min);
		for (int j = 0; j < QK4_1 / 2; j++) {
			int q0 = trunc_clamp((x[j] - min) * id + 0.5f, 0, 15);
			int q1 = trunc_clamp((x[j + QK4_1 / 2] - min) * id + 0.5f, 0, 15);
			y[i].qs[j] = (uint8_t)(q0 | q1 << 4);
		}
	}
}

static void q4_1_to_float(const void *vx, float *y, int64_t n)
{
	const struct block_q4_1 *x = vx;
	for (int64_t i = 0; i < n / QK4_1; i++, y += QK4_1) {
		const float d = fp16_to_f32(x[i].d);
		const float m = fp16_to_f32(x[i].m);
		for (int j = 0; j < QK4_1 / 2; j++) {
			y[j] = (x[i].qs[j] & 0x0f) * d + m;
			y[j + QK4_1 / 2] = (x[i].qs[j] >> 4) * d + m;
		}
	}
}

/* The min term needs the sum of y's quants; q8_1 carries it premultiplied. */
static void q4_1_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_1 *x = vx;
	const struct block_q8_1 *y = vy;
	float sum = 0;
	for (int64_t i = 0; i < n / QK4_1; i++) {
		int isum = 0;
		for (int j = 0; j < QK4_1 / 2; j++) {
			isum += (x[i].qs[j] & 0x0f) * y[i].qs[j];
			isum += (x[i].qs[j] >> 4) * y[i].qs[j + QK4_1 / 2];
		}
		sum += (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d)) * isum +
		       fp16_to_f32(x[i].m) * fp16_to_f32(y[i].s);
	}
	*s = sum;
}

/* ---------------------------------------------------------------- Q5_0 */

static inline uint32_t load_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void store_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Unpacks 32 five-bit quants (0..31) of a q5_0 or q5_1 block. */
static inline void q5_unpack(const uint8_t qh[4], const uint8_t qs[16], int q[32])
{
	uint32_t h = load_u32(qh);
	for (int j = 0; j < 16; j++) {
		q[j] = (qs[j] & 0x0f) | (int)((h >> j) & 1) << 4;
		q[j + 16] = (qs[j] >> 4) | (int)((h >> (j + 16)) & 1) << 4;
	}
}

/* Packs 32 five-bit quants into the nibbles and the high-bit word. */
static inline void q5_pack(const int q[32], uint8_t qh[4], uint8_t qs[16])
{
	uint32_t h = 0;
	for (int j = 0; j < 16; j++) {
		qs[j] = (uint8_t)((q[j] & 0x0f) | (q[j + 16] & 0x0f) << 4);
		h |= (uint32_t)(q[j] >> 4 & 1) << j;
		h |= (uint32_t)(q[j + 16] >> 4 & 1) << (j + 16);
	}
	store_u32(qh, h);
}

static void q5_0_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q5_0 *y = vy;
	for (int64_t i = 0; i < n / QK5_0; i++, x += QK5_0) {
		float amax = 0, max = 0;
		for (int j = 0; j < QK5_0; j++) {
			if (amax < fabsf(x[j])) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		}
		const float d = max / -16;
		const float id = d ? 1.0f / d : 0.0f;
		int q[QK5_0];
		for (int j = 0; j < QK5_0; j++)
			q[j] = trunc_clamp(x[j] * id + 16.5f, 0, 31);
		y[i].d = f32_to_fp16(d);
		q5_pack(q, y[i].qh, y[i].qs);
	}
}

static void q5_0_to_float(const void *vx, float *y, int64_t n)
{
	const struct block_q5_0 *x = vx;
	for (int64_t i = 0; i < n / QK5_0; i++, y += QK5_0) {
		const float d = fp16_to_f32(x[i].d);
		int q[QK5_0];
		q5_unpack(x[i].qh, x[i].qs, q);
		for (int j = 0; j < QK5_0; j++)
			y[j] = (q[j] - 16) * d;
	}
}

static void q5_0_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q5_0 *x = vx;
	const struct block_q8_0 *y = vy;
	float sum = 0;
	for (int64_t i = 0; i < n / QK5_0; i++) {
		int q[QK5_0], isum = 0;
		q5_unpack(x[i].qh, x[i].qs, q);
		for (int j = 0; j < QK5_0; j++)
			isum += (q[j] - 16) * y[i].qs[j];
		sum += (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d)) * isum;
	}
	*s = sum;
}

/* ---------------------------------------------------------------- Q5_1 */

static void q5_1_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q5_1 *y = vy;
	for (int64_t i = 0; i < n / QK5_1; i++, x += QK5_1) {
		float min = FLT_MAX, max = -FLT_MAX;
		for (int j = 0; j < QK5_1; j++) {
			if (x[j] < min)
				min = x[j];
			if (x[j] > max)
				max = x[j];
		}
		const float d = (max - min) / 31;
		const float id = d ? 1.0f / d : 0.0f;
		int q[QK5_1];
		for (int j = 0; j < QK5_1; j++)
			q[j] = trunc_clamp((x[j] - min) * id + 0.5f, 0, 31);
		y[i].d = f32_to_fp16(d);
		y[i].m = f32_to_fp16(min);
		q5_pack(q, y[i].qh, y[i].qs);
	}
}

static void q5_1_to_float(const void *vx, float *y, int64_t n)
{
	const struct block_q5_1 *x = vx;
	for (int64_t i = 0; i < n / QK5_1; i++, y += QK5_1) {
		const float d = fp16_to_f32(x[i].d);
		const float m = fp16_to_f32(x[i].m);
		int q[QK5_1];
		q5_unpack(x[i].qh, x[i].qs, q);
		for (int j = 0; j < QK5_1; j++)
			y[j] = q[j] * d + m;
	}
}

static void q5_1_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q5_1 *x = vx;
	const struct block_q8_1 *y = vy;
	float sum = 0;
	for (int64_t i = 0; i < n / QK5_1; i++) {
		int q[QK5_1], isum = 0;
		q5_unpack(x[i].qh, x[i].qs, q);
		for (int j = 0; j < QK5_1; j++)
			isum += q[j] * y[i].qs[j];
		sum += (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d)) * isum +
		       fp16_to_f32(x[i].m) * fp16_to_f32(y[i].s);
	}
	*s = sum;
}

/* ---------------------------------------------------------------- Q8_0 */

/* Rounds half away from zero (roundf), as ggml's q8 reference does. */
static inline int8_t q8_round(float v)
{
	float r = roundf(v);
	return (int8_t)(r >= 127.0f ? 127 : r > -127.0f ? (int)r : -127);
}

static float q8_absmax(const float *x, int n)
{
	float amax = 0;
	for (int j = 0; j < n; j++)
		amax = fmaxf(amax, fabsf(x[j]));
	return amax;
}

static void q8_0_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q8_0 *y = vy;
	for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) {
		const float d = q8_absmax(x, QK8_0) / 127;
		const float id = d ? 1.0f / d : 0.0f;
		y[i].d = f32_to_fp16(d);
		for (int j = 0; j < QK8_0; j++)
			y[i].qs[j] = q8_round(x[j] * id);
	}
}

void quant_q8_0_like_ggml_cpu(const float *x, void *vy, int64_t n)
{
	struct block_q8_0 *y = vy;
	for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) {
		const float amax = q8_absmax(x, QK8_0);
		const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
		y[i].d = f32_to_fp16(amax / 127.0f);
		/* nearbyintf rounds ties to even in the default rounding mode. */
		for (int j = 0; j < QK8_0; j++)
			y[i].qs[j] = (int8_t)nearbyintf(x[j] * id);
	}
}

static void q8_0_to_float(const void *vx, float *y, int64_t n)
{
	const struct block_q8_0 *x = vx;
	for (int64_t i = 0; i < n / QK8_0; i++, y += QK8_0) {
		const float d = fp16_to_f32(x[i].d);
		for (int j = 0; j < QK8_0; j++)
			y[j] = x[i].qs[j] * d;
	}
}

static void q8_0_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q8_0 *x = vx, *y = vy;
	float sum = 0;
	for (int64_t i = 0; i < n / QK8_0; i++) {
		int isum = 0;
		for (int j = 0; j < QK8_0; j++)
			isum += x[i].qs[j] * y[i].qs[j];
		sum += isum * (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d));
	}
	*s = sum;
}

/* ---------------------------------------------------------------- Q8_1 */

static void q8_1_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q8_1 *y = vy;
	for (int64_t i = 0; i < n / QK8_1; i++, x += QK8_1) {
		const float d = q8_absmax(x, QK8_1) / 127;
		const float id = d ? 1.0f / d : 0.0f;
		int sum = 0;
		y[i].d = f32_to_fp16(d);
		for (int j = 0; j < QK8_1; j++) {
			y[i].qs[j] = q8_round(x[j] * id);
			sum += y[i].qs[j];
		}
		y[i].s = f32_to_fp16(sum * d);
	}
}

static void q8_1_to_float(const void *vx, float *y, int64_t n)
{
	const struct block_q8_1 *x = vx;
	for (int64_t i = 0; i < n / QK8_1; i++, y += QK8_1) {
		const float d = fp16_to_f32(x[i].d);
		for (int j = 0; j < QK8_1; j++)
			y[j] = x[i].qs[j] * d;
	}
}

/* ggml has no q8_1 weights; this exists so every table entry is complete. */
static void q8_1_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q8_1 *x = vx, *y = vy;
	float sum = 0;
	for (int64_t i = 0; i < n / QK8_1; i++) {
		int isum = 0;
		for (int j = 0; j < QK8_1; j++)
			isum += x[i].qs[j] * y[i].qs[j];
		sum += isum * (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d));
	}
	*s = sum;
}

/* ---------------------------------------------------------------- dispatch */

#define KERNELS(name, dot_type) \
	{ name##_to_float, name##_from_float, name##_vec_dot, GGML_TYPE_##dot_type }

static const struct quant_kernels ref_kernels[GGML_TYPE_COUNT] = {
	[GGML_TYPE_F32] = KERNELS(f32, F32),
	[GGML_TYPE_F16] = KERNELS(f16, F16),
	[GGML_TYPE_BF16] = KERNELS(bf16, BF16),
	[GGML_TYPE_Q4_0] = KERNELS(q4_0, Q8_0),
	[GGML_TYPE_Q4_1] = KERNELS(q4_1, Q8_1),
	[GGML_TYPE_Q5_0] = KERNELS(q5_0, Q8_0),
	[GGML_TYPE_Q5_1] = KERNELS(q5_1, Q8_1),
	[GGML_TYPE_Q8_0] = KERNELS(q8_0, Q8_0),
	[GGML_TYPE_Q8_1] = KERNELS(q8_1, Q8_1),
	[GGML_TYPE_Q2_K] = KERNELS(q2_K, Q8_K),
	[GGML_TYPE_Q3_K] = KERNELS(q3_K, Q8_K),
	[GGML_TYPE_Q4_K] = KERNELS(q4_K, Q8_K),
	[GGML_TYPE_Q5_K] = KERNELS(q5_K, Q8_K),
	[GGML_TYPE_Q6_K] = KERNELS(q6_K, Q8_K),
	[GGML_TYPE_Q8_K] = KERNELS(q8_K, Q8_K),
};

const struct quant_kernels *quant_ref(enum ggml_type type)
{
	if ((unsigned)type >= GGML_TYPE_COUNT || !ref_kernels[type].to_float)
		return NULL;
	return &ref_kernels[type];
}

void quant_ref_table(struct quant_kernels table[GGML_TYPE_COUNT])
{
	memcpy(table, ref_kernels, sizeof(ref_kernels));
}

const struct quant_kernels *quant_best(enum ggml_type type)
{
	return kernels_quant(kernels_active(), type);
}
