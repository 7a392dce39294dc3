/* The k-quant prefill panels (q2_K to q6_K) of the VNNI variants: the
 * layout, activations and packing of avx2's (quant_x86_kpanel.c), with the
 * integer sums of vpdpbusd. avx2 spends per 32 products a maddubs and a
 * 16-bit add, and widens each sub-block's sum with its scale by a madd of
 * 16-bit pairs; vpdpbusd sums four products straight into 32 bits, so a
 * run of 32 positions is eight instructions per token, and each 16- or
 * 32-element sub-block's sum is multiplied by its scale once.
 *
 * avx-vnni runs the eight-row panels on 256 bits. avx512-vnni runs
 * thirty-two rows on 512 bits: a panel of thirty-two rows is four of
 * avx2's eight-row panels one after the other (every super-block of rows
 * 0-7, then of rows 8-15, ...), which the gemm joins in pairs into two
 * registers per group as it loads them, once per run for all the tokens
 * of a pass.
 *
 * The integer sums are exact and the float steps those of avx2's gemm, so
 * every variant gives the same bits as the scalar vec_dot. */
#include "quant_x86.h"

#if defined(__x86_64__) || defined(__i386__)

#include "quant_x86_kpanel_impl.h"

/* vpdpbusd takes unsigned bytes first: the weights, or for the shifted
 * kinds (signed weights) the activations moved up by 128. Each 16-position
 * half of a run has its own chain; the sums of a 16-element sub-block
 * reach 16 * 255 * 32, of a 32-element one 32 * 31 * 128, both far inside
 * 32 bits, and the scales are plain 32-bit integers. */
#define X86_KDOT(DPBUSD, s, w, a, kind)                                              \
	((kind) == X86_K6 || (kind) == X86_K3 ? DPBUSD(s, a, w) : DPBUSD(s, w, a))

/* A scale in both 16-bit halves, sign extended from the high one (the
 * scales of q6_K and q3_K are signed). */
LT_AVX2 static inline __m256i vnni_kscale(__m256i v)
{
	return _mm256_srai_epi32(v, 16);
}

/* ---------------------------------------------------------------- avx-vnni: eight rows */

LT_AVXVNNI static inline __attribute__((always_inline)) __m256i
avxvnni_kpanel_run(const __m256i w[8], const uint8_t *aq, __m256i sc0, __m256i sc1, int kind)
{
	__m256i s[2] = { _mm256_setzero_si256(), _mm256_setzero_si256() };
#pragma GCC unroll 8
	for (int g = 0; g < 8; g++)
		s[g / 4] = X86_KDOT(_mm256_dpbusd_avx_epi32, s[g / 4], w[g],
				    x86_bcast4((const int8_t *)aq + 4 * g), kind);
	if (kind == X86_K4 || kind == X86_K5)
		return _mm256_mullo_epi32(_mm256_add_epi32(s[0], s[1]), sc0);
	return _mm256_add_epi32(_mm256_mullo_epi32(s[0], sc0), _mm256_mullo_epi32(s[1], sc1));
}

#define X86_TARGET LT_AVXVNNI
#define X86_FN(name) avxvnni_##name
#define X86_KRUN avxvnni_kpanel_run
#define X86_KSCALE vnni_kscale
#include "quant_x86_kgemm.h"
#undef X86_TARGET
#undef X86_FN
#undef X86_KRUN
#undef X86_KSCALE

/* ---------------------------------------------------------------- avx512-vnni: sixteen rows */

#define AVX512_KPANEL_ROWS 32

/* The 32 bytes at lo, then the 32 at hi. */
LT_AVX512 static inline __m512i avx512_join(const void *lo, const void *hi)
{
	return _mm512_inserti64x4(_mm512_castsi256_si512(x86_load(lo)), x86_load(hi), 1);
}

LT_AVX512 static inline __m512 avx512_join_ps(const float *lo, const float *hi)
{
	return _mm512_castsi512_ps(avx512_join(lo, hi));
}

/* As x86_rounded, on 512 bits. */
LT_AVX512 static inline __m512 avx512_rounded(__m512 v)
{
	__asm__("" : "+v"(v));
	return v;
}

LT_AVX512 static inline __m512i avx512_bcast4(const uint8_t *p)
{
	int32_t v;
	memcpy(&v, p, sizeof(v));
	return _mm512_set1_epi32(v);
}

/* One run of 32 positions of one token against both halves: each
 * broadcast of four activation bytes goes to two vpdpbusd. */
