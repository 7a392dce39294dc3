/* AVX2 + FMA row kernels. Like quant_x86.c, every function carries a target
 * attribute rather than the file being built with -mavx2, and the table is
 * handed out only after quant_x86 has asked the CPU, so the binary still
 * runs on any x86-64.
 *
 * Tails shorter than eight floats go through masked loads and stores, so
 * every element of a row takes the same arithmetic whatever its index. */
#include "ops_x86.h"

#if defined(__x86_64__) || defined(__i386__)

#include <math.h>

#include "quant_x86.h"
#include "quant_x86_impl.h"

/* ---------------------------------------------------------------- helpers */

/* Lanes below n (0..8) set: the mask of a row's last, partial vector. */
LT_AVX2 static inline __m256i x86_tail_mask(int n)
{
	return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Eight float lanes added into two double accumulators. */
LT_AVX2 static inline void x86_acc_pd(__m256d *lo, __m256d *hi, __m256 v)
{
	*lo = _mm256_add_pd(*lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
	*hi = _mm256_add_pd(*hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

LT_AVX2 static inline double x86_hsum_pd(__m256d v)
{
	__m128d r = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
	return _mm_cvtsd_f64(_mm_add_sd(r, _mm_unpackhi_pd(r, r)));
}

/* The sums of each of eight vectors, in lane order. */
LT_AVX2 static inline __m256 x86_hsum8(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 a4,
				       __m256 a5, __m256 a6, __m256 a7)
{
	const __m256 t0 = _mm256_hadd_ps(a0, a1), t1 = _mm256_hadd_ps(a2, a3);
	const __m256 t2 = _mm256_hadd_ps(a4, a5), t3 = _mm256_hadd_ps(a6, a7);
	/* Lanes of u0: vectors 0..3 over elements 0..3, then over 4..7. */
	const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
	return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
			     _mm256_permute2f128_ps(u0, u1, 0x31));
}

/* ---------------------------------------------------------------- exp */

/* e^x = 2^k * e^r with k = round(x / ln 2) and |r| <= ln2/2 (a little more
 * when x/ln2 rounds across a half). ln 2 is split in two so that r keeps
 * the bits k*ln2 would lose in one float. */
#define X86_LOG2E 1.44269504088896341f
#define X86_LN2_HI 0.693145752f           /* ln 2 to 16 bits: k * this is exact */
#define X86_LN2_LO 1.42860682e-6f         /* ln 2 - X86_LN2_HI */
/* Below -110 every result is 0 and above 90 every result is +inf; clamping
 * there keeps k small enough for the two-step scaling below. */
#define X86_EXP_MIN -110.0f
#define X86_EXP_MAX 90.0f

/* e^x for eight floats. e^r is the Taylor polynomial of degree 7: on
 * |r| <= 0.347 its truncation error is below 8e-9 relative (an eighth of an
 * ulp), so the rounding of the Horner steps dominates: over every float
 * argument with a normal result the error is below 0.94 ulp of the exact
 * value (measured once, exhaustively; tests/unit/test_ops_simd.c checks 2
 * ulp against the correctly rounded value, TOL_EXP).
 *
 * 2^k is applied as two powers of two, 2^(k/2) and 2^(k-k/2), each a normal
 * float: a result in the subnormal range is rounded once, by the last
 * multiply (within 1 ulp there), and anything past the largest float
 * becomes +inf, as with expf. NaN stays NaN through the clamps (their
 * operand order passes it on) and the polynomial. */
LT_AVX2 static inline __m256 x86_exp8(__m256 x)
{
	x = _mm256_min_ps(_mm256_set1_ps(X86_EXP_MAX), _mm256_max_ps(_mm256_set1_ps(X86_EXP_MIN), x));
	const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(X86_LOG2E)),
					 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(X86_LN2_HI), x);
	r = _mm256_fnmadd_ps(k, _mm256_set1_ps(X86_LN2_LO), r);
	__m256 p = _mm256_set1_ps(1.0f / 5040);
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
	const __m256i ki = _mm256_cvtps_epi32(k);
	const __m256i k1 = _mm256_srai_epi32(ki, 1);
	const __m256i k2 = _mm256_sub_epi32(ki, k1);
	const __m256i bias = _mm256_set1_epi32(127);
	const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, bias), 23));
	const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k2, bias), 23));
	return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

