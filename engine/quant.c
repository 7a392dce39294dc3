/* Scalar reference kernels for every tensor format we compute.
 *
 * Quantization follows ggml's reference algorithms step for step (same
 * operations in the same order) so a row quantized here gets the bytes
 * llama.cpp's quantizer would write without an importance matrix, and
 * dequantization and dot products use ggml's arithmetic so our logits differ
 * from llama.cpp's only by float rounding. Speed lives in the per-architecture
 * tables; these stay simple and are kept as the oracle the tests use. */
#include "quant.h"
#include "quant_x86.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Below this a group counts as all zero; ggml uses the same cut. */
#define GROUP_EPS 1e-15f

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

/* ---------------------------------------------------------------- K-quant helpers */

/* Fits x ~ scale * (L - nmax) with L in [0, 2*nmax), minimising the squared
 * error weighted by x^2 (big values matter most). Starts from the scale that
 * maps the largest magnitude onto -nmax, then tries 18 nearby scales and
 * keeps the best least-squares fit. Used by q6_K (ggml's make_qx_quants with
 * rmse_type 1 and no importance weights). */
static float fit_symmetric(int n, int nmax, const float *x, int8_t *L)
{
	float max = 0, amax = 0;
	for (int i = 0; i < n; i++) {
		float ax = fabsf(x[i]);
		if (ax > amax) {
			amax = ax;
			max = x[i];
		}
	}
	if (amax < GROUP_EPS) {
		memset(L, 0, (size_t)n);
		return 0.0f;
	}
	float iscale = -nmax / max;
	float sumlx = 0, suml2 = 0;
	for (int i = 0; i < n; i++) {
		int l = imax(-nmax, imin(nmax - 1, round_nearest(iscale * x[i])));
		L[i] = (int8_t)(l + nmax);
		float w = x[i] * x[i];
		sumlx += w * x[i] * l;
		suml2 += w * l * l;
	}
	float scale = suml2 ? sumlx / suml2 : 0.0f;
	float best = scale * sumlx;
	for (int is = -9; is <= 9; is++) {
		if (is == 0)
			continue;
		iscale = -(nmax + 0.1f * is) / max;
		sumlx = suml2 = 0;
		for (int i = 0; i < n; i++) {
			int l = imax(-nmax, imin(nmax - 1, round_nearest(iscale * x[i])));
			float w = x[i] * x[i];
			sumlx += w * x[i] * l;
			suml2 += w * l * l;
		}
		/* sumlx^2 / suml2 is the error reduction of the optimal scale. */
		if (suml2 > 0 && sumlx * sumlx > best * suml2) {
			for (int i = 0; i < n; i++) {
				int l = round_nearest(iscale * x[i]);
				L[i] = (int8_t)(nmax + imax(-nmax, imin(nmax - 1, l)));
			}
			scale = sumlx / suml2;
			best = scale * sumlx;
		}
	}
	return scale;
}

/* Like fit_symmetric for q3_K (ggml's make_q3_quants with do_rmse), but
 * refines by moving single quants to their best level while the weighted
 * fit improves, up to five passes. */
