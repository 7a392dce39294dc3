/* The integer dot products of quant_arm.c, written once for both ARM
 * variants. quant_arm.c includes this file twice, each time defining
 *   ARM_TARGET  the function attribute of the variant (empty for base NEON)
 *   ARM_FN(x)   the variant's name for kernel x
 *   ARM_DOT     acc + the products of two int8x16_t, in four int32 lanes
 * Never include it anywhere else. Only the sum of the four lanes of an
 * ARM_DOT is used, never a lane on its own: the two ways of forming it put
 * different products in each lane, but the sums are equal and exact, so
 * both variants give the same results bit for bit. */

/* ---------------------------------------------------------------- legacy quants */

/* The four-lane integer sum of one 32-element block pair, two 16-byte
 * halves each. */
#define ARM_BLOCK_DOT(a0, a1, b0, b1) ARM_DOT(ARM_DOT(vdupq_n_s32(0), a0, b0), a1, b1)

ARM_TARGET static void ARM_FN(q8_0_vec_dot)(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q8_0 *x = vx, *y = vy;
	float32x4_t acc = vdupq_n_f32(0);
	for (int64_t i = 0; i < n / QK8_0; i++) {
		const int32x4_t p = ARM_BLOCK_DOT(vld1q_s8(x[i].qs), vld1q_s8(x[i].qs + 16),
						  vld1q_s8(y[i].qs), vld1q_s8(y[i].qs + 16));
		acc = vfmaq_n_f32(acc, vcvtq_f32_s32(p), arm_h2f(x[i].d) * arm_h2f(y[i].d));
	}
	*s = vaddvq_f32(acc);
}

ARM_TARGET static void ARM_FN(q4_0_vec_dot)(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_0 *x = vx;
	const struct block_q8_0 *y = vy;
	const int8x16_t eight = vdupq_n_s8(8);
	float32x4_t acc = vdupq_n_f32(0);
	for (int64_t i = 0; i < n / QK4_0; i++) {
		int8x16_t lo, hi;
		arm_nibbles(x[i].qs, &lo, &hi);
		const int32x4_t p = ARM_BLOCK_DOT(vsubq_s8(lo, eight), vsubq_s8(hi, eight),
						  vld1q_s8(y[i].qs), vld1q_s8(y[i].qs + 16));
		acc = vfmaq_n_f32(acc, vcvtq_f32_s32(p), arm_h2f(x[i].d) * arm_h2f(y[i].d));
	}
	*s = vaddvq_f32(acc);
}

/* The min term m * sum(y) comes from q8_1's premultiplied sum s. */
ARM_TARGET static void ARM_FN(q4_1_vec_dot)(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_1 *x = vx;
	const struct block_q8_1 *y = vy;
	float32x4_t acc = vdupq_n_f32(0);
	float summs = 0;
	for (int64_t i = 0; i < n / QK4_1; i++) {
		int8x16_t lo, hi;
		arm_nibbles(x[i].qs, &lo, &hi);
		const int32x4_t p = ARM_BLOCK_DOT(lo, hi, vld1q_s8(y[i].qs), vld1q_s8(y[i].qs + 16));
		acc = vfmaq_n_f32(acc, vcvtq_f32_s32(p), arm_h2f(x[i].d) * arm_h2f(y[i].d));
		summs += arm_h2f(x[i].m) * arm_h2f(y[i].s);
	}
	*s = vaddvq_f32(acc) + summs;
}

ARM_TARGET static void ARM_FN(q5_0_vec_dot)(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q5_0 *x = vx;
	const struct block_q8_0 *y = vy;
	const int8x16_t sixteen = vdupq_n_s8(16);
	float32x4_t acc = vdupq_n_f32(0);
	for (int64_t i = 0; i < n / QK5_0; i++) {
		int8x16_t lo, hi;
		arm_q5_quants(x[i].qh, x[i].qs, &lo, &hi);
		const int32x4_t p = ARM_BLOCK_DOT(vsubq_s8(lo, sixteen), vsubq_s8(hi, sixteen),
						  vld1q_s8(y[i].qs), vld1q_s8(y[i].qs + 16));
		acc = vfmaq_n_f32(acc, vcvtq_f32_s32(p), arm_h2f(x[i].d) * arm_h2f(y[i].d));
	}
	*s = vaddvq_f32(acc);
}

