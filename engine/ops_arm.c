/* NEON row kernels for AArch64 (see ops_arm.h). Armv8.0 Advanced SIMD only,
 * so the table serves both ARM variants and needs no probe of its own.
 *
 * Rows whose length is not a multiple of four end in a partial vector that
 * goes through a zero-padded copy, so every element of a row takes the same
 * arithmetic whatever its index. */
#include "ops_arm.h"

#if defined(__aarch64__)

#include <arm_neon.h>
#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

/* The first n (0..4) floats at p in a vector, the rest 0. */
static inline float32x4_t arm_load_part(const float *p, int n)
{
	float t[4] = { 0 };
	memcpy(t, p, (size_t)n * sizeof(float));
	return vld1q_f32(t);
}

/* Stores the first n (0..4) lanes of v at p. */
static inline void arm_store_part(float *p, float32x4_t v, int n)
{
	float t[4];
	vst1q_f32(t, v);
	memcpy(p, t, (size_t)n * sizeof(float));
}

/* Four float lanes added into two double accumulators. */
static inline void arm_acc_f64(float64x2_t *lo, float64x2_t *hi, float32x4_t v)
{
	*lo = vaddq_f64(*lo, vcvt_f64_f32(vget_low_f32(v)));
	*hi = vaddq_f64(*hi, vcvt_high_f64_f32(v));
}

/* ---------------------------------------------------------------- exp */

/* e^x = 2^k * e^r with k = round(x / ln 2) and |r| <= ln2/2 (a little more
 * when x/ln2 rounds across a half); ln 2 is split in two so that r keeps
 * the bits k*ln2 would lose in one float. The constants, the clamps and the
 * degree-7 Taylor polynomial are ops_x86.c's, where the error analysis is:
 * below 0.94 ulp over every argument with a normal result. */
#define ARM_LOG2E 1.44269504088896341f
#define ARM_LN2_HI 0.693145752f           /* ln 2 to 16 bits: k * this is exact */
#define ARM_LN2_LO 1.42860682e-6f         /* ln 2 - ARM_LN2_HI */
/* Below -110 every result is 0 and above 90 every result is +inf; clamping
 * there keeps k small enough for the two-step scaling below. */
#define ARM_EXP_MIN -110.0f
#define ARM_EXP_MAX 90.0f

/* e^x for four floats. FMAX and FMIN pass a NaN on, so a NaN argument
 * survives the clamps and the polynomial (its k converts to 0). 2^k is
 * applied as two powers of two, 2^(k/2) and 2^(k-k/2), each a normal
 * float: a subnormal result is rounded once, by the last multiply, and
 * anything past the largest float becomes +inf, as with expf. */
static inline float32x4_t arm_exp4(float32x4_t x)
{
	x = vminq_f32(vdupq_n_f32(ARM_EXP_MAX), vmaxq_f32(vdupq_n_f32(ARM_EXP_MIN), x));
	const float32x4_t k = vrndnq_f32(vmulq_n_f32(x, ARM_LOG2E));
	float32x4_t r = vfmsq_f32(x, k, vdupq_n_f32(ARM_LN2_HI));
	r = vfmsq_f32(r, k, vdupq_n_f32(ARM_LN2_LO));
	float32x4_t p = vdupq_n_f32(1.0f / 5040);
	p = vfmaq_f32(vdupq_n_f32(1.0f / 720), p, r);
	p = vfmaq_f32(vdupq_n_f32(1.0f / 120), p, r);
	p = vfmaq_f32(vdupq_n_f32(1.0f / 24), p, r);
	p = vfmaq_f32(vdupq_n_f32(1.0f / 6), p, r);
	p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
	p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
	p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
	const int32x4_t ki = vcvtq_s32_f32(k);
	const int32x4_t k1 = vshrq_n_s32(ki, 1);
	const int32x4_t k2 = vsubq_s32(ki, k1);
	const int32x4_t bias = vdupq_n_s32(127);
	const float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(k1, bias), 23));
	const float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(k2, bias), 23));
	return vmulq_f32(vmulq_f32(p, s1), s2);
}

static void arm_exp(float *y, const float *x, int n)
{
	int i = 0;
	for (; i + 4 <= n; i += 4)
		vst1q_f32(y + i, arm_exp4(vld1q_f32(x + i)));
	if (i < n)
		arm_store_part(y + i, arm_exp4(arm_load_part(x + i, n - i)), n - i);
}

/* ---------------------------------------------------------------- row operations */

/* The squares are rounded to float and summed in double, exactly the
 * reference's terms, so only the order of the double additions differs. */