static float fit_symmetric_q3(int n, int nmax, const float *x, int8_t *L)
{
	float max = 0, amax = 0;
	for (int i = 0; i < n; i++) {
		float ax = fabsf(x[i]);
		if (ax > amax) {
			amax = ax;
			max = x[i];
		}
	}
	if (amax < GROUP_EPS) {
		memset(L, 0, (size_t)n);
		return 0.0f;
	}
	float iscale = -nmax / max;
	float sumlx = 0, suml2 = 0;
	for (int i = 0; i < n; i++) {
		int l = imax(-nmax, imin(nmax - 1, round_nearest(iscale * x[i])));
		L[i] = (int8_t)l;
		float w = x[i] * x[i];
		sumlx += w * x[i] * l;
		suml2 += w * l * l;
	}
	for (int pass = 0; pass < 5; pass++) {
		int changed = 0;
		for (int i = 0; i < n; i++) {
			float w = x[i] * x[i];
			float slx = sumlx - w * x[i] * L[i];
			if (!(slx > 0))
				continue;
			float sl2 = suml2 - w * L[i] * L[i];
			int l = imax(-nmax, imin(nmax - 1, round_nearest(x[i] * sl2 / slx)));
			if (l == L[i])
				continue;
			slx += w * x[i] * l;
			sl2 += w * l * l;
			if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
				L[i] = (int8_t)l;
				sumlx = slx;
				suml2 = sl2;
				changed++;
			}
		}
		if (!changed)
			break;
	}
	for (int i = 0; i < n; i++)
		L[i] = (int8_t)(L[i] + nmax);
	return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* Fits x ~ scale * L - min with L in [0, nmax] and min >= 0, minimising the
 * weighted squared (or, with use_mad, absolute) error. Tries nstep+1 scales
 * from (nmax + rmin) / range upwards in steps of rdelta, solving the 2x2
 * least-squares system for scale and min at each (ggml's make_qkx2_quants).
 * Stores the min (as a positive offset) in *the_min. */
static float fit_scale_min(int n, int nmax, const float *x, const float *weights, uint8_t *L,
			   float *the_min, uint8_t *Laux, float rmin, float rdelta, int nstep,
			   bool use_mad)
{
	float min = x[0], max = x[0];
	float sum_w = weights[0];
	float sum_x = sum_w * x[0];
	for (int i = 1; i < n; i++) {
		if (x[i] < min)
			min = x[i];
		if (x[i] > max)
			max = x[i];
		sum_w += weights[i];
		sum_x += weights[i] * x[i];
	}
	if (min > 0)
		min = 0;
	if (max == min) {
		memset(L, 0, (size_t)n);
		*the_min = -min;
		return 0.0f;
	}
	float iscale = nmax / (max - min);
	float scale = 1 / iscale;
	float best_error = 0;
	for (int i = 0; i < n; i++) {
		L[i] = (uint8_t)imax(0, imin(nmax, round_nearest(iscale * (x[i] - min))));
		float diff = scale * L[i] + min - x[i];
		diff = use_mad ? fabsf(diff) : diff * diff;
		best_error += weights[i] * diff;
	}
	for (int is = 0; is <= nstep; is++) {
		iscale = (rmin + rdelta * is + nmax) / (max - min);
		float sum_l = 0, sum_l2 = 0, sum_xl = 0;
		for (int i = 0; i < n; i++) {
			int l = imax(0, imin(nmax, round_nearest(iscale * (x[i] - min))));
			Laux[i] = (uint8_t)l;
			float w = weights[i];
			sum_l += w * l;
			sum_l2 += w * l * l;
			sum_xl += w * l * x[i];
		}
		float det = sum_w * sum_l2 - sum_l * sum_l;
		if (!(det > 0))
			continue;
		float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
		float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
		if (this_min > 0) {
			/* A positive offset is not representable; refit without one. */
			this_min = 0;
			this_scale = sum_xl / sum_l2;
		}
		float err = 0;
		for (int i = 0; i < n; i++) {
			float diff = this_scale * Laux[i] + this_min - x[i];
			diff = use_mad ? fabsf(diff) : diff * diff;
			err += weights[i] * diff;
		}
		if (err < best_error) {
			memcpy(L, Laux, (size_t)n);
			best_error = err;
			scale = this_scale;
			min = this_min;
		}
	}
	*the_min = -min;
	return scale;
}

/* Packs 256 two-bit values: byte l of each 32-byte run holds elements l,
 * l+32, l+64 and l+96 of its 128-element half, lowest bits first. */
static void pack_2bit(const uint8_t *L, uint8_t *qs)
{
	for (int j = 0; j < QK_K; j += 128)
		for (int l = 0; l < 32; l++)
			qs[j / 4 + l] = (uint8_t)(L[j + l] | L[j + l + 32] << 2 | L[j + l + 64] << 4 |
						  L[j + l + 96] << 6);
}

/* Inverse of pack_2bit. */
static void unpack_2bit(const uint8_t *qs, int8_t *a)
{
	for (int j = 0; j < QK_K; j += 128)
		for (int k = 0; k < 4; k++)
			for (int l = 0; l < 32; l++)
				a[j + 32 * k + l] = (int8_t)((qs[j / 4 + l] >> (2 * k)) & 3);
}

/* Reads group j's 6-bit scale and min of a q4_K / q5_K block: groups 0-3
 * sit in the low six bits of bytes 0-3 (scales) and 4-7 (mins); groups 4-7
 * keep four bits in bytes 8-11 and their top two bits in the spare top bits
 * of bytes 0-7. */
static inline void k4_scale_min(int j, const uint8_t *s, uint8_t *sc, uint8_t *m)
{
	if (j < 4) {
		*sc = s[j] & 63;
		*m = s[j + 4] & 63;
	} else {
		*sc = (uint8_t)((s[j + 4] & 0x0f) | (s[j - 4] >> 6) << 4);
		*m = (uint8_t)((s[j + 4] >> 4) | (s[j] >> 6) << 4);
	}
}

/* Quantizes 8 group scales and mins to 6 bits against their maxima and
 * packs them as k4_scale_min reads them; shared by q4_K and q5_K. */
static void k4_pack_scales(const float *scales, const float *mins, float max_scale, float max_min,
			   uint8_t *s, uint16_t *d, uint16_t *dmin)
{
	float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
	float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
	for (int j = 0; j < QK_K / 32; j++) {
		uint8_t ls = (uint8_t)imin(63, (uint8_t)round_nearest(inv_scale * scales[j]));
		uint8_t lm = (uint8_t)imin(63, (uint8_t)round_nearest(inv_min * mins[j]));
		if (j < 4) {
			s[j] = ls;
			s[j + 4] = lm;
		} else {
			s[j + 4] = (uint8_t)((ls & 0x0f) | (lm & 0x0f) << 4);
			s[j - 4] |= (uint8_t)((ls >> 4) << 6);
			s[j] |= (uint8_t)((lm >> 4) << 6);
		}
	}
	*d = f32_to_fp16(max_scale / 63.f);
	*dmin = f32_to_fp16(max_min / 63.f);
}

/* Sum over the 16 groups of 16 of group sum * group weight. */
static inline int q8k_group_sum(const int16_t *bsums, const int *w16)
{
	int sum = 0;
	for (int j = 0; j < QK_K / 16; j++)
		sum += bsums[j] * w16[j];
	return sum;
}

/* Integer dot of 256 small quants with a q8_K block's, each group of gsize
 * weighted by its scale. */
static inline int k_group_dot(const int8_t *a, const int8_t *q8, const int *scales, int gsize)
{
	int total = 0;
	for (int g = 0; g < QK_K / gsize; g++) {
		int isum = 0;
		for (int l = 0; l < gsize; l++)
			isum += a[g * gsize + l] * q8[g * gsize + l];
		total += scales[g] * isum;
	}
	return total;
}

/* ---------------------------------------------------------------- Q2_K */

static void q2_K_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q2_K *y = vy;
	uint8_t L[QK_K], Laux[16];
	float weights[16], mins[QK_K / 16], scales[QK_K / 16];

	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
		float max_scale = 0, max_min = 0;
		for (int j = 0; j < QK_K / 16; j++) {
			for (int l = 0; l < 16; l++)
				weights[l] = fabsf(x[16 * j + l]);
			scales[j] = fit_scale_min(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux,
						  -0.5f, 0.1f, 15, true);
			max_scale = fmaxf(max_scale, scales[j]);
			max_min = fmaxf(max_min, mins[j]);
		}
		/* Scales and mins become 4-bit multiples of d and dmin. */
		memset(y[i].scales, 0, sizeof(y[i].scales));
		y[i].d = f32_to_fp16(0.f);
		y[i].dmin = f32_to_fp16(0.f);
		if (max_scale > 0) {
			float iscale = 15.f / max_scale;
			for (int j = 0; j < QK_K / 16; j++)
				y[i].scales[j] = (uint8_t)(round_nearest(iscale * scales[j]) & 0x0f);
			y[i].d = f32_to_fp16(max_scale / 15.f);
		}
		if (max_min > 0) {
			float iscale = 15.f / max_min;
			for (int j = 0; j < QK_K / 16; j++)
				y[i].scales[j] |= (uint8_t)((round_nearest(iscale * mins[j]) & 0x0f) << 4);
			y[i].dmin = f32_to_fp16(max_min / 15.f);
		}
		/* Requantize against the scales as stored, rounding included. */
		for (int j = 0; j < QK_K / 16; j++) {
			const float d = fp16_to_f32(y[i].d) * (y[i].scales[j] & 0x0f);
			if (!d)
				continue;
			const float dm = fp16_to_f32(y[i].dmin) * (y[i].scales[j] >> 4);
			for (int l = 0; l < 16; l++)
				L[16 * j + l] = (uint8_t)imax(0, imin(3, round_nearest((x[16 * j + l] + dm) / d)));
		}
		pack_2bit(L, y[i].qs);
	}
}