LT_AVX512 static inline __attribute__((always_inline)) void
avx512_kpanel_run2(const __m512i w[2][8], const uint8_t *aq, const __m512i sc0[2],
		   const __m512i sc1[2], int kind, __m512i r[2])
{
	__m512i s[2][2] = { { _mm512_setzero_si512(), _mm512_setzero_si512() },
			    { _mm512_setzero_si512(), _mm512_setzero_si512() } };
#pragma GCC unroll 8
	for (int g = 0; g < 8; g++) {
		const __m512i a = avx512_bcast4(aq + 4 * g);
		s[0][g / 4] = X86_KDOT(_mm512_dpbusd_epi32, s[0][g / 4], w[0][g], a, kind);
		s[1][g / 4] = X86_KDOT(_mm512_dpbusd_epi32, s[1][g / 4], w[1][g], a, kind);
	}
#pragma GCC unroll 2
	for (int h = 0; h < 2; h++)
		r[h] = kind == X86_K4 || kind == X86_K5
			       ? _mm512_mullo_epi32(_mm512_add_epi32(s[h][0], s[h][1]), sc0[h])
			       : _mm512_add_epi32(_mm512_mullo_epi32(s[h][0], sc0[h]),
						  _mm512_mullo_epi32(s[h][1], sc1[h]));
}

/* The loops of quant_x86_kgemm.h, thirty-two rows wide: the panel's four
 * eight-row parts q[0..3] make two 512-bit halves, and each activation
 * broadcast feeds both (with sixteen rows, one vpdpbusd per broadcast held
 * Zen 5 to two thirds of its integer rate). The lanes past n_rows are
 * masked off the stores. */
LT_AVX512 static inline __attribute__((always_inline)) void
avx512_kpanel_gemm(int64_t n, const void *panel, const void *act, size_t a_stride, int n_tok,
		   float *y, size_t ldy, int n_rows, int kind)
{
	const struct x86_kact_layout l = x86_kact_layout(kind);
	const int64_t nb = n / QK_K;
	const struct x86_kpanel_block *q0 = panel;
	const __mmask16 keep[2] = {
		(__mmask16)(n_rows >= 16 ? 0xffff : (1u << n_rows) - 1),
		(__mmask16)(n_rows >= 32 ? 0xffff : n_rows > 16 ? (1u << (n_rows - 16)) - 1 : 0),
	};
	for (int t0 = 0; t0 < n_tok; t0 += X86_PANEL_TOKENS) {
		const int nt = n_tok - t0 < X86_PANEL_TOKENS ? n_tok - t0 : X86_PANEL_TOKENS;
		__m512 acc[X86_PANEL_TOKENS][2];
		__m512i isum[X86_PANEL_TOKENS][2];
		for (int t = 0; t < nt; t++)
			acc[t][0] = acc[t][1] = _mm512_setzero_ps();
		const uint8_t *a0 = (const uint8_t *)act + (size_t)t0 * a_stride;
		for (int64_t b = 0; b < nb; b++) {
			const struct x86_kpanel_block *p[4] = { q0 + b, q0 + nb + b, q0 + 2 * nb + b,
								q0 + 3 * nb + b };
			const uint8_t *ab = a0 + (size_t)b * l.bytes;
			for (int h = 0; h < 2; h++) {
				const __m512i start =
					l.shifted ? _mm512_sub_epi32(_mm512_setzero_si512(),
								     avx512_join(p[2 * h]->bias,
										 p[2 * h + 1]->bias))
						  : _mm512_setzero_si512();
				for (int t = 0; t < nt; t++)
					isum[t][h] = start;
			}
			for (int u = 0; u < 8; u++) {
				__m512i w[2][8], sc0[2], sc1[2];
				const int s0 = l.k16 ? 2 * u : u, s1 = l.k16 ? 2 * u + 1 : u;
#pragma GCC unroll 2
				for (int h = 0; h < 2; h++) {
					const struct x86_kpanel_block *lo = p[2 * h], *hi = p[2 * h + 1];
#pragma GCC unroll 8
					for (int g = 0; g < 8; g++)
						w[h][g] = avx512_join(lo->qs + 32 * (8 * u + g),
								      hi->qs + 32 * (8 * u + g));
					sc0[h] = _mm512_srai_epi32(avx512_join(lo->sc[s0], hi->sc[s0]), 16);
					sc1[h] = _mm512_srai_epi32(avx512_join(lo->sc[s1], hi->sc[s1]), 16);
				}
				const uint8_t *aq = ab + l.qs + 32 * u;
				for (int t = 0; t < nt; t++, aq += a_stride) {
					__m512i r[2];
					avx512_kpanel_run2(w, aq, sc0, sc1, kind, r);
					isum[t][0] = _mm512_add_epi32(isum[t][0], r[0]);
					isum[t][1] = _mm512_add_epi32(isum[t][1], r[1]);
				}
			}
			const int n_mins = kind == X86_K2 ? 8 : 4;
			for (int h = 0; h < 2; h++) {
				const struct x86_kpanel_block *lo = p[2 * h], *hi = p[2 * h + 1];
				const __m512 d = avx512_join_ps(lo->d, hi->d);
				const __m512 dmin = avx512_join_ps(lo->dmin, hi->dmin);
				__m512i mn[8];
				for (int j = 0; j < n_mins && !l.shifted; j++)
					mn[j] = avx512_join(lo->mn[j], hi->mn[j]);
				const uint8_t *at = ab;
				for (int t = 0; t < nt; t++, at += a_stride) {
					float ad;
					memcpy(&ad, at, sizeof(ad)); /* every format starts with d */
					const __m512 vad = _mm512_set1_ps(ad);
					/* avx2's float steps, each rounded (quant_x86_kgemm.h). */
					const __m512 dd = _mm512_mul_ps(d, vad);
					__m512 part = avx512_rounded(
						_mm512_mul_ps(dd, _mm512_cvtepi32_ps(isum[t][h])));
					if (!l.shifted) {
						const uint8_t *sums = at + l.sums;
						__m512i m = _mm512_madd_epi16(mn[0], avx512_bcast4(sums));
						for (int j = 1; j < n_mins; j++) {
							const __m512i s = avx512_bcast4(sums + 4 * j);
							m = _mm512_add_epi32(m, _mm512_madd_epi16(mn[j], s));
						}
						part = _mm512_sub_ps(
							part, avx512_rounded(_mm512_mul_ps(
								      _mm512_mul_ps(dmin, vad),
								      _mm512_cvtepi32_ps(m))));
					}
					acc[t][h] = _mm512_add_ps(acc[t][h], part);
				}
			}
		}
		for (int t = 0; t < nt; t++)
			for (int h = 0; h < 2; h++)
				_mm512_mask_storeu_ps(y + (size_t)(t0 + t) * ldy + 16 * h, keep[h],
						      acc[t][h]);
	}
}

