/* Inline helpers shared by the AVX2 kernel files (quant_x86.c,
 * quant_x86_panel.c and quant_x86_kpanel.c). Included only on x86; every function carries the
 * target attribute, so callers must run only after quant_x86 said yes. */
#ifndef LT_QUANT_X86_IMPL_H
#define LT_QUANT_X86_IMPL_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "quant_impl.h"

#define LT_AVX2 __attribute__((target("avx2,fma,f16c")))
/* The VNNI variants (quant_x86_vnni.c, quant_x86_vnni_kpanel.c). */
#define LT_AVX512 \
	__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define LT_AVXVNNI __attribute__((target("avx2,fma,f16c,avxvnni")))

/* ---------------------------------------------------------------- helpers */

LT_AVX2 static inline float x86_hsum_ps(__m256 v)
{
	__m128 r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	r = _mm_add_ps(r, _mm_movehl_ps(r, r));
	r = _mm_add_ss(r, _mm_movehdup_ps(r));
	return _mm_cvtss_f32(r);
}

LT_AVX2 static inline int x86_hsum_epi32(__m256i v)
{
	__m128i r = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	r = _mm_add_epi32(r, _mm_shuffle_epi32(r, _MM_SHUFFLE(1, 0, 3, 2)));
	r = _mm_add_epi32(r, _mm_shuffle_epi32(r, _MM_SHUFFLE(2, 3, 0, 1)));
	return _mm_cvtsi128_si32(r);
}

LT_AVX2 static inline float x86_h2f(uint16_t h)
{
	return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

/* dx * dy of two f16 scales with one widening: both halves of one word. */
LT_AVX2 static inline float x86_h2f_mul(uint16_t x, uint16_t y)
{
	const __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128((int)(x | (uint32_t)y << 16)));
	return _mm_cvtss_f32(_mm_mul_ss(f, _mm_movehdup_ps(f)));
}

LT_AVX2 static inline float x86_hmax_ps(__m256 v)
{
	__m128 r = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	r = _mm_max_ps(r, _mm_movehl_ps(r, r));
	r = _mm_max_ss(r, _mm_movehdup_ps(r));
	return _mm_cvtss_f32(r);
}

/* Sum of products of 32 signed bytes x and y in eight 32-bit lanes. The sign
 * of x moves onto y so maddubs, which wants one unsigned operand, applies. */
LT_AVX2 static inline __m256i x86_dot_i8(__m256i x, __m256i y)
{
	const __m256i ax = _mm256_sign_epi8(x, x);
	const __m256i sy = _mm256_sign_epi8(y, x);
	return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1));
}

/* Same with x already unsigned (0..127). */
LT_AVX2 static inline __m256i x86_dot_u8(__m256i x, __m256i y)
{
	return _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), _mm256_set1_epi16(1));
}

/* 32 nibbles of 16 bytes as 32 bytes: low nibbles first, then high ones,
 * which is the element order of q4_0 / q4_1 / q5_* blocks. */
LT_AVX2 static inline __m256i x86_nibbles(const uint8_t *qs)
{
	/* A broadcast load and one shift of the upper half only (by quad
	 * words) cost less than shifting and inserting a second half. */
	const __m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
	return _mm256_and_si256(_mm256_srlv_epi64(b, _mm256_set_epi64x(4, 4, 0, 0)),
				_mm256_set1_epi8(0x0f));
}

/* Byte j of the result is 0xff when bit j of the 32-bit word at p is set. */
LT_AVX2 static inline __m256i x86_bits_to_bytes(const uint8_t *p)
{
	uint32_t w;
	memcpy(&w, p, sizeof(w));
	const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
					       0x0101010101010101, 0x0000000000000000);
	__m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)w), shuf);
	const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
	return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

/* Packs four vectors of eight 32-bit integers (each in -128..127) into 32
 * bytes in element order. */