static void q2_K_to_float(const void *vx, float *y, int64_t n)
{
	const struct block_q2_K *x = vx;
	int8_t a[QK_K];
	for (int64_t i = 0; i < n / QK_K; i++) {
		const float d = fp16_to_f32(x[i].d);
		const float dmin = fp16_to_f32(x[i].dmin);
		unpack_2bit(x[i].qs, a);
		for (int g = 0; g < QK_K / 16; g++) {
			const float dl = d * (x[i].scales[g] & 0x0f);
			const float ml = dmin * (x[i].scales[g] >> 4);
			for (int l = 0; l < 16; l++)
				*y++ = dl * a[16 * g + l] - ml;
		}
	}
}

static void q2_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q2_K *x = vx;
	const struct block_q8_K *y = vy;
	int8_t a[QK_K];
	int sc[QK_K / 16], mn[QK_K / 16];
	float sum = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		unpack_2bit(x[i].qs, a);
		for (int g = 0; g < QK_K / 16; g++) {
			sc[g] = x[i].scales[g] & 0x0f;
			mn[g] = x[i].scales[g] >> 4;
		}
		const int isum = k_group_dot(a, y[i].qs, sc, 16);
		const int msum = q8k_group_sum(y[i].bsums, mn);
		const float dall = y[i].d * fp16_to_f32(x[i].d);
		const float dmin = y[i].d * fp16_to_f32(x[i].dmin);
		sum += dall * isum - dmin * msum;
	}
	*s = sum;
}

