/* The layouts the x86 k-quant panels share: the activation formats and
 * the packed block of eight rows that quant_x86_kpanel.c (avx2) packs and
 * multiplies and quant_x86_vnni_kpanel.c (avx-vnni, avx512-vnni)
 * multiplies with vpdpbusd, plus the small helpers both gemms use.
 * Internal to those files. */
#ifndef LT_QUANT_X86_KPANEL_IMPL_H
#define LT_QUANT_X86_KPANEL_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "quant_x86_impl.h"

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

/* q6_K and q3_K: the quants of q8_K plus 128. */
struct x86_kpanel_actu {
	float d;
	int32_t unused[7]; /* pads the block to 36 bytes per 32 elements */
	uint8_t qs[QK_K];
};
_Static_assert(sizeof(struct x86_kpanel_actu) == 36 * (QK_K / 32), "x86_kpanel_actu size");

/* q2_K: q8_K's quants and its sixteen 16-element sums. */
struct x86_kpanel_act16 {
	float d;
	int16_t bsums[QK_K / 16];
	int32_t unused; /* pads the block to 37 bytes per 32 elements */
	int8_t qs[QK_K];
};
_Static_assert(sizeof(struct x86_kpanel_act16) == 37 * (QK_K / 32), "x86_kpanel_act16 size");

/* One super-block of eight rows: 11.4 bits per weight. Each of the eight
 * 32-position runs u is eight groups g of four positions, group 8 * u + g
 * holding the four bytes of row 0, then row 1, ... row 7. */
struct x86_kpanel_block {
	uint8_t qs[64 * 32];     /* row r, position 4 * g + j at 32 * g + 4 * r + j */
	int32_t sc[16][8];       /* scale of sub-block s of row r, in both 16-bit halves */
	int32_t mn[8][8];        /* two mins of row r as a 16-bit pair, in the order of the
				  * activation's sums (q4_K, q5_K, q2_K) */
	int32_t bias[8];         /* 128 * sum over sub-blocks of scale * sum(q) (q6_K, q3_K) */
	float d[8], dmin[8];
};
_Static_assert(sizeof(struct x86_kpanel_block) % (QK_K / 32) == 0, "x86_kpanel_block size");

/* The kinds of k-quant, as the generic pack and gemms take them. */
enum { X86_K2, X86_K3, X86_K4, X86_K5, X86_K6 };

/* What a gemm needs to know of a kind's activations and sub-blocks. */
struct x86_kact_layout {
	size_t bytes;  /* bytes of one super-block of activations */
	size_t qs;     /* offset of the quants */
	size_t sums;   /* offset of the sums the mins take (not shifted) */
	bool k16;      /* 16-element sub-blocks (q2_K, q3_K, q6_K), else 32 */
	bool shifted;  /* activations + 128 against signed weights (q3_K, q6_K) */
};

static inline struct x86_kact_layout x86_kact_layout(int kind)
{
	const bool shifted = kind == X86_K6 || kind == X86_K3;
	if (kind == X86_K2)
		return (struct x86_kact_layout){
			sizeof(struct x86_kpanel_act16), offsetof(struct x86_kpanel_act16, qs),
			offsetof(struct x86_kpanel_act16, bsums), true, false
		};
	if (shifted)
		return (struct x86_kact_layout){
			sizeof(struct x86_kpanel_actu), offsetof(struct x86_kpanel_actu, qs), 0, true, true
		};
	return (struct x86_kact_layout){ sizeof(struct x86_kpanel_act),
					 offsetof(struct x86_kpanel_act, qs),
					 offsetof(struct x86_kpanel_act, gsum), false, false };
}

LT_AVX2 static inline __m256i x86_load(const void *p)
{
	return _mm256_loadu_si256((const __m256i *)p);
}

/* The mins of a super-block against one token's sums (count pairs of
 * them), per row. */
LT_AVX2 static inline __m256i x86_kpanel_mins(const struct x86_kpanel_block *pb,
					      const int8_t *sums, int count)
{
	__m256i m = _mm256_madd_epi16(x86_load(pb->mn[0]), x86_bcast4(sums));
	for (int j = 1; j < count; j++)
		m = _mm256_add_epi32(m, _mm256_madd_epi16(x86_load(pb->mn[j]),
							  x86_bcast4(sums + 4 * j)));
	return m;
}

/* v as it is: GCC fuses a multiply and an add of intrinsics into one FMA
 * (-ffp-contract=fast is its default), which an empty asm that takes and
 * gives back the product prevents. */
LT_AVX2 static inline __m256 x86_rounded(__m256 v)
{
	__asm__("" : "+x"(v));
	return v;
}

#endif
