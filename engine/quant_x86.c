/* AVX2 + FMA + F16C kernels. Every function that uses the instructions
 * carries a target attribute instead of the whole file being built with
 * -mavx2, so the rest of the binary stays baseline x86-64 and quant_x86
 * hands these out only after asking the CPU.
 *
 * The integer dots follow the scheme the fast runners use: weights unpacked
 * to bytes, maddubs (unsigned x signed bytes into 16-bit pair sums), madd
 * into 32-bit lanes, then one float multiply-add per block with the product
 * of the two scales. The activation quantizers round exactly like the
 * scalar ones, so both paths feed the dots the same bytes. */
#include "quant_x86.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)

#include <cpuid.h>
#include <pthread.h>

#include "ops_x86.h"
#include "quant_impl.h"
#include "quant_x86_impl.h"

/* ---------------------------------------------------------------- F32, F16, BF16 */

/* One accumulator per dot: the prefill tile keeps twelve dots in flight at
 * once, and a lone dot is bound by memory on any model worth threading. */
LT_AVX2 static inline float x86_f32_tail(float sum, const float *x, const float *y, int64_t i,
					 int64_t n)
{
	for (; i < n; i++)
		sum += x[i] * y[i];
	return sum;
}

LT_AVX2 static void x86_f32_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const float *x = vx, *y = vy;
	__m256 acc = _mm256_setzero_ps();
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		acc = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc);
	*s = x86_f32_tail(x86_hsum_ps(acc), x, y, i, n);
}

/* Three weight rows by four tokens: twelve accumulators, three weight
 * vectors and one activation vector fill the sixteen registers. */
#define X86_F32_TILE_ROWS 3
#define X86_F32_TILE_TOKENS 4

LT_AVX2 static void x86_f32_tile(int64_t n, const void *vw, size_t w_stride, const void *va,
				 size_t a_stride, float *y, size_t ldy)
{
	const float *w0 = vw;
	const float *w1 = (const float *)((const uint8_t *)vw + w_stride);
	const float *w2 = (const float *)((const uint8_t *)vw + 2 * w_stride);
	const float *a0 = va;
	const float *a1 = (const float *)((const uint8_t *)va + a_stride);
	const float *a2 = (const float *)((const uint8_t *)va + 2 * a_stride);
	const float *a3 = (const float *)((const uint8_t *)va + 3 * a_stride);
	/* Named accumulators: an indexed array would live in memory. */
	__m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c03 = c00;
	__m256 c10 = c00, c11 = c00, c12 = c00, c13 = c00;
	__m256 c20 = c00, c21 = c00, c22 = c00, c23 = c00;
	int64_t i = 0;
	for (; i + 8 <= n; i += 8) {
		const __m256 x0 = _mm256_loadu_ps(w0 + i);
		const __m256 x1 = _mm256_loadu_ps(w1 + i);
		const __m256 x2 = _mm256_loadu_ps(w2 + i);
		__m256 v = _mm256_loadu_ps(a0 + i);
		c00 = _mm256_fmadd_ps(x0, v, c00);
		c10 = _mm256_fmadd_ps(x1, v, c10);
		c20 = _mm256_fmadd_ps(x2, v, c20);
		v = _mm256_loadu_ps(a1 + i);
		c01 = _mm256_fmadd_ps(x0, v, c01);
		c11 = _mm256_fmadd_ps(x1, v, c11);
		c21 = _mm256_fmadd_ps(x2, v, c21);
		v = _mm256_loadu_ps(a2 + i);
		c02 = _mm256_fmadd_ps(x0, v, c02);
		c12 = _mm256_fmadd_ps(x1, v, c12);
		c22 = _mm256_fmadd_ps(x2, v, c22);
		v = _mm256_loadu_ps(a3 + i);
		c03 = _mm256_fmadd_ps(x0, v, c03);
		c13 = _mm256_fmadd_ps(x1, v, c13);
		c23 = _mm256_fmadd_ps(x2, v, c23);
	}
	y[0] = x86_f32_tail(x86_hsum_ps(c00), w0, a0, i, n);
	y[1] = x86_f32_tail(x86_hsum_ps(c10), w1, a0, i, n);
	y[2] = x86_f32_tail(x86_hsum_ps(c20), w2, a0, i, n);
	y[ldy] = x86_f32_tail(x86_hsum_ps(c01), w0, a1, i, n);
	y[ldy + 1] = x86_f32_tail(x86_hsum_ps(c11), w1, a1, i, n);
	y[ldy + 2] = x86_f32_tail(x86_hsum_ps(c21), w2, a1, i, n);
	y[2 * ldy] = x86_f32_tail(x86_hsum_ps(c02), w0, a2, i, n);
	y[2 * ldy + 1] = x86_f32_tail(x86_hsum_ps(c12), w1, a2, i, n);
	y[2 * ldy + 2] = x86_f32_tail(x86_hsum_ps(c22), w2, a2, i, n);
	y[3 * ldy] = x86_f32_tail(x86_hsum_ps(c03), w0, a3, i, n);
	y[3 * ldy + 1] = x86_f32_tail(x86_hsum_ps(c13), w1, a3, i, n);
	y[3 * ldy + 2] = x86_f32_tail(x86_hsum_ps(c23), w2, a3, i, n);
}