/* ---------------------------------------------------------------- Q3_K */

/* Reads the sixteen 6-bit scales of a q3_K block, minus their bias of 32:
 * bytes 0-7 hold low nibbles (scales 0-7, then 8-15 in the high halves),
 * bytes 8-11 hold the top two bits, byte 8 + j%4 at bit 2*(j/4). */
static void q3_K_scales(const uint8_t *s, int *out)
{
	for (int j = 0; j < 16; j++) {
		int lo = j < 8 ? s[j] & 0x0f : s[j - 8] >> 4;
		int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
		out[j] = (lo | hi << 4) - 32;
	}
}

/* Unpacks a q3_K block's quants to -4..3. */
static void q3_K_unpack(const struct block_q3_K *b, int8_t *a)
{
	unpack_2bit(b->qs, a);
	for (int e = 0; e < QK_K; e++)
		a[e] = (int8_t)(a[e] - ((b->hmask[e % 32] >> (e / 32)) & 1 ? 0 : 4));
}

static void q3_K_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q3_K *y = vy;
	int8_t L[QK_K];
	float scales[QK_K / 16];

	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
		float max_scale = 0, amax = 0;
		for (int j = 0; j < QK_K / 16; j++) {
			scales[j] = fit_symmetric_q3(16, 4, x + 16 * j, L + 16 * j);
			if (fabsf(scales[j]) > amax) {
				amax = fabsf(scales[j]);
				max_scale = scales[j];
			}
		}
		/* Group scales become signed 6-bit multiples of d, the largest
		 * magnitude mapping to -32 as in the values themselves. */
		memset(y[i].scales, 0, sizeof(y[i].scales));
		y[i].d = f32_to_fp16(0.f);
		if (max_scale) {
			float iscale = -32.f / max_scale;
			for (int j = 0; j < QK_K / 16; j++) {
				int l = imax(-32, imin(31, (int8_t)round_nearest(iscale * scales[j]))) + 32;
				if (j < 8)
					y[i].scales[j] = (uint8_t)(l & 0x0f);
				else
					y[i].scales[j - 8] |= (uint8_t)((l & 0x0f) << 4);
				y[i].scales[j % 4 + 8] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
			}
			y[i].d = f32_to_fp16(1 / iscale);
		}
		int sc[QK_K / 16];
		q3_K_scales(y[i].scales, sc);
		for (int j = 0; j < QK_K / 16; j++) {
			const float d = fp16_to_f32(y[i].d) * sc[j];
			if (!d)
				continue;
			for (int l = 0; l < 16; l++)
				L[16 * j + l] = (int8_t)(imax(-4, imin(3, round_nearest(x[16 * j + l] / d))) + 4);
		}
		/* Bit 2 goes to hmask, the low two bits to qs. */
		memset(y[i].hmask, 0, sizeof(y[i].hmask));
		uint8_t low[QK_K];
		for (int e = 0; e < QK_K; e++) {
			if (L[e] > 3)
				y[i].hmask[e % 32] |= (uint8_t)(1 << (e / 32));
			low[e] = (uint8_t)(L[e] & 3);
		}
		pack_2bit(low, y[i].qs);
	}
}