static void arm_rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
	float64x2_t lo = vdupq_n_f64(0), hi = lo;
	int i = 0;
	for (; i + 4 <= n; i += 4) {
		const float32x4_t v = vld1q_f32(x + i);
		arm_acc_f64(&lo, &hi, vmulq_f32(v, v));
	}
	const int tail = n - i;
	if (tail) {
		const float32x4_t v = arm_load_part(x + i, tail);
		arm_acc_f64(&lo, &hi, vmulq_f32(v, v));
	}
	const float mean = (float)(vaddvq_f64(vaddq_f64(lo, hi)) / n);
	const float scale = 1.0f / sqrtf(mean + eps);
	/* out may be x: each vector is read before it is written. */
	for (i = 0; i + 4 <= n; i += 4)
		vst1q_f32(out + i, vmulq_f32(vmulq_n_f32(vld1q_f32(x + i), scale), vld1q_f32(w + i)));
	if (tail)
		arm_store_part(out + i,
			       vmulq_f32(vmulq_n_f32(arm_load_part(x + i, tail), scale),
					 arm_load_part(w + i, tail)),
			       tail);
}

/* The maximum is subtracted first, as in the reference, so no exponent
 * overflows, and the sum of the exponentials is kept in double like the
 * reference's. */
static void arm_softmax(float *x, int n)
{
	const int n4 = n & ~3, tail = n - n4;
	/* FMAXNM skips a NaN score, as the reference's comparison does; the
	 * padding of a partial vector is -inf, which never wins. */
	float32x4_t vmax = vdupq_n_f32(-INFINITY);
	for (int i = 0; i < n4; i += 4)
		vmax = vmaxnmq_f32(vmax, vld1q_f32(x + i));
	if (tail) {
		float t[4] = { -INFINITY, -INFINITY, -INFINITY, -INFINITY };
		memcpy(t, x + n4, (size_t)tail * sizeof(float));
		vmax = vmaxnmq_f32(vmax, vld1q_f32(t));
	}
	const float max = vmaxnmvq_f32(vmax);

	float64x2_t lo = vdupq_n_f64(0), hi = lo;
	for (int i = 0; i < n4; i += 4) {
		const float32x4_t e = arm_exp4(vsubq_f32(vld1q_f32(x + i), vdupq_n_f32(max)));
		vst1q_f32(x + i, e);
		arm_acc_f64(&lo, &hi, e);
	}
	if (tail) {
		float t[4] = { 0 };
		const float32x4_t e = arm_exp4(vsubq_f32(arm_load_part(x + n4, tail), vdupq_n_f32(max)));
		vst1q_f32(t, e);
		memcpy(x + n4, t, (size_t)tail * sizeof(float));
		/* Only the row's own lanes count towards the sum. */
		memset(t + tail, 0, (size_t)(4 - tail) * sizeof(float));
		arm_acc_f64(&lo, &hi, vld1q_f32(t));
	}
	const float inv = (float)(1.0 / vaddvq_f64(vaddq_f64(lo, hi)));
	for (int i = 0; i < n4; i += 4)
		vst1q_f32(x + i, vmulq_n_f32(vld1q_f32(x + i), inv));
	for (int i = n4; i < n; i++)
		x[i] *= inv;
}

/* silu(g) * up with a true division, as the reference: the only difference
 * is exp's. A very negative g makes e^-g infinite and the quotient -0. */
static inline float32x4_t arm_swiglu4(float32x4_t g, float32x4_t u)
{
	const float32x4_t e = arm_exp4(vnegq_f32(g));
	return vmulq_f32(vdivq_f32(g, vaddq_f32(vdupq_n_f32(1.0f), e)), u);
}

static void arm_swiglu(float *out, const float *gate, const float *up, int n)
{
	int i = 0;
	for (; i + 4 <= n; i += 4)
		vst1q_f32(out + i, arm_swiglu4(vld1q_f32(gate + i), vld1q_f32(up + i)));
	if (i < n)
		arm_store_part(out + i,
			       arm_swiglu4(arm_load_part(gate + i, n - i), arm_load_part(up + i, n - i)),
			       n - i);
}

static void arm_add(float *y, const float *x, int n)
{
	int i = 0;
	for (; i + 4 <= n; i += 4)
		vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vld1q_f32(x + i)));
	for (; i < n; i++)
		y[i] += x[i];
}

/* ---------------------------------------------------------------- rope */

/* One rotated pair, as the reference computes it, for the tails. */
static inline void arm_rope_pair(float *a, float *b, float c, float s)
{
	const float x0 = *a, x1 = *b;
	*a = x0 * c - x1 * s;
	*b = x0 * s + x1 * c;
}

/* Four pairs: x0*c - x1*s and x0*s + x1*c, each with one fused step. */
static inline void arm_rotate4(float32x4_t *x0, float32x4_t *x1, float32x4_t c, float32x4_t s)
{
	const float32x4_t a = *x0, b = *x1;
	*x0 = vfmsq_f32(vmulq_f32(a, c), b, s);
	*x1 = vfmaq_f32(vmulq_f32(a, s), b, c);
}

