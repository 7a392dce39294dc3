/* K-quant panels (struct quant_panel): prefill panels (pack + gemm) for
 * q2_K, q3_K, q4_K, q5_K and q6_K weights, and the q4_K decode kernel.
 *
 * The prefill tiles of quant_x86.c unpack one row's super-block for four
 * tokens and spend, per 32 products, a maddubs, a widening madd with the
 * group scale and an add, then fold eight lanes of one row at the end. A
 * panel, as for q4_0 (quant_x86_panel.c), makes the lanes eight rows: the
 * pack unpacks a super-block of eight rows to one byte per quant, laid out
 * so that each 32-byte vector holds four positions of all eight rows, and
 * the token's four activations are broadcast against it. Per 32 products
 * that leaves one maddubs and one 16-bit add; the scale's madd comes once
 * per sub-block, as many 16-bit sums as fit without overflow at a time.
 * The unpacked vectors of a 32-position run stay in registers for up to
 * X86_PANEL_TOKENS tokens.
 *
 * Three activation formats, each q8_K's quants byte for byte, so the
 * integer sums of every sub-block equal vec_dot's:
 * - q4_K and q5_K (unsigned quants with mins per 32): signed activations
 *   with their eight 32-element sums for the mins (x86_kpanel_act, shared
 *   with the q4_K decode kernel);
 * - q6_K and q3_K (signed quants, q - 32 and q - 4): the weights stay
 *   signed and the activations move to unsigned, a + 128, the operand
 *   maddubs wants unsigned. The shift adds 128 * sum(scale * sum(q)) per
 *   row, which depends on the weights alone: the pack computes it once and
 *   the sums start from minus it, with no term per token;
 * - q2_K (unsigned quants with mins per 16): signed activations with the
 *   sixteen 16-element sums. */
#include "quant_x86.h"

#if defined(__x86_64__) || defined(__i386__)

#include "quant_x86_kpanel_impl.h"

/* ---------------------------------------------------------------- q4_K decode
 *
 * The idea of the q4_0 / q8_0 decode kernels (quant_x86_panel.c) for
 * q4_K: eight rows of a super-block at once, lanes are rows. Each row's
 * 16-byte head (d, dmin, twelve bytes of scales and mins) and each 32-byte
 * run of nibbles is read as two 16-byte halves, row r in the low 128 bits
 * and row r+4 in the high ones, so a 4 x 4 transpose that
 * stays inside the 128-bit lanes (no lane crossing, two thirds of the full
 * transpose's shuffles) already leaves dword c of rows 0..7 in lanes 0..7.
 * The scale and min decoding of x86_k4_scales then runs word-wide on all
 * eight rows, and each group's scales become a madd operand with one byte
 * shuffle.
 *
 * Sums stay exact: one 16-bit lane takes 16 products of a nibble and an
 * activation, 16 * 15 * 128 < 32767, before madd widens it with the
 * group's 6-bit scale. The mins term needs the activation's group sums,
 * which the activation format keeps. */

/* The q8_K activation quantizer; the reference one if the SIMD kernels
 * were turned off meanwhile (both write the same bytes). */
static const struct quant_kernels *x86_kpanel_q8_K(void)
{
	const struct quant_kernels *k = quant_x86(GGML_TYPE_Q8_K);
	return k ? k : quant_ref(GGML_TYPE_Q8_K);
}

static void x86_kpanel_act_from_float(const float *x, void *dst, int64_t n)
{
	static const int order[8] = { 0, 2, 1, 3, 4, 6, 5, 7 };
	const struct quant_kernels *k = x86_kpanel_q8_K();
	struct x86_kpanel_act *a = dst;
	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
		struct block_q8_K q;
		k->from_float(x, &q, QK_K);
		a[i].d = q.d;
		for (int g = 0; g < 8; g++)
			a[i].gsum[g] = (int16_t)(q.bsums[2 * order[g]] + q.bsums[2 * order[g] + 1]);
		memset(a[i].unused, 0, sizeof(a[i].unused));
		memcpy(a[i].qs, q.qs, sizeof(q.qs));
	}
}

/* Four vectors each holding 16 bytes of row r and of row r+4 become four
 * holding dword c of the eight rows (a 4 x 4 transpose per 128-bit lane). */
LT_AVX2 static inline void x86_transpose4_lanes(__m256i r[4])
{
	const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]);
	const __m256i t1 = _mm256_unpackhi_epi32(r[0], r[1]);
	const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]);
	const __m256i t3 = _mm256_unpackhi_epi32(r[2], r[3]);
	r[0] = _mm256_unpacklo_epi64(t0, t2);
	r[1] = _mm256_unpackhi_epi64(t0, t2);
	r[2] = _mm256_unpacklo_epi64(t1, t3);
	r[3] = _mm256_unpackhi_epi64(t1, t3);
}