LT_AVX2 static void x86_exp(float *y, const float *x, int n)
{
	int i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, x86_exp8(_mm256_loadu_ps(x + i)));
	if (i < n) {
		const __m256i m = x86_tail_mask(n - i);
		_mm256_maskstore_ps(y + i, m, x86_exp8(_mm256_maskload_ps(x + i, m)));
	}
}

/* ---------------------------------------------------------------- row operations */

/* The squares are rounded to float and summed in double, exactly the
 * reference's terms, so only the order of the double additions differs and
 * the float mean almost always comes out the same. The widening costs two
 * conversions per eight elements, nothing next to the matmuls around it. */
LT_AVX2 static void x86_rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
	__m256d lo = _mm256_setzero_pd(), hi = lo;
	int i = 0;
	for (; i + 8 <= n; i += 8) {
		const __m256 v = _mm256_loadu_ps(x + i);
		x86_acc_pd(&lo, &hi, _mm256_mul_ps(v, v));
	}
	const __m256i m = x86_tail_mask(n - i);
	if (i < n) {
		const __m256 v = _mm256_maskload_ps(x + i, m);
		x86_acc_pd(&lo, &hi, _mm256_mul_ps(v, v));
	}
	const float mean = (float)(x86_hsum_pd(_mm256_add_pd(lo, hi)) / n);
	const __m256 scale = _mm256_set1_ps(1.0f / sqrtf(mean + eps));
	/* out may be x: each vector is read before it is written. */
	for (i = 0; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), scale),
							_mm256_loadu_ps(w + i)));
	if (i < n)
		_mm256_maskstore_ps(out + i, m,
				    _mm256_mul_ps(_mm256_mul_ps(_mm256_maskload_ps(x + i, m), scale),
						  _mm256_maskload_ps(w + i, m)));
}

/* The maximum is subtracted first, as in the reference, so no exponent
 * overflows. The sum of the exponentials is kept in double like the
 * reference's: the result then differs from it by exp's error (under an ulp) and
 * the final scaling, for any row length. */
LT_AVX2 static void x86_softmax(float *x, int n)
{
	const __m256i m = x86_tail_mask(n & 7);
	const int n8 = n & ~7;
	const __m256 ninf = _mm256_set1_ps(-INFINITY);
	__m256 vmax = ninf;
	/* max_ps returns its second operand when either is NaN, so a NaN score
	 * is skipped, as the reference's comparison skips it. */
	for (int i = 0; i < n8; i += 8)
		vmax = _mm256_max_ps(_mm256_loadu_ps(x + i), vmax);
	if (n8 < n)
		vmax = _mm256_max_ps(_mm256_blendv_ps(ninf, _mm256_maskload_ps(x + n8, m),
						      _mm256_castsi256_ps(m)),
				     vmax);
	const __m256 max = _mm256_set1_ps(x86_hmax_ps(vmax));

	__m256d lo = _mm256_setzero_pd(), hi = lo;
	for (int i = 0; i < n8; i += 8) {
		const __m256 e = x86_exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), max));
		_mm256_storeu_ps(x + i, e);
		x86_acc_pd(&lo, &hi, e);
	}
	if (n8 < n) {
		__m256 e = x86_exp8(_mm256_sub_ps(_mm256_maskload_ps(x + n8, m), max));
		e = _mm256_and_ps(e, _mm256_castsi256_ps(m));
		_mm256_maskstore_ps(x + n8, m, e);
		x86_acc_pd(&lo, &hi, e);
	}
	const __m256 inv = _mm256_set1_ps((float)(1.0 / x86_hsum_pd(_mm256_add_pd(lo, hi))));
	for (int i = 0; i < n8; i += 8)
		_mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
	if (n8 < n)
		_mm256_maskstore_ps(x + n8, m, _mm256_mul_ps(_mm256_maskload_ps(x + n8, m), inv));
}

/* silu(g) * up with a true division, as the reference: the only difference
 * is exp's. A very negative g makes e^-g infinite and the quotient -0. */
