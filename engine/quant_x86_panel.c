/* Kernels whose vector lanes are weight rows (see struct quant_panel):
 * prefill panels for q4_0, q8_0 and f32 weights, decode kernels for q4_0,
 * q8_0 and q4_K.
 *
 * A row-by-token block kernel spends, per pair and per block of 32, one
 * maddubs, one widening madd, one conversion and one multiply-add, and the
 * last three only fold eight lanes that all belong to the same pair. Here
 * the lanes are eight different rows: a panel block holds, for each group
 * of four positions, the four weights of row 0, then row 1, ... row 7, and
 * the token's four activations are broadcast against it. The widening, the
 * conversion and the scaling then happen once per eight pairs.
 *
 * q4_0 nibbles stay unsigned (0..15) and meet signed activations in maddubs;
 * the bias of 8 comes off as 8 * sum(activations) of the block, which the
 * activation quantizer stores. Eight groups of 16-bit pair sums fit in 16
 * bits (8 * 2 * 15 * 127 < 32767), so one madd widens the whole block.
 * q8_0 weights move their sign onto the activation as in vec_dot and widen
 * after each group, since two groups could overflow. */
#include "quant_x86.h"

#if defined(__x86_64__) || defined(__i386__)

#include "quant_x86_panel_impl.h"

/* The same for q8_0 weights, with the magnitudes of the quants ready for
 * maddubs. */
struct x86_panel_act8 {
	float d;
	int32_t unused;
	int8_t qs[32];
	uint8_t mag[32]; /* |qs| */
};
_Static_assert(sizeof(struct x86_panel_act8) == 72, "x86_panel_act8 size");

LT_AVX2 static void x86_panel_act_from_float(const float *x, void *dst, int64_t n)
{
	x86_panel_act_fill(x, dst, n, 8);
}

LT_AVX2 static void x86_panel_act8_from_float(const float *x, void *dst, int64_t n)
{
	struct x86_panel_act8 *a = dst;
	for (int64_t i = 0; i < n / 32; i++, x += 32) {
		a[i].d = fp16_to_f32(f32_to_fp16(x86_q8_block(x, a[i].qs, NULL)));
		a[i].unused = 0;
		const __m256i q = _mm256_loadu_si256((const __m256i *)a[i].qs);
		_mm256_storeu_si256((__m256i *)a[i].mag, _mm256_sign_epi8(q, q));
	}
}

X86_DEFINE_PANEL_PACK(x86_q4_0_panel_pack, LT_AVX2, struct x86_panel_block, x86_q4_0_row)
X86_DEFINE_PANEL_PACK(x86_q8_0_panel_pack, LT_AVX2, struct x86_panel_block, x86_q8_0_row)

/* The integer block sum of the panel's eight rows against one token. */
LT_AVX2 static inline __m256i x86_q4_0_panel_isum(const __m256i w[8],
						  const struct x86_panel_act *a)
{
	__m256i s = _mm256_maddubs_epi16(w[0], x86_bcast4(a->qs));
#pragma GCC unroll 8
	for (int g = 1; g < 8; g++)
		s = _mm256_add_epi16(s, _mm256_maddubs_epi16(w[g], x86_bcast4(a->qs + 4 * g)));
	return _mm256_sub_epi32(_mm256_madd_epi16(s, _mm256_set1_epi16(1)),
				_mm256_set1_epi32(a->bsum));
}

LT_AVX2 static inline __m256i x86_q8_0_panel_isum(const __m256i w[8],
						  const struct x86_panel_act8 *a)
{
	const __m256i ones = _mm256_set1_epi16(1);
	__m256i s = _mm256_setzero_si256();
#pragma GCC unroll 8
	for (int g = 0; g < 8; g++) {
		const __m256i y = x86_bcast4(a->qs + 4 * g);
		const __m256i p = _mm256_maddubs_epi16(x86_bcast4((const int8_t *)a->mag + 4 * g),
						       _mm256_sign_epi8(w[g], y));
		s = _mm256_add_epi32(s, _mm256_madd_epi16(p, ones));
	}
	return s;
}

X86_DEFINE_PANEL_GEMM(x86_q4_0_panel_gemm, LT_AVX2, struct x86_panel_act, x86_q4_0_panel_isum)
X86_DEFINE_PANEL_GEMM(x86_q8_0_panel_gemm, LT_AVX2, struct x86_panel_act8, x86_q8_0_panel_isum)