LT_AVX2 static inline __m256 x86_load_h8(const uint16_t *p)
{
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

/* Dot product and widening of a 16-bit float format, given its 8-wide
 * loader and its scalar conversion (for the tail). */
#define X86_DEFINE_HALF(name, load8, to_f32)                                              \
	LT_AVX2 static void x86_##name##_vec_dot(int64_t n, float *s, const void *vx,   \
						  const void *vy)                        \
	{                                                                                 \
		const uint16_t *x = vx, *y = vy;                                          \
		__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;               \
		int64_t i = 0;                                                            \
		for (; i + 32 <= n; i += 32) {                                            \
			a0 = _mm256_fmadd_ps(load8(x + i), load8(y + i), a0);             \
			a1 = _mm256_fmadd_ps(load8(x + i + 8), load8(y + i + 8), a1);     \
			a2 = _mm256_fmadd_ps(load8(x + i + 16), load8(y + i + 16), a2);   \
			a3 = _mm256_fmadd_ps(load8(x + i + 24), load8(y + i + 24), a3);   \
		}                                                                         \
		for (; i + 8 <= n; i += 8)                                                \
			a0 = _mm256_fmadd_ps(load8(x + i), load8(y + i), a0);             \
		float sum = x86_hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1),              \
						      _mm256_add_ps(a2, a3)));            \
		for (; i < n; i++)                                                        \
			sum += to_f32(x[i]) * to_f32(y[i]);                               \
		*s = sum;                                                                 \
	}                                                                                 \
	LT_AVX2 static void x86_##name##_to_float(const void *src, float *dst, int64_t n) \
	{                                                                                 \
		const uint16_t *h = src;                                                  \
		int64_t i = 0;                                                            \
		for (; i + 8 <= n; i += 8)                                                \
			_mm256_storeu_ps(dst + i, load8(h + i));                          \
		for (; i < n; i++)                                                        \
			dst[i] = to_f32(h[i]);                                            \
	}

X86_DEFINE_HALF(f16, x86_load_h8, x86_h2f)

/* F16C rounds to nearest even, like the scalar f32_to_fp16. */
LT_AVX2 static void x86_f16_from_float(const float *src, void *dst, int64_t n)
{
	uint16_t *h = dst;
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(h + i),
				 _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
	/* The tail through one padded vector too: attention rounds rows of
	 * any length (a weight per cached position), and the scalar
	 * conversion of up to seven tails a row cost more than the vectors. */
	if (i < n) {
		float in[8] = { 0 };
		uint16_t out[8];
		memcpy(in, src + i, (size_t)(n - i) * sizeof(float));
		_mm_storeu_si128((__m128i *)out,
				 _mm256_cvtps_ph(_mm256_loadu_ps(in), _MM_FROUND_TO_NEAREST_INT));
		memcpy(h + i, out, (size_t)(n - i) * sizeof(uint16_t));
	}
}

/* A bfloat16 is the top half of a float. */
LT_AVX2 static inline __m256 x86_load_bf8(const uint16_t *p)
{
	const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
	return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

X86_DEFINE_HALF(bf16, x86_load_bf8, bf16_to_f32)

/* ---------------------------------------------------------------- Q8_0, Q8_1 activations */

LT_AVX2 static void x86_q8_0_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q8_0 *y = vy;
	for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0)
		y[i].d = f32_to_fp16(x86_q8_block(x, y[i].qs, NULL));
}

LT_AVX2 static void x86_q8_1_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q8_1 *y = vy;
	for (int64_t i = 0; i < n / QK8_1; i++, x += QK8_1) {
		int sum;
		const float d = x86_q8_block(x, y[i].qs, &sum);
		y[i].d = f32_to_fp16(d);
		y[i].s = f32_to_fp16(sum * d);
	}
}

/* ---------------------------------------------------------------- legacy-quant dots */

LT_AVX2 static inline __m256i x86_q8_0_isum(const struct block_q8_0 *x, const struct block_q8_0 *y)
{
	return x86_dot_i8(_mm256_loadu_si256((const __m256i *)x->qs),
			  _mm256_loadu_si256((const __m256i *)y->qs));
}

/* The nibbles stay unsigned for maddubs and the bias of 8 goes as
 * 8 * sum(y) afterwards, which saves the sign trick's two operations. */
LT_AVX2 static inline __m256i x86_q4_0_isum(const struct block_q4_0 *x, const struct block_q8_0 *y)
{
	const __m256i q = x86_nibbles(x->qs);
	const __m256i yq = _mm256_loadu_si256((const __m256i *)y->qs);
	const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q, yq),
					   _mm256_maddubs_epi16(_mm256_set1_epi8(8), yq));
	return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

X86_DEFINE_PAIRED_DOT(x86_q8_0_vec_dot, LT_AVX2, struct block_q8_0, x86_q8_0_isum)
X86_DEFINE_PAIRED_DOT(x86_q4_0_vec_dot, LT_AVX2, struct block_q4_0, x86_q4_0_isum)