static void q3_K_to_float(const void *vx, float *y, int64_t n)
{
	const struct block_q3_K *x = vx;
	int8_t a[QK_K];
	int sc[QK_K / 16];
	for (int64_t i = 0; i < n / QK_K; i++) {
		const float d_all = fp16_to_f32(x[i].d);
		q3_K_unpack(&x[i], a);
		q3_K_scales(x[i].scales, sc);
		for (int g = 0; g < QK_K / 16; g++) {
			const float dl = d_all * sc[g];
			for (int l = 0; l < 16; l++)
				*y++ = dl * a[16 * g + l];
		}
	}
}

static void q3_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q3_K *x = vx;
	const struct block_q8_K *y = vy;
	int8_t a[QK_K];
	int sc[QK_K / 16];
	float sum = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		q3_K_unpack(&x[i], a);
		q3_K_scales(x[i].scales, sc);
		const int isum = k_group_dot(a, y[i].qs, sc, 16);
		sum += (fp16_to_f32(x[i].d) * y[i].d) * isum;
	}
	*s = sum;
}

/* ---------------------------------------------------------------- Q4_K */

/* Each group of 32 is weighted by rms + |x| in the scale/min search. */
static void k4_group_weights(const float *x, float *weights)
{
	float sum_x2 = 0;
	for (int l = 0; l < 32; l++)
		sum_x2 += x[l] * x[l];
	float av_x = sqrtf(sum_x2 / 32);
	for (int l = 0; l < 32; l++)
		weights[l] = av_x + fabsf(x[l]);
}

/* The shared first half of q4_K and q5_K quantization: fit each group of
 * 32, store the 6-bit scales and mins, and requantize to levels 0..nmax
 * against the stored values. */
