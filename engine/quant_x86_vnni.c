/* x86-64 kernels with the VNNI byte dot product (vpdpbusd): the
 * "avx512-vnni" and "avx-vnni" kernel variants (kernels.h). Each starts
 * from the avx2 variant's kernels (quant_x86, quant_x86_tile,
 * quant_x86_panel, ops_x86_rows), so every kernel added there serves here
 * too, and replaces the hot integer paths of q4_0 and q8_0 weights: vec_dot
 * and the panels' gemm and gemv (quant_x86_vnni_dots.h, written once for
 * both). avx512-vnni, for CPUs with AVX-512 F/BW/VL/DQ and VNNI, also runs
 * the prefill panels of q4_0, q8_0 and f32 weights on 512-bit registers,
 * attention's rows (ops_x86_rows512) too and, where the CPU has AVX-512
 * BF16, bf16 dots with vdpbf16ps. avx-vnni
 * is for AVX2-class CPUs with the VEX form of VNNI (Alder Lake, Zen 5).
 * Only built on x86. */
#include "quant_x86.h"

#if defined(__x86_64__) || defined(__i386__)

#include <cpuid.h>
#include <pthread.h>

#include "ops_x86.h"
#include "quant_x86_panel_impl.h"

#define LT_AVX512_BF16 \
	__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

/* q8_0 weights in the panels: moved up by 128 to be unsigned for vpdpbusd
 * (the activations' 128 * sum takes it off again). */
LT_AVX2 static inline __m256i x86_q8_0_row_u(const void *row, int64_t b, float *d)
{
	return _mm256_xor_si256(x86_q8_0_row(row, b, d), _mm256_set1_epi8((char)0x80));
}

LT_AVX2 static inline __m256i x86_q8_0_rowq_u(const struct block_q8_0 *x)
{
	return _mm256_xor_si256(x86_q8_0_rowq(x), _mm256_set1_epi8((char)0x80));
}

X86_DEFINE_PANEL_PACK(vnni_q8_0_panel_pack, LT_AVX2, struct x86_panel_block, x86_q8_0_row_u)

LT_AVX2 static void vnni_q8_0_act_from_float(const float *x, void *dst, int64_t n)
{
	x86_panel_act_fill(x, dst, n, 128);
}

#define X86_TARGET LT_AVX512
#define X86_FN(name) avx512_##name
#define X86_DPBUSD _mm256_dpbusd_epi32
#include "quant_x86_vnni_dots.h"
#undef X86_TARGET
#undef X86_FN
#undef X86_DPBUSD

#define X86_TARGET LT_AVXVNNI
#define X86_FN(name) avxvnni_##name
#define X86_DPBUSD _mm256_dpbusd_avx_epi32
#include "quant_x86_vnni_dots.h"
#undef X86_TARGET
#undef X86_FN
#undef X86_DPBUSD

/* ---------------------------------------------------------------- avx512-vnni: 512 bits */

/* Prefill panels of thirty-two rows: one 512-bit vpdpbusd covers a 4-byte
 * group of sixteen of them, and each broadcast group of a token's
 * activations feeds two (with sixteen rows, one vpdpbusd per broadcast
 * held Zen 5 to two thirds of its integer rate). */
#define AVX512_PANEL_ROWS 32

struct avx512_panel_block {
	int8_t qs[AVX512_PANEL_ROWS * 32]; /* group g, row r, byte j at 128 * g + 4 * r + j */
	float d[AVX512_PANEL_ROWS];
};
_Static_assert(sizeof(struct avx512_panel_block) == 1152, "avx512_panel_block size");

X86_DEFINE_PANEL_PACK(avx512_q4_0_panel_pack, LT_AVX2, struct avx512_panel_block, x86_q4_0_row)
X86_DEFINE_PANEL_PACK(avx512_q8_0_panel_pack, LT_AVX2, struct avx512_panel_block, x86_q8_0_row_u)

/* One block of one token against both halves of the panel (rows 0-15 in
 * w[0], 16-31 in w[1]). */
