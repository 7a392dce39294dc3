/* x86-64 kernels with the VNNI byte dot product (vpdpbusd): the
 * "avx512-vnni" and "avx-vnni" kernel variants (kernels.h). Each starts
 * from the avx2 variant's kernels (quant_x86, quant_x86_tile,
 * quant_x86_panel, ops_x86_rows), so every kernel added there serves here
 * too, and replaces the hot integer paths of q4_0 and q8_0 weights: vec_dot
 * and the panels' gemm and gemv (quant_x86_vnni_dots.h, written once for
 * both). avx512-vnni, for CPUs with AVX-512 F/BW/VL/DQ and VNNI, also runs
 * the prefill panels of q4_0, q8_0 and f32 weights on 512-bit registers
 * and, where the CPU has AVX-512 BF16, bf16 dots with vdpbf16ps. avx-vnni
 * is for AVX2-class CPUs with the VEX form of VNNI (Alder Lake, Zen 5).
 * Only built on x86. */
#include "quant_x86.h"

#if defined(__x86_64__) || defined(__i386__)

#include <pthread.h>

#include "ops_x86.h"
#include "quant_x86_panel_impl.h"

#define LT_AVX512 \
	__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define LT_AVX512_BF16 \
	__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#define LT_AVXVNNI __attribute__((target("avx2,fma,f16c,avxvnni")))

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

X86_DEFINE_PANEL_PACK(vnni_q8_0_panel_pack, LT_AVX2, x86_q8_0_row_u)

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
	.rows = ops_x86_rows,
};

/* ---------------------------------------------------------------- avx-vnni */

static struct vnni_tables avxvnni_tables;
static pthread_once_t avxvnni_once = PTHREAD_ONCE_INIT;

static bool avxvnni_probe(void)
{
	return quant_x86_probe() && __builtin_cpu_supports("avxvnni");
}

static void avxvnni_init(void)
{
	const struct vnni_kernels k = {
		avxvnni_q8_0_vec_dot, avxvnni_q4_0_vec_dot, avxvnni_panel_gemm,
		avxvnni_q4_0_panel_gemv, avxvnni_q8_0_panel_gemv,
	};
	vnni_fill(&avxvnni_tables, &k);
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
