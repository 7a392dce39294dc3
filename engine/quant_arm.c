/* NEON kernels for AArch64: the "neon" and "neon-dotprod" kernel variants
 * (see quant_arm.h).
 *
 * The base variant uses only Armv8.0 Advanced SIMD, which every AArch64 CPU
 * has, so the file is built for the baseline (-march=armv8-a, as make
 * arm-test does) and the binary runs on a plain Armv8-A core. The dot
 * product instructions are Armv8.2 (optional there): only the functions
 * that use them carry a target attribute, and kernels.c hands them out
 * after the probe found them in Linux's AT_HWCAP. GCC 12's
 * arm_neon.h declares vdotq_s32 for "arch=armv8.2-a+dotprod", and a caller
 * with only "+dotprod" fails to inline it, so that is the attribute.
 *
 * The integer dots are written once (quant_arm_dots.h) and instantiated for
 * both variants; the rest (quantizers, float and half kernels) is shared.
 * The activation quantizers round exactly like the scalar ones, so both
 * paths feed the dots the same bytes. */
#include "quant_arm.h"

#if defined(__aarch64__)

#include <arm_neon.h>
#include <pthread.h>
#include <string.h>
#include <sys/auxv.h>

#include "ops_arm.h"
#include "quant_impl.h"

/* The dot product feature bit of AT_HWCAP, from the kernel's uapi
 * (asm/hwcap.h); older C libraries lack the name. */
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)
#endif

#define ARM_DOTPROD_TARGET __attribute__((target("arch=armv8.2-a+dotprod")))

/* ---------------------------------------------------------------- helpers */

/* Half to float: the conversion instruction is Armv8.0 and exact. */
static inline float arm_h2f(uint16_t h)
{
	return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
}

/* v >> n for a shift known only at run time (USHL by a negative count). */
static inline uint8x16_t arm_shr_u8(uint8x16_t v, int n)
{
	return vshlq_u8(v, vdupq_n_s8((int8_t)-n));
}

/* The 32 nibbles of 16 bytes in element order: low nibbles (elements 0-15),
 * then high ones (16-31), as q4_0, q4_1 and the q5 types store them. */
static inline void arm_nibbles(const uint8_t *qs, int8x16_t *lo, int8x16_t *hi)
{
	const uint8x16_t b = vld1q_u8(qs);
	*lo = vreinterpretq_s8_u8(vandq_u8(b, vdupq_n_u8(0x0f)));
	*hi = vreinterpretq_s8_u8(vshrq_n_u8(b, 4));
}

/* Byte j is 0x10 where bit j of the 16 bits (two bytes at p) is set. */
static inline uint8x16_t arm_bit4_bytes(const uint8_t *p)
{
	static const uint8_t bits[16] = { 1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128 };
	const uint8x16_t b = vcombine_u8(vdup_n_u8(p[0]), vdup_n_u8(p[1]));
	return vandq_u8(vtstq_u8(b, vld1q_u8(bits)), vdupq_n_u8(0x10));
}

/* The 32 five-bit quants (0..31) of a q5_0 / q5_1 block: bit j of qh is
 * the fifth bit of element j. */
static inline void arm_q5_quants(const uint8_t *qh, const uint8_t *qs, int8x16_t *lo,
				 int8x16_t *hi)
{
	arm_nibbles(qs, lo, hi);
	*lo = vorrq_s8(*lo, vreinterpretq_s8_u8(arm_bit4_bytes(qh)));
	*hi = vorrq_s8(*hi, vreinterpretq_s8_u8(arm_bit4_bytes(qh + 2)));
}

/* The eight 6-bit scales and eight 6-bit mins of a q4_K / q5_K block.
 * Groups 0-3 keep their six bits in bytes 0-3 (scales) and 4-7 (mins);
 * groups 4-7 have four bits in bytes 8-11 and their top two in the spare
 * top bits of bytes 0-7, which word-wide masks gather at once. */
