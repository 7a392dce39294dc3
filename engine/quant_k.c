/* Scalar reference kernels for the K-quants: Q2_K..Q6_K weights and the
 * Q8_K activations they are dotted with, all in 256-element super-blocks
 * whose group scales are themselves quantized. The rules are quant.c's:
 * ggml's reference arithmetic step for step, kept simple as the oracle the
 * tests compare faster kernels with. quant.c's reference table points here. */
#include "quant_impl.h"

#include <math.h>
#include <string.h>

/* Below this a group counts as all zero; ggml uses the same cut. */
#define GROUP_EPS 1e-15f

/* ---------------------------------------------------------------- K-quant helpers */

/* The element of x[0..n) with the largest magnitude, sign kept (the first
 * one on ties), as the scale searches and the super-block scales start
 * from it. */
static float largest_magnitude(const float *x, int n)
{
	float max = 0, amax = 0;
	for (int i = 0; i < n; i++)
		if (fabsf(x[i]) > amax) {
			amax = fabsf(x[i]);
			max = x[i];
		}
	return max;
}

/* Rounds iscale * x[i] to levels l in [-nmax, nmax) and sums, weighted by
 * x^2 (big values matter most), x*l and l*l: the least-squares scale is
 * sumlx / suml2, and sumlx^2 / suml2 the error reduction it brings. The
 * levels go to L, unshifted, when L is not NULL. */
static void symmetric_levels(int n, int nmax, const float *x, float iscale, int8_t *L,
			     float *sumlx, float *suml2)
{
	float slx = 0, sl2 = 0;
	for (int i = 0; i < n; i++) {
		int l = imax(-nmax, imin(nmax - 1, round_nearest(iscale * x[i])));
		if (L)
			L[i] = (int8_t)l;
		float w = x[i] * x[i];
		slx += w * x[i] * l;
		sl2 += w * l * l;
	}
	*sumlx = slx;
	*suml2 = sl2;
}

/* Where both symmetric fits start: the levels (and their sums) of the scale
 * that maps the largest magnitude onto -nmax. Returns that largest
 * magnitude, or 0 with the levels all 0 for a group that is all but zero. */
static float symmetric_start(int n, int nmax, const float *x, int8_t *L, float *sumlx,
			     float *suml2)
{
	const float max = largest_magnitude(x, n);
	if (fabsf(max) < GROUP_EPS) {
		memset(L, 0, (size_t)n);
		return 0.0f;
	}
	symmetric_levels(n, nmax, x, -nmax / max, L, sumlx, suml2);
	return max;
}

/* Fits x ~ scale * (L - nmax) with L in [0, 2*nmax), minimising the squared
 * error weighted by x^2. Starts from the scale that maps the largest
 * magnitude onto -nmax, then tries 18 nearby scales and keeps the best
 * least-squares fit. Used by q6_K (ggml's make_qx_quants with rmse_type 1
 * and no importance weights). */
static float fit_symmetric(int n, int nmax, const float *x, int8_t *L)
{
	float sumlx, suml2;
	const float max = symmetric_start(n, nmax, x, L, &sumlx, &suml2);
	if (!max)
		return 0.0f;
	float scale = suml2 ? sumlx / suml2 : 0.0f;
	float best = scale * sumlx;
	for (int is = -9; is <= 9; is++) {
		if (is == 0)
			continue;
		const float iscale = -(nmax + 0.1f * is) / max;
		symmetric_levels(n, nmax, x, iscale, NULL, &sumlx, &suml2);
		if (suml2 > 0 && sumlx * sumlx > best * suml2) {
			/* Again, keeping the levels: cheaper than keeping them
			 * for every scale tried, as few scales win. */
			symmetric_levels(n, nmax, x, iscale, L, &sumlx, &suml2);
			scale = sumlx / suml2;
			best = scale * sumlx;
		}
	}
	for (int i = 0; i < n; i++)
		L[i] = (int8_t)(L[i] + nmax);
	return scale;
}

/* Like fit_symmetric for q3_K (ggml's make_q3_quants with do_rmse), but
 * refines by moving single quants to their best level while the weighted
 * fit improves, up to five passes. */
static float fit_symmetric_q3(int n, int nmax, const float *x, int8_t *L)
{
	float sumlx, suml2;
	const float max = symmetric_start(n, nmax, x, L, &sumlx, &suml2);
	if (!max)
		return 0.0f;
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

void q2_K_from_float(const float *x, void *vy, int64_t n)
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

void q2_K_to_float(const void *vx, float *y, int64_t n)
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

void q2_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
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

/* Unpacks a q3_K block's quants to -4..3. */
static void q3_K_unpack(const struct block_q3_K *b, int8_t *a)
{
	unpack_2bit(b->qs, a);
	for (int e = 0; e < QK_K; e++)
		a[e] = (int8_t)(a[e] - ((b->hmask[e % 32] >> (e / 32)) & 1 ? 0 : 4));
}

void q3_K_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q3_K *y = vy;
	int8_t L[QK_K];
	float scales[QK_K / 16];

	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
		for (int j = 0; j < QK_K / 16; j++)
			scales[j] = fit_symmetric_q3(16, 4, x + 16 * j, L + 16 * j);
		const float max_scale = largest_magnitude(scales, QK_K / 16);
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

void q3_K_to_float(const void *vx, float *y, int64_t n)
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

void q3_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
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

void q4_K_from_float(const float *x, void *vy, int64_t n)
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

void q4_K_to_float(const void *vx, float *y, int64_t n)
{
	const struct block_q4_K *x = vx;
	int8_t a[QK_K];
	for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
		q4_K_unpack(x[i].qs, a);
		k4_dequant(a, x[i].scales, x[i].d, x[i].dmin, y);
	}
}

void q4_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
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

void q5_K_from_float(const float *x, void *vy, int64_t n)
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

void q5_K_to_float(const void *vx, float *y, int64_t n)
{
	const struct block_q5_K *x = vx;
	int8_t a[QK_K];
	for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
		q5_K_unpack(&x[i], a);
		k4_dequant(a, x[i].scales, x[i].d, x[i].dmin, y);
	}
}

void q5_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
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

void q6_K_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q6_K *y = vy;
	int8_t L[QK_K];
	float scales[QK_K / 16];

	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
		for (int g = 0; g < QK_K / 16; g++)
			scales[g] = fit_symmetric(16, 32, x + 16 * g, L + 16 * g);
		const float max_scale = largest_magnitude(scales, QK_K / 16);
		memset(&y[i], 0, sizeof(y[i]));
		if (fabsf(max_scale) < GROUP_EPS)
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

void q6_K_to_float(const void *vx, float *y, int64_t n)
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

void q6_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
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

void q8_K_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q8_K *y = vy;
	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
		const float max = largest_magnitude(x, QK_K);
		memset(&y[i], 0, sizeof(y[i]));
		if (!max)
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

void q8_K_to_float(const void *vx, float *y, int64_t n)
{
	const struct block_q8_K *x = vx;
	for (int64_t i = 0; i < n / QK_K; i++)
		for (int j = 0; j < QK_K; j++)
			*y++ = x[i].d * x[i].qs[j];
}

/* Activations only in ggml; here so every table entry is complete. */
void q8_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
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