/* Decode of float weights: four rows against one token, four independent
 * chains where a lone vec_dot waits on one. The quantized types have no
 * such kernel: from memory, their rows read one after another (as vec_dot
 * does) came out faster than four interleaved streams (AMD EPYC, 1B model). */
#define X86_GEMV_ROWS 4

LT_AVX2 static void x86_f32_gemv(int64_t n, const void *vw, size_t w_stride, const void *va,
				 size_t a_stride, float *y, size_t ldy)
{
	(void)a_stride, (void)ldy;
	const float *w0 = vw;
	const float *w1 = (const float *)((const uint8_t *)vw + w_stride);
	const float *w2 = (const float *)((const uint8_t *)vw + 2 * w_stride);
	const float *w3 = (const float *)((const uint8_t *)vw + 3 * w_stride);
	const float *a0 = va;
	__m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
	int64_t i = 0;
	for (; i + 8 <= n; i += 8) {
		const __m256 v = _mm256_loadu_ps(a0 + i);
		c0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + i), v, c0);
		c1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + i), v, c1);
		c2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + i), v, c2);
		c3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + i), v, c3);
	}
	y[0] = x86_f32_tail(x86_hsum_ps(c0), w0, a0, i, n);
	y[1] = x86_f32_tail(x86_hsum_ps(c1), w1, a0, i, n);
	y[2] = x86_f32_tail(x86_hsum_ps(c2), w2, a0, i, n);
	y[3] = x86_f32_tail(x86_hsum_ps(c3), w3, a0, i, n);
}

/* The min term d_x*m ... needs sum(y) * m_x, which q8_1 carries as s. */
LT_AVX2 static void x86_q4_1_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_1 *x = vx;
	const struct block_q8_1 *y = vy;
	__m256 acc = _mm256_setzero_ps();
	float summs = 0;
	for (int64_t i = 0; i < n / QK4_1; i++) {
		const __m256i p = x86_dot_u8(x86_nibbles(x[i].qs),
					     _mm256_loadu_si256((const __m256i *)y[i].qs));
		acc = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[i].d) * x86_h2f(y[i].d)),
				      _mm256_cvtepi32_ps(p), acc);
		summs += x86_h2f(x[i].m) * x86_h2f(y[i].s);
	}
	*s = x86_hsum_ps(acc) + summs;
}

LT_AVX2 static void x86_q5_0_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q5_0 *x = vx;
	const struct block_q8_0 *y = vy;
	__m256 acc = _mm256_setzero_ps();
	for (int64_t i = 0; i < n / QK5_0; i++) {
		/* Without its fifth bit a quant is nibble - 16: or in 0xf0. */
		const __m256i hi = _mm256_andnot_si256(x86_bits_to_bytes(x[i].qh),
						       _mm256_set1_epi8((char)0xf0));
		const __m256i q = _mm256_or_si256(x86_nibbles(x[i].qs), hi);
		const __m256i p = x86_dot_i8(q, _mm256_loadu_si256((const __m256i *)y[i].qs));
		acc = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[i].d) * x86_h2f(y[i].d)),
				      _mm256_cvtepi32_ps(p), acc);
	}
	*s = x86_hsum_ps(acc);
}

LT_AVX2 static void x86_q5_1_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q5_1 *x = vx;
	const struct block_q8_1 *y = vy;
	__m256 acc = _mm256_setzero_ps();
	float summs = 0;
	for (int64_t i = 0; i < n / QK5_1; i++) {
		const __m256i hi = _mm256_and_si256(x86_bits_to_bytes(x[i].qh), _mm256_set1_epi8(0x10));
		const __m256i q = _mm256_or_si256(x86_nibbles(x[i].qs), hi);
		const __m256i p = x86_dot_u8(q, _mm256_loadu_si256((const __m256i *)y[i].qs));
		acc = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[i].d) * x86_h2f(y[i].d)),
				      _mm256_cvtepi32_ps(p), acc);
		summs += x86_h2f(x[i].m) * x86_h2f(y[i].s);
	}
	*s = x86_hsum_ps(acc) + summs;
}

/* ---------------------------------------------------------------- Q8_K activations */

/* Rounds like the scalar q8_K quantizer: to nearest, ties to even, and the
 * scale comes from the first element of largest magnitude (with its sign). */