static inline void arm_k4_scales(const uint8_t *s, uint8_t sc[8], uint8_t mn[8])
{
	uint32_t u[3], out[4];
	memcpy(u, s, 12);
	const uint32_t low6 = 0x3f3f3f3f, low4 = 0x0f0f0f0f, low2 = 0x03030303;
	out[0] = u[0] & low6;
	out[1] = (u[2] & low4) | (((u[0] >> 6) & low2) << 4);
	out[2] = u[1] & low6;
	out[3] = ((u[2] >> 4) & low4) | (((u[1] >> 6) & low2) << 4);
	memcpy(sc, out, 8);
	memcpy(mn, out + 2, 8);
}

/* The 256 quants (0..15) of a q4_K block as 16 vectors in element order:
 * per 64-element chunk, its 32 low nibbles (one group), then its 32 high
 * ones (the next). */
static inline void arm_q4_K_quants(const uint8_t *qs, int8x16_t q[16])
{
	const uint8x16_t m4 = vdupq_n_u8(0x0f);
	for (int j = 0; j < 4; j++, qs += 32) {
		const uint8x16_t b0 = vld1q_u8(qs), b1 = vld1q_u8(qs + 16);
		q[4 * j] = vreinterpretq_s8_u8(vandq_u8(b0, m4));
		q[4 * j + 1] = vreinterpretq_s8_u8(vandq_u8(b1, m4));
		q[4 * j + 2] = vreinterpretq_s8_u8(vshrq_n_u8(b0, 4));
		q[4 * j + 3] = vreinterpretq_s8_u8(vshrq_n_u8(b1, 4));
	}
}

/* The 256 quants (-32..31) of a q6_K block as 16 vectors, one per group of
 * 16 in element order. Per 128 elements, 64 bytes of low nibbles and 32 of
 * high bit pairs; bytes 16k..16k+15 of each hold groups k, k+2, k+4, k+6. */
static inline void arm_q6_K_quants(const struct block_q6_K *b, int8x16_t q[16])
{
	const uint8x16_t m4 = vdupq_n_u8(0x0f), m2 = vdupq_n_u8(0x30);
	const int8x16_t bias = vdupq_n_s8(32);
	for (int half = 0; half < 2; half++) {
		const uint8_t *ql = b->ql + 64 * half, *qh = b->qh + 32 * half;
		int8x16_t *g = q + 8 * half;
		for (int k = 0; k < 2; k++) {
			const uint8x16_t l0 = vld1q_u8(ql + 16 * k), l1 = vld1q_u8(ql + 32 + 16 * k);
			const uint8x16_t h = vld1q_u8(qh + 16 * k);
			const uint8x16_t q0 = vorrq_u8(vandq_u8(l0, m4), vandq_u8(vshlq_n_u8(h, 4), m2));
			const uint8x16_t q1 = vorrq_u8(vandq_u8(l1, m4), vandq_u8(vshlq_n_u8(h, 2), m2));
			const uint8x16_t q2 = vorrq_u8(vshrq_n_u8(l0, 4), vandq_u8(h, m2));
			const uint8x16_t q3 = vorrq_u8(vshrq_n_u8(l1, 4), vandq_u8(vshrq_n_u8(h, 2), m2));
			g[k] = vsubq_s8(vreinterpretq_s8_u8(q0), bias);
			g[2 + k] = vsubq_s8(vreinterpretq_s8_u8(q1), bias);
			g[4 + k] = vsubq_s8(vreinterpretq_s8_u8(q2), bias);
			g[6 + k] = vsubq_s8(vreinterpretq_s8_u8(q3), bias);
		}
	}
}

/* sum over the eight groups of 32 of min * (sum of the group's activation
 * quants), from the q8_K block's sums of 16: a pair of them is at most
 * 2 * 16 * 128, inside 16 bits. */
static inline int arm_k4_min_sum(const uint8_t mn[8], const int16_t *bsums)
{
	const int16x8_t pairs = vpaddq_s16(vld1q_s16(bsums), vld1q_s16(bsums + 8));
	const int16x8_t m = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(mn)));
	const int32x4_t p = vmull_s16(vget_low_s16(m), vget_low_s16(pairs));
	return vaddvq_s32(vmlal_high_s16(p, m, pairs));
}