LT_AVX512 static inline void avx512_panel32_isum(const __m512i w[2][8],
						 const struct x86_panel_act *a, __m512i r[2])
{
	const __m512i bias = _mm512_set1_epi32(-a->bsum);
	__m512i s[2][2] = { { bias, _mm512_setzero_si512() }, { bias, _mm512_setzero_si512() } };
#pragma GCC unroll 8
	for (int g = 0; g < 8; g++) {
		int32_t v;
		memcpy(&v, a->qs + 4 * g, sizeof(v));
		const __m512i x = _mm512_set1_epi32(v);
		s[0][g & 1] = _mm512_dpbusd_epi32(s[0][g & 1], w[0][g], x);
		s[1][g & 1] = _mm512_dpbusd_epi32(s[1][g & 1], w[1][g], x);
	}
	r[0] = _mm512_add_epi32(s[0][0], s[0][1]);
	r[1] = _mm512_add_epi32(s[1][0], s[1][1]);
}

/* As X86_DEFINE_PANEL_GEMM, thirty-two rows wide; the lanes past n_rows
 * are masked off the stores. */
LT_AVX512 static void avx512_panel32_gemm(int64_t n, const void *panel, const void *act,
					  size_t a_stride, int n_tok, float *y, size_t ldy,
					  int n_rows)
{
	const struct avx512_panel_block *p = panel;
	const __mmask16 keep[2] = {
		(__mmask16)(n_rows >= 16 ? 0xffff : (1u << n_rows) - 1),
		(__mmask16)(n_rows >= 32 ? 0xffff : n_rows > 16 ? (1u << (n_rows - 16)) - 1 : 0),
	};
	for (int t0 = 0; t0 < n_tok; t0 += X86_PANEL_TOKENS) {
		const int nt = n_tok - t0 < X86_PANEL_TOKENS ? n_tok - t0 : X86_PANEL_TOKENS;
		__m512 acc[X86_PANEL_TOKENS][2];
		for (int t = 0; t < nt; t++)
			acc[t][0] = acc[t][1] = _mm512_setzero_ps();
		const uint8_t *a0 = (const uint8_t *)act + (size_t)t0 * a_stride;
		for (int64_t b = 0; b < n / 32; b++) {
			__m512i w[2][8];
#pragma GCC unroll 8
			for (int g = 0; g < 8; g++) {
				w[0][g] = _mm512_loadu_si512(p[b].qs + 128 * g);
				w[1][g] = _mm512_loadu_si512(p[b].qs + 128 * g + 64);
			}
			const __m512 dw0 = _mm512_loadu_ps(p[b].d), dw1 = _mm512_loadu_ps(p[b].d + 16);
			const uint8_t *ab = a0 + b * sizeof(struct x86_panel_act);
			for (int t = 0; t < nt; t++, ab += a_stride) {
				const struct x86_panel_act *a = (const struct x86_panel_act *)ab;
				const __m512 ad = _mm512_set1_ps(a->d);
				__m512i r[2];
				avx512_panel32_isum(w, a, r);
				acc[t][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(r[0]),
							    _mm512_mul_ps(dw0, ad), acc[t][0]);
				acc[t][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(r[1]),
							    _mm512_mul_ps(dw1, ad), acc[t][1]);
			}
		}
		for (int t = 0; t < nt; t++)
			for (int h = 0; h < 2; h++)
				_mm512_mask_storeu_ps(y + (size_t)(t0 + t) * ldy + 16 * h, keep[h],
						      acc[t][h]);
	}
}

/* Decode stays on eight rows read in place (it waits on memory, not on
 * arithmetic): a group of thirty-two is up to four of them. */
#define AVX512_DEFINE_GEMV32(name, gemv8)                                                   \
	static void name(int64_t n, const void *w, size_t w_stride, int n_rows, const void *act, \
			 float *y)                                                           \
	{                                                                                    \
		for (int r = 0; r < n_rows; r += 8)                                          \
			gemv8(n, (const uint8_t *)w + (size_t)r * w_stride, w_stride,        \
			      n_rows - r < 8 ? n_rows - r : 8, act, y + r);                  \
	}

AVX512_DEFINE_GEMV32(avx512_q4_0_gemv32, avx512_q4_0_panel_gemv)
AVX512_DEFINE_GEMV32(avx512_q8_0_gemv32, avx512_q8_0_panel_gemv)

