/* The layout and loops of the x86 panel kernels for q4_0 and q8_0 weights
 * (struct quant_panel), shared by the variants: quant_x86_panel.c (avx2)
 * and quant_x86_vnni.c (avx-vnni, avx512-vnni) instantiate the pack, gemm
 * and gemv macros with their own target attribute and integer block sum
 * ISUM(w, act), which takes the eight transposed 4-byte groups of a block
 * of eight rows and returns the eight rows' exact sums. Internal to those
 * files. */
#ifndef LT_QUANT_X86_PANEL_IMPL_H
#define LT_QUANT_X86_PANEL_IMPL_H

#include "quant_x86_impl.h"

/* One block of 32 activations. */
struct x86_panel_act {
	float d;        /* scale */
	int32_t bsum;   /* bias * sum(qs), for weights stored with an offset */
	int8_t qs[32];  /* quants, as the q8_0 activation quantizer rounds them */
};
_Static_assert(sizeof(struct x86_panel_act) == 40, "x86_panel_act size");

/* One block of 32 positions of eight weight rows: 8.0 bits per weight plus
 * a float scale per row, 9 bits per weight in all. */
struct x86_panel_block {
	int8_t qs[8 * 32]; /* group g, row r, byte j at 32 * g + 4 * r + j */
	float d[X86_PANEL_ROWS];
};
_Static_assert(sizeof(struct x86_panel_block) == 288, "x86_panel_block size");

/* Quantizes n floats into activation blocks whose bsum is bias * sum(qs),
 * the term that takes a weight offset of bias back off the block's sum. */
LT_AVX2 static inline void x86_panel_act_fill(const float *x, void *dst, int64_t n, int bias)
{
	struct x86_panel_act *a = dst;
	for (int64_t i = 0; i < n / 32; i++, x += 32) {
		int sum;
		a[i].d = fp16_to_f32(f32_to_fp16(x86_q8_block(x, a[i].qs, &sum)));
		a[i].bsum = bias * sum;
	}
}

/* The weights of one row block as 32 bytes in element order. */
typedef __m256i (*x86_panel_row_fn)(const void *row, int64_t b, float *d);

LT_AVX2 static inline __m256i x86_q4_0_row(const void *row, int64_t b, float *d)
{
	const struct block_q4_0 *x = (const struct block_q4_0 *)row + b;
	*d = x86_h2f(x->d);
	return x86_nibbles(x->qs);
}

LT_AVX2 static inline __m256i x86_q8_0_row(const void *row, int64_t b, float *d)
{
	const struct block_q8_0 *x = (const struct block_q8_0 *)row + b;
	*d = x86_h2f(x->d);
	return _mm256_loadu_si256((const __m256i *)x->qs);
}

/* Packs rows into blocks of type BLOCK (qs and d, the rows per panel the
 * length of d: a multiple of 8), eight rows at a time: group g of row r at
 * qs[4 * ROWS * g + 4 * r]. The rows come from memory once per batch: the
 * next panel's, a block of each per step, are asked for while this one
 * packs (as the k-quant packs do). That panel is often another thread's,
 * which then finds it in the shared cache. */