/* The sixteen 6-bit q3_K scales, minus their bias of 32. */
static inline void arm_q3_K_scales(const uint8_t *s, int *out)
{
	for (int j = 0; j < 16; j++) {
		int lo = j < 8 ? s[j] & 0x0f : s[j - 8] >> 4;
		int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
		out[j] = (lo | hi << 4) - 32;
	}
}

/* acc + the products of 16 signed bytes. Base NEON widens to 16 bits
 * (a product of two int8 fits) and adds neighbouring pairs into 32-bit
 * lanes; SDOT adds each group of four products into a lane directly. */
static inline int32x4_t arm_dot_mull(int32x4_t acc, int8x16_t a, int8x16_t b)
{
	const int16x8_t lo = vmull_s8(vget_low_s8(a), vget_low_s8(b));
	const int16x8_t hi = vmull_high_s8(a, b);
	return vpadalq_s16(vpadalq_s16(acc, lo), hi);
}

ARM_DOTPROD_TARGET static inline int32x4_t arm_dot_sdot(int32x4_t acc, int8x16_t a, int8x16_t b)
{
	return vdotq_s32(acc, a, b);
}

/* ---------------------------------------------------------------- F32, F16, BF16 */

/* Sixteen float lanes in four accumulators: independent chains, and fewer
 * terms per lane than one accumulator would sum. The prefill tile and the
 * decode kernel below run the same steps per dot, interleaved, so each of
 * their outputs equals this function's bit for bit. */
struct arm_f32_acc {
	float32x4_t a0, a1, a2, a3;
};

static inline void arm_f32_acc_zero(struct arm_f32_acc *c)
{
	c->a0 = c->a1 = c->a2 = c->a3 = vdupq_n_f32(0);
}

/* The sixteen products of x[i..i+16) with the four vectors of y there. */
static inline void arm_f32_acc16(struct arm_f32_acc *c, const float *x, float32x4_t y0,
				 float32x4_t y1, float32x4_t y2, float32x4_t y3)
{
	c->a0 = vfmaq_f32(c->a0, vld1q_f32(x), y0);
	c->a1 = vfmaq_f32(c->a1, vld1q_f32(x + 4), y1);
	c->a2 = vfmaq_f32(c->a2, vld1q_f32(x + 8), y2);
	c->a3 = vfmaq_f32(c->a3, vld1q_f32(x + 12), y3);
}

/* The dot's remaining elements from i on (fewer than 16), then its sum. */
static inline float arm_f32_finish(struct arm_f32_acc *c, const float *x, const float *y,
				   int64_t i, int64_t n)
{
	for (; i + 4 <= n; i += 4)
		c->a0 = vfmaq_f32(c->a0, vld1q_f32(x + i), vld1q_f32(y + i));
	float sum = vaddvq_f32(vaddq_f32(vaddq_f32(c->a0, c->a1), vaddq_f32(c->a2, c->a3)));
	for (; i < n; i++)
		sum += x[i] * y[i];
	return sum;
}

static void arm_f32_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const float *x = vx, *y = vy;
	struct arm_f32_acc c;
	arm_f32_acc_zero(&c);
	int64_t i = 0;
	for (; i + 16 <= n; i += 16)
		arm_f32_acc16(&c, x + i, vld1q_f32(y + i), vld1q_f32(y + i + 4), vld1q_f32(y + i + 8),
			      vld1q_f32(y + i + 12));
	*s = arm_f32_finish(&c, x, y, i, n);
}

/* Prefill: one weight row by four tokens, each weight vector loaded once
 * for the four; sixteen accumulators, four weight vectors and one
 * activation vector fit the 32 registers. */
#define ARM_F32_TILE_TOKENS 4