LT_AVX2 static void x86_q8_K_from_float(const float *x, void *vy, int64_t n)
{
	struct block_q8_K *y = vy;
	const __m256 sign = _mm256_set1_ps(-0.0f);
	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
		__m256 vmax = _mm256_set1_ps(-INFINITY), vmin = _mm256_set1_ps(INFINITY);
		for (int j = 0; j < QK_K; j += 8) {
			const __m256 v = _mm256_loadu_ps(x + j);
			vmax = _mm256_max_ps(vmax, v);
			vmin = _mm256_min_ps(vmin, v);
		}
		const float top = x86_hmax_ps(vmax), bottom = -x86_hmax_ps(_mm256_xor_ps(vmin, sign));
		const float amax = top > -bottom ? top : -bottom;
		memset(&y[i], 0, sizeof(y[i]));
		if (!amax)
			continue;
		/* The reference scales by the first element of largest magnitude:
		 * the largest or the smallest, whichever is further from 0, and
		 * only when they tie does the order decide. */
		float max = top > -bottom ? top : bottom;
		if (top == -bottom)
			for (int j = 0; j < QK_K; j++)
				if (x[j] == amax || x[j] == -amax) {
					max = x[j];
					break;
				}
		const float iscale = -127.f / max;
		const __m256 vs = _mm256_set1_ps(iscale);
		const __m256 lo = _mm256_set1_ps(-128.f), hi = _mm256_set1_ps(127.f);
		for (int j = 0; j < QK_K; j += 32) {
			__m256i q[4];
			for (int k = 0; k < 4; k++) {
				__m256 r = _mm256_round_ps(_mm256_mul_ps(vs, _mm256_loadu_ps(x + j + 8 * k)),
							   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
				q[k] = _mm256_cvtps_epi32(_mm256_max_ps(_mm256_min_ps(r, hi), lo));
			}
			y[i].bsums[j / 16] = (int16_t)x86_hsum_epi32(_mm256_add_epi32(q[0], q[1]));
			y[i].bsums[j / 16 + 1] = (int16_t)x86_hsum_epi32(_mm256_add_epi32(q[2], q[3]));
			_mm256_storeu_si256((__m256i *)(y[i].qs + j), x86_pack_i32x4(q[0], q[1], q[2], q[3]));
		}
		y[i].d = 1 / iscale;
	}
}

/* ---------------------------------------------------------------- K-quant dots */

/* Two 16-element groups' scales as the 16-bit lanes of a madd operand. */
LT_AVX2 static inline __m256i x86_scale_pair(int lo, int hi)
{
	return _mm256_set_m128i(_mm_set1_epi16((short)hi), _mm_set1_epi16((short)lo));
}

/* Scales g and g+1 of sixteen signed bytes as the two halves of a madd
 * operand: one byte shuffle and one widening. */
LT_AVX2 static inline __m256i x86_scale_pair8(__m128i s8, int g)
{
	const __m128i sel = _mm_set_epi64x((long long)(0x0101010101010101ull * (unsigned)(g + 1)),
					   (long long)(0x0101010101010101ull * (unsigned)g));
	return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s8, sel));
}

/* The eight 6-bit scales and eight 6-bit mins of a q4_K / q5_K block as
 * 16-bit lanes: scales in both halves of *sc (for x86_k4_scale), mins in
 * *mins. Groups 0-3 keep their six bits in bytes 0-3 (scales) and 4-7
 * (mins); groups 4-7 have four bits in bytes 8-11 and their top two in the
 * spare top bits of bytes 0-7, which word-wide masks gather at once. */
LT_AVX2 static inline void x86_k4_scales(const uint8_t *s, __m256i *sc, __m128i *mins)
{
	uint32_t u[4];
	memcpy(u, s, 12);
	const uint32_t low6 = 0x3f3f3f3f, low4 = 0x0f0f0f0f, low2 = 0x03030303;
	u[3] = ((u[2] >> 4) & low4) | (((u[1] >> 6) & low2) << 4);
	const uint32_t m03 = u[1] & low6;
	u[1] = (u[2] & low4) | (((u[0] >> 6) & low2) << 4);
	u[2] = m03;
	u[0] &= low6;
	const __m256i both = _mm256_cvtepu8_epi16(_mm_set_epi32((int)u[3], (int)u[2], (int)u[1],
								 (int)u[0]));
	*sc = _mm256_permute2x128_si256(both, both, 0x00);
	*mins = _mm256_extracti128_si256(both, 1);
}

/* Lane k of the eight 16-bit scales broadcast to every lane. */
LT_AVX2 static inline __m256i x86_k4_scale(__m256i sc, int k)
{
	return _mm256_shuffle_epi8(sc, _mm256_set1_epi16((short)((2 * k + 1) << 8 | 2 * k)));
}

/* acc + dm * (min * sum of y's quants) over the eight 32-element groups,
 * in four float lanes: no horizontal sum per super-block. */
LT_AVX2 static inline __m128 x86_k4_minacc(__m128 acc, float dm, const int16_t *bsums,
					   __m128i mins)
{
	const __m128i pairs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)bsums),
					     _mm_loadu_si128((const __m128i *)(bsums + 8)));
	return _mm_fmadd_ps(_mm_set1_ps(dm), _mm_cvtepi32_ps(_mm_madd_epi16(mins, pairs)), acc);
}

LT_AVX2 static inline float x86_hsum_ps128(__m128 r)
{
	r = _mm_add_ps(r, _mm_movehl_ps(r, r));
	r = _mm_add_ss(r, _mm_movehdup_ps(r));
	return _mm_cvtss_f32(r);
}

/* Decode reads a thread's rows as one run, but the hardware prefetcher
 * stops at each 4 KiB page: a super-block's worth of lines this far ahead
 * is asked for in software. Past the run's end it is merely wasted. */
#define X86_PREFETCH_BYTES 2048
#define X86_PREFETCH_AHEAD(blk)                                                         \
	do {                                                                            \
		const uintptr_t at_ = (uintptr_t)(blk) + X86_PREFETCH_BYTES;            \
		for (size_t o_ = 0; o_ < sizeof(*(blk)); o_ += 64)                      \
			_mm_prefetch((const char *)(at_ + o_), _MM_HINT_T0);            \
	} while (0)