static void k4_quantize(const float *x, int nmax, float rmin, int nstep, uint8_t *s, uint16_t *d,
			uint16_t *dmin, uint8_t *L)
{
	uint8_t Laux[32];
	float weights[32], mins[QK_K / 32], scales[QK_K / 32];
	float max_scale = 0, max_min = 0;
	for (int j = 0; j < QK_K / 32; j++) {
		k4_group_weights(x + 32 * j, weights);
		scales[j] = fit_scale_min(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
					  rmin, 0.1f, nstep, false);
		max_scale = fmaxf(max_scale, scales[j]);
		max_min = fmaxf(max_min, mins[j]);
	}
	memset(s, 0, K_SCALE_SIZE);
	k4_pack_scales(scales, mins, max_scale, max_min, s, d, dmin);
	for (int j = 0; j < QK_K / 32; j++) {
		uint8_t sc, m;
		k4_scale_min(j, s, &sc, &m);
		const float dl = fp16_to_f32(*d) * sc;
		if (!dl)
			continue;
		const float dm = fp16_to_f32(*dmin) * m;
		for (int l = 0; l < 32; l++)
			L[32 * j + l] = (uint8_t)imax(0, imin(nmax, round_nearest((x[32 * j + l] + dm) / dl)));
	}
}

static void q4_K_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q4_K *y = vy;
	uint8_t L[QK_K];
	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
		k4_quantize(x, 15, -1.f, 20, y[i].scales, &y[i].d, &y[i].dmin, L);
		for (int j = 0; j < QK_K; j += 64)
			for (int l = 0; l < 32; l++)
				y[i].qs[j / 2 + l] = (uint8_t)(L[j + l] | L[j + l + 32] << 4);
	}
}

static void q4_K_unpack(const uint8_t *qs, int8_t *a)
{
	for (int j = 0; j < QK_K; j += 64)
		for (int l = 0; l < 32; l++) {
			a[j + l] = (int8_t)(qs[j / 2 + l] & 0x0f);
			a[j + l + 32] = (int8_t)(qs[j / 2 + l] >> 4);
		}
}

/* Dequantizes from unpacked levels; shared by q4_K and q5_K. */
static void k4_dequant(const int8_t *a, const uint8_t *s, uint16_t d16, uint16_t dmin16, float *y)
{
	const float d = fp16_to_f32(d16);
	const float min = fp16_to_f32(dmin16);
	for (int g = 0; g < QK_K / 32; g++) {
		uint8_t sc, m;
		k4_scale_min(g, s, &sc, &m);
		const float dl = d * sc, ml = min * m;
		for (int l = 0; l < 32; l++)
			*y++ = dl * a[32 * g + l] - ml;
	}
}

/* Dot of unpacked levels with a q8_K block; shared by q4_K and q5_K. */
static float k4_dot(const int8_t *a, const uint8_t *s, uint16_t d16, uint16_t dmin16,
		    const struct block_q8_K *y)
{
	int sc[QK_K / 32], mn[QK_K / 16];
	for (int g = 0; g < QK_K / 32; g++) {
		uint8_t dsc, dm;
		k4_scale_min(g, s, &dsc, &dm);
		sc[g] = dsc;
		mn[2 * g] = mn[2 * g + 1] = dm;
	}
	const int isum = k_group_dot(a, y->qs, sc, 32);
	const int msum = q8k_group_sum(y->bsums, mn);
	return fp16_to_f32(d16) * y->d * isum - fp16_to_f32(dmin16) * y->d * msum;
}

static void q4_K_to_float(const void *vx, float *y, int64_t n)
{
	const struct block_q4_K *x = vx;
	int8_t a[QK_K];
	for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
		q4_K_unpack(x[i].qs, a);
		k4_dequant(a, x[i].scales, x[i].d, x[i].dmin, y);
	}
}

static void q4_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_K *x = vx;
	const struct block_q8_K *y = vy;
	int8_t a[QK_K];
	float sum = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		q4_K_unpack(x[i].qs, a);
		sum += k4_dot(a, x[i].scales, x[i].d, x[i].dmin, &y[i]);
	}
	*s = sum;
}