ARM_TARGET static void ARM_FN(q5_1_vec_dot)(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q5_1 *x = vx;
	const struct block_q8_1 *y = vy;
	float32x4_t acc = vdupq_n_f32(0);
	float summs = 0;
	for (int64_t i = 0; i < n / QK5_1; i++) {
		int8x16_t lo, hi;
		arm_q5_quants(x[i].qh, x[i].qs, &lo, &hi);
		const int32x4_t p = ARM_BLOCK_DOT(lo, hi, vld1q_s8(y[i].qs), vld1q_s8(y[i].qs + 16));
		acc = vfmaq_n_f32(acc, vcvtq_f32_s32(p), arm_h2f(x[i].d) * arm_h2f(y[i].d));
		summs += arm_h2f(x[i].m) * arm_h2f(y[i].s);
	}
	*s = vaddvq_f32(acc) + summs;
}

/* ---------------------------------------------------------------- K-quants */

/* sum(a * b) over 32 elements, as one integer. */
#define ARM_SUM32(a0, a1, b0, b1) vaddvq_s32(ARM_BLOCK_DOT(a0, a1, b0, b1))
/* The same over 16. */
#define ARM_SUM16(a, b) vaddvq_s32(ARM_DOT(vdupq_n_s32(0), a, b))

/* sum over the eight groups of 32 of scale * sum(q * y), from a q4_K
 * block's quants in group order (arm_q4_K_quants). */
ARM_TARGET static inline int ARM_FN(k_isum32)(const int8x16_t q[16], const uint8_t sc[8],
					       const int8_t *q8)
{
	int isum = 0;
	for (int g = 0; g < 8; g++)
		isum += sc[g] * ARM_SUM32(q[2 * g], q[2 * g + 1], vld1q_s8(q8 + 32 * g),
					  vld1q_s8(q8 + 32 * g + 16));
	return isum;
}

/* The same over sixteen groups of 16 with signed scales (q6_K). */
ARM_TARGET static inline int ARM_FN(k_isum16)(const int8x16_t q[16], const int8_t sc[16],
					       const int8_t *q8)
{
	int isum = 0;
	for (int g = 0; g < 16; g++)
		isum += sc[g] * ARM_SUM16(q[g], vld1q_s8(q8 + 16 * g));
	return isum;
}

/* q4_K and q5_K: eight groups of 32 with 6-bit scales and mins. The quants
 * of 64-element chunk j are the low nibbles (group 2j) and high nibbles
 * (group 2j+1) of 32 bytes, plus for q5_K a fifth bit from qh. The float
 * steps are the reference's, in its order. */
ARM_TARGET static void ARM_FN(q4_K_vec_dot)(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_K *x = vx;
	const struct block_q8_K *y = vy;
	float sum = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		uint8_t sc[8], mn[8];
		int8x16_t q[16];
		arm_k4_scales(x[i].scales, sc, mn);
		arm_q4_K_quants(x[i].qs, q);
		const int isum = ARM_FN(k_isum32)(q, sc, y[i].qs);
		const int msum = arm_k4_min_sum(mn, y[i].bsums);
		sum += arm_h2f(x[i].d) * y[i].d * isum - arm_h2f(x[i].dmin) * y[i].d * msum;
	}
	*s = sum;
}

/* Prefill tiles of q4_K and q6_K: one weight row by four tokens, so the
 * unpacked quants and scales of each super-block serve four activation
 * rows; the steps per token are the vec_dots', so each output equals the
 * vec_dot of its pair bit for bit. */
#define ARM_K_TILE_TOKENS 4