/* One 64-element chunk of a q4_K / q5_K super-block: the low and the high
 * quants (unsigned) against their 32 activations each, weighted by their
 * group scales sl and sh. */
LT_AVX2 static inline __m256i x86_k4_chunk_dot(__m256i lo, __m256i hi, const int8_t *q8,
					       __m256i sl, __m256i sh)
{
	const __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)q8));
	const __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(q8 + 32)));
	return _mm256_add_epi32(_mm256_madd_epi16(plo, sl), _mm256_madd_epi16(phi, sh));
}

/* One q4_K / q5_K super-block into the accumulators: acc gathers the
 * scaled quant dots, accm the min corrections. qh holds q5_K's fifth bits
 * (NULL for q4_K); both callers inline this with qh known, so the test on
 * it costs nothing. */
LT_AVX2 static inline void x86_k4_block(const uint8_t *scales, uint16_t d16, uint16_t dmin16,
					const uint8_t *qs, const uint8_t *qh,
					const struct block_q8_K *y, __m256 *acc, __m128 *accm)
{
	const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
	__m256i sc;
	__m128i mn;
	x86_k4_scales(scales, &sc, &mn);
	const float d = y->d * x86_h2f(d16);
	*accm = x86_k4_minacc(*accm, y->d * x86_h2f(dmin16), y->bsums, mn);
	const __m256i hbits = qh ? _mm256_loadu_si256((const __m256i *)qh) : _mm256_setzero_si256();
	__m256i sumi = _mm256_setzero_si256();
	const int8_t *q8 = y->qs;
	for (int j = 0; j < 4; j++, qs += 32, q8 += 64) {
		const __m256i bits = _mm256_loadu_si256((const __m256i *)qs);
		__m256i lo = _mm256_and_si256(bits, m4);
		__m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
		if (qh) {
			/* Group 2j takes bit 2j of qh, group 2j+1 bit 2j+1. */
			const __m256i h0 = _mm256_and_si256(_mm256_srli_epi16(hbits, 2 * j), one);
			const __m256i h1 = _mm256_and_si256(_mm256_srli_epi16(hbits, 2 * j + 1), one);
			lo = _mm256_or_si256(lo, _mm256_slli_epi16(h0, 4));
			hi = _mm256_or_si256(hi, _mm256_slli_epi16(h1, 4));
		}
		sumi = _mm256_add_epi32(sumi, x86_k4_chunk_dot(lo, hi, q8, x86_k4_scale(sc, 2 * j),
							       x86_k4_scale(sc, 2 * j + 1)));
	}
	*acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), *acc);
}

LT_AVX2 static void x86_q4_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_K *x = vx;
	const struct block_q8_K *y = vy;
	__m256 acc = _mm256_setzero_ps();
	__m128 accm = _mm_setzero_ps();
	for (int64_t i = 0; i < n / QK_K; i++) {
		X86_PREFETCH_AHEAD(x + i);
		x86_k4_block(x[i].scales, x[i].d, x[i].dmin, x[i].qs, NULL, &y[i], &acc, &accm);
	}
	*s = x86_hsum_ps(acc) - x86_hsum_ps128(accm);
}

LT_AVX2 static void x86_q5_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q5_K *x = vx;
	const struct block_q8_K *y = vy;
	__m256 acc = _mm256_setzero_ps();
	__m128 accm = _mm_setzero_ps();
	for (int64_t i = 0; i < n / QK_K; i++) {
		X86_PREFETCH_AHEAD(x + i);
		x86_k4_block(x[i].scales, x[i].d, x[i].dmin, x[i].qs, x[i].qh, &y[i], &acc, &accm);
	}
	*s = x86_hsum_ps(acc) - x86_hsum_ps128(accm);
}

/* sum(q * y) over 32 elements, each half of 16 weighted by its group
 * scale (q unsigned, as maddubs wants). */
LT_AVX2 static inline __m256i x86_group_dot(__m256i q, __m256i yq, __m256i scales)
{
	return _mm256_madd_epi16(_mm256_maddubs_epi16(q, yq), scales);
}

/* The same for quants stored with an offset that varies by element (q3_K's
 * missing high bits): sum((q - off) * y), off * y taken off after maddubs. */
LT_AVX2 static inline __m256i x86_group_dot_off(__m256i q, __m256i yq, __m256i off, __m256i scales)
{
	const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q, yq), _mm256_maddubs_epi16(off, yq));
	return _mm256_madd_epi16(p, scales);
}

/* q6_K stores q + 32: the bias -32 * sum over groups of scale * sum(y),
 * from the activation's 16-element sums, starts the integer sum. */
LT_AVX2 static inline __m256i x86_q6_K_bias(__m128i s8, const int16_t *bsums)
{
	const __m256i p = _mm256_madd_epi16(_mm256_cvtepi8_epi16(s8),
					    _mm256_loadu_si256((const __m256i *)bsums));
	return _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(p, 5));
}