/* ---------------------------------------------------------------- Q5_K */

static void q5_K_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q5_K *y = vy;
	uint8_t L[QK_K];
	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
		k4_quantize(x, 31, -0.5f, 15, y[i].scales, &y[i].d, &y[i].dmin, L);
		memset(y[i].qh, 0, sizeof(y[i].qh));
		for (int e = 0; e < QK_K; e++)
			if (L[e] > 15)
				y[i].qh[e % 32] |= (uint8_t)(1 << (e / 32));
		for (int j = 0; j < QK_K; j += 64)
			for (int l = 0; l < 32; l++)
				y[i].qs[j / 2 + l] = (uint8_t)((L[j + l] & 0x0f) | (L[j + l + 32] & 0x0f) << 4);
	}
}

static void q5_K_unpack(const struct block_q5_K *b, int8_t *a)
{
	q4_K_unpack(b->qs, a);
	for (int e = 0; e < QK_K; e++)
		a[e] = (int8_t)(a[e] + (((b->qh[e % 32] >> (e / 32)) & 1) << 4));
}

static void q5_K_to_float(const void *vx, float *y, int64_t n)
{
	const struct block_q5_K *x = vx;
	int8_t a[QK_K];
	for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
		q5_K_unpack(&x[i], a);
		k4_dequant(a, x[i].scales, x[i].d, x[i].dmin, y);
	}
}

static void q5_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q5_K *x = vx;
	const struct block_q8_K *y = vy;
	int8_t a[QK_K];
	float sum = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		q5_K_unpack(&x[i], a);
		sum += k4_dot(a, x[i].scales, x[i].d, x[i].dmin, &y[i]);
	}
	*s = sum;
}

/* ---------------------------------------------------------------- Q6_K */

static void q6_K_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q6_K *y = vy;
	int8_t L[QK_K];
	float scales[QK_K / 16];

	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
		float max_scale = 0, max_abs_scale = 0;
		for (int g = 0; g < QK_K / 16; g++) {
			scales[g] = fit_symmetric(16, 32, x + 16 * g, L + 16 * g);
			if (fabsf(scales[g]) > max_abs_scale) {
				max_abs_scale = fabsf(scales[g]);
				max_scale = scales[g];
			}
		}
		memset(&y[i], 0, sizeof(y[i]));
		if (max_abs_scale < GROUP_EPS)
			continue;
		/* Group scales become signed 8-bit multiples of d. */
		float iscale = -128.f / max_scale;
		y[i].d = f32_to_fp16(1 / iscale);
		for (int g = 0; g < QK_K / 16; g++)
			y[i].scales[g] = (int8_t)imin(127, round_nearest(iscale * scales[g]));
		for (int g = 0; g < QK_K / 16; g++) {
			const float d = fp16_to_f32(y[i].d) * y[i].scales[g];
			if (!d)
				continue;
			for (int l = 0; l < 16; l++)
				L[16 * g + l] = (int8_t)(imax(-32, imin(31, round_nearest(x[16 * g + l] / d))) + 32);
		}
		/* Per 128: ql byte l holds elements l and l+64 (l < 32) or
		 * l+32 and l+96 in its nibbles; qh byte l holds the top two bits
		 * of elements l, l+32, l+64, l+96. */
		for (int j = 0; j < QK_K; j += 128) {
			uint8_t *ql = y[i].ql + j / 2, *qh = y[i].qh + j / 4;
			const int8_t *Lj = L + j;
			for (int l = 0; l < 32; l++) {
				ql[l] = (uint8_t)((Lj[l] & 0x0f) | (Lj[l + 64] & 0x0f) << 4);
				ql[l + 32] = (uint8_t)((Lj[l + 32] & 0x0f) | (Lj[l + 96] & 0x0f) << 4);
				qh[l] = (uint8_t)((Lj[l] >> 4) | (Lj[l + 32] >> 4) << 2 | (Lj[l + 64] >> 4) << 4 |
						  (Lj[l + 96] >> 4) << 6);
			}
		}
	}
}