LT_AVX2 static inline __m256i x86_pack_i32x4(__m256i a, __m256i b, __m256i c, __m256i d)
{
	const __m256i ab = _mm256_packs_epi32(a, b);
	const __m256i cd = _mm256_packs_epi32(c, d);
	const __m256i all = _mm256_packs_epi16(ab, cd);
	/* The packs work per 128-bit lane; this puts the 4-byte groups back. */
	return _mm256_permutevar8x32_epi32(all, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* roundf for values already scaled into -127.x..127.x: halves go away from
 * zero, as the scalar q8 quantizers round. */
LT_AVX2 static inline __m256 x86_round_away(__m256 v)
{
	const __m256 sign = _mm256_set1_ps(-0.0f);
	const __m256 a = _mm256_andnot_ps(sign, v);
	__m256 t = _mm256_round_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
	const __m256 up = _mm256_cmp_ps(_mm256_sub_ps(a, t), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
	t = _mm256_add_ps(t, _mm256_and_ps(up, _mm256_set1_ps(1.0f)));
	return _mm256_or_ps(t, _mm256_and_ps(v, sign));
}

/* ---------------------------------------------------------------- legacy-quant dots */

/* The scale products of blocks i and i + 1, each broadcast: one widening
 * for the four halves. */
#define X86_PAIR_SCALES(x, y, i, d0, d1)                                                      \
	const __m128 h_##d0 = _mm_cvtph_ps(_mm_cvtsi64_si128(                                  \
		(long long)((uint64_t)(x)[i].d | (uint64_t)(y)[i].d << 16 |                     \
			    (uint64_t)(x)[(i) + 1].d << 32 | (uint64_t)(y)[(i) + 1].d << 48)));  \
	const __m128 p_##d0 = _mm_mul_ps(h_##d0, _mm_movehdup_ps(h_##d0));                     \
	const __m256 d0 = _mm256_broadcastss_ps(p_##d0);                                        \
	const __m256 d1 = _mm256_broadcastss_ps(_mm_movehl_ps(p_##d0, p_##d0))

/* Two blocks per step on two accumulators, for the legacy types whose
 * blocks are d then qs: one chain of multiply-adds would hold decode to
 * one block per FMA latency. ISUM(x, y) is the exact integer sum of one
 * block pair in eight lanes; TARGET the variant's function attribute. */
#define X86_DEFINE_PAIRED_DOT(name, TARGET, xtype, ISUM)                                      \
	TARGET static void name(int64_t n, float *s, const void *vx, const void *vy)       \
	{                                                                                  \
		const xtype *x = vx;                                                       \
		const struct block_q8_0 *y = vy;                                           \
		const int64_t nb = n / QK8_0;                                              \
		__m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;                            \
		int64_t i = 0;                                                             \
		for (; i + 2 <= nb; i += 2) {                                              \
			X86_PAIR_SCALES(x, y, i, d0, d1);                                  \
			acc0 = _mm256_fmadd_ps(d0, _mm256_cvtepi32_ps(ISUM(x + i, y + i)), \
					       acc0);                                      \
			acc1 = _mm256_fmadd_ps(                                            \
				d1, _mm256_cvtepi32_ps(ISUM(x + i + 1, y + i + 1)), acc1); \
		}                                                                          \
		if (i < nb)                                                                \
			acc0 = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f_mul(x[i].d, y[i].d)), \
					       _mm256_cvtepi32_ps(ISUM(x + i, y + i)), acc0); \
		*s = x86_hsum_ps(_mm256_add_ps(acc0, acc1));                               \
	}

/* ---------------------------------------------------------------- Q8 activations */

/* Quantizes 32 floats with scale d = amax/127 into out; returns d and the
 * sum of the quants in *qsum. */
LT_AVX2 static inline float x86_q8_block(const float *x, int8_t *out, int *qsum)
{
	const __m256 sign = _mm256_set1_ps(-0.0f);
	__m256 v[4];
	__m256 amax = _mm256_setzero_ps();
	for (int k = 0; k < 4; k++) {
		v[k] = _mm256_loadu_ps(x + 8 * k);
		amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
	}
	const float d = x86_hmax_ps(amax) / 127;
	const float id = d ? 1.0f / d : 0.0f;
	const __m256 vid = _mm256_set1_ps(id);
	const __m256 lim = _mm256_set1_ps(127.0f);
	__m256i q[4];
	for (int k = 0; k < 4; k++) {
		__m256 r = x86_round_away(_mm256_mul_ps(v[k], vid));
		r = _mm256_max_ps(_mm256_min_ps(r, lim), _mm256_sub_ps(_mm256_setzero_ps(), lim));
		q[k] = _mm256_cvtps_epi32(r);
	}
	if (qsum)
		*qsum = x86_hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]),
							_mm256_add_epi32(q[2], q[3])));
	_mm256_storeu_si256((__m256i *)out, x86_pack_i32x4(q[0], q[1], q[2], q[3]));
	return d;
}