ARM_TARGET static void ARM_FN(q4_K_tile)(int64_t n, const void *vw, size_t w_stride,
					  const void *va, size_t a_stride, float *y, size_t ldy)
{
	(void)w_stride;
	const struct block_q4_K *x = vw;
	float sum[ARM_K_TILE_TOKENS] = { 0 };
	for (int64_t i = 0; i < n / QK_K; i++) {
		uint8_t sc[8], mn[8];
		int8x16_t q[16];
		arm_k4_scales(x[i].scales, sc, mn);
		arm_q4_K_quants(x[i].qs, q);
		const float dx = arm_h2f(x[i].d), dmx = arm_h2f(x[i].dmin);
		for (int t = 0; t < ARM_K_TILE_TOKENS; t++) {
			const struct block_q8_K *a =
				(const struct block_q8_K *)((const uint8_t *)va + t * a_stride) + i;
			const int isum = ARM_FN(k_isum32)(q, sc, a->qs);
			const int msum = arm_k4_min_sum(mn, a->bsums);
			sum[t] += dx * a->d * isum - dmx * a->d * msum;
		}
	}
	for (int t = 0; t < ARM_K_TILE_TOKENS; t++)
		y[t * ldy] = sum[t];
}

ARM_TARGET static void ARM_FN(q5_K_vec_dot)(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q5_K *x = vx;
	const struct block_q8_K *y = vy;
	const uint8x16_t m4 = vdupq_n_u8(0x0f), b16 = vdupq_n_u8(0x10);
	float sum = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		uint8_t sc[8], mn[8];
		arm_k4_scales(x[i].scales, sc, mn);
		const int msum = arm_k4_min_sum(mn, y[i].bsums);
		const uint8x16_t qh0 = vld1q_u8(x[i].qh), qh1 = vld1q_u8(x[i].qh + 16);
		const uint8_t *q5 = x[i].qs;
		const int8_t *q8 = y[i].qs;
		int isum = 0;
		for (int j = 0; j < 4; j++, q5 += 32, q8 += 64) {
			/* Group 2j takes bit 2j of qh, group 2j+1 bit 2j+1. */
			const uint8x16_t bl = vdupq_n_u8((uint8_t)(1u << (2 * j)));
			const uint8x16_t bh = vdupq_n_u8((uint8_t)(2u << (2 * j)));
			const uint8x16_t b0 = vld1q_u8(q5), b1 = vld1q_u8(q5 + 16);
			const int8x16_t l0 = vreinterpretq_s8_u8(
				vorrq_u8(vandq_u8(b0, m4), vandq_u8(vtstq_u8(qh0, bl), b16)));
			const int8x16_t l1 = vreinterpretq_s8_u8(
				vorrq_u8(vandq_u8(b1, m4), vandq_u8(vtstq_u8(qh1, bl), b16)));
			const int8x16_t h0 = vreinterpretq_s8_u8(
				vorrq_u8(vshrq_n_u8(b0, 4), vandq_u8(vtstq_u8(qh0, bh), b16)));
			const int8x16_t h1 = vreinterpretq_s8_u8(
				vorrq_u8(vshrq_n_u8(b1, 4), vandq_u8(vtstq_u8(qh1, bh), b16)));
			isum += sc[2 * j] * ARM_SUM32(l0, l1, vld1q_s8(q8), vld1q_s8(q8 + 16));
			isum += sc[2 * j + 1] * ARM_SUM32(h0, h1, vld1q_s8(q8 + 32), vld1q_s8(q8 + 48));
		}
		sum += arm_h2f(x[i].d) * y[i].d * isum - arm_h2f(x[i].dmin) * y[i].d * msum;
	}
	*s = sum;
}

/* q6_K: sixteen groups of 16 with signed 8-bit scales (arm_q6_K_quants
 * unpacks them). */
ARM_TARGET static void ARM_FN(q6_K_vec_dot)(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q6_K *x = vx;
	const struct block_q8_K *y = vy;
	float sum = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		int8x16_t q[16];
		arm_q6_K_quants(&x[i], q);
		const int isum = ARM_FN(k_isum16)(q, x[i].scales, y[i].qs);
		sum += (arm_h2f(x[i].d) * y[i].d) * isum;
	}
	*s = sum;
}

ARM_TARGET static void ARM_FN(q6_K_tile)(int64_t n, const void *vw, size_t w_stride,
					  const void *va, size_t a_stride, float *y, size_t ldy)
{
	(void)w_stride;
	const struct block_q6_K *x = vw;
	float sum[ARM_K_TILE_TOKENS] = { 0 };
	for (int64_t i = 0; i < n / QK_K; i++) {
		int8x16_t q[16];
		arm_q6_K_quants(&x[i], q);
		const float dx = arm_h2f(x[i].d);
		for (int t = 0; t < ARM_K_TILE_TOKENS; t++) {
			const struct block_q8_K *a =
				(const struct block_q8_K *)((const uint8_t *)va + t * a_stride) + i;
			sum[t] += (dx * a->d) * ARM_FN(k_isum16)(q, x[i].scales, a->qs);
		}
	}
	for (int t = 0; t < ARM_K_TILE_TOKENS; t++)
		y[t * ldy] = sum[t];
}