LT_AVX2 static inline __m256 x86_swiglu8(__m256 g, __m256 u)
{
	const __m256 e = x86_exp8(_mm256_xor_ps(g, _mm256_set1_ps(-0.0f)));
	return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

/* out[i] = f(a[i], b[i]) for i < n: eight lanes at a time, then one masked
 * vector for the tail. Always inlined with f known, so f inlines too and
 * each caller compiles to its own loop. */
LT_AVX2 static inline __attribute__((always_inline)) void
x86_map2(float *out, const float *a, const float *b, int n, __m256 (*f)(__m256, __m256))
{
	int i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, f(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
	if (i < n) {
		const __m256i m = x86_tail_mask(n - i);
		_mm256_maskstore_ps(out + i, m, f(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m)));
	}
}

LT_AVX2 static void x86_swiglu(float *out, const float *gate, const float *up, int n)
{
	x86_map2(out, gate, up, n, x86_swiglu8);
}

LT_AVX2 static inline __m256 x86_add8(__m256 a, __m256 b)
{
	return _mm256_add_ps(a, b);
}

LT_AVX2 static void x86_add(float *y, const float *x, int n)
{
	x86_map2(y, y, x, n, x86_add8);
}

/* ---------------------------------------------------------------- rope */

/* One rotated pair, as the reference computes it, for the tails. */
static inline void x86_rope_pair(float *a, float *b, float c, float s)
{
	const float x0 = *a, x1 = *b;
	*a = x0 * c - x1 * s;
	*b = x0 * s + x1 * c;
}

/* NORM mode: four adjacent pairs per vector. The cos/sin cache is already
 * interleaved like the pairs, so cos and sin are its even and odd lanes
 * duplicated, and fmaddsub gives x0*c - x1*s in even lanes and
 * x1*c + x0*s in odd ones in one instruction. */
LT_AVX2 static void x86_rope_norm(float *v, int n_rot, const float *cs)
{
	int i = 0;
	for (; i + 8 <= n_rot; i += 8) {
		const __m256 x = _mm256_loadu_ps(v + i);
		const __m256 t = _mm256_loadu_ps(cs + i);
		const __m256 swapped = _mm256_permute_ps(x, _MM_SHUFFLE(2, 3, 0, 1));
		const __m256 xs = _mm256_mul_ps(swapped, _mm256_movehdup_ps(t));
		_mm256_storeu_ps(v + i, _mm256_fmaddsub_ps(x, _mm256_moveldup_ps(t), xs));
	}
	for (; i < n_rot; i += 2)
		x86_rope_pair(v + i, v + i + 1, cs[i], cs[i + 1]);
}

/* NEOX mode: eight pairs (i, i+half) per step; the cache's cos and sin are
 * separated into two vectors first. */
LT_AVX2 static void x86_rope_neox(float *v, int n_rot, const float *cs)
{
	const int half = n_rot / 2;
	int i = 0;
	for (; i + 8 <= half; i += 8) {
		const __m256 t0 = _mm256_loadu_ps(cs + 2 * i), t1 = _mm256_loadu_ps(cs + 2 * i + 8);
		/* shuffle_ps works per 128-bit half: the permute restores the order. */
		const __m256 c = _mm256_castpd_ps(_mm256_permute4x64_pd(
			_mm256_castps_pd(_mm256_shuffle_ps(t0, t1, _MM_SHUFFLE(2, 0, 2, 0))),
			_MM_SHUFFLE(3, 1, 2, 0)));
		const __m256 s = _mm256_castpd_ps(_mm256_permute4x64_pd(
			_mm256_castps_pd(_mm256_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 1, 3, 1))),
			_MM_SHUFFLE(3, 1, 2, 0)));
		const __m256 x0 = _mm256_loadu_ps(v + i), x1 = _mm256_loadu_ps(v + i + half);
		_mm256_storeu_ps(v + i, _mm256_fmsub_ps(x0, c, _mm256_mul_ps(x1, s)));
		_mm256_storeu_ps(v + i + half, _mm256_fmadd_ps(x0, s, _mm256_mul_ps(x1, c)));
	}
	for (; i < half; i++)
		x86_rope_pair(v + i, v + i + half, cs[2 * i], cs[2 * i + 1]);
}

LT_AVX2 static void x86_rope(const struct ops_rope *r, float *x, int n_heads, int head_dim,
			     const float *cs)
{
	for (int h = 0; h < n_heads; h++) {
		float *v = x + (size_t)h * head_dim;
		if (r->mode == OPS_ROPE_NEOX)
			x86_rope_neox(v, r->n_rot, cs);
		else
			x86_rope_norm(v, r->n_rot, cs);
	}
}