/* Float panels of thirty-two rows (position k's rows side by side, two
 * 512-bit vectors) against eight tokens a pass: per position two panel
 * loads and eight broadcasts feed sixteen FMAs. avx2's sixteen rows by
 * sixteen tokens needed a broadcast per FMA and ran at two thirds of the
 * speed on Zen 5 (which issues two 512-bit FMAs a cycle). Each row's sum
 * runs over the positions in order with fused multiply-adds, as in avx2's
 * kernel, so the results are avx2's bit for bit. */
#define AVX512_F32_PANEL_ROWS 32
#define AVX512_F32_TOKENS 8

LT_AVX512 static void avx512_f32_panel_gemm(int64_t n, const void *panel, const void *act,
					    size_t a_stride, int n_tok, float *y, size_t ldy,
					    int n_rows)
{
	const float *p = panel;
	const __mmask16 keep_lo = (__mmask16)(n_rows >= 16 ? 0xffff : (1u << n_rows) - 1);
	const __mmask16 keep_hi = (__mmask16)(n_rows >= 32 ? 0xffff
					      : n_rows > 16 ? (1u << (n_rows - 16)) - 1 : 0);
	for (int t = 0; t < n_tok; t += AVX512_F32_TOKENS) {
		/* A last short pass repeats its last token in the spare lanes. */
		const int count = n_tok - t < AVX512_F32_TOKENS ? n_tok - t : AVX512_F32_TOKENS;
		const float *a[AVX512_F32_TOKENS];
		__m512 lo[AVX512_F32_TOKENS], hi[AVX512_F32_TOKENS];
#pragma GCC unroll 8
		for (int i = 0; i < AVX512_F32_TOKENS; i++) {
			const int ti = t + (i < count ? i : count - 1);
			a[i] = (const float *)((const uint8_t *)act + (size_t)ti * a_stride);
			lo[i] = hi[i] = _mm512_setzero_ps();
		}
		for (int64_t k = 0; k < n; k++) {
			const __m512 w0 = _mm512_loadu_ps(p + k * AVX512_F32_PANEL_ROWS);
			const __m512 w1 = _mm512_loadu_ps(p + k * AVX512_F32_PANEL_ROWS + 16);
#pragma GCC unroll 8
			for (int i = 0; i < AVX512_F32_TOKENS; i++) {
				const __m512 x = _mm512_set1_ps(a[i][k]);
				lo[i] = _mm512_fmadd_ps(w0, x, lo[i]);
				hi[i] = _mm512_fmadd_ps(w1, x, hi[i]);
			}
		}
		for (int i = 0; i < count; i++) {
			_mm512_mask_storeu_ps(y + (size_t)(t + i) * ldy, keep_lo, lo[i]);
			_mm512_mask_storeu_ps(y + (size_t)(t + i) * ldy + 16, keep_hi, hi[i]);
		}
	}
}

LT_AVX2 static inline __m256i avx512_f32_load8(const float *p)
{
	return _mm256_loadu_si256((const __m256i *)p);
}

X86_DEFINE_FLOAT_PANEL_PACK(avx512_f32_panel_pack, LT_AVX2, float, avx512_f32_load8,
			    AVX512_F32_PANEL_ROWS)

/* f32 decode: rows read in place one after another, each a single
 * sequential stream (which the hardware prefetcher follows across pages,
 * as it does not follow several rows side by side) with four 512-bit
 * chains in flight. */
LT_AVX512 static void avx512_f32_gemv(int64_t n, const void *w, size_t w_stride, int n_rows,
				      const void *act, float *y)
{
	const float *x = act;
	for (int r = 0; r < n_rows; r++) {
		const float *w0 = (const float *)((const uint8_t *)w + (size_t)r * w_stride);
		__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
		int64_t k = 0;
		for (; k + 64 <= n; k += 64) {
			a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + k), _mm512_loadu_ps(x + k), a0);
			a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + k + 16), _mm512_loadu_ps(x + k + 16),
					     a1);
			a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + k + 32), _mm512_loadu_ps(x + k + 32),
					     a2);
			a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + k + 48), _mm512_loadu_ps(x + k + 48),
					     a3);
		}
		for (; k < n; k += 16) {
			const __mmask16 m = n - k >= 16 ? (__mmask16)0xffff
							: (__mmask16)((1u << (n - k)) - 1);
			a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w0 + k),
					     _mm512_maskz_loadu_ps(m, x + k), a0);
		}
		y[r] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1),
							  _mm512_add_ps(a2, a3)));
	}
}