/* Bytes at offset off of rows 0..7 as four dword-of-row vectors: dword c
 * of the 16 bytes at row[i] + off in lane i. */
LT_AVX2 static inline void x86_gather16_rows(const uint8_t *const row[8], size_t off,
					     __m256i r[4])
{
#pragma GCC unroll 4
	for (int i = 0; i < 4; i++)
		r[i] = _mm256_inserti128_si256(
			_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(row[i] + off))),
			_mm_loadu_si128((const __m128i *)(row[i + 4] + off)), 1);
	x86_transpose4_lanes(r);
}

/* Byte b of each lane of v as a 16-bit pair (the same value twice), the
 * madd operand that scales both halves of a row's lane. */
LT_AVX2 static inline __m256i x86_lane_byte_pair(__m256i v, int b)
{
#define X86_SEL(k) ((int)(0x80008000u | (unsigned)(k) * 0x10001u))
	const __m256i sel = _mm256_setr_epi32(X86_SEL(b), X86_SEL(b + 4), X86_SEL(b + 8),
					      X86_SEL(b + 12), X86_SEL(b), X86_SEL(b + 4),
					      X86_SEL(b + 8), X86_SEL(b + 12));
#undef X86_SEL
	return _mm256_shuffle_epi8(v, sel);
}

/* Bytes b0 and b1 of each lane of v as the low and high 16-bit halves. */
LT_AVX2 static inline __m256i x86_lane_byte_pair2(__m256i v, int b0, int b1)
{
#define X86_SEL(k) ((int)(0x80008000u | (unsigned)((k) + b0) | (unsigned)((k) + b1) << 16))
	const __m256i sel = _mm256_setr_epi32(X86_SEL(0), X86_SEL(4), X86_SEL(8), X86_SEL(12),
					      X86_SEL(0), X86_SEL(4), X86_SEL(8), X86_SEL(12));
#undef X86_SEL
	return _mm256_shuffle_epi8(v, sel);
}

/* Byte b of each lane of v, sign extended, in both 16-bit halves. */
LT_AVX2 static inline __m256i x86_lane_sbyte_pair(__m256i v, int b)
{
#define X86_SEL(k) ((int)(0x00800080u | (unsigned)((k) + b) * 0x1000100u))
	const __m256i sel = _mm256_setr_epi32(X86_SEL(0), X86_SEL(4), X86_SEL(8), X86_SEL(12),
					      X86_SEL(0), X86_SEL(4), X86_SEL(8), X86_SEL(12));
#undef X86_SEL
	return _mm256_srai_epi16(_mm256_shuffle_epi8(v, sel), 8);
}

/* Eight f16 scales of the rows, each 2 bytes at offset off, as floats. */
LT_AVX2 static inline __m256 x86_rows_f16(const uint8_t *const row[8], size_t off)
{
	uint16_t h[8];
	for (int i = 0; i < 8; i++)
		memcpy(&h[i], row[i] + off, sizeof(h[i]));
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
}

/* The six-bit scales and mins of q4_K and q5_K, of eight rows at once:
 * h[1..3] the scale bytes 0-3, 4-7, 8-11 of row i in lane i, as
 * x86_gather16_rows reads them. Byte j of lane i of *sc03 and *sc47 is
 * the scale of sub-block j and 4 + j of row i, of *mn03 and *mn47 the
 * mins. */
LT_AVX2 static inline void x86_k4_scales8(const __m256i h[4], __m256i *sc03, __m256i *mn03,
					  __m256i *sc47, __m256i *mn47)
{
	const __m256i low4 = _mm256_set1_epi8(0x0f), low2 = _mm256_set1_epi8(0x03);
	const __m256i low6 = _mm256_set1_epi8(0x3f);
	*sc03 = _mm256_and_si256(h[1], low6);
	*mn03 = _mm256_and_si256(h[2], low6);
	*sc47 = _mm256_or_si256(
		_mm256_and_si256(h[3], low4),
		_mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h[1], 6), low2), 4));
	*mn47 = _mm256_or_si256(
		_mm256_and_si256(_mm256_srli_epi32(h[3], 4), low4),
		_mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h[2], 6), low2), 4));
}

/* The integer sums of one super-block of eight rows: *isum the scaled
 * quant sums, *msum the mins against the group sums. */
