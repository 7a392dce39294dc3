/* Kernels whose vector lanes are weight rows (see struct quant_panel):
 * prefill panels for q4_0, q8_0 and f32 weights, decode kernels for q4_0
 * and q8_0. The k-quants have theirs in quant_x86_kpanel.c.
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

X86_DEFINE_FLOAT_PANEL_PACK(x86_f32_panel_pack, LT_AVX2, float, x86_f32_load8,
			    X86_F32_PANEL_ROWS)

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

/* f32 decode: rows read in place, four at a time with two chains each, so
 * that eight sums are in flight while the rows stream from memory (avx2's
 * tile gemv keeps one chain a row, to equal vec_dot bit for bit). */
LT_AVX2 static void x86_f32_panel_gemv(int64_t n, const void *w, size_t w_stride, int n_rows,
				       const void *act, float *y)
{
	const float *x = act;
	int r = 0;
	for (; r + 4 <= n_rows; r += 4) {
		const float *w0 = (const float *)((const uint8_t *)w + (size_t)r * w_stride);
		const float *w1 = (const float *)((const uint8_t *)w0 + w_stride);
		const float *w2 = (const float *)((const uint8_t *)w1 + w_stride);
		const float *w3 = (const float *)((const uint8_t *)w2 + w_stride);
		__m256 a0 = _mm256_setzero_ps(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0;
		__m256 a3 = a0, b3 = a0;
		int64_t k = 0;
		for (; k + 16 <= n; k += 16) {
			const __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
			a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + k), x0, a0);
			b0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + k + 8), x1, b0);
			a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + k), x0, a1);
			b1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + k + 8), x1, b1);
			a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + k), x0, a2);
			b2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + k + 8), x1, b2);
			a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + k), x0, a3);
			b3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + k + 8), x1, b3);
		}
		float s0 = x86_hsum_ps(_mm256_add_ps(a0, b0)), s1 = x86_hsum_ps(_mm256_add_ps(a1, b1));
		float s2 = x86_hsum_ps(_mm256_add_ps(a2, b2)), s3 = x86_hsum_ps(_mm256_add_ps(a3, b3));
		for (; k < n; k++) {
			s0 += w0[k] * x[k];
			s1 += w1[k] * x[k];
			s2 += w2[k] * x[k];
			s3 += w3[k] * x[k];
		}
		y[r] = s0, y[r + 1] = s1, y[r + 2] = s2, y[r + 3] = s3;
	}
	for (; r < n_rows; r++) {
		const float *w0 = (const float *)((const uint8_t *)w + (size_t)r * w_stride);
		__m256 a0 = _mm256_setzero_ps(), b0 = a0;
		int64_t k = 0;
		for (; k + 16 <= n; k += 16) {
			a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + k), _mm256_loadu_ps(x + k), a0);
			b0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + k + 8), _mm256_loadu_ps(x + k + 8),
					     b0);
		}
		float s0 = x86_hsum_ps(_mm256_add_ps(a0, b0));
		for (; k < n; k++)
			s0 += w0[k] * x[k];
		y[r] = s0;
	}
}

static const struct quant_panel x86_panels[GGML_TYPE_COUNT] = {
	[GGML_TYPE_F32] = { X86_F32_PANEL_ROWS, 32 * sizeof(float),
			    32 * X86_F32_PANEL_ROWS * sizeof(float), NULL, x86_f32_panel_pack,
			    x86_f32_panel_gemm, x86_f32_panel_gemv },
	[GGML_TYPE_Q4_0] = { X86_PANEL_ROWS, sizeof(struct x86_panel_act),
			     sizeof(struct x86_panel_block), x86_panel_act_from_float,
			     x86_q4_0_panel_pack, x86_q4_0_panel_gemm, x86_q4_0_panel_gemv },
	[GGML_TYPE_Q8_0] = { X86_PANEL_ROWS, sizeof(struct x86_panel_act8),
			     sizeof(struct x86_panel_block), x86_panel_act8_from_float,
			     x86_q8_0_panel_pack, x86_q8_0_panel_gemm, x86_q8_0_panel_gemv },
};

const struct quant_panel *quant_x86_panel(enum ggml_type type)
{
	if (!quant_x86(type))
		return NULL;
	if (!x86_panels[type].gemm && !x86_panels[type].gemv)
		return quant_x86_kpanel(type);
	return &x86_panels[type];
}

#endif