/* The 128 quants of one half of a q6_K super-block, stored + 32 (0..63), as
 * four rows of 32 matching the activations' order: each a nibble of ql and
 * two bits of qh. */
LT_AVX2 static inline void x86_q6_K_quants(const uint8_t *ql, const uint8_t *qh, __m256i q[4])
{
	const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(3);
	const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
	const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
	const __m256i h = _mm256_loadu_si256((const __m256i *)qh);
	q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4),
			       _mm256_slli_epi16(_mm256_and_si256(h, m2), 4));
	q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
			       _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m2), 4));
	q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
			       _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m2), 4));
	q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
			       _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m2), 4));
}

LT_AVX2 static void x86_q6_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q6_K *x = vx;
	const struct block_q8_K *y = vy;
	__m256 acc = _mm256_setzero_ps();
	for (int64_t i = 0; i < n / QK_K; i++) {
		X86_PREFETCH_AHEAD(x + i);
		const float d = y[i].d * x86_h2f(x[i].d);
		const __m128i s8 = _mm_loadu_si128((const __m128i *)x[i].scales);
		__m256i sumi = x86_q6_K_bias(s8, y[i].bsums);
		for (int half = 0; half < 2; half++) {
			const __m256i *yv = (const __m256i *)(y[i].qs + 128 * half);
			__m256i q[4];
			x86_q6_K_quants(x[i].ql + 64 * half, x[i].qh + 32 * half, q);
			/* Written out: as a loop GCC keeps it rolled, at a cost. */
			sumi = _mm256_add_epi32(sumi, x86_group_dot(q[0], _mm256_loadu_si256(yv),
								    x86_scale_pair8(s8, 8 * half + 0)));
			sumi = _mm256_add_epi32(sumi, x86_group_dot(q[1], _mm256_loadu_si256(yv + 1),
								    x86_scale_pair8(s8, 8 * half + 2)));
			sumi = _mm256_add_epi32(sumi, x86_group_dot(q[2], _mm256_loadu_si256(yv + 2),
								    x86_scale_pair8(s8, 8 * half + 4)));
			sumi = _mm256_add_epi32(sumi, x86_group_dot(q[3], _mm256_loadu_si256(yv + 3),
								    x86_scale_pair8(s8, 8 * half + 6)));
		}
		acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
	}
	*s = x86_hsum_ps(acc);
}

/* Prefill tiles of k-quants: one weight row by four tokens, so the unpacked
 * quants and decoded scales of each super-block serve four activation rows.
 * The float steps per token are the vec_dots' own, in the same order. */
#define X86_K_TILE_TOKENS 4

#define X86_K_ROWS_DECL                                                              \
	const struct block_q8_K *a0 = va;                                            \
	const struct block_q8_K *a1 = (const void *)((const uint8_t *)va + a_stride);     \
	const struct block_q8_K *a2 = (const void *)((const uint8_t *)va + 2 * a_stride); \
	const struct block_q8_K *a3 = (const void *)((const uint8_t *)va + 3 * a_stride)

LT_AVX2 static void x86_q4_K_tile(int64_t n, const void *vw, size_t w_stride, const void *va,
				  size_t a_stride, float *y, size_t ldy)
{
	(void)w_stride;
	const struct block_q4_K *x = vw;
	X86_K_ROWS_DECL;
	const __m256i m4 = _mm256_set1_epi8(0x0f);
	__m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
	__m128 sm0 = _mm_setzero_ps(), sm1 = sm0, sm2 = sm0, sm3 = sm0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		__m256i sc;
		__m128i mn;
		x86_k4_scales(x[i].scales, &sc, &mn);
		const float dx = x86_h2f(x[i].d), dmx = x86_h2f(x[i].dmin);
		sm0 = x86_k4_minacc(sm0, a0[i].d * dmx, a0[i].bsums, mn);
		sm1 = x86_k4_minacc(sm1, a1[i].d * dmx, a1[i].bsums, mn);
		sm2 = x86_k4_minacc(sm2, a2[i].d * dmx, a2[i].bsums, mn);
		sm3 = x86_k4_minacc(sm3, a3[i].d * dmx, a3[i].bsums, mn);
		__m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
		for (int j = 0; j < 4; j++) {
			const __m256i bits = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * j));
			const __m256i lo = _mm256_and_si256(bits, m4);
			const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
			const __m256i sl = x86_k4_scale(sc, 2 * j), sh = x86_k4_scale(sc, 2 * j + 1);
			s0 = _mm256_add_epi32(s0, x86_k4_chunk_dot(lo, hi, a0[i].qs + 64 * j, sl, sh));
			s1 = _mm256_add_epi32(s1, x86_k4_chunk_dot(lo, hi, a1[i].qs + 64 * j, sl, sh));
			s2 = _mm256_add_epi32(s2, x86_k4_chunk_dot(lo, hi, a2[i].qs + 64 * j, sl, sh));
			s3 = _mm256_add_epi32(s3, x86_k4_chunk_dot(lo, hi, a3[i].qs + 64 * j, sl, sh));
		}
		acc0 = _mm256_fmadd_ps(_mm256_set1_ps(a0[i].d * dx), _mm256_cvtepi32_ps(s0), acc0);
		acc1 = _mm256_fmadd_ps(_mm256_set1_ps(a1[i].d * dx), _mm256_cvtepi32_ps(s1), acc1);
		acc2 = _mm256_fmadd_ps(_mm256_set1_ps(a2[i].d * dx), _mm256_cvtepi32_ps(s2), acc2);
		acc3 = _mm256_fmadd_ps(_mm256_set1_ps(a3[i].d * dx), _mm256_cvtepi32_ps(s3), acc3);
	}
	y[0] = x86_hsum_ps(acc0) - x86_hsum_ps128(sm0);
	y[ldy] = x86_hsum_ps(acc1) - x86_hsum_ps128(sm1);
	y[2 * ldy] = x86_hsum_ps(acc2) - x86_hsum_ps128(sm2);
	y[3 * ldy] = x86_hsum_ps(acc3) - x86_hsum_ps128(sm3);
}