X86_DEFINE_PANEL_GEMV(x86_q4_0_panel_gemv, LT_AVX2, struct block_q4_0, x86_q4_0_rowq, struct x86_panel_act,
		      x86_q4_0_panel_isum)
X86_DEFINE_PANEL_GEMV(x86_q8_0_panel_gemv, LT_AVX2, struct block_q8_0, x86_q8_0_rowq, struct x86_panel_act8,
		      x86_q8_0_panel_isum)

/* ---------------------------------------------------------------- q4_K decode
 *
 * The same idea for q4_K: eight rows of a super-block at once, lanes are
 * rows. Each row's 16-byte head (d, dmin, twelve bytes of scales and mins)
 * and each 32-byte run of nibbles is read as two 16-byte halves, row r in
 * the low 128 bits and row r+4 in the high ones, so a 4 x 4 transpose that
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

/* One super-block of 256 activations, quantized byte for byte as the q8_K
 * activation quantizer does, with the eight 32-element group sums in the
 * order the mins term reads them: groups (0, 2), (1, 3), (4, 6), (5, 7) as
 * 16-bit pairs. */
struct x86_kpanel_act {
	float d;
	int16_t gsum[8];
	int32_t unused[3]; /* pads the block to 36 bytes per 32 elements */
	int8_t qs[QK_K];
};
_Static_assert(sizeof(struct x86_kpanel_act) == 36 * (QK_K / 32), "x86_kpanel_act size");

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

/* The integer sums of one super-block of eight rows: *isum the scaled
 * quant sums, *msum the mins against the group sums. */
LT_AVX2 static inline void x86_q4_K_panel_isum(const uint8_t *const row[8], size_t off,
					       const struct x86_kpanel_act *a, __m256i *isum,
					       __m256i *msum, __m256i *dd)
{
	const __m256i low4 = _mm256_set1_epi8(0x0f), low2 = _mm256_set1_epi8(0x03);
	const __m256i low6 = _mm256_set1_epi8(0x3f);
	__m256i h[4];
	x86_gather16_rows(row, off, h);
	/* h[0] holds d and dmin, h[1..3] the scale bytes 0-3, 4-7, 8-11. */
	*dd = h[0];
	const __m256i sc03 = _mm256_and_si256(h[1], low6);
	const __m256i mn03 = _mm256_and_si256(h[2], low6);
	const __m256i sc47 = _mm256_or_si256(
		_mm256_and_si256(h[3], low4),
		_mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h[1], 6), low2), 4));
	const __m256i mn47 = _mm256_or_si256(
		_mm256_and_si256(_mm256_srli_epi32(h[3], 4), low4),
		_mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h[2], 6), low2), 4));

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

/* Float weights: sixteen rows by six tokens, twelve accumulators. The
 * panel holds, for each position k, the sixteen rows' weights side by side,
 * so each multiply-add covers eight rows and the activations are single
 * broadcasts: per position two panel loads and six broadcasts feed twelve
 * FMAs, where a row-by-token tile streams both operands as vectors and
 * runs out of cache bandwidth first. Sums run in position order per row,
 * not in eight lanes as vec_dot's, so results agree to rounding. */
#define X86_F32_PANEL_TOKENS 6

LT_AVX2 static inline __m256i x86_f32_load8(const float *p)
{
	return _mm256_loadu_si256((const __m256i *)p);
}

X86_DEFINE_FLOAT_PANEL_PACK(x86_f32_panel_pack, LT_AVX2, float, x86_f32_load8)

/* Stores the sixteen rows of one token, or the first n_rows of them. */
LT_AVX2 static inline void x86_f32_panel_store(float *y, __m256 lo, __m256 hi, int n_rows)
{
	if (n_rows == X86_F32_PANEL_ROWS) {
		_mm256_storeu_ps(y, lo);
		_mm256_storeu_ps(y + 8, hi);
		return;
	}
	_Alignas(32) float v[X86_F32_PANEL_ROWS];
	_mm256_store_ps(v, lo);
	_mm256_store_ps(v + 8, hi);
	memcpy(y, v, sizeof(float) * (size_t)n_rows);
}

/* count (1..6) tokens from token t on, two accumulators each. Every
 * accumulator is a running sum over the positions in order, so a token's
 * result does not depend on how many tokens share its pass. Inlined with a
 * constant count, the arrays live in registers. */