/* f16 and bf16 weights in the same float panels: widened while packing,
 * against activations rounded to the weights' format first, as vec_dot
 * rounds them, so only the order of the sums differs from it. */
LT_AVX2 static inline __m256i avx512_f16_load8(const uint16_t *p)
{
	return _mm256_castps_si256(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)));
}

/* A bfloat16 is the top half of a float. */
LT_AVX2 static inline __m256i avx512_bf16_load8(const uint16_t *p)
{
	return _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16);
}

X86_DEFINE_FLOAT_PANEL_PACK(avx512_f16_panel_pack, LT_AVX2, uint16_t, avx512_f16_load8,
			    AVX512_F32_PANEL_ROWS)
X86_DEFINE_FLOAT_PANEL_PACK(avx512_bf16_panel_pack, LT_AVX2, uint16_t, avx512_bf16_load8,
			    AVX512_F32_PANEL_ROWS)

/* F16C rounds to nearest even, as f32_to_fp16 does. */
LT_AVX2 static void avx512_f16_act_from_float(const float *x, void *dst, int64_t n)
{
	float *y = dst;
	for (int64_t i = 0; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i),
								       _MM_FROUND_TO_NEAREST_INT)));
}

static void avx512_bf16_act_from_float(const float *x, void *dst, int64_t n)
{
	float *y = dst;
	for (int64_t i = 0; i < n; i++)
		y[i] = bf16_to_f32(f32_to_bf16(x[i]));
}

/* f16 dots sixteen lanes wide, four chains. */
LT_AVX512 static void avx512_f16_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const uint16_t *x = vx, *y = vy;
#define AVX512_H16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
	__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
	int64_t i = 0;
	for (; i + 64 <= n; i += 64) {
		a0 = _mm512_fmadd_ps(AVX512_H16(x + i), AVX512_H16(y + i), a0);
		a1 = _mm512_fmadd_ps(AVX512_H16(x + i + 16), AVX512_H16(y + i + 16), a1);
		a2 = _mm512_fmadd_ps(AVX512_H16(x + i + 32), AVX512_H16(y + i + 32), a2);
		a3 = _mm512_fmadd_ps(AVX512_H16(x + i + 48), AVX512_H16(y + i + 48), a3);
	}
	for (; i + 16 <= n; i += 16)
		a0 = _mm512_fmadd_ps(AVX512_H16(x + i), AVX512_H16(y + i), a0);
#undef AVX512_H16
	float sum = _mm512_reduce_add_ps(
		_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
	for (; i < n; i++)
		sum += x86_h2f(x[i]) * x86_h2f(y[i]);
	*s = sum;
}

/* bf16 dots with vdpbf16ps, two pairs per lane and instruction, where the
 * CPU has AVX-512 BF16. Its products are exact; its sums round to nearest
 * even but treat subnormals as zero, which a dot of activations and
 * weights does not notice. */
LT_AVX512_BF16 static void avx512_bf16_vec_dot(int64_t n, float *s, const void *vx, const void *vy)
{
	const uint16_t *x = vx, *y = vy;
#define AVX512_BF32(p) ((__m512bh)_mm512_loadu_si512(p))
	__m512 a0 = _mm512_setzero_ps(), a1 = a0;
	int64_t i = 0;
	for (; i + 64 <= n; i += 64) {
		a0 = _mm512_dpbf16_ps(a0, AVX512_BF32(x + i), AVX512_BF32(y + i));
		a1 = _mm512_dpbf16_ps(a1, AVX512_BF32(x + i + 32), AVX512_BF32(y + i + 32));
	}
	for (; i + 32 <= n; i += 32)
		a0 = _mm512_dpbf16_ps(a0, AVX512_BF32(x + i), AVX512_BF32(y + i));
#undef AVX512_BF32
	float sum = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
	for (; i < n; i++)
		sum += bf16_to_f32(x[i]) * bf16_to_f32(y[i]);
	*s = sum;
}

/* ---------------------------------------------------------------- dispatch */