/* ---------------------------------------------------------------- attention rows */

/* Eight elements of a cached row (floats, or f16 when half) as floats, from
 * element i on. Callers pass a constant half and are inlined, so each
 * kernel below is compiled once per element type. */
LT_AVX2 static inline __attribute__((always_inline)) __m256 x86_kv_load8(const void *row, size_t i,
									const int half)
{
	if (half)
		return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + i)));
	return _mm256_loadu_ps((const float *)row + i);
}

/* One dot of hd elements (any hd) of a row with the query, float lanes
 * then the tail: floats through a masked load, f16 widened into a padded
 * vector. */
LT_AVX2 static inline __attribute__((always_inline)) float
x86_kv_dot(const float *q, const void *row, int hd, const int half)
{
	__m256 acc = _mm256_setzero_ps();
	int d = 0;
	for (; d + 8 <= hd; d += 8)
		acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), x86_kv_load8(row, (size_t)d, half), acc);
	if (d < hd) {
		const __m256i m = x86_tail_mask(hd - d);
		__m256 r;
		if (half) {
			float tail[8] = { 0 };
			for (int i = d; i < hd; i++)
				tail[i - d] = _cvtsh_ss(((const uint16_t *)row)[i]);
			r = _mm256_loadu_ps(tail);
		} else {
			r = _mm256_maskload_ps((const float *)row + d, m);
		}
		acc = _mm256_fmadd_ps(_mm256_maskload_ps(q + d, m), r, acc);
	}
	return x86_hsum_ps(acc);
}

/* Eight positions at a time: eight accumulators share each load of the
 * query, and their sums come out as one vector, which is scaled and stored
 * whole. Heads are short (8 to 128 floats), so one call per position with
 * its own horizontal sum would cost more than the products. The f16 form
 * takes the same steps, so a row read in place scores what its widened copy
 * would, bit for bit. */
LT_AVX2 static inline __attribute__((always_inline)) void
x86_kv_scores(float *s, const float *q, const void *k, size_t k_stride, int n_kv, int hd,
	      float scale, const int half)
{
	const __m256 vscale = _mm256_set1_ps(scale);
	int p = 0;
	if (hd % 8 == 0) {
		for (; p + 8 <= n_kv; p += 8) {
			const size_t r0 = (size_t)p * k_stride;
			__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
			__m256 a4 = a0, a5 = a0, a6 = a0, a7 = a0;
			for (int d = 0; d < hd; d += 8) {
				const __m256 qv = _mm256_loadu_ps(q + d);
				const size_t kd = r0 + (size_t)d;
				a0 = _mm256_fmadd_ps(qv, x86_kv_load8(k, kd, half), a0);
				a1 = _mm256_fmadd_ps(qv, x86_kv_load8(k, kd + k_stride, half), a1);
				a2 = _mm256_fmadd_ps(qv, x86_kv_load8(k, kd + 2 * k_stride, half), a2);
				a3 = _mm256_fmadd_ps(qv, x86_kv_load8(k, kd + 3 * k_stride, half), a3);
				a4 = _mm256_fmadd_ps(qv, x86_kv_load8(k, kd + 4 * k_stride, half), a4);
				a5 = _mm256_fmadd_ps(qv, x86_kv_load8(k, kd + 5 * k_stride, half), a5);
				a6 = _mm256_fmadd_ps(qv, x86_kv_load8(k, kd + 6 * k_stride, half), a6);
				a7 = _mm256_fmadd_ps(qv, x86_kv_load8(k, kd + 7 * k_stride, half), a7);
			}
			_mm256_storeu_ps(s + p, _mm256_mul_ps(x86_hsum8(a0, a1, a2, a3, a4, a5, a6, a7),
							      vscale));
		}
	}
	const size_t elem = half ? sizeof(uint16_t) : sizeof(float);
	for (; p < n_kv; p++)
		s[p] = x86_kv_dot(q, (const uint8_t *)k + (size_t)p * k_stride * elem, hd, half) *
		       scale;
}

LT_AVX2 static void x86_scores(float *s, const float *q, const float *k, size_t k_stride, int n_kv,
			       int hd, float scale)
{
	x86_kv_scores(s, q, k, k_stride, n_kv, hd, scale, 0);
}