LT_AVX2 static void x86_q6_K_tile(int64_t n, const void *vw, size_t w_stride, const void *va,
				  size_t a_stride, float *y, size_t ldy)
{
	(void)w_stride;
	const struct block_q6_K *x = vw;
	X86_K_ROWS_DECL;
	__m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		const float dx = x86_h2f(x[i].d);
		const __m128i s8 = _mm_loadu_si128((const __m128i *)x[i].scales);
		__m256i s0 = x86_q6_K_bias(s8, a0[i].bsums), s1 = x86_q6_K_bias(s8, a1[i].bsums);
		__m256i s2 = x86_q6_K_bias(s8, a2[i].bsums), s3 = x86_q6_K_bias(s8, a3[i].bsums);
		for (int half = 0; half < 2; half++) {
			__m256i q[4];
			x86_q6_K_quants(x[i].ql + 64 * half, x[i].qh + 32 * half, q);
			for (int k = 0; k < 4; k++) {
				const __m256i scp = x86_scale_pair8(s8, 8 * half + 2 * k);
				const size_t o = 128 * half + 32 * k;
				s0 = _mm256_add_epi32(s0, x86_group_dot(q[k], _mm256_loadu_si256(
					(const __m256i *)(a0[i].qs + o)), scp));
				s1 = _mm256_add_epi32(s1, x86_group_dot(q[k], _mm256_loadu_si256(
					(const __m256i *)(a1[i].qs + o)), scp));
				s2 = _mm256_add_epi32(s2, x86_group_dot(q[k], _mm256_loadu_si256(
					(const __m256i *)(a2[i].qs + o)), scp));
				s3 = _mm256_add_epi32(s3, x86_group_dot(q[k], _mm256_loadu_si256(
					(const __m256i *)(a3[i].qs + o)), scp));
			}
		}
		acc0 = _mm256_fmadd_ps(_mm256_set1_ps(a0[i].d * dx), _mm256_cvtepi32_ps(s0), acc0);
		acc1 = _mm256_fmadd_ps(_mm256_set1_ps(a1[i].d * dx), _mm256_cvtepi32_ps(s1), acc1);
		acc2 = _mm256_fmadd_ps(_mm256_set1_ps(a2[i].d * dx), _mm256_cvtepi32_ps(s2), acc2);
		acc3 = _mm256_fmadd_ps(_mm256_set1_ps(a3[i].d * dx), _mm256_cvtepi32_ps(s3), acc3);
	}
	y[0] = x86_hsum_ps(acc0);
	y[ldy] = x86_hsum_ps(acc1);
	y[2 * ldy] = x86_hsum_ps(acc2);
	y[3 * ldy] = x86_hsum_ps(acc3);
}

LT_AVX2 static void x86_q2_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q2_K *x = vx;
	const struct block_q8_K *y = vy;
	const __m256i m2 = _mm256_set1_epi8(3);
	__m256 acc = _mm256_setzero_ps();
	float summs = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		X86_PREFETCH_AHEAD(x + i);
		const uint8_t *sc = x[i].scales;
		int msum = 0;
		for (int g = 0; g < QK_K / 16; g++)
			msum += (sc[g] >> 4) * y[i].bsums[g];
		summs -= y[i].d * x86_h2f(x[i].dmin) * msum;
		const float d = y[i].d * x86_h2f(x[i].d);
		__m256i sumi = _mm256_setzero_si256();
		const uint8_t *q2 = x[i].qs;
		const int8_t *q8 = y[i].qs;
		for (int half = 0; half < 2; half++, q2 += 32, sc += 8) {
			const __m256i bits = _mm256_loadu_si256((const __m256i *)q2);
			for (int k = 0; k < 4; k++, q8 += 32) {
				const __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * k), m2);
				const __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)q8));
				sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, x86_scale_pair(
									sc[2 * k] & 0x0f, sc[2 * k + 1] & 0x0f)));
			}
		}
		acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
	}
	*s = x86_hsum_ps(acc) + summs;
}