LT_AVX2 static inline void x86_q4_K_panel_isum(const uint8_t *const row[8], size_t off,
					       const struct x86_kpanel_act *a, __m256i *isum,
					       __m256i *msum, __m256i *dd)
{
	const __m256i low4 = _mm256_set1_epi8(0x0f);
	__m256i h[4];
	x86_gather16_rows(row, off, h);
	/* h[0] holds d and dmin, h[1..3] the scale bytes 0-3, 4-7, 8-11. */
	*dd = h[0];
	__m256i sc03, mn03, sc47, mn47;
	x86_k4_scales8(h, &sc03, &mn03, &sc47, &mn47);

	/* Mins as 16-bit pairs: even bytes (groups 0, 2 / 4, 6), odd bytes. */
	const __m256i even = _mm256_set1_epi16(0x00ff);
	__m256i m = _mm256_madd_epi16(_mm256_and_si256(mn03, even), x86_bcast4((const int8_t *)a->gsum));
	m = _mm256_add_epi32(m, _mm256_madd_epi16(_mm256_srli_epi16(mn03, 8),
						  x86_bcast4((const int8_t *)(a->gsum + 2))));
	m = _mm256_add_epi32(m, _mm256_madd_epi16(_mm256_and_si256(mn47, even),
						  x86_bcast4((const int8_t *)(a->gsum + 4))));
	*msum = _mm256_add_epi32(m, _mm256_madd_epi16(_mm256_srli_epi16(mn47, 8),
						      x86_bcast4((const int8_t *)(a->gsum + 6))));

	__m256i s = _mm256_setzero_si256();
#pragma GCC unroll 4
	for (int j = 0; j < 4; j++) {
		/* 32 bytes per row: low nibbles group 2j, high nibbles 2j+1. */
		__m256i q[8];
		x86_gather16_rows(row, off + 16 + 32 * j, q);
		x86_gather16_rows(row, off + 32 + 32 * j, q + 4);
		const int8_t *y = a->qs + 64 * j;
		__m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
#pragma GCC unroll 8
		for (int c = 0; c < 8; c++) {
			lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(_mm256_and_si256(q[c], low4),
								       x86_bcast4(y + 4 * c)));
			hi = _mm256_add_epi16(
				hi, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q[c], 4), low4),
							 x86_bcast4(y + 32 + 4 * c)));
		}
		const __m256i sc = j < 2 ? sc03 : sc47;
		s = _mm256_add_epi32(s, _mm256_madd_epi16(lo, x86_lane_byte_pair(sc, (2 * j) % 4)));
		s = _mm256_add_epi32(s, _mm256_madd_epi16(hi, x86_lane_byte_pair(sc, (2 * j + 1) % 4)));
	}
	*isum = s;
}

LT_AVX2 static void x86_q4_K_panel_gemv(int64_t n, const void *w, size_t w_stride, int n_rows,
					const void *act, float *y)
{
	const uint8_t *row[X86_PANEL_ROWS];
	for (int i = 0; i < X86_PANEL_ROWS; i++)
		row[i] = (const uint8_t *)w + (size_t)(i < n_rows ? i : n_rows - 1) * w_stride;
	const struct x86_kpanel_act *a = act;
	__m256 acc = _mm256_setzero_ps();
	for (int64_t b = 0; b < n / QK_K; b++) {
		x86_prefetch_next_group(w, w_stride, b, sizeof(struct block_q4_K));
		__m256i isum, msum, dd;
		x86_q4_K_panel_isum(row, (size_t)b * sizeof(struct block_q4_K), a + b, &isum, &msum,
				    &dd);
		/* d in the low half of each lane, dmin in the high: packed to
		 * eight d then eight dmin, then widened. */
		const __m256i h = _mm256_permute4x64_epi64(
			_mm256_packus_epi32(_mm256_and_si256(dd, _mm256_set1_epi32(0xffff)),
					    _mm256_srli_epi32(dd, 16)),
			0xd8);
		const __m256 ad = _mm256_set1_ps(a[b].d);
		const __m256 d = _mm256_mul_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(h)), ad);
		const __m256 dmin = _mm256_mul_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(h, 1)), ad);
		acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), d, acc);
		acc = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), dmin, acc);
	}
	x86_panel_store8(y, acc, n_rows);
}
/* ---------------------------------------------------------------- prefill */


static void x86_kpanel_actu_from_float(const float *x, void *dst, int64_t n)
{
	const struct quant_kernels *k = x86_kpanel_q8_K();
	struct x86_kpanel_actu *a = dst;
	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
		struct block_q8_K q;
		k->from_float(x, &q, QK_K);
		a[i].d = q.d;
		memset(a[i].unused, 0, sizeof(a[i].unused));
		for (int j = 0; j < QK_K; j++)
			a[i].qs[j] = (uint8_t)(q.qs[j] + 128);
	}
}