LT_AVX2 static void x86_scores_f16(float *s, const float *q, const uint16_t *k, size_t k_stride,
				   int n_kv, int hd, float scale)
{
	x86_kv_scores(s, q, k, k_stride, n_kv, hd, scale, 1);
}

/* Columns d0..d0+8*n_acc of the weighted sum over all positions, kept in
 * n_acc registers for the whole pass, starting from zero or (add) from what
 * out holds. Callers pass constant n_acc, half and add and the function is
 * always inlined; with the loops over the accumulators unrolled the array
 * lives in registers (without the pragmas GCC -O2 keeps it on the stack). */
LT_AVX2 static inline __attribute__((always_inline)) void
x86_wsum_cols(float *out, const float *w, const void *v, size_t v_stride, int n_kv, int d0,
	      const int n_acc, const int half, const int add)
{
	__m256 acc[8];
#pragma GCC unroll 8
	for (int j = 0; j < n_acc; j++)
		acc[j] = add ? _mm256_loadu_ps(out + d0 + 8 * j) : _mm256_setzero_ps();
	for (int p = 0; p < n_kv; p++) {
		const __m256 wp = _mm256_broadcast_ss(w + p);
		const size_t vp = (size_t)p * v_stride + (size_t)d0;
#pragma GCC unroll 8
		for (int j = 0; j < n_acc; j++)
			acc[j] = _mm256_fmadd_ps(wp, x86_kv_load8(v, vp + 8 * (size_t)j, half), acc[j]);
	}
#pragma GCC unroll 8
	for (int j = 0; j < n_acc; j++)
		_mm256_storeu_ps(out + d0 + 8 * j, acc[j]);
}

/* The output row stays in registers while the positions stream past: 64
 * columns (eight accumulators) per pass, then 8 at a time. A lone column
 * group alternates four accumulators over the positions, since one chain of
 * dependent multiply-adds would wait on each. */
LT_AVX2 static void x86_wsum(float *out, const float *w, const float *v, size_t v_stride, int n_kv,
			     int hd)
{
	int d0 = 0;
	for (; d0 + 64 <= hd; d0 += 64)
		x86_wsum_cols(out, w, v, v_stride, n_kv, d0, 8, 0, 0);
	for (; d0 + 32 <= hd; d0 += 32)
		x86_wsum_cols(out, w, v, v_stride, n_kv, d0, 4, 0, 0);
	for (; d0 + 8 <= hd; d0 += 8) {
		__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
		const float *vp = v + d0;
		int p = 0;
		for (; p + 4 <= n_kv; p += 4, vp += 4 * v_stride) {
			a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + p), _mm256_loadu_ps(vp), a0);
			a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + p + 1),
					     _mm256_loadu_ps(vp + v_stride), a1);
			a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + p + 2),
					     _mm256_loadu_ps(vp + 2 * v_stride), a2);
			a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + p + 3),
					     _mm256_loadu_ps(vp + 3 * v_stride), a3);
		}
		for (; p < n_kv; p++, vp += v_stride)
			a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + p), _mm256_loadu_ps(vp), a0);
		_mm256_storeu_ps(out + d0, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
	}
	/* Heads whose size is not a multiple of 8 end in plain loops. */
	for (int d = d0; d < hd; d++) {
		float sum = 0;
		for (int p = 0; p < n_kv; p++)
			sum += w[p] * v[(size_t)p * v_stride + d];
		out[d] = sum;
	}
}

/* x86_wsum over rows of f16, adding to what out holds. */
LT_AVX2 static void x86_wsum_f16(float *out, const float *w, const uint16_t *v, size_t v_stride,
				 int n_kv, int hd)
{
	int d0 = 0;
	for (; d0 + 64 <= hd; d0 += 64)
		x86_wsum_cols(out, w, v, v_stride, n_kv, d0, 8, 1, 1);
	for (; d0 + 32 <= hd; d0 += 32)
		x86_wsum_cols(out, w, v, v_stride, n_kv, d0, 4, 1, 1);
	for (; d0 + 8 <= hd; d0 += 8)
		x86_wsum_cols(out, w, v, v_stride, n_kv, d0, 1, 1, 1);
	for (int d = d0; d < hd; d++) {
		float sum = out[d];
		for (int p = 0; p < n_kv; p++)
			sum += w[p] * _cvtsh_ss(v[(size_t)p * v_stride + d]);
		out[d] = sum;
	}
}