LT_AVX2 static void x86_q3_K_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const struct block_q3_K *x = vx;
	const struct block_q8_K *y = vy;
	const __m256i m2 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
	__m256 acc = _mm256_setzero_ps();
	for (int64_t i = 0; i < n / QK_K; i++) {
		X86_PREFETCH_AHEAD(x + i);
		int sc[16];
		q3_K_scales(x[i].scales, sc);
		const float d = y[i].d * x86_h2f(x[i].d);
		const __m256i hm = _mm256_loadu_si256((const __m256i *)x[i].hmask);
		__m256i sumi = _mm256_setzero_si256();
		const uint8_t *q3 = x[i].qs;
		const int8_t *q8 = y[i].qs;
		for (int half = 0; half < 2; half++, q3 += 32) {
			const __m256i bits = _mm256_loadu_si256((const __m256i *)q3);
			for (int k = 0; k < 4; k++, q8 += 32) {
				const int b = 4 * half + k;
				const __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * k), m2);
				/* A clear high bit means the quant is 4 lower. */
				const __m256i hb = _mm256_and_si256(_mm256_srli_epi16(hm, b), one);
				const __m256i sub = _mm256_slli_epi16(_mm256_xor_si256(hb, one), 2);
				const __m256i yq = _mm256_loadu_si256((const __m256i *)q8);
				sumi = _mm256_add_epi32(sumi, x86_group_dot_off(q, yq, sub,
									    x86_scale_pair(sc[2 * b], sc[2 * b + 1])));
			}
		}
		acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
	}
	*s = x86_hsum_ps(acc);
}

/* ---------------------------------------------------------------- dispatch */

static struct quant_kernels x86_table[GGML_TYPE_COUNT];
static const struct quant_tile x86_tiles[GGML_TYPE_COUNT] = {
	[GGML_TYPE_F32] = { x86_f32_tile, X86_F32_TILE_ROWS, X86_F32_TILE_TOKENS, x86_f32_gemv,
			    X86_GEMV_ROWS },
	[GGML_TYPE_Q4_K] = { x86_q4_K_tile, 1, X86_K_TILE_TOKENS, NULL, 0 },
	[GGML_TYPE_Q6_K] = { x86_q6_K_tile, 1, X86_K_TILE_TOKENS, NULL, 0 },
};
static pthread_once_t x86_once = PTHREAD_ONCE_INIT;

bool quant_x86_probe(void)
{
	__builtin_cpu_init();
	/* F16C is CPUID leaf 1, ECX bit 29; not every compiler's
	 * __builtin_cpu_supports knows its name. */
	unsigned int eax, ebx, ecx = 0, edx;
	bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29));
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
}

static void x86_init(void)
{
	/* Start from the reference kernels and replace the ones we have. */
	quant_ref_table(x86_table);
	x86_table[GGML_TYPE_F32].vec_dot = x86_f32_vec_dot;
	x86_table[GGML_TYPE_F16].vec_dot = x86_f16_vec_dot;
	x86_table[GGML_TYPE_F16].to_float = x86_f16_to_float;
	x86_table[GGML_TYPE_F16].from_float = x86_f16_from_float;
	x86_table[GGML_TYPE_BF16].vec_dot = x86_bf16_vec_dot;
	x86_table[GGML_TYPE_BF16].to_float = x86_bf16_to_float;
	x86_table[GGML_TYPE_Q8_0].from_float = x86_q8_0_from_float;
	x86_table[GGML_TYPE_Q8_0].vec_dot = x86_q8_0_vec_dot;
	x86_table[GGML_TYPE_Q8_1].from_float = x86_q8_1_from_float;
	x86_table[GGML_TYPE_Q4_0].vec_dot = x86_q4_0_vec_dot;
	x86_table[GGML_TYPE_Q4_1].vec_dot = x86_q4_1_vec_dot;
	x86_table[GGML_TYPE_Q5_0].vec_dot = x86_q5_0_vec_dot;
	x86_table[GGML_TYPE_Q5_1].vec_dot = x86_q5_1_vec_dot;
	x86_table[GGML_TYPE_Q8_K].from_float = x86_q8_K_from_float;
	x86_table[GGML_TYPE_Q2_K].vec_dot = x86_q2_K_vec_dot;
	x86_table[GGML_TYPE_Q3_K].vec_dot = x86_q3_K_vec_dot;
	x86_table[GGML_TYPE_Q4_K].vec_dot = x86_q4_K_vec_dot;
	x86_table[GGML_TYPE_Q5_K].vec_dot = x86_q5_K_vec_dot;
	x86_table[GGML_TYPE_Q6_K].vec_dot = x86_q6_K_vec_dot;
}

const struct quant_kernels *quant_x86(enum ggml_type type)
{
	pthread_once(&x86_once, x86_init);
	if ((unsigned)type >= GGML_TYPE_COUNT || !x86_table[type].to_float)
		return NULL;
	return &x86_table[type];
}

const struct quant_tile *quant_x86_tile(enum ggml_type type)
{
	if (!quant_x86(type) || !x86_tiles[type].fn)
		return NULL;
	return &x86_tiles[type];
}

const struct kernel_variant kernel_variant_avx2 = {
	.name = "avx2",
	.needs = "AVX2, FMA and F16C",
	.probe = quant_x86_probe,
	.quant = quant_x86,
	.tile = quant_x86_tile,
	.panel = quant_x86_panel,
	.rows = ops_x86_rows,
};

#endif