static void x86_kpanel_act16_from_float(const float *x, void *dst, int64_t n)
{
	const struct quant_kernels *k = x86_kpanel_q8_K();
	struct x86_kpanel_act16 *a = dst;
	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
		struct block_q8_K q;
		k->from_float(x, &q, QK_K);
		a[i].d = q.d;
		memcpy(a[i].bsums, q.bsums, sizeof(a[i].bsums));
		a[i].unused = 0;
		memcpy(a[i].qs, q.qs, sizeof(q.qs));
	}
}


/* lo and hi as the 16-bit halves of a dword: a madd operand, of a scale
 * (the same twice) or of two mins. */
static inline int32_t x86_pair16(int lo, int hi)
{
	return (int32_t)((uint32_t)(uint16_t)lo | (uint32_t)(uint16_t)hi << 16);
}

/* The scales, mins and factors of one row's q3_K or q2_K super-block x into
 * lane i of the panel block (x86_kpanel_meta8 does the others
 * eight rows at once). */
LT_AVX2 static inline __attribute__((always_inline)) void
x86_kpanel_meta(struct x86_kpanel_block *pb, int i, const void *x, int kind)
{
	if (kind == X86_K3) {
		const struct block_q3_K *q3 = x;
		int sc[16];
		q3_K_scales(q3->scales, sc);
		for (int s = 0; s < 16; s++)
			pb->sc[s][i] = x86_pair16(sc[s], sc[s]);
		pb->d[i] = x86_h2f(q3->d);
	} else {
		const struct block_q2_K *q2 = x;
		for (int s = 0; s < 16; s++)
			pb->sc[s][i] = x86_pair16(q2->scales[s] & 0x0f, q2->scales[s] & 0x0f);
		for (int j = 0; j < 8; j++)
			pb->mn[j][i] = x86_pair16(q2->scales[2 * j] >> 4,
						  q2->scales[2 * j + 1] >> 4);
		pb->d[i] = x86_h2f(q2->d);
		pb->dmin[i] = x86_h2f(q2->dmin);
	}
}

/* The 32 bytes at offset off of the eight rows' blocks, transposed: r[g]
 * holds bytes 4g..4g+3 of rows 0..7. Every unpacking step below works on
 * bytes alone, so it gives the same on these as on the rows in place. */
LT_AVX2 static inline void x86_gather32_rows(const uint8_t *const row[8], size_t off,
					     __m256i r[8])
{
#pragma GCC unroll 8
	for (int i = 0; i < X86_PANEL_ROWS; i++)
		r[i] = _mm256_loadu_si256((const __m256i *)(row[i] + off));
	x86_transpose8_epi32(r);
}

/* Bits sh.. of each byte, masked by m. */
LT_AVX2 static inline __m256i x86_bits(__m256i v, int sh, __m256i m)
{
	return _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(sh)), m);
}

/* Stores run u (eight groups) and, for the types whose activations are
 * shifted (bias not NULL, signed quants), adds its share of the shift's
 * term to *bias: scale times the sum of each 16-element sub-block, per
 * row. */
LT_AVX2 static inline __attribute__((always_inline)) void
x86_kpanel_put_run(struct x86_kpanel_block *pb, int u, const __m256i q[8], __m256i *bias)
{
#pragma GCC unroll 8
	for (int g = 0; g < 8; g++)
		_mm256_storeu_si256((__m256i *)(pb->qs + 32 * (8 * u + g)), q[g]);
	if (!bias)
		return;
	const __m256i ones = _mm256_set1_epi8(1);
	__m256i s[2];
#pragma GCC unroll 2
	for (int h = 0; h < 2; h++)
		s[h] = _mm256_add_epi16(
			_mm256_add_epi16(_mm256_maddubs_epi16(ones, q[4 * h]),
					 _mm256_maddubs_epi16(ones, q[4 * h + 1])),
			_mm256_add_epi16(_mm256_maddubs_epi16(ones, q[4 * h + 2]),
					 _mm256_maddubs_epi16(ones, q[4 * h + 3])));
	*bias = _mm256_add_epi32(
		*bias, _mm256_add_epi32(
			       _mm256_madd_epi16(s[0], x86_load(pb->sc[2 * u])),
			       _mm256_madd_epi16(s[1], x86_load(pb->sc[2 * u + 1]))));
}