/* One variant's kernels: the avx2 ones with its own put in. */
struct vnni_tables {
	struct quant_kernels quant[GGML_TYPE_COUNT];
	struct quant_panel panel[GGML_TYPE_COUNT];
};

/* The kernels both VNNI variants replace, as the variant names them. */
struct vnni_kernels {
	quant_vec_dot_fn q8_0_vec_dot, q4_0_vec_dot;
	void (*gemm)(int64_t n, const void *panel, const void *act, size_t a_stride, int n_tok,
		     float *y, size_t ldy, int n_rows);
	void (*q4_0_gemv)(int64_t n, const void *w, size_t w_stride, int n_rows, const void *act,
			  float *y);
	void (*q8_0_gemv)(int64_t n, const void *w, size_t w_stride, int n_rows, const void *act,
			  float *y);
};

static void vnni_fill(struct vnni_tables *t, const struct vnni_kernels *k)
{
	for (int type = 0; type < GGML_TYPE_COUNT; type++) {
		const struct quant_kernels *q = quant_x86(type);
		if (q)
			t->quant[type] = *q;
	}
	t->quant[GGML_TYPE_Q8_0].vec_dot = k->q8_0_vec_dot;
	t->quant[GGML_TYPE_Q4_0].vec_dot = k->q4_0_vec_dot;
	/* q4_0 keeps avx2's activations (bias 8) and packing. */
	const struct quant_panel *q4 = quant_x86_panel(GGML_TYPE_Q4_0);
	if (q4) {
		t->panel[GGML_TYPE_Q4_0] = *q4;
		t->panel[GGML_TYPE_Q4_0].gemm = k->gemm;
		t->panel[GGML_TYPE_Q4_0].gemv = k->q4_0_gemv;
	}
	t->panel[GGML_TYPE_Q8_0] = (struct quant_panel){
		X86_PANEL_ROWS, sizeof(struct x86_panel_act), sizeof(struct x86_panel_block),
		vnni_q8_0_act_from_float, vnni_q8_0_panel_pack, k->gemm, k->q8_0_gemv,
	};
}

static const struct quant_kernels *vnni_quant(const struct vnni_tables *t, enum ggml_type type)
{
	if ((unsigned)type >= GGML_TYPE_COUNT || !t->quant[type].to_float)
		return NULL;
	return &t->quant[type];
}

/* Types this variant has no panel of get avx2's (or none). */
static const struct quant_panel *vnni_panel(const struct vnni_tables *t, enum ggml_type type)
{
	if ((unsigned)type >= GGML_TYPE_COUNT)
		return NULL;
	if (t->panel[type].gemm || t->panel[type].gemv)
		return &t->panel[type];
	return quant_x86_panel(type);
}

/* ---------------------------------------------------------------- avx512-vnni */

static struct vnni_tables avx512_tables;
static pthread_once_t avx512_once = PTHREAD_ONCE_INIT;

static bool avx512_probe(void)
{
	return quant_x86_probe() && __builtin_cpu_supports("avx512f") &&
	       __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
	       __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni");
}