LT_AVX2 static inline __attribute__((always_inline)) void
x86_f32_panel_pass(int64_t n, const float *p, const void *act, size_t a_stride, int t, int count,
		   float *y, size_t ldy, int n_rows)
{
	const float *a[X86_F32_PANEL_TOKENS];
	__m256 lo[X86_F32_PANEL_TOKENS], hi[X86_F32_PANEL_TOKENS];
#pragma GCC unroll 6
	for (int i = 0; i < count; i++) {
		a[i] = (const float *)((const uint8_t *)act + (size_t)(t + i) * a_stride);
		lo[i] = hi[i] = _mm256_setzero_ps();
	}
	for (int64_t k = 0; k < n; k++) {
		const __m256 w0 = _mm256_loadu_ps(p + k * X86_F32_PANEL_ROWS);
		const __m256 w1 = _mm256_loadu_ps(p + k * X86_F32_PANEL_ROWS + 8);
#pragma GCC unroll 6
		for (int i = 0; i < count; i++) {
			const __m256 v = _mm256_broadcast_ss(a[i] + k);
			lo[i] = _mm256_fmadd_ps(w0, v, lo[i]);
			hi[i] = _mm256_fmadd_ps(w1, v, hi[i]);
		}
	}
#pragma GCC unroll 6
	for (int i = 0; i < count; i++)
		x86_f32_panel_store(y + (size_t)(t + i) * ldy, lo[i], hi[i], n_rows);
}

LT_AVX2 static void x86_f32_panel_gemm(int64_t n, const void *panel, const void *act,
				       size_t a_stride, int n_tok, float *y, size_t ldy, int n_rows)
{
	const float *p = panel;
	int t = 0;
	for (; t + X86_F32_PANEL_TOKENS <= n_tok; t += X86_F32_PANEL_TOKENS)
		x86_f32_panel_pass(n, p, act, a_stride, t, X86_F32_PANEL_TOKENS, y, ldy, n_rows);
	/* The last few tokens in one pass too: one token alone would wait on
	 * its two chains of multiply-adds. */
	switch (n_tok - t) {
	case 5: x86_f32_panel_pass(n, p, act, a_stride, t, 5, y, ldy, n_rows); break;
	case 4: x86_f32_panel_pass(n, p, act, a_stride, t, 4, y, ldy, n_rows); break;
	case 3: x86_f32_panel_pass(n, p, act, a_stride, t, 3, y, ldy, n_rows); break;
	case 2: x86_f32_panel_pass(n, p, act, a_stride, t, 2, y, ldy, n_rows); break;
	case 1: x86_f32_panel_pass(n, p, act, a_stride, t, 1, y, ldy, n_rows); break;
	default: break;
	}
}

static const struct quant_panel x86_panels[GGML_TYPE_COUNT] = {
	[GGML_TYPE_F32] = { X86_F32_PANEL_ROWS, 32 * sizeof(float),
			    32 * X86_F32_PANEL_ROWS * sizeof(float), NULL, x86_f32_panel_pack,
			    x86_f32_panel_gemm, NULL },
	[GGML_TYPE_Q4_0] = { X86_PANEL_ROWS, sizeof(struct x86_panel_act),
			     sizeof(struct x86_panel_block), x86_panel_act_from_float,
			     x86_q4_0_panel_pack, x86_q4_0_panel_gemm, x86_q4_0_panel_gemv },
	[GGML_TYPE_Q8_0] = { X86_PANEL_ROWS, sizeof(struct x86_panel_act8),
			     sizeof(struct x86_panel_block), x86_panel_act8_from_float,
			     x86_q8_0_panel_pack, x86_q8_0_panel_gemm, x86_q8_0_panel_gemv },
	/* Decode only: prefill keeps the q4_K tiles. */
	[GGML_TYPE_Q4_K] = { X86_PANEL_ROWS, sizeof(struct x86_kpanel_act) / (QK_K / 32), 0,
			     x86_kpanel_act_from_float, NULL, NULL, x86_q4_K_panel_gemv },
};

const struct quant_panel *quant_x86_panel(enum ggml_type type)
{
	if (!quant_x86(type) || (!x86_panels[type].gemm && !x86_panels[type].gemv))
		return NULL;
	return &x86_panels[type];
}

#endif