/* q2_K: sixteen groups of 16, four 2-bit quants per byte (the four
 * 32-element runs of each 128 share 32 bytes), a 4-bit scale and min per
 * group. */
ARM_TARGET static void ARM_FN(q2_K_vec_dot)(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q2_K *x = vx;
	const struct block_q8_K *y = vy;
	const uint8x16_t m2 = vdupq_n_u8(3);
	float sum = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		const uint8_t *sc = x[i].scales;
		int msum = 0;
		for (int g = 0; g < QK_K / 16; g++)
			msum += (sc[g] >> 4) * y[i].bsums[g];
		const uint8_t *q2 = x[i].qs;
		const int8_t *q8 = y[i].qs;
		int isum = 0;
		for (int half = 0; half < 2; half++, q2 += 32, sc += 8) {
			const uint8x16_t b0 = vld1q_u8(q2), b1 = vld1q_u8(q2 + 16);
			for (int k = 0; k < 4; k++, q8 += 32) {
				const int8x16_t a0 = vreinterpretq_s8_u8(vandq_u8(arm_shr_u8(b0, 2 * k), m2));
				const int8x16_t a1 = vreinterpretq_s8_u8(vandq_u8(arm_shr_u8(b1, 2 * k), m2));
				isum += (sc[2 * k] & 0x0f) * ARM_SUM16(a0, vld1q_s8(q8));
				isum += (sc[2 * k + 1] & 0x0f) * ARM_SUM16(a1, vld1q_s8(q8 + 16));
			}
		}
		sum += y[i].d * arm_h2f(x[i].d) * isum - y[i].d * arm_h2f(x[i].dmin) * msum;
	}
	*s = sum;
}

/* q3_K: as q2_K's layout, with a third bit in hmask (clear means the quant
 * is 4 lower) and sixteen 6-bit signed scales. */
ARM_TARGET static void ARM_FN(q3_K_vec_dot)(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q3_K *x = vx;
	const struct block_q8_K *y = vy;
	const uint8x16_t m2 = vdupq_n_u8(3), four = vdupq_n_u8(4);
	float sum = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		int sc[16];
		arm_q3_K_scales(x[i].scales, sc);
		const uint8x16_t hm0 = vld1q_u8(x[i].hmask), hm1 = vld1q_u8(x[i].hmask + 16);
		const uint8_t *q3 = x[i].qs;
		const int8_t *q8 = y[i].qs;
		int isum = 0;
		for (int half = 0; half < 2; half++, q3 += 32) {
			const uint8x16_t b0 = vld1q_u8(q3), b1 = vld1q_u8(q3 + 16);
			for (int k = 0; k < 4; k++, q8 += 32) {
				const int b = 4 * half + k;
				const uint8x16_t bit = vdupq_n_u8((uint8_t)(1u << b));
				/* vbicq: 4 where the high bit is clear, else 0. */
				const int8x16_t a0 = vsubq_s8(
					vreinterpretq_s8_u8(vandq_u8(arm_shr_u8(b0, 2 * k), m2)),
					vreinterpretq_s8_u8(vbicq_u8(four, vtstq_u8(hm0, bit))));
				const int8x16_t a1 = vsubq_s8(
					vreinterpretq_s8_u8(vandq_u8(arm_shr_u8(b1, 2 * k), m2)),
					vreinterpretq_s8_u8(vbicq_u8(four, vtstq_u8(hm1, bit))));
				isum += sc[2 * b] * ARM_SUM16(a0, vld1q_s8(q8));
				isum += sc[2 * b + 1] * ARM_SUM16(a1, vld1q_s8(q8 + 16));
			}
		}
		sum += (arm_h2f(x[i].d) * y[i].d) * isum;
	}
	*s = sum;
}

#undef ARM_BLOCK_DOT
#undef ARM_SUM32
#undef ARM_SUM16
#undef ARM_K_TILE_TOKENS