static void avx512_init(void)
{
	const struct vnni_kernels k = {
		avx512_q8_0_vec_dot, avx512_q4_0_vec_dot, avx512_panel_gemm,
		avx512_q4_0_panel_gemv, avx512_q8_0_panel_gemv,
	};
	vnni_fill(&avx512_tables, &k);
	quant_x86_vnni_kpanels(avx512_tables.panel, true);
	struct quant_kernels *q = avx512_tables.quant;
	q[GGML_TYPE_F16].vec_dot = avx512_f16_vec_dot;
	if (__builtin_cpu_supports("avx512bf16"))
		q[GGML_TYPE_BF16].vec_dot = avx512_bf16_vec_dot;
	/* The integer panels of eight rows on 256 bits give way to
	 * thirty-two rows on 512; decode keeps eight in place. */
	struct quant_panel *p = avx512_tables.panel;
	p[GGML_TYPE_Q4_0].rows = p[GGML_TYPE_Q8_0].rows = AVX512_PANEL_ROWS;
	p[GGML_TYPE_Q4_0].block_bytes = p[GGML_TYPE_Q8_0].block_bytes =
		sizeof(struct avx512_panel_block);
	p[GGML_TYPE_Q4_0].pack = avx512_q4_0_panel_pack;
	p[GGML_TYPE_Q8_0].pack = avx512_q8_0_panel_pack;
	p[GGML_TYPE_Q4_0].gemm = p[GGML_TYPE_Q8_0].gemm = avx512_panel32_gemm;
	p[GGML_TYPE_Q4_0].gemv = avx512_q4_0_gemv32;
	p[GGML_TYPE_Q8_0].gemv = avx512_q8_0_gemv32;
	const struct quant_panel f32 = {
		.rows = AVX512_F32_PANEL_ROWS,
		.act_block_bytes = 32 * sizeof(float),
		.block_bytes = 32 * AVX512_F32_PANEL_ROWS * sizeof(float),
		.pack = avx512_f32_panel_pack,
		.gemm = avx512_f32_panel_gemm,
		.gemv = avx512_f32_gemv,
	};
	p[GGML_TYPE_F32] = f32;
	p[GGML_TYPE_F16] = p[GGML_TYPE_BF16] = f32;
	p[GGML_TYPE_F16].gemv = p[GGML_TYPE_BF16].gemv = NULL; /* the f32 gemv reads floats */
	p[GGML_TYPE_F16].act_from_float = avx512_f16_act_from_float;
	p[GGML_TYPE_F16].pack = avx512_f16_panel_pack;
	p[GGML_TYPE_BF16].act_from_float = avx512_bf16_act_from_float;
	p[GGML_TYPE_BF16].pack = avx512_bf16_panel_pack;
}

static const struct quant_kernels *avx512_quant(enum ggml_type type)
{
	pthread_once(&avx512_once, avx512_init);
	return vnni_quant(&avx512_tables, type);
}

static const struct quant_panel *avx512_panel(enum ggml_type type)
{
	pthread_once(&avx512_once, avx512_init);
	return vnni_panel(&avx512_tables, type);
}

/* The tiles go with vec_dots this variant keeps from avx2 (f32, q4_K, q6_K). */
const struct kernel_variant kernel_variant_avx512_vnni = {
	.name = "avx512-vnni",
	.needs = "AVX-512 F/BW/VL/DQ and VNNI, FMA and F16C",
	.probe = avx512_probe,
	.quant = avx512_quant,
	.tile = quant_x86_tile,
	.panel = avx512_panel,
	.rows = ops_x86_rows512,
};

/* ---------------------------------------------------------------- avx-vnni */

static struct vnni_tables avxvnni_tables;
static pthread_once_t avxvnni_once = PTHREAD_ONCE_INIT;

static bool avxvnni_probe(void)
{
	/* AVX-VNNI is CPUID leaf 7 subleaf 1, EAX bit 4; clang 14's
	 * __builtin_cpu_supports does not know its name. */
	unsigned int eax = 0, ebx, ecx, edx;
	bool vnni = __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && (eax & (1u << 4));
	return quant_x86_probe() && vnni;
}

static void avxvnni_init(void)
{
	const struct vnni_kernels k = {
		avxvnni_q8_0_vec_dot, avxvnni_q4_0_vec_dot, avxvnni_panel_gemm,
		avxvnni_q4_0_panel_gemv, avxvnni_q8_0_panel_gemv,
	};
	vnni_fill(&avxvnni_tables, &k);
	quant_x86_vnni_kpanels(avxvnni_tables.panel, false);
}

static const struct quant_kernels *avxvnni_quant(enum ggml_type type)
{
	pthread_once(&avxvnni_once, avxvnni_init);
	return vnni_quant(&avxvnni_tables, type);
}

static const struct quant_panel *avxvnni_panel(enum ggml_type type)
{
	pthread_once(&avxvnni_once, avxvnni_init);
	return vnni_panel(&avxvnni_tables, type);
}

const struct kernel_variant kernel_variant_avx_vnni = {
	.name = "avx-vnni",
	.needs = "AVX2, AVX-VNNI, FMA and F16C",
	.probe = avxvnni_probe,
	.quant = avxvnni_quant,
	.tile = quant_x86_tile,
	.panel = avxvnni_panel,
	.rows = ops_x86_rows,
};

#endif