static void arm_f32_tile(int64_t n, const void *vw, size_t w_stride, const void *va,
			 size_t a_stride, float *y, size_t ldy)
{
	(void)w_stride;
	const float *w = vw;
	const float *a[ARM_F32_TILE_TOKENS];
	struct arm_f32_acc c[ARM_F32_TILE_TOKENS];
	for (int t = 0; t < ARM_F32_TILE_TOKENS; t++) {
		a[t] = (const float *)((const uint8_t *)va + t * a_stride);
		arm_f32_acc_zero(&c[t]);
	}
	int64_t i = 0;
	for (; i + 16 <= n; i += 16) {
		const float32x4_t w0 = vld1q_f32(w + i), w1 = vld1q_f32(w + i + 4);
		const float32x4_t w2 = vld1q_f32(w + i + 8), w3 = vld1q_f32(w + i + 12);
		/* The product is symmetric: the tokens' vectors play x. */
#pragma GCC unroll 4
		for (int t = 0; t < ARM_F32_TILE_TOKENS; t++)
			arm_f32_acc16(&c[t], a[t] + i, w0, w1, w2, w3);
	}
	for (int t = 0; t < ARM_F32_TILE_TOKENS; t++)
		y[t * ldy] = arm_f32_finish(&c[t], w, a[t], i, n);
}

/* Decode: four weight rows against one token, four independent dots where a
 * lone vec_dot has one, each activation vector loaded once for the four. */
#define ARM_F32_GEMV_ROWS 4

static void arm_f32_gemv(int64_t n, const void *vw, size_t w_stride, const void *va,
			 size_t a_stride, float *y, size_t ldy)
{
	(void)a_stride, (void)ldy;
	const float *a = va;
	const float *w[ARM_F32_GEMV_ROWS];
	struct arm_f32_acc c[ARM_F32_GEMV_ROWS];
	for (int r = 0; r < ARM_F32_GEMV_ROWS; r++) {
		w[r] = (const float *)((const uint8_t *)vw + r * w_stride);
		arm_f32_acc_zero(&c[r]);
	}
	int64_t i = 0;
	for (; i + 16 <= n; i += 16) {
		const float32x4_t a0 = vld1q_f32(a + i), a1 = vld1q_f32(a + i + 4);
		const float32x4_t a2 = vld1q_f32(a + i + 8), a3 = vld1q_f32(a + i + 12);
#pragma GCC unroll 4
		for (int r = 0; r < ARM_F32_GEMV_ROWS; r++)
			arm_f32_acc16(&c[r], w[r] + i, a0, a1, a2, a3);
	}
	for (int r = 0; r < ARM_F32_GEMV_ROWS; r++)
		y[r] = arm_f32_finish(&c[r], w[r], a, i, n);
}

/* Eight halves as two float vectors. */
static inline void arm_load_h8(const uint16_t *p, float32x4_t *lo, float32x4_t *hi)
{
	const float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(p));
	*lo = vcvt_f32_f16(vget_low_f16(h));
	*hi = vcvt_high_f32_f16(h);
}

/* A bfloat16 is the top half of a float: a widening shift by 16. */
static inline void arm_load_bf8(const uint16_t *p, float32x4_t *lo, float32x4_t *hi)
{
	const uint16x8_t h = vld1q_u16(p);
	*lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
	*hi = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
}

/* Dot product and widening of a 16-bit float format, given its 8-wide
 * loader and its scalar conversion (for the tail). */