/* The quants of q4_K (q5 NULL) or q5_K (q5 the offset of qh). */
LT_AVX2 static inline __attribute__((always_inline)) void
x86_k45_runs(struct x86_kpanel_block *pb, const uint8_t *const row[8], size_t qs, const size_t *q5)
{
	const __m256i m4 = _mm256_set1_epi8(0x0f), m1 = _mm256_set1_epi8(1);
	__m256i q[8], h[8];
	if (q5)
		x86_gather32_rows(row, *q5, h);
	for (int j = 0; j < 4; j++) {
		x86_gather32_rows(row, qs + 32 * j, q);
		/* Each group straight to its place in runs 2j and 2j+1 (x86_kpanel_put_run's
		 * layout): sixteen vectors held for the stores would spill. */
#pragma GCC unroll 8
		for (int g = 0; g < 8; g++) {
			__m256i lo = _mm256_and_si256(q[g], m4), hi = x86_bits(q[g], 4, m4);
			if (q5) {
				/* Run 2j takes bit 2j of qh, run 2j+1 bit 2j+1. */
				const __m256i b0 = x86_bits(h[g], 2 * j, m1);
				const __m256i b1 = x86_bits(h[g], 2 * j + 1, m1);
				lo = _mm256_or_si256(lo, _mm256_slli_epi16(b0, 4));
				hi = _mm256_or_si256(hi, _mm256_slli_epi16(b1, 4));
			}
			_mm256_storeu_si256((__m256i *)(pb->qs + 32 * (8 * (2 * j) + g)), lo);
			_mm256_storeu_si256((__m256i *)(pb->qs + 32 * (8 * (2 * j + 1) + g)), hi);
		}
	}
}

/* Run 4 half + k of q6_K: a nibble of ql (k = 0, 2 from its first 32
 * bytes, 1, 3 from the next) and bits 2k of qh, less 32. */
LT_AVX2 static inline void x86_q6_K_runs(struct x86_kpanel_block *pb,
					 const uint8_t *const row[8], __m256i *bias)
{
	const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(3);
	const __m256i off = _mm256_set1_epi8(32);
	for (int half = 0; half < 2; half++) {
		__m256i l[2][8], h[8], q[8];
		x86_gather32_rows(row, offsetof(struct block_q6_K, qh) + 32 * half, h);
		x86_gather32_rows(row, offsetof(struct block_q6_K, ql) + 64 * half, l[0]);
		x86_gather32_rows(row, offsetof(struct block_q6_K, ql) + 64 * half + 32, l[1]);
		for (int k = 0; k < 4; k++) {
			for (int g = 0; g < 8; g++) {
				const __m256i nib = x86_bits(l[k % 2][g], k < 2 ? 0 : 4, m4);
				const __m256i top = _mm256_slli_epi16(x86_bits(h[g], 2 * k, m2), 4);
				q[g] = _mm256_sub_epi8(_mm256_or_si256(nib, top), off);
			}
			x86_kpanel_put_run(pb, 4 * half + k, q, bias);
		}
	}
}

/* Run 4 half + k of q3_K: bits 2k of qs, less 4 where bit 4 half + k of
 * hmask is clear. */
LT_AVX2 static inline void x86_q3_K_runs(struct x86_kpanel_block *pb,
					 const uint8_t *const row[8], __m256i *bias)
{
	const __m256i m2 = _mm256_set1_epi8(3), m1 = _mm256_set1_epi8(1);
	__m256i h[8], l[8], q[8];
	x86_gather32_rows(row, offsetof(struct block_q3_K, hmask), h);
	for (int half = 0; half < 2; half++) {
		x86_gather32_rows(row, offsetof(struct block_q3_K, qs) + 32 * half, l);
		for (int k = 0; k < 4; k++) {
			for (int g = 0; g < 8; g++) {
				const __m256i set = x86_bits(h[g], 4 * half + k, m1);
				const __m256i clear = _mm256_xor_si256(set, m1);
				q[g] = _mm256_sub_epi8(x86_bits(l[g], 2 * k, m2),
						       _mm256_slli_epi16(clear, 2));
			}
			x86_kpanel_put_run(pb, 4 * half + k, q, bias);
		}
	}
}

/* Run 4 half + k of q2_K: bits 2k of qs. */
LT_AVX2 static inline void x86_q2_K_runs(struct x86_kpanel_block *pb,
					 const uint8_t *const row[8])
{
	const __m256i m2 = _mm256_set1_epi8(3);
	__m256i l[8], q[8];
	for (int half = 0; half < 2; half++) {
		x86_gather32_rows(row, offsetof(struct block_q2_K, qs) + 32 * half, l);
		for (int k = 0; k < 4; k++) {
			for (int g = 0; g < 8; g++)
				q[g] = x86_bits(l[g], 2 * k, m2);
			x86_kpanel_put_run(pb, 4 * half + k, q, NULL);
		}
	}
}

/* x86_kpanel_meta of q4_K and q5_K (whose heads are alike) or q6_K, for
 * the eight rows at once: their scale bytes transposed so that lane i is
 * row i, the layout of the panel's scales and mins. */