/* ---------------------------------------------------------------- attention rows, AVX-512 */

/* The avx512-vnni variant's attention rows: sixteen float lanes, f16 widened
 * by one vcvtph2ps per sixteen elements. Heads that are not a multiple of 16
 * long take the AVX2 kernels whole, so the float and f16 scores still take
 * the same steps on any head and agree bit for bit. */

LT_AVX512 static inline __attribute__((always_inline)) __m512 x86_kv_load16(const void *row,
									   size_t i, const int half)
{
	if (half)
		return _mm512_cvtph_ps(
			_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + i)));
	return _mm512_loadu_ps((const float *)row + i);
}

/* The two halves of sixteen lanes added: eight lanes of partial sums. */
LT_AVX512 static inline __m256 x86_fold16(__m512 v)
{
	return _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
}

/* x86_kv_scores on sixteen lanes (hd a multiple of 16): eight positions at
 * a time, then one position at a time. */
LT_AVX512 static inline __attribute__((always_inline)) void
x86_kv_scores16(float *s, const float *q, const void *k, size_t k_stride, int n_kv, int hd,
		float scale, const int half)
{
	const __m256 vscale = _mm256_set1_ps(scale);
	int p = 0;
	for (; p + 8 <= n_kv; p += 8) {
		const size_t r0 = (size_t)p * k_stride;
		__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
		__m512 a4 = a0, a5 = a0, a6 = a0, a7 = a0;
		for (int d = 0; d < hd; d += 16) {
			const __m512 qv = _mm512_loadu_ps(q + d);
			const size_t kd = r0 + (size_t)d;
			a0 = _mm512_fmadd_ps(qv, x86_kv_load16(k, kd, half), a0);
			a1 = _mm512_fmadd_ps(qv, x86_kv_load16(k, kd + k_stride, half), a1);
			a2 = _mm512_fmadd_ps(qv, x86_kv_load16(k, kd + 2 * k_stride, half), a2);
			a3 = _mm512_fmadd_ps(qv, x86_kv_load16(k, kd + 3 * k_stride, half), a3);
			a4 = _mm512_fmadd_ps(qv, x86_kv_load16(k, kd + 4 * k_stride, half), a4);
			a5 = _mm512_fmadd_ps(qv, x86_kv_load16(k, kd + 5 * k_stride, half), a5);
			a6 = _mm512_fmadd_ps(qv, x86_kv_load16(k, kd + 6 * k_stride, half), a6);
			a7 = _mm512_fmadd_ps(qv, x86_kv_load16(k, kd + 7 * k_stride, half), a7);
		}
		_mm256_storeu_ps(s + p, _mm256_mul_ps(x86_hsum8(x86_fold16(a0), x86_fold16(a1),
								x86_fold16(a2), x86_fold16(a3),
								x86_fold16(a4), x86_fold16(a5),
								x86_fold16(a6), x86_fold16(a7)),
						      vscale));
	}
	for (; p < n_kv; p++) {
		const size_t r0 = (size_t)p * k_stride;
		__m512 acc = _mm512_setzero_ps();
		for (int d = 0; d < hd; d += 16)
			acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + d),
					      x86_kv_load16(k, r0 + (size_t)d, half), acc);
		s[p] = x86_hsum_ps(x86_fold16(acc)) * scale;
	}
}

LT_AVX512 static void x86_scores512(float *s, const float *q, const float *k, size_t k_stride,
				    int n_kv, int hd, float scale)
{
	if (hd % 16 == 0)
		x86_kv_scores16(s, q, k, k_stride, n_kv, hd, scale, 0);
	else
		x86_kv_scores(s, q, k, k_stride, n_kv, hd, scale, 0);
}

LT_AVX512 static void x86_scores512_f16(float *s, const float *q, const uint16_t *k,
					size_t k_stride, int n_kv, int hd, float scale)
{
	if (hd % 16 == 0)
		x86_kv_scores16(s, q, k, k_stride, n_kv, hd, scale, 1);
	else
		x86_kv_scores(s, q, k, k_stride, n_kv, hd, scale, 1);
}

/* Columns d0..d0+16*n_acc of the weighted sum, as x86_wsum_cols, with even
 * and odd positions in two sets of accumulators: a 64-column head then
 * still has eight chains of multiply-adds in flight. */