#define ARM_DEFINE_HALF(name, load8, to_f32)                                                  \
	static void arm_##name##_vec_dot(int64_t n, float *s, const void *vx, const void *vy) \
	{                                                                                     \
		const uint16_t *x = vx, *y = vy;                                              \
		float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;                   \
		int64_t i = 0;                                                                \
		for (; i + 16 <= n; i += 16) {                                                \
			float32x4_t x0, x1, x2, x3, y0, y1, y2, y3;                           \
			load8(x + i, &x0, &x1);                                               \
			load8(x + i + 8, &x2, &x3);                                           \
			load8(y + i, &y0, &y1);                                               \
			load8(y + i + 8, &y2, &y3);                                           \
			a0 = vfmaq_f32(a0, x0, y0);                                           \
			a1 = vfmaq_f32(a1, x1, y1);                                           \
			a2 = vfmaq_f32(a2, x2, y2);                                           \
			a3 = vfmaq_f32(a3, x3, y3);                                           \
		}                                                                             \
		for (; i + 8 <= n; i += 8) {                                                  \
			float32x4_t x0, x1, y0, y1;                                           \
			load8(x + i, &x0, &x1);                                               \
			load8(y + i, &y0, &y1);                                               \
			a0 = vfmaq_f32(a0, x0, y0);                                           \
			a1 = vfmaq_f32(a1, x1, y1);                                           \
		}                                                                             \
		float sum = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));      \
		for (; i < n; i++)                                                            \
			sum += to_f32(x[i]) * to_f32(y[i]);                                   \
		*s = sum;                                                                     \
	}                                                                                     \
	static void arm_##name##_to_float(const void *src, float *dst, int64_t n)            \
	{                                                                                     \
		const uint16_t *h = src;                                                      \
		int64_t i = 0;                                                                \
		for (; i + 8 <= n; i += 8) {                                                  \
			float32x4_t lo, hi;                                                   \
			load8(h + i, &lo, &hi);                                               \
			vst1q_f32(dst + i, lo);                                               \
			vst1q_f32(dst + i + 4, hi);                                           \
		}                                                                             \
		for (; i < n; i++)                                                            \
			dst[i] = to_f32(h[i]);                                                \
	}

ARM_DEFINE_HALF(f16, arm_load_h8, arm_h2f)
ARM_DEFINE_HALF(bf16, arm_load_bf8, bf16_to_f32)

/* The narrowing conversion rounds to nearest even (the FPCR default), keeps
 * subnormal halves and overflows to infinity, as the scalar f32_to_fp16. */
static void arm_f16_from_float(const float *src, void *dst, int64_t n)
{
	uint16_t *h = dst;
	int64_t i = 0;
	for (; i + 8 <= n; i += 8) {
		const float16x4_t lo = vcvt_f16_f32(vld1q_f32(src + i));
		const float16x8_t both = vcvt_high_f16_f32(lo, vld1q_f32(src + i + 4));
		vst1q_u16(h + i, vreinterpretq_u16_f16(both));
	}
	for (; i < n; i++)
		h[i] = f32_to_fp16(src[i]);
}

/* ---------------------------------------------------------------- Q8 activations */

/* Four vectors of 32-bit integers (each in -128..127) as 16 bytes. */
static inline int8x16_t arm_narrow_i32x4(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d)
{
	const int16x8_t ab = vcombine_s16(vqmovn_s32(a), vqmovn_s32(b));
	const int16x8_t cd = vcombine_s16(vqmovn_s32(c), vqmovn_s32(d));
	return vcombine_s8(vqmovn_s16(ab), vqmovn_s16(cd));
}

/* Quantizes 32 floats with scale d = amax/127 into out, as quant.c's
 * q8_round does it: round half away from zero (FRINTA is roundf), clamp to
 * +-127. The max-number forms (maxnm, minnm) ignore a NaN like fmaxf, and
 * in this order send a NaN quant to -127 as the scalar comparisons do.
 * Returns d and the sum of the quants in *qsum. */
static inline float arm_q8_block(const float *x, int8_t *out, int *qsum)
{
	float32x4_t v[8];
	float32x4_t amax = vdupq_n_f32(0);
	for (int k = 0; k < 8; k++) {
		v[k] = vld1q_f32(x + 4 * k);
		amax = vmaxnmq_f32(amax, vabsq_f32(v[k]));
	}
	const float d = vmaxnmvq_f32(amax) / 127;
	const float id = d ? 1.0f / d : 0.0f;
	const float32x4_t lo = vdupq_n_f32(-127.0f), hi = vdupq_n_f32(127.0f);
	int32x4_t q[8];
	for (int k = 0; k < 8; k++) {
		const float32x4_t r = vrndaq_f32(vmulq_n_f32(v[k], id));
		q[k] = vcvtq_s32_f32(vminnmq_f32(vmaxnmq_f32(r, lo), hi));
	}
	if (qsum) {
		int32x4_t t = vaddq_s32(vaddq_s32(q[0], q[1]), vaddq_s32(q[2], q[3]));
		t = vaddq_s32(t, vaddq_s32(vaddq_s32(q[4], q[5]), vaddq_s32(q[6], q[7])));
		*qsum = vaddvq_s32(t);
	}
	vst1q_s8(out, arm_narrow_i32x4(q[0], q[1], q[2], q[3]));
	vst1q_s8(out + 16, arm_narrow_i32x4(q[4], q[5], q[6], q[7]));
	return d;
}