/* NORM mode: adjacent pairs, interleaved like the cos/sin cache, so one
 * de-interleaving load splits both into their halves. */
static void arm_rope_norm(float *v, int n_rot, const float *cs)
{
	int i = 0;
	for (; i + 8 <= n_rot; i += 8) {
		float32x4x2_t x = vld2q_f32(v + i);
		const float32x4x2_t t = vld2q_f32(cs + i);
		arm_rotate4(&x.val[0], &x.val[1], t.val[0], t.val[1]);
		vst2q_f32(v + i, x);
	}
	for (; i < n_rot; i += 2)
		arm_rope_pair(v + i, v + i + 1, cs[i], cs[i + 1]);
}

/* NEOX mode: pairs (i, i+half), four per step. */
static void arm_rope_neox(float *v, int n_rot, const float *cs)
{
	const int half = n_rot / 2;
	int i = 0;
	for (; i + 4 <= half; i += 4) {
		const float32x4x2_t t = vld2q_f32(cs + 2 * i);
		float32x4_t x0 = vld1q_f32(v + i), x1 = vld1q_f32(v + i + half);
		arm_rotate4(&x0, &x1, t.val[0], t.val[1]);
		vst1q_f32(v + i, x0);
		vst1q_f32(v + i + half, x1);
	}
	for (; i < half; i++)
		arm_rope_pair(v + i, v + i + half, cs[2 * i], cs[2 * i + 1]);
}

static void arm_rope(const struct ops_rope *r, float *x, int n_heads, int head_dim,
		     const float *cs)
{
	for (int h = 0; h < n_heads; h++) {
		float *v = x + (size_t)h * head_dim;
		if (r->mode == OPS_ROPE_NEOX)
			arm_rope_neox(v, r->n_rot, cs);
		else
			arm_rope_norm(v, r->n_rot, cs);
	}
}

/* ---------------------------------------------------------------- attention rows */

/* Four elements of a cached row (floats, or f16 when half) as floats, from
 * element i on; the first n (0..4) of them, the rest 0, for a row's tail.
 * Callers pass a constant half and are inlined, so each kernel below is
 * compiled once per element type. */
static inline __attribute__((always_inline)) float32x4_t arm_kv_load4(const void *row, size_t i,
								       const int half)
{
	if (half)
		return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)row + i)));
	return vld1q_f32((const float *)row + i);
}

static inline __attribute__((always_inline)) float32x4_t
arm_kv_load_part(const void *row, size_t i, int n, const int half)
{
	if (half) {
		uint16_t t[4] = { 0 };
		memcpy(t, (const uint16_t *)row + i, (size_t)n * sizeof(uint16_t));
		return arm_kv_load4(t, 0, 1);
	}
	return arm_load_part((const float *)row + i, n);
}

/* One dot of hd elements (any hd) of a row with the query: two float
 * accumulators, then the tail. */
static inline __attribute__((always_inline)) float arm_kv_dot(const float *q, const void *row,
							       int hd, const int half)
{
	float32x4_t a0 = vdupq_n_f32(0), a1 = a0;
	int d = 0;
	for (; d + 8 <= hd; d += 8) {
		a0 = vfmaq_f32(a0, vld1q_f32(q + d), arm_kv_load4(row, (size_t)d, half));
		a1 = vfmaq_f32(a1, vld1q_f32(q + d + 4), arm_kv_load4(row, (size_t)d + 4, half));
	}
	if (d + 4 <= hd) {
		a0 = vfmaq_f32(a0, vld1q_f32(q + d), arm_kv_load4(row, (size_t)d, half));
		d += 4;
	}
	if (d < hd)
		a1 = vfmaq_f32(a1, arm_load_part(q + d, hd - d),
			       arm_kv_load_part(row, (size_t)d, hd - d, half));
	return vaddvq_f32(vaddq_f32(a0, a1));
}

/* Four positions at a time share each load of the query; their four sums
 * come out as one vector (pairwise adds), scaled and stored whole. The f16
 * form takes the same steps, so it equals the float one on widened rows. */