LT_AVX2 static inline __attribute__((always_inline)) void
x86_kpanel_meta8(struct x86_kpanel_block *pb, const uint8_t *const row[8], int kind)
{
	__m256i h[4];
	if (kind == X86_K6) {
		x86_gather16_rows(row, offsetof(struct block_q6_K, scales), h);
#pragma GCC unroll 16
		for (int s = 0; s < 16; s++)
			_mm256_storeu_si256((__m256i *)pb->sc[s],
					    x86_lane_sbyte_pair(h[s / 4], s % 4));
		_mm256_storeu_ps(pb->d, x86_rows_f16(row, offsetof(struct block_q6_K, d)));
		return;
	}
	_Static_assert(offsetof(struct block_q4_K, scales) == offsetof(struct block_q5_K, scales) &&
			       offsetof(struct block_q4_K, scales) == 4 &&
			       offsetof(struct block_q5_K, dmin) == 2,
		       "q4_K and q5_K heads");
	x86_gather16_rows(row, 0, h);
	__m256i sc03, mn03, sc47, mn47;
	x86_k4_scales8(h, &sc03, &mn03, &sc47, &mn47);
#pragma GCC unroll 4
	for (int j = 0; j < 4; j++) {
		_mm256_storeu_si256((__m256i *)pb->sc[j], x86_lane_byte_pair(sc03, j));
		_mm256_storeu_si256((__m256i *)pb->sc[j + 4], x86_lane_byte_pair(sc47, j));
	}
	/* The mins in the activation's order of sums: (0, 2), (1, 3), (4, 6), (5, 7). */
	_mm256_storeu_si256((__m256i *)pb->mn[0], x86_lane_byte_pair2(mn03, 0, 2));
	_mm256_storeu_si256((__m256i *)pb->mn[1], x86_lane_byte_pair2(mn03, 1, 3));
	_mm256_storeu_si256((__m256i *)pb->mn[2], x86_lane_byte_pair2(mn47, 0, 2));
	_mm256_storeu_si256((__m256i *)pb->mn[3], x86_lane_byte_pair2(mn47, 1, 3));
	/* d in the low half of each lane of h[0], dmin in the high. */
	const __m256i dd = _mm256_permute4x64_epi64(
		_mm256_packus_epi32(_mm256_and_si256(h[0], _mm256_set1_epi32(0xffff)),
				    _mm256_srli_epi32(h[0], 16)),
		0xd8);
	_mm256_storeu_ps(pb->d, _mm256_cvtph_ps(_mm256_castsi256_si128(dd)));
	_mm256_storeu_ps(pb->dmin, _mm256_cvtph_ps(_mm256_extracti128_si256(dd, 1)));
}

/* Packs eight rows: the scales and mins (of all rows at once where
 * x86_kpanel_meta8 knows the type), then the quants of all rows at once,
 * transposed as they are stored and unpacked after. */
LT_AVX2 static inline __attribute__((always_inline)) void
x86_kpanel_pack(int64_t n, const void *w, size_t w_stride, int n_rows, void *panel, int kind,
		size_t blk_bytes, int groups)
{
	/* Missing rows read a block of zeros; their lanes are never stored. */
	static const _Alignas(32) uint8_t zero[sizeof(struct block_q6_K)];
	_Static_assert(sizeof(struct block_q6_K) >= sizeof(struct block_q5_K), "zero block size");
	static const size_t q5_qh = offsetof(struct block_q5_K, qh);
	const size_t q4_qs = offsetof(struct block_q4_K, qs), q5_qs = offsetof(struct block_q5_K, qs);
	struct x86_kpanel_block *p = panel;
	const int64_t nb = n / QK_K;
	for (int64_t b = 0; b < nb; b++) {
		/* The rows come from memory once per batch, and eight row
		 * streams defeat the hardware prefetcher: the next panel's
		 * rows (which ops_matmul runs next on one thread, on another
		 * on two), one run of memory, are asked for while this one
		 * packs, and have arrived by the time its pack starts after
		 * this gemm. (Into L2 only, the pack of a 110M model took a
		 * third longer.) */
		const uint8_t *last =
			(const uint8_t *)w + (size_t)(groups - 1) * X86_PANEL_ROWS * w_stride;
		for (int k = 0; k < groups; k++)
			x86_prefetch_next_group(last, w_stride, groups * b + k, blk_bytes);
		for (int h = 0; h < groups; h++) {
			struct x86_kpanel_block *pb = p + h * nb + b;
			const uint8_t *row[X86_PANEL_ROWS];
			for (int i = 0; i < X86_PANEL_ROWS; i++) {
				const int r = h * X86_PANEL_ROWS + i;
				row[i] = r < n_rows ? (const uint8_t *)w + (size_t)r * w_stride +
							      (size_t)b * blk_bytes
						    : zero;
				if (kind == X86_K3 || kind == X86_K2)
					x86_kpanel_meta(pb, i, row[i], kind);
			}
			if (kind != X86_K3 && kind != X86_K2)
				x86_kpanel_meta8(pb, row, kind);
			__m256i bias = _mm256_setzero_si256();
			switch (kind) {
			case X86_K4: x86_k45_runs(pb, row, q4_qs, NULL); break;
			case X86_K5: x86_k45_runs(pb, row, q5_qs, &q5_qh); break;
			case X86_K6: x86_q6_K_runs(pb, row, &bias); break;
			case X86_K3: x86_q3_K_runs(pb, row, &bias); break;
			default: x86_q2_K_runs(pb, row); break;
			}
			_mm256_storeu_si256((__m256i *)pb->bias, _mm256_slli_epi32(bias, 7));
		}
	}
}