static void arm_q8_0_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q8_0 *y = vy;
	for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0)
		y[i].d = f32_to_fp16(arm_q8_block(x, y[i].qs, NULL));
}

static void arm_q8_1_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q8_1 *y = vy;
	for (int64_t i = 0; i < n / QK8_1; i++, x += QK8_1) {
		int sum;
		const float d = arm_q8_block(x, y[i].qs, &sum);
		y[i].d = f32_to_fp16(d);
		y[i].s = f32_to_fp16(sum * d);
	}
}

/* q8_K as quant_k.c: the scale maps the first element of largest magnitude
 * (its sign kept) to -127, and quants round to nearest even (FRINTN, as
 * round_nearest does for these magnitudes; a NaN becomes 0 both ways). */
static void arm_q8_K_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q8_K *y = vy;
	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
		float32x4_t vmax = vdupq_n_f32(0);
		for (int j = 0; j < QK_K; j += 4)
			vmax = vmaxnmq_f32(vmax, vabsq_f32(vld1q_f32(x + j)));
		const float amax = vmaxnmvq_f32(vmax);
		memset(&y[i], 0, sizeof(y[i]));
		if (!amax)
			continue;
		float max = 0;
		for (int j = 0; j < QK_K; j++)
			if (x[j] == amax || x[j] == -amax) {
				max = x[j];
				break;
			}
		const float iscale = -127.f / max;
		for (int j = 0; j < QK_K; j += 16) {
			int32x4_t q[4];
			for (int k = 0; k < 4; k++)
				q[k] = vcvtq_s32_f32(vrndnq_f32(vmulq_n_f32(vld1q_f32(x + j + 4 * k), iscale)));
			/* The saturating narrowings clamp to -128..127. */
			const int8x16_t b = arm_narrow_i32x4(q[0], q[1], q[2], q[3]);
			vst1q_s8(y[i].qs + j, b);
			y[i].bsums[j / 16] = vaddlvq_s8(b);
		}
		y[i].d = 1 / iscale;
	}
}

/* ---------------------------------------------------------------- integer dots */

#define ARM_TARGET
#define ARM_FN(name) neon_##name
#define ARM_DOT arm_dot_mull
#include "quant_arm_dots.h"
#undef ARM_TARGET
#undef ARM_FN
#undef ARM_DOT

#define ARM_TARGET ARM_DOTPROD_TARGET
#define ARM_FN(name) dotprod_##name
#define ARM_DOT arm_dot_sdot
#include "quant_arm_dots.h"
#undef ARM_TARGET
#undef ARM_FN
#undef ARM_DOT

/* ---------------------------------------------------------------- dispatch */