#define X86_DEFINE_PANEL_PACK(name, TARGET, BLOCK, ROW)                                    \
	TARGET static void name(int64_t n, const void *w, size_t w_stride, int n_rows,     \
				void *panel)                                               \
	{                                                                                  \
		BLOCK *p = panel;                                                          \
		enum { ROWS_ = sizeof(p->d) / sizeof(p->d[0]) };                           \
		const int64_t nb_ = n / 32;                                                \
		const size_t step_ = nb_ > 0 ? ROWS_ * (w_stride / (size_t)nb_) : 0;       \
		for (int64_t b = 0; b < nb_; b++) {                                        \
			x86_prefetch_next_rows(w, w_stride, ROWS_, b, step_);              \
			for (int h = 0; h < ROWS_; h += 8) {                               \
				__m256i r[8];                                              \
				_Pragma("GCC unroll 8")                                    \
				for (int i = 0; i < 8; i++) {                              \
					p[b].d[h + i] = 0;                                 \
					r[i] = h + i < n_rows                              \
						       ? ROW((const uint8_t *)w +          \
								     (h + i) * w_stride,   \
							     b, &p[b].d[h + i])            \
						       : _mm256_setzero_si256();           \
				}                                                          \
				x86_transpose8_epi32(r);                                   \
				_Pragma("GCC unroll 8")                                    \
				for (int g = 0; g < 8; g++)                                \
					_mm256_storeu_si256(                               \
						(__m256i *)(p[b].qs + 4 * ROWS_ * g + 4 * h), \
						r[g]);                                     \
			}                                                                  \
		}                                                                          \
	}

#define X86_DEFINE_PANEL_GEMM(name, TARGET, ACT, ISUM)                                             \
	TARGET static void name(int64_t n, const void *panel, const void *act, size_t a_stride,  \
				 int n_tok, float *y, size_t ldy, int n_rows)                   \
	{                                                                                   \
		const struct x86_panel_block *p = panel;                                    \
		for (int t0 = 0; t0 < n_tok; t0 += X86_PANEL_TOKENS) {                       \
			const int nt = n_tok - t0 < X86_PANEL_TOKENS ? n_tok - t0               \
								     : X86_PANEL_TOKENS;        \
			__m256 acc[X86_PANEL_TOKENS];                                       \
			for (int t = 0; t < nt; t++)                                        \
				acc[t] = _mm256_setzero_ps();                               \
			const uint8_t *a0 = (const uint8_t *)act + (size_t)t0 * a_stride;   \
			for (int64_t b = 0; b < n / 32; b++) {                              \
				__m256i w[8];                                               \
				_Pragma("GCC unroll 8")                                     \
				for (int g = 0; g < 8; g++)                                 \
					w[g] = _mm256_loadu_si256(                          \
						(const __m256i *)(p[b].qs + 32 * g));       \
				const __m256 dw = _mm256_loadu_ps(p[b].d);                  \
				const uint8_t *ab = a0 + b * sizeof(ACT);                   \
				for (int t = 0; t < nt; t++, ab += a_stride) {              \
					const ACT *a = (const ACT *)ab;                     \
					                                            \
					const __m256i i = ISUM(w, a);                       \
					acc[t] = _mm256_fmadd_ps(                           \
						_mm256_cvtepi32_ps(i),                      \
						_mm256_mul_ps(dw, _mm256_set1_ps(a->d)),    \
						acc[t]);                                    \
				}                                                           \
			}                                                                   \
			for (int t = 0; t < nt; t++)                                        \
				x86_panel_store8(y + (size_t)(t0 + t) * ldy, acc[t], n_rows); \
		}                                                                           \
	}

/* Decode: one token against eight rows read in place, the same transpose
 * done in registers per block instead of into a panel. The scales of the
 * eight rows go into one vector with inserts; the rows past n_rows repeat
 * the last one and their lanes are not stored.
 *
 * Eight row streams defeat the hardware prefetcher, so the next group's
 * rows, one run in memory, are prefetched a block of all rows per step (a
 * prefetch past the matrix is harmless). */