/* The integer sum of one 32-position run of eight rows against one token's
 * 32 activations at aq, each sub-block weighted by its scale: sc0 for the
 * first 16 positions, sc1 for the last (the same vector for 32-element
 * sub-blocks). 16-bit lanes add as many maddubs as stay below 32768:
 * q4_K eight (16 * 15 * 127), q5_K four (8 * 31 * 127), q3_K and q2_K a
 * sub-block's four (8 * 4 * 255, 8 * 3 * 127), q6_K two (4 * 32 * 255). */
LT_AVX2 static inline __attribute__((always_inline)) __m256i
x86_kpanel_run(const __m256i w[8], const uint8_t *aq, __m256i sc0, __m256i sc1, int kind)
{
	__m256i p[8];
#pragma GCC unroll 8
	for (int g = 0; g < 8; g++) {
		const __m256i a = x86_bcast4((const int8_t *)aq + 4 * g);
		p[g] = kind == X86_K6 || kind == X86_K3 ? _mm256_maddubs_epi16(a, w[g])
							: _mm256_maddubs_epi16(w[g], a);
	}
	__m256i s2[4];
#pragma GCC unroll 4
	for (int i = 0; i < 4; i++)
		s2[i] = _mm256_add_epi16(p[2 * i], p[2 * i + 1]);
	if (kind == X86_K6)
		return _mm256_add_epi32(_mm256_add_epi32(_mm256_madd_epi16(s2[0], sc0),
							 _mm256_madd_epi16(s2[1], sc0)),
					_mm256_add_epi32(_mm256_madd_epi16(s2[2], sc1),
							 _mm256_madd_epi16(s2[3], sc1)));
	const __m256i lo = _mm256_add_epi16(s2[0], s2[1]), hi = _mm256_add_epi16(s2[2], s2[3]);
	if (kind == X86_K4)
		return _mm256_madd_epi16(_mm256_add_epi16(lo, hi), sc0);
	return _mm256_add_epi32(_mm256_madd_epi16(lo, sc0), _mm256_madd_epi16(hi, sc1));
}

/* The gemm, as every variant's 256-bit k-quant panels share it. */
#define X86_TARGET LT_AVX2
#define X86_FN(name) x86_##name
#define X86_KRUN x86_kpanel_run
#define X86_KSCALE(v) (v)
#include "quant_x86_kgemm.h"
#undef X86_TARGET
#undef X86_FN
#undef X86_KRUN
#undef X86_KSCALE

#define X86_DEFINE_KPANEL(pack_name, gemm_name, BTYPE, KIND)                                 \
	LT_AVX2 static void pack_name(int64_t n, const void *w, size_t w_stride, int n_rows,  \
				      void *panel)                                             \
	{                                                                                      \
		x86_kpanel_pack(n, w, w_stride, n_rows, panel, KIND, sizeof(BTYPE), 1);        \
	}                                                                                      \
	LT_AVX2 static void pack_name##32(int64_t n, const void *w, size_t w_stride,           \
					  int n_rows, void *panel)                             \
	{                                                                                      \
		x86_kpanel_pack(n, w, w_stride, n_rows, panel, KIND, sizeof(BTYPE), 4);        \
	}                                                                                      \
	LT_AVX2 static void gemm_name(int64_t n, const void *panel, const void *act,           \
				      size_t a_stride, int n_tok, float *y, size_t ldy,        \
				      int n_rows)                                              \
	{                                                                                      \
		x86_kpanel_gemm(n, panel, act, a_stride, n_tok, y, ldy, n_rows, KIND);         \
	}