static inline __attribute__((always_inline)) void
arm_kv_scores(float *s, const float *q, const void *k, size_t k_stride, int n_kv, int hd,
	      float scale, const int half)
{
	int p = 0;
	if (hd % 4 == 0) {
		for (; p + 4 <= n_kv; p += 4) {
			const size_t r0 = (size_t)p * k_stride;
			float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
			for (int d = 0; d < hd; d += 4) {
				const float32x4_t qv = vld1q_f32(q + d);
				const size_t kd = r0 + (size_t)d;
				a0 = vfmaq_f32(a0, qv, arm_kv_load4(k, kd, half));
				a1 = vfmaq_f32(a1, qv, arm_kv_load4(k, kd + k_stride, half));
				a2 = vfmaq_f32(a2, qv, arm_kv_load4(k, kd + 2 * k_stride, half));
				a3 = vfmaq_f32(a3, qv, arm_kv_load4(k, kd + 3 * k_stride, half));
			}
			const float32x4_t sums = vpaddq_f32(vpaddq_f32(a0, a1), vpaddq_f32(a2, a3));
			vst1q_f32(s + p, vmulq_n_f32(sums, scale));
		}
	}
	const size_t elem = half ? sizeof(uint16_t) : sizeof(float);
	for (; p < n_kv; p++)
		s[p] = arm_kv_dot(q, (const uint8_t *)k + (size_t)p * k_stride * elem, hd, half) *
		       scale;
}

static void arm_scores(float *s, const float *q, const float *k, size_t k_stride, int n_kv, int hd,
		       float scale)
{
	arm_kv_scores(s, q, k, k_stride, n_kv, hd, scale, 0);
}

static void arm_scores_f16(float *s, const float *q, const uint16_t *k, size_t k_stride,
			   int n_kv, int hd, float scale)
{
	arm_kv_scores(s, q, k, k_stride, n_kv, hd, scale, 1);
}

/* The output row stays in registers while the positions stream past: 16
 * columns (four accumulators) per pass, then 4 at a time, then the last
 * columns of a head whose size is not a multiple of 4 one by one. The sums
 * start from zero or (add) from what out holds. */
static inline __attribute__((always_inline)) void
arm_kv_wsum(float *out, const float *w, const void *v, size_t v_stride, int n_kv, int hd,
	    const int half, const int add)
{
	int d0 = 0;
	for (; d0 + 16 <= hd; d0 += 16) {
		float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
		if (add) {
			a0 = vld1q_f32(out + d0), a1 = vld1q_f32(out + d0 + 4);
			a2 = vld1q_f32(out + d0 + 8), a3 = vld1q_f32(out + d0 + 12);
		}
		for (int p = 0; p < n_kv; p++) {
			const size_t vp = (size_t)p * v_stride + (size_t)d0;
			a0 = vfmaq_n_f32(a0, arm_kv_load4(v, vp, half), w[p]);
			a1 = vfmaq_n_f32(a1, arm_kv_load4(v, vp + 4, half), w[p]);
			a2 = vfmaq_n_f32(a2, arm_kv_load4(v, vp + 8, half), w[p]);
			a3 = vfmaq_n_f32(a3, arm_kv_load4(v, vp + 12, half), w[p]);
		}
		vst1q_f32(out + d0, a0);
		vst1q_f32(out + d0 + 4, a1);
		vst1q_f32(out + d0 + 8, a2);
		vst1q_f32(out + d0 + 12, a3);
	}
	for (; d0 + 4 <= hd; d0 += 4) {
		float32x4_t a0 = add ? vld1q_f32(out + d0) : vdupq_n_f32(0);
		for (int p = 0; p < n_kv; p++)
			a0 = vfmaq_n_f32(a0, arm_kv_load4(v, (size_t)p * v_stride + (size_t)d0, half),
					 w[p]);
		vst1q_f32(out + d0, a0);
	}
	for (int d = d0; d < hd; d++) {
		float sum = add ? out[d] : 0;
		for (int p = 0; p < n_kv; p++)
			sum += w[p] *
			       vgetq_lane_f32(arm_kv_load_part(v, (size_t)p * v_stride + d, 1, half), 0);
		out[d] = sum;
	}
}

static void arm_wsum(float *out, const float *w, const float *v, size_t v_stride, int n_kv, int hd)
{
	arm_kv_wsum(out, w, v, v_stride, n_kv, hd, 0, 0);
}

static void arm_wsum_f16(float *out, const float *w, const uint16_t *v, size_t v_stride,
			 int n_kv, int hd)
{
	arm_kv_wsum(out, w, v, v_stride, n_kv, hd, 1, 1);
}

/* ---------------------------------------------------------------- dispatch */

static const struct ops_row_kernels arm_rows = {
	.rmsnorm = arm_rmsnorm,
	.softmax = arm_softmax,
	.swiglu = arm_swiglu,
	.add = arm_add,
	.vexp = arm_exp,
	.rope = arm_rope,
	.scores = arm_scores,
	.wsum = arm_wsum,
	.scores_f16 = arm_scores_f16,
	.wsum_f16 = arm_wsum_f16,
};

const struct ops_row_kernels *ops_arm_rows(void)
{
	return &arm_rows;
}

#endif