#define X86_DEFINE_PANEL_GEMV(name, TARGET, BTYPE, ROWQ, ACT, ISUM)                             \
	TARGET static void name(int64_t n, const void *w, size_t w_stride, int n_rows,          \
				 const void *act, float *y)                                     \
	{                                                                                       \
		const BTYPE *row[X86_PANEL_ROWS];                                               \
		for (int i = 0; i < X86_PANEL_ROWS; i++)                                        \
			row[i] = (const BTYPE *)((const uint8_t *)w +                           \
						 (size_t)(i < n_rows ? i : n_rows - 1) * w_stride); \
		const ACT *a = act;                                                             \
		__m256 acc = _mm256_setzero_ps();                                               \
		for (int64_t b = 0; b < n / 32; b++) {                                          \
			x86_prefetch_next_group(w, w_stride, b, sizeof(BTYPE));                 \
			__m256i r[X86_PANEL_ROWS];                                              \
			_Pragma("GCC unroll 8")                                                 \
			for (int i = 0; i < X86_PANEL_ROWS; i++)                                \
				r[i] = ROWQ(row[i] + b);                                        \
			__m128i h = _mm_cvtsi32_si128(row[0][b].d);                             \
			h = _mm_insert_epi16(h, row[1][b].d, 1);                                \
			h = _mm_insert_epi16(h, row[2][b].d, 2);                                \
			h = _mm_insert_epi16(h, row[3][b].d, 3);                                \
			h = _mm_insert_epi16(h, row[4][b].d, 4);                                \
			h = _mm_insert_epi16(h, row[5][b].d, 5);                                \
			h = _mm_insert_epi16(h, row[6][b].d, 6);                                \
			h = _mm_insert_epi16(h, row[7][b].d, 7);                                \
			x86_transpose8_epi32(r);                                                \
			const __m256i i32 = ISUM(r, a + b);                                     \
			acc = _mm256_fmadd_ps(                                                  \
				_mm256_cvtepi32_ps(i32),                                        \
				_mm256_mul_ps(_mm256_cvtph_ps(h), _mm256_set1_ps(a[b].d)), acc); \
		}                                                                               \
		x86_panel_store8(y, acc, n_rows);                                               \
	}

LT_AVX2 static inline __m256i x86_q4_0_rowq(const struct block_q4_0 *x)
{
	return x86_nibbles(x->qs);
}

LT_AVX2 static inline __m256i x86_q8_0_rowq(const struct block_q8_0 *x)
{
	return _mm256_loadu_si256((const __m256i *)x->qs);
}


/* Float panels: for each position k the ROWS rows' weights side by side
 * as floats (avx2's panel holds sixteen rows, avx512-vnni's thirty-two),
 * packed eight rows by eight positions at a time from rows of ELEM, which
 * LOAD8(p) widens eight at a time into the bits of eight floats. The next
 * panel's rows are prefetched as X86_DEFINE_PANEL_PACK does (without it the
 * pack of a 1B F32 prompt of 64 tokens took 70% of the time, waiting on
 * memory). */
#define X86_F32_PANEL_ROWS 16

#define X86_DEFINE_FLOAT_PANEL_PACK(name, TARGET, ELEM, LOAD8, ROWS)                           \
	TARGET static void name(int64_t n, const void *w, size_t w_stride, int n_rows,         \
				void *panel)                                                   \
	{                                                                                      \
		float *p = panel;                                                              \
		for (int64_t k = 0; k < n; k += 8) {                                           \
			x86_prefetch_next_rows(w, w_stride, ROWS, k / 8,                       \
					       (ROWS) * 8 * sizeof(ELEM));                     \
			for (int g = 0; g < (ROWS); g += 8) {                                  \
				__m256i r[8];                                                  \
				_Pragma("GCC unroll 8")                                        \
				for (int i = 0; i < 8; i++) {                                  \
					const ELEM *row = (const ELEM *)((const uint8_t *)w +  \
									 (size_t)(g + i) * w_stride); \
					r[i] = g + i < n_rows ? LOAD8(row + k)                 \
							      : _mm256_setzero_si256();        \
				}                                                              \
				x86_transpose8_epi32(r);                                       \
				_Pragma("GCC unroll 8")                                        \
				for (int j = 0; j < 8; j++)                                    \
					_mm256_storeu_si256(                                   \
						(__m256i *)(p + (k + j) * (ROWS) + g), r[j]);  \
			}                                                                      \
		}                                                                              \
	}

#endif