/* ---------------------------------------------------------------- tables */

#define VNNI_DEFINE_KPANEL(T, KIND)                                                      \
	LT_AVXVNNI static void avxvnni_##T##_gemm(int64_t n, const void *panel, const void *act, \
						  size_t a_stride, int n_tok, float *y,          \
						  size_t ldy, int n_rows)                        \
	{                                                                                        \
		avxvnni_kpanel_gemm(n, panel, act, a_stride, n_tok, y, ldy, n_rows, KIND);       \
	}                                                                                        \
	LT_AVX512 static void avx512_##T##_gemm(int64_t n, const void *panel, const void *act,   \
						size_t a_stride, int n_tok, float *y, size_t ldy, \
						int n_rows)                                      \
	{                                                                                        \
		avx512_kpanel_gemm(n, panel, act, a_stride, n_tok, y, ldy, n_rows, KIND);        \
	}

VNNI_DEFINE_KPANEL(q2_K, X86_K2)
VNNI_DEFINE_KPANEL(q3_K, X86_K3)
VNNI_DEFINE_KPANEL(q4_K, X86_K4)
VNNI_DEFINE_KPANEL(q5_K, X86_K5)
VNNI_DEFINE_KPANEL(q6_K, X86_K6)

typedef void (*vnni_kgemm_fn)(int64_t n, const void *panel, const void *act, size_t a_stride,
			      int n_tok, float *y, size_t ldy, int n_rows);

/* One type's kernels: avx-vnni's, avx512-vnni's. */
struct vnni_kpanel_fns {
	enum ggml_type type;
	vnni_kgemm_fn avxvnni_gemm, avx512_gemm;
};

#define VNNI_KPANEL_FNS(T, TYPE)                                                             \
	{ TYPE, avxvnni_##T##_gemm, avx512_##T##_gemm }

static const struct vnni_kpanel_fns vnni_kpanel_fns[] = {
	VNNI_KPANEL_FNS(q2_K, GGML_TYPE_Q2_K), VNNI_KPANEL_FNS(q3_K, GGML_TYPE_Q3_K),
	VNNI_KPANEL_FNS(q4_K, GGML_TYPE_Q4_K), VNNI_KPANEL_FNS(q5_K, GGML_TYPE_Q5_K),
	VNNI_KPANEL_FNS(q6_K, GGML_TYPE_Q6_K),
};

void quant_x86_vnni_kpanels(struct quant_panel *panel, bool avx512)
{
	for (size_t i = 0; i < sizeof(vnni_kpanel_fns) / sizeof(vnni_kpanel_fns[0]); i++) {
		const struct vnni_kpanel_fns *f = &vnni_kpanel_fns[i];
		const struct quant_panel *base = quant_x86_kpanel(f->type);
		/* Only over avx2's layout, which these gemms read. */
		if (!base || !base->gemm || base->rows != X86_PANEL_ROWS ||
		    base->block_bytes != sizeof(struct x86_kpanel_block) / (QK_K / 32))
			continue;
		const struct quant_panel *wide = quant_x86_kpanel32(f->type);
		if (avx512 && (!wide || wide->rows != AVX512_KPANEL_ROWS))
			continue;
		struct quant_panel *p = &panel[f->type];
		*p = avx512 ? *wide : *base;
		p->gemm = avx512 ? f->avx512_gemm : f->avxvnni_gemm;
	}
}

#endif