/* ---------------------------------------------------------------- panels
 *
 * Shared by the panel kernels of quant_x86_panel.c and quant_x86_kpanel.c
 * (struct quant_panel): eight weight rows are the eight lanes. */

#define X86_PANEL_ROWS 8
/* Tokens whose accumulators live on the stack while a panel block is in
 * registers: enough to reuse each block, few enough to stay in L1. */
#define X86_PANEL_TOKENS 32


/* Column c of the result is dword c of each of the eight inputs: an 8 x 8
 * transpose of 32-bit elements, in place. */
LT_AVX2 static inline void x86_transpose8_epi32(__m256i r[8])
{
	__m256i t[8], u[8];
#pragma GCC unroll 4
	for (int i = 0; i < 4; i++) {
		t[2 * i] = _mm256_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
		t[2 * i + 1] = _mm256_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
	}
#pragma GCC unroll 2
	for (int h = 0; h < 2; h++) {
		const __m256i *q = t + 4 * h;
		u[4 * h + 0] = _mm256_unpacklo_epi64(q[0], q[2]);
		u[4 * h + 1] = _mm256_unpackhi_epi64(q[0], q[2]);
		u[4 * h + 2] = _mm256_unpacklo_epi64(q[1], q[3]);
		u[4 * h + 3] = _mm256_unpackhi_epi64(q[1], q[3]);
	}
#pragma GCC unroll 4
	for (int i = 0; i < 4; i++) {
		r[i] = _mm256_permute2x128_si256(u[i], u[4 + i], 0x20);
		r[4 + i] = _mm256_permute2x128_si256(u[i], u[4 + i], 0x31);
	}
}


LT_AVX2 static inline __m256i x86_bcast4(const int8_t *p)
{
	int32_t v;
	memcpy(&v, p, sizeof(v));
	return _mm256_set1_epi32(v);
}

/* Asks for the group of `rows` rows after the one at w, which follows it in
 * memory, a step at a time: step b is bytes b*step..(b+1)*step-1 of it.
 * Row streams side by side defeat the hardware prefetcher; one run asked
 * for while the current group is read has arrived when the next starts
 * (past the matrix the requests are merely wasted). */
LT_AVX2 static inline void x86_prefetch_next_rows(const void *w, size_t w_stride, int rows,
						  int64_t b, size_t step)
{
	const uintptr_t at = (uintptr_t)w + (size_t)rows * w_stride + (uintptr_t)b * step;
	for (size_t off = 0; off < step; off += 64)
		_mm_prefetch((const char *)(at + off), _MM_HINT_T0);
}

/* The next group of eight rows, a block of each per step. */
LT_AVX2 static inline void x86_prefetch_next_group(const void *w, size_t w_stride, int64_t b,
						   size_t block_bytes)
{
	x86_prefetch_next_rows(w, w_stride, X86_PANEL_ROWS, b, X86_PANEL_ROWS * block_bytes);
}

/* Stores the first n_rows lanes of one token's result. */
LT_AVX2 static inline void x86_panel_store8(float *y, __m256 v, int n_rows)
{
	if (n_rows == X86_PANEL_ROWS) {
		_mm256_storeu_ps(y, v);
		return;
	}
	_Alignas(32) float t[X86_PANEL_ROWS];
	_mm256_store_ps(t, v);
	memcpy(y, t, sizeof(float) * (size_t)n_rows);
}

#endif