X86_DEFINE_KPANEL(x86_q2_K_panel_pack, x86_q2_K_panel_gemm, struct block_q2_K, X86_K2)
X86_DEFINE_KPANEL(x86_q3_K_panel_pack, x86_q3_K_panel_gemm, struct block_q3_K, X86_K3)
X86_DEFINE_KPANEL(x86_q4_K_panel_pack, x86_q4_K_panel_gemm, struct block_q4_K, X86_K4)
X86_DEFINE_KPANEL(x86_q5_K_panel_pack, x86_q5_K_panel_gemm, struct block_q5_K, X86_K5)
X86_DEFINE_KPANEL(x86_q6_K_panel_pack, x86_q6_K_panel_gemm, struct block_q6_K, X86_K6)

/* Activation and panel bytes per 32 elements. */
#define X86_KACT(ACT) (sizeof(struct ACT) / (QK_K / 32))
#define X86_KBLOCK (sizeof(struct x86_kpanel_block) / (QK_K / 32))

static const struct quant_panel x86_kpanels[GGML_TYPE_COUNT] = {
	[GGML_TYPE_Q2_K] = { X86_PANEL_ROWS, X86_KACT(x86_kpanel_act16), X86_KBLOCK,
			     x86_kpanel_act16_from_float, x86_q2_K_panel_pack,
			     x86_q2_K_panel_gemm, NULL },
	[GGML_TYPE_Q3_K] = { X86_PANEL_ROWS, X86_KACT(x86_kpanel_actu), X86_KBLOCK,
			     x86_kpanel_actu_from_float, x86_q3_K_panel_pack,
			     x86_q3_K_panel_gemm, NULL },
	[GGML_TYPE_Q4_K] = { X86_PANEL_ROWS, X86_KACT(x86_kpanel_act), X86_KBLOCK,
			     x86_kpanel_act_from_float, x86_q4_K_panel_pack,
			     x86_q4_K_panel_gemm, x86_q4_K_panel_gemv },
	[GGML_TYPE_Q5_K] = { X86_PANEL_ROWS, X86_KACT(x86_kpanel_act), X86_KBLOCK,
			     x86_kpanel_act_from_float, x86_q5_K_panel_pack,
			     x86_q5_K_panel_gemm, NULL },
	[GGML_TYPE_Q6_K] = { X86_PANEL_ROWS, X86_KACT(x86_kpanel_actu), X86_KBLOCK,
			     x86_kpanel_actu_from_float, x86_q6_K_panel_pack,
			     x86_q6_K_panel_gemm, NULL },
};

const struct quant_panel *quant_x86_kpanel(enum ggml_type type)
{
	if ((unsigned)type >= GGML_TYPE_COUNT || !quant_x86(type) ||
	    (!x86_kpanels[type].gemm && !x86_kpanels[type].gemv))
		return NULL;
	return &x86_kpanels[type];
}

/* Decode on thirty-two rows: the kernel of eight, up to four times. */
static void x86_q4_K_panel_gemv32(int64_t n, const void *w, size_t w_stride, int n_rows,
				  const void *act, float *y)
{
	for (int r = 0; r < n_rows; r += X86_PANEL_ROWS)
		x86_q4_K_panel_gemv(n, (const uint8_t *)w + (size_t)r * w_stride, w_stride,
				    n_rows - r < X86_PANEL_ROWS ? n_rows - r : X86_PANEL_ROWS, act,
				    y + r);
}

/* Panels of thirty-two rows: four of eight, one after the other. */
#define X86_KPANEL32(ACT, T, GEMV)                                                            \
	{ 4 * X86_PANEL_ROWS, X86_KACT(ACT), 4 * X86_KBLOCK, ACT##_from_float,                \
	  x86_##T##_panel_pack32, NULL, GEMV }

static const struct quant_panel x86_kpanels32[GGML_TYPE_COUNT] = {
	[GGML_TYPE_Q2_K] = X86_KPANEL32(x86_kpanel_act16, q2_K, NULL),
	[GGML_TYPE_Q3_K] = X86_KPANEL32(x86_kpanel_actu, q3_K, NULL),
	[GGML_TYPE_Q4_K] = X86_KPANEL32(x86_kpanel_act, q4_K, x86_q4_K_panel_gemv32),
	[GGML_TYPE_Q5_K] = X86_KPANEL32(x86_kpanel_act, q5_K, NULL),
	[GGML_TYPE_Q6_K] = X86_KPANEL32(x86_kpanel_actu, q6_K, NULL),
};

const struct quant_panel *quant_x86_kpanel32(enum ggml_type type)
{
	if (!quant_x86_kpanel(type) || !x86_kpanels32[type].pack)
		return NULL;
	return &x86_kpanels32[type];
}

#endif