/* Unpacks a q6_K block's quants to -32..31. */
static void q6_K_unpack(const struct block_q6_K *b, int8_t *a)
{
	for (int j = 0; j < QK_K; j += 128) {
		const uint8_t *ql = b->ql + j / 2, *qh = b->qh + j / 4;
		for (int l = 0; l < 32; l++) {
			a[j + l] = (int8_t)(((ql[l] & 0x0f) | ((qh[l] >> 0) & 3) << 4) - 32);
			a[j + l + 32] = (int8_t)(((ql[l + 32] & 0x0f) | ((qh[l] >> 2) & 3) << 4) - 32);
			a[j + l + 64] = (int8_t)(((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32);
			a[j + l + 96] = (int8_t)(((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32);
		}
	}
}

static void q6_K_to_float(const void *vx, float *y, int64_t n)
{
	const struct block_q6_K *x = vx;
	int8_t a[QK_K];
	for (int64_t i = 0; i < n / QK_K; i++) {
		const float d = fp16_to_f32(x[i].d);
		q6_K_unpack(&x[i], a);
		for (int e = 0; e < QK_K; e++)
			*y++ = d * x[i].scales[e / 16] * a[e];
	}
}

static void q6_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q6_K *x = vx;
	const struct block_q8_K *y = vy;
	int8_t a[QK_K];
	int sc[QK_K / 16];
	float sum = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		q6_K_unpack(&x[i], a);
		for (int g = 0; g < QK_K / 16; g++)
			sc[g] = x[i].scales[g];
		const int isum = k_group_dot(a, y[i].qs, sc, 16);
		sum += (fp16_to_f32(x[i].d) * y[i].d) * isum;
	}
	*s = sum;
}

/* ---------------------------------------------------------------- Q8_K */

static void q8_K_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q8_K *y = vy;
	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
		float max = 0, amax = 0;
		for (int j = 0; j < QK_K; j++) {
			if (fabsf(x[j]) > amax) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		}
		memset(&y[i], 0, sizeof(y[i]));
		if (!amax)
			continue;
		/* 127 rather than 128 keeps every product in the SIMD dots'
		 * 16-bit range; ggml made the same choice. */
		const float iscale = -127.f / max;
		for (int j = 0; j < QK_K; j++)
			y[i].qs[j] = (int8_t)imax(-128, imin(127, round_nearest(iscale * x[j])));
		for (int g = 0; g < QK_K / 16; g++) {
			int sum = 0;
			for (int l = 0; l < 16; l++)
				sum += y[i].qs[16 * g + l];
			y[i].bsums[g] = (int16_t)sum;
		}
		y[i].d = 1 / iscale;
	}
}

static void q8_K_to_float(const void *vx, float *y, int64_t n)
{
	const struct block_q8_K *x = vx;
	for (int64_t i = 0; i < n / QK_K; i++)
		for (int j = 0; j < QK_K; j++)
			*y++ = x[i].d * x[i].qs[j];
}

/* Activations only in ggml; here so every table entry is complete. */
static void q8_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q8_K *x = vx, *y = vy;
	float sum = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		int isum = 0;
		for (int j = 0; j < QK_K; j++)
			isum += x[i].qs[j] * y[i].qs[j];
		sum += (x[i].d * y[i].d) * isum;
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

/* Faster kernel sets, best first. Each checks the CPU itself, so adding an
 * architecture (quant_x86.c) is one entry here. */
static const quant_arch_fn arch_kernels[] = {
	quant_x86,
};

const struct quant_kernels *quant_best(enum ggml_type type)
{
	for (size_t i = 0; i < sizeof(arch_kernels) / sizeof(arch_kernels[0]); i++) {
		const struct quant_kernels *k = arch_kernels[i] ? arch_kernels[i](type) : NULL;
		if (k)
			return k;
	}
	return quant_ref(type);
}