LT_AVX512 static inline __attribute__((always_inline)) void
x86_wsum_cols16(float *out, const float *w, const void *v, size_t v_stride, int n_kv, int d0,
		const int n_acc, const int half, const int add)
{
	__m512 e[8], o[8];
#pragma GCC unroll 8
	for (int j = 0; j < n_acc; j++) {
		e[j] = add ? _mm512_loadu_ps(out + d0 + 16 * j) : _mm512_setzero_ps();
		o[j] = _mm512_setzero_ps();
	}
	int p = 0;
	for (; p + 2 <= n_kv; p += 2) {
		const __m512 we = _mm512_set1_ps(w[p]), wo = _mm512_set1_ps(w[p + 1]);
		const size_t vp = (size_t)p * v_stride + (size_t)d0;
#pragma GCC unroll 8
		for (int j = 0; j < n_acc; j++) {
			e[j] = _mm512_fmadd_ps(we, x86_kv_load16(v, vp + 16 * (size_t)j, half), e[j]);
			o[j] = _mm512_fmadd_ps(wo, x86_kv_load16(v, vp + v_stride + 16 * (size_t)j, half),
					       o[j]);
		}
	}
	if (p < n_kv) {
		const __m512 we = _mm512_set1_ps(w[p]);
		const size_t vp = (size_t)p * v_stride + (size_t)d0;
#pragma GCC unroll 8
		for (int j = 0; j < n_acc; j++)
			e[j] = _mm512_fmadd_ps(we, x86_kv_load16(v, vp + 16 * (size_t)j, half), e[j]);
	}
#pragma GCC unroll 8
	for (int j = 0; j < n_acc; j++)
		_mm512_storeu_ps(out + d0 + 16 * j, _mm512_add_ps(e[j], o[j]));
}

LT_AVX512 static inline __attribute__((always_inline)) void
x86_wsum16(float *out, const float *w, const void *v, size_t v_stride, int n_kv, int hd,
	   const int half)
{
	int d0 = 0;
	for (; d0 + 128 <= hd; d0 += 128)
		x86_wsum_cols16(out, w, v, v_stride, n_kv, d0, 8, half, half);
	for (; d0 + 64 <= hd; d0 += 64)
		x86_wsum_cols16(out, w, v, v_stride, n_kv, d0, 4, half, half);
	for (; d0 + 16 <= hd; d0 += 16)
		x86_wsum_cols16(out, w, v, v_stride, n_kv, d0, 1, half, half);
}

LT_AVX512 static void x86_wsum512_f16(float *out, const float *w, const uint16_t *v,
				      size_t v_stride, int n_kv, int hd)
{
	if (hd % 16 == 0)
		x86_wsum16(out, w, v, v_stride, n_kv, hd, 1);
	else
		x86_wsum_f16(out, w, v, v_stride, n_kv, hd);
}

/* ---------------------------------------------------------------- dispatch */

static const struct ops_row_kernels x86_rows = {
	.rmsnorm = x86_rmsnorm,
	.softmax = x86_softmax,
	.swiglu = x86_swiglu,
	.add = x86_add,
	.vexp = x86_exp,
	.rope = x86_rope,
	.scores = x86_scores,
	.wsum = x86_wsum,
	.scores_f16 = x86_scores_f16,
	.wsum_f16 = x86_wsum_f16,
};

/* avx2's table with the attention rows on sixteen lanes, except the float
 * weighted sum (an F32 cache's, which only the batch path reads): a
 * sixteen-lane form with even and odd accumulators moved test_swa's
 * small-batch logits just past their tolerance against a full batch. */
static const struct ops_row_kernels x86_rows512 = {
	.rmsnorm = x86_rmsnorm,
	.softmax = x86_softmax,
	.swiglu = x86_swiglu,
	.add = x86_add,
	.vexp = x86_exp,
	.rope = x86_rope,
	.scores = x86_scores512,
	.wsum = x86_wsum,
	.scores_f16 = x86_scores512_f16,
	.wsum_f16 = x86_wsum512_f16,
};

const struct ops_row_kernels *ops_x86_rows(void)
{
	return &x86_rows;
}

const struct ops_row_kernels *ops_x86_rows512(void)
{
	return &x86_rows512;
}

#endif