static struct quant_kernels neon_table[GGML_TYPE_COUNT];
static struct quant_kernels dotprod_table[GGML_TYPE_COUNT];
static pthread_once_t arm_once = PTHREAD_ONCE_INIT;
/* Each variant's tiles go with its own vec_dots. */
#define ARM_TILES(prefix)                                                                     \
	{                                                                                     \
		[GGML_TYPE_F32] = { arm_f32_tile, 1, ARM_F32_TILE_TOKENS, arm_f32_gemv,       \
				    ARM_F32_GEMV_ROWS },                                      \
		[GGML_TYPE_Q4_K] = { prefix##_q4_K_tile, 1, 4, NULL, 0 },                     \
		[GGML_TYPE_Q6_K] = { prefix##_q6_K_tile, 1, 4, NULL, 0 },                     \
	}
static const struct quant_tile neon_tiles[GGML_TYPE_COUNT] = ARM_TILES(neon);
static const struct quant_tile dotprod_tiles[GGML_TYPE_COUNT] = ARM_TILES(dotprod);

#define ARM_SET_DOTS(table, prefix)                                   \
	do {                                                          \
		table[GGML_TYPE_Q8_0].vec_dot = prefix##_q8_0_vec_dot; \
		table[GGML_TYPE_Q4_0].vec_dot = prefix##_q4_0_vec_dot; \
		table[GGML_TYPE_Q4_1].vec_dot = prefix##_q4_1_vec_dot; \
		table[GGML_TYPE_Q5_0].vec_dot = prefix##_q5_0_vec_dot; \
		table[GGML_TYPE_Q5_1].vec_dot = prefix##_q5_1_vec_dot; \
		table[GGML_TYPE_Q2_K].vec_dot = prefix##_q2_K_vec_dot; \
		table[GGML_TYPE_Q3_K].vec_dot = prefix##_q3_K_vec_dot; \
		table[GGML_TYPE_Q4_K].vec_dot = prefix##_q4_K_vec_dot; \
		table[GGML_TYPE_Q5_K].vec_dot = prefix##_q5_K_vec_dot; \
		table[GGML_TYPE_Q6_K].vec_dot = prefix##_q6_K_vec_dot; \
	} while (0)

static void arm_init(void)
{
	/* Start from the reference kernels and replace the ones we have. */
	quant_ref_table(neon_table);
	neon_table[GGML_TYPE_F32].vec_dot = arm_f32_vec_dot;
	neon_table[GGML_TYPE_F16].vec_dot = arm_f16_vec_dot;
	neon_table[GGML_TYPE_F16].to_float = arm_f16_to_float;
	neon_table[GGML_TYPE_F16].from_float = arm_f16_from_float;
	neon_table[GGML_TYPE_BF16].vec_dot = arm_bf16_vec_dot;
	neon_table[GGML_TYPE_BF16].to_float = arm_bf16_to_float;
	neon_table[GGML_TYPE_Q8_0].from_float = arm_q8_0_from_float;
	neon_table[GGML_TYPE_Q8_1].from_float = arm_q8_1_from_float;
	neon_table[GGML_TYPE_Q8_K].from_float = arm_q8_K_from_float;
	ARM_SET_DOTS(neon_table, neon);
	/* The dot product variant differs in the integer dots only. */
	memcpy(dotprod_table, neon_table, sizeof(neon_table));
	ARM_SET_DOTS(dotprod_table, dotprod);
}

static const struct quant_kernels *arm_lookup(const struct quant_kernels *table,
					      enum ggml_type type)
{
	pthread_once(&arm_once, arm_init);
	if ((unsigned)type >= GGML_TYPE_COUNT || !table[type].to_float)
		return NULL;
	return &table[type];
}

const struct quant_kernels *quant_arm(enum ggml_type type)
{
	return arm_lookup(neon_table, type);
}

const struct quant_kernels *quant_arm_dotprod(enum ggml_type type)
{
	return arm_lookup(dotprod_table, type);
}

static const struct quant_tile *arm_tile_of(const struct quant_tile *tiles, enum ggml_type type)
{
	if ((unsigned)type >= GGML_TYPE_COUNT || !tiles[type].fn)
		return NULL;
	return &tiles[type];
}

static const struct quant_tile *neon_tile(enum ggml_type type)
{
	return arm_tile_of(neon_tiles, type);
}

static const struct quant_tile *dotprod_tile(enum ggml_type type)
{
	return arm_tile_of(dotprod_tiles, type);
}

/* Advanced SIMD is mandatory in AArch64: every CPU this code runs on has it. */
static bool arm_neon_probe(void)
{
	return true;
}

static bool arm_dotprod_probe(void)
{
	return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
}

const struct kernel_variant kernel_variant_neon_dotprod = {
	.name = "neon-dotprod",
	.needs = "the Armv8.2 dot product instructions (asimddp)",
	.probe = arm_dotprod_probe,
	.quant = quant_arm_dotprod,
	.tile = dotprod_tile,
	.rows = ops_arm_rows,
};

const struct kernel_variant kernel_variant_neon = {
	.name = "neon",
	.needs = "NEON (every AArch64 CPU)",
	.probe = arm_neon_probe,
	.quant = quant_arm,
	.tile = neon_tile,
	.rows = ops_arm_rows,
};

#endif
