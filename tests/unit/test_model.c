/* Tests of the forward pass: the ops against hand-computed values, tiny
 * synthetic models (llama and qwen2 shapes) against a naive double-precision
 * reference written here, and loader errors. stories260K's runs are in
 * test_model_stories.c. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "context.h"
#include "gguf_write.h"
#include "model.h"
#include "ops.h"
#include "quant.h"

#include "testutil.h"

/* Hand-computed values are given to 6 decimals. */
#define TOL_HAND 2e-6
/* f16 has an 11-bit significand: a relative step of about 1e-3. */
#define TOL_F16 2e-3
/* The engine in float against the reference in double, tiny models. */
#define TOL_REF 2e-4

static void assert_close(double got, double want, double tol)
{
	if (fabs(got - want) > tol)
		fail_msg("got %.9g, want %.9g (tolerance %g)", got, want, tol);
}

static void assert_rows_close(const float *a, const float *b, int n, double tol)
{
	for (int i = 0; i < n; i++)
		if (fabs((double)a[i] - b[i]) > tol)
			fail_msg("element %d: %.9g vs %.9g (tolerance %g)", i, a[i], b[i], tol);
}

/* ---- ops against hand-computed values ------------------------------------ */

static void test_rmsnorm(void **state)
{
	(void)state;
	const float x[4] = { 1, 2, 3, 4 }, w[4] = { 1, 1, 2, 0.5f };
	const float want[4] = { 0.365148f, 0.730296f, 2.190889f, 0.730296f };
	float out[4];
	ops_rmsnorm(out, x, w, 4, 1e-5f);
	assert_rows_close(out, want, 4, TOL_HAND);
}

static void test_softmax(void **state)
{
	(void)state;
	float x[3] = { 1, 2, 3 };
	const float want[3] = { 0.090031f, 0.244728f, 0.665241f };
	ops_softmax(x, 3);
	assert_rows_close(x, want, 3, TOL_HAND);
	/* Large inputs must not overflow: the maximum is subtracted first. */
	float big[2] = { 1000, 1000 };
	ops_softmax(big, 2);
	assert_close(big[0], 0.5, TOL_HAND);
	assert_close(big[1], 0.5, TOL_HAND);
}

static void test_swiglu(void **state)
{
	(void)state;
	const float gate[3] = { 0, 1, -2 }, up[3] = { 5, 2, 3 };
	const float want[3] = { 0.0f, 1.462117f, -0.715218f };
	float out[3];
	ops_swiglu(out, gate, up, 3);
	assert_rows_close(out, want, 3, TOL_HAND);
}

static void test_rope_modes(void **state)
{
	(void)state;
	const float c1 = 0.540302f, s1 = 0.841471f, c2 = 0.999950f, s2 = 0.009999833f;
	/* head_dim 4 at position 1: pair 0 turns by 1 rad, pair 1 by 10000^-0.5. */
	struct ops_rope r = { .mode = OPS_ROPE_NORM, .n_rot = 4, .freq_base = 10000, .freq_scale = 1 };
	float cs[4];
	ops_rope_cache(&r, 1, cs);
	assert_rows_close(cs, (const float[]){ c1, s1, c2, s2 }, 4, TOL_HAND);

	float x[4] = { 1, 0, 0, 1 };
	ops_rope_apply(&r, x, 1, 4, cs);
	/* NORM pairs (0,1) and (2,3). */
	assert_rows_close(x, (const float[]){ c1, s1, -s2, c2 }, 4, TOL_HAND);

	r.mode = OPS_ROPE_NEOX;
	float y[4] = { 1, 0, 0, 1 };
	ops_rope_apply(&r, y, 1, 4, cs);
	/* NEOX pairs (0,2) and (1,3). */
	assert_rows_close(y, (const float[]){ c1, -s2, s1, c2 }, 4, TOL_HAND);

	/* Position 0 is the identity. */
	ops_rope_cache(&r, 0, cs);
	float z[4] = { 0.25f, -1, 3, 7 };
	ops_rope_apply(&r, z, 1, 4, cs);
	assert_rows_close(z, (const float[]){ 0.25f, -1, 3, 7 }, 4, 0);
}

static void test_rope_partial_and_scaled(void **state)
{
	(void)state;
	const float c1 = 0.540302f, s1 = 0.841471f;
	/* Two heads of 4 with only the first 2 dims rotated; the rest pass. */
	struct ops_rope r = { .mode = OPS_ROPE_NORM, .n_rot = 2, .freq_base = 10000, .freq_scale = 1 };
	float cs[2];
	ops_rope_cache(&r, 1, cs);
	float x[8] = { 1, 0, 5, 6, 0, 1, 7, 8 };
	ops_rope_apply(&r, x, 2, 4, cs);
	assert_rows_close(x, (const float[]){ c1, s1, 5, 6, -s1, c1, 7, 8 }, 8, TOL_HAND);

	/* Linear scaling by 2 makes position 2 turn like position 1. */
	struct ops_rope scaled = { .mode = OPS_ROPE_NORM, .n_rot = 4, .freq_base = 10000,
				   .freq_scale = 0.5f };
	struct ops_rope plain = scaled;
	plain.freq_scale = 1;
	float a[4], b[4];
	ops_rope_cache(&scaled, 2, a);
	ops_rope_cache(&plain, 1, b);
	assert_rows_close(a, b, 4, TOL_HAND);

	/* Frequency factors divide each pair's angle (llama 3 rope_freqs). */
	const float ff[2] = { 1, 2 };
	struct ops_rope factors = plain;
	factors.freq_factors = ff;
	ops_rope_cache(&factors, 1, a);
	assert_close(a[0], c1, TOL_HAND);
	assert_close(a[2], cos(0.005), TOL_HAND);
	assert_close(a[3], sin(0.005), TOL_HAND);
}

static void test_matmul_f32(void **state)
{
	(void)state;
	/* W (3 rows of 2) times two activation rows. */
	const float w[6] = { 1, 2, 3, 4, -1, 0.5f };
	const float x[4] = { 1, 1, 2, -1 };
	struct ops_mat m;
	assert_int_equal(ops_mat_init(&m, w, GGML_TYPE_F32, 2, 3), 0);
	float y[6];
	ops_matmul(y, &m, x, 2, NULL, 2);
	assert_rows_close(y, (const float[]){ 3, 7, -0.5f, 0, 2, -2.5f }, 6, 0);
	float row[2];
	ops_mat_row(&m, 1, row);
	assert_rows_close(row, (const float[]){ 3, 4 }, 2, 0);
}

static void test_matmul_f16_rounds_activations(void **state)
{
	(void)state;
	/* 1 + 2^-12 is not an f16; against F16 weights it counts as 1, as in ggml. */
	uint16_t w[2] = { f32_to_fp16(1.0f), f32_to_fp16(1.0f) };
	const float x[2] = { 1.0f + 1.0f / 4096, 0 };
	struct ops_mat m;
	assert_int_equal(ops_mat_init(&m, w, GGML_TYPE_F16, 2, 1), 0);
	void *work = malloc(ops_matmul_work_size(&m, 1, 1) + 1);
	float y;
	ops_matmul(&y, &m, x, 1, work, 1);
	assert_true(y == 1.0f);
	free(work);
}

/* Float and quantized weights: the threaded matmul must give the dots of each
 * weight row with each activation row converted to vec_dot_type: exactly
 * through the tile kernels, to TOL_PANEL (relative) through the panel
 * kernels, whose integer block sums are exact but whose float steps differ.
 * Either way one thread and two give the same bits. 43 rows and 35 tokens
 * leave partial tiles and panels on both axes. */
#define TOL_PANEL 1e-5f
static void test_matmul_quantized(void **state)
{
	(void)state;
	const enum ggml_type types[] = { GGML_TYPE_F32,  GGML_TYPE_Q8_0, GGML_TYPE_Q4_0,
					 GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K,
					 GGML_TYPE_Q5_K, GGML_TYPE_Q6_K };
	enum { N_IN = 256, N_OUT = 43, N_TOK = 35 };
	uint32_t seed = 7;
	float *wf = malloc(sizeof(float) * N_IN * N_OUT), *x = malloc(sizeof(float) * N_IN * N_TOK);
	for (int i = 0; i < N_IN * N_OUT; i++)
		wf[i] = ((seed = seed * 1664525u + 1013904223u) >> 8) / (float)(1u << 24) - 0.5f;
	for (int i = 0; i < N_IN * N_TOK; i++)
		x[i] = ((seed = seed * 1664525u + 1013904223u) >> 8) / (float)(1u << 24) - 0.5f;
	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
		const struct quant_kernels *qk = quant_best(types[k]);
		assert_non_null(qk);
		size_t rb = dtype_row_bytes(types[k], N_IN);
		uint8_t *w = malloc(rb * N_OUT);
		for (int r = 0; r < N_OUT; r++)
			qk->from_float(wf + r * N_IN, w + r * rb, N_IN);
		struct ops_mat m;
		assert_int_equal(ops_mat_init(&m, w, types[k], N_IN, N_OUT), 0);
		void *work = malloc(ops_matmul_work_size(&m, N_TOK, 2));
		float *y = malloc(sizeof(float) * N_OUT * N_TOK);
		float *y1 = malloc(sizeof(float) * N_OUT * N_TOK);
		ops_matmul(y, &m, x, N_TOK, work, 2);
		ops_matmul(y1, &m, x, N_TOK, work, 1);
		assert_memory_equal(y, y1, sizeof(float) * N_OUT * N_TOK);
		/* Decode: one token at a time; checked below against the same dots. */
		float *yd = malloc(sizeof(float) * N_OUT * N_TOK);
		for (int t = 0; t < N_TOK; t++)
			ops_matmul(yd + t * N_OUT, &m, x + t * N_IN, 1, work, 2);
		const float tol = m.panel ? TOL_PANEL : 0.0f;

		const struct quant_kernels *act = quant_best(qk->vec_dot_type);
		uint8_t *xq = malloc(dtype_row_bytes(qk->vec_dot_type, N_IN));
		for (int t = 0; t < N_TOK; t++) {
			act->from_float(x + t * N_IN, xq, N_IN);
			for (int r = 0; r < N_OUT; r++) {
				float want;
				qk->vec_dot(N_IN, &want, w + r * rb, xq);
				if (fabsf(y[t * N_OUT + r] - want) > tol * (1 + fabsf(want)))
					fail_msg("%s row %d token %d: %.9g, want %.9g", dtype_name(types[k]),
						 r, t, y[t * N_OUT + r], want);
				if (fabsf(yd[t * N_OUT + r] - want) > tol * (1 + fabsf(want)))
					fail_msg("%s decode row %d token %d: %.9g, want %.9g",
						 dtype_name(types[k]), r, t, yd[t * N_OUT + r], want);
			}
		}
		free(xq), free(y), free(y1), free(yd), free(work), free(w);
	}
	free(wf), free(x);
}

/* Products of one input in one loop give the bits of one product at a time,
 * for a single token and for batches: matrices sharing their panel kernels
 * (three q4_0, of different heights; two f32), a mix of types with nothing
 * to share, and two q4_0 around a q6_K (the two together, the other alone). */
static void test_matmul_multi_same_bits(void **state)
{
	(void)state;
	enum { N_IN = 256, MAX_TOK = 35 };
	static const struct {
		enum ggml_type type[OPS_MATMUL_MULTI_MAX];
		int n_out[OPS_MATMUL_MULTI_MAX];
		int n;
	} cases[] = {
		/* Heights that add up to work for two threads on one token. */
		{ { GGML_TYPE_Q4_0, GGML_TYPE_Q4_0, GGML_TYPE_Q4_0 }, { 160, 96, 96 }, 3 },
		{ { GGML_TYPE_F32, GGML_TYPE_F32 }, { 144, 144 }, 2 },
		{ { GGML_TYPE_Q4_0, GGML_TYPE_Q8_0, GGML_TYPE_F16 }, { 64, 32, 33 }, 3 },
		{ { GGML_TYPE_Q4_0, GGML_TYPE_Q6_K, GGML_TYPE_Q4_0 }, { 136, 48, 136 }, 3 },
	};
	/* Without panel kernels (the scalar reference) nothing groups: the
	 * comparison still holds, but says so. */
	struct ops_mat probe;
	assert_int_equal(ops_mat_init(&probe, NULL, GGML_TYPE_Q4_0, N_IN, 1), 0);
	if (!probe.panel || !probe.panel->gemv || !probe.panel->gemm)
		printf("test_matmul_multi_same_bits: no q4_0 panel kernels in this variant, so "
		       "nothing is grouped\n");
	static const int n_toks[] = { 1, 5, MAX_TOK };
	float *x = malloc(sizeof(float) * N_IN * MAX_TOK);
	assert_non_null(x);
	uint32_t seed = 7;
	for (int i = 0; i < N_IN * MAX_TOK; i++) {
		seed = seed * 1103515245u + 12345u;
		x[i] = (float)((int)(seed >> 16) % 2001 - 1000) / 500.0f;
	}
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct ops_mat m[OPS_MATMUL_MULTI_MAX];
		const struct ops_mat *ms[OPS_MATMUL_MULTI_MAX];
		float *ys[OPS_MATMUL_MULTI_MAX], *one[OPS_MATMUL_MULTI_MAX];
		uint8_t *w[OPS_MATMUL_MULTI_MAX];
		size_t work_size = 0;
		for (int i = 0; i < cases[c].n; i++) {
			const enum ggml_type t = cases[c].type[i];
			const int n_out = cases[c].n_out[i];
			const size_t rb = dtype_row_bytes(t, N_IN);
			float *wf = malloc(sizeof(float) * N_IN);
			w[i] = malloc(rb * n_out);
			assert_non_null(wf);
			assert_non_null(w[i]);
			for (int r = 0; r < n_out; r++) {
				for (int k = 0; k < N_IN; k++) {
					seed = seed * 1103515245u + 12345u;
					wf[k] = (float)((int)(seed >> 16) % 2001 - 1000) / 1000.0f;
				}
				quant_ref(t)->from_float(wf, w[i] + r * rb, N_IN);
			}
			free(wf);
			assert_int_equal(ops_mat_init(&m[i], w[i], t, N_IN, n_out), 0);
			ms[i] = &m[i];
			ys[i] = malloc(sizeof(float) * n_out * MAX_TOK);
			one[i] = malloc(sizeof(float) * n_out * MAX_TOK);
			const size_t ws = ops_matmul_work_size(&m[i], MAX_TOK, 2);
			work_size = ws > work_size ? ws : work_size;
		}
		void *work = malloc(work_size ? work_size : 1);
		for (size_t b = 0; b < sizeof(n_toks) / sizeof(n_toks[0]); b++)
			for (int nth = 1; nth <= 2; nth++) {
				const int n_tok = n_toks[b];
				/* Both outputs start as NaN bits: a row left unwritten shows. */
				for (int i = 0; i < cases[c].n; i++) {
					memset(ys[i], 0xff, sizeof(float) * cases[c].n_out[i] * n_tok);
					memset(one[i], 0xff, sizeof(float) * cases[c].n_out[i] * n_tok);
				}
				ops_matmul_multi(ys, ms, cases[c].n, x, n_tok, work, nth);
				for (int i = 0; i < cases[c].n; i++) {
					ops_matmul(one[i], &m[i], x, n_tok, work, nth);
					if (memcmp(ys[i], one[i], sizeof(float) * cases[c].n_out[i] * n_tok))
						fail_msg("case %zu matrix %d (%s), %d tokens, %d threads: "
							 "not the bits of ops_matmul", c, i,
							 dtype_name(cases[c].type[i]), n_tok, nth);
				}
			}
		for (int i = 0; i < cases[c].n; i++)
			free(w[i]), free(ys[i]), free(one[i]);
		free(work);
	}
	free(x);
}

static void test_mat_init_rejects(void **state)
{
	(void)state;
	struct ops_mat m;
	/* Rows of q8_0 must be whole blocks of 32. */
	assert_int_equal(ops_mat_init(&m, NULL, GGML_TYPE_Q8_0, 20, 1), LT_E_UNSUPPORTED);
	assert_int_equal(ops_mat_init(&m, NULL, GGML_TYPE_I32, 4, 1), LT_E_UNSUPPORTED);
}

/* K rows: pos0 (1,0), pos1 (0,1); V rows: pos0 (1,2), pos1 (3,4); one KV
 * head shared by two query heads of size 2. */
static void attention_case(enum ggml_type kv_type, double tol)
{
	const float k[4] = { 1, 0, 0, 1 }, v[4] = { 1, 2, 3, 4 };
	uint16_t k16[4], v16[4];
	for (int i = 0; i < 4; i++) {
		k16[i] = f32_to_fp16(k[i]);
		v16[i] = f32_to_fp16(v[i]);
	}
	bool f32 = kv_type == GGML_TYPE_F32;
	struct ops_attn a = { .n_head = 2, .n_head_kv = 1, .head_dim = 2, .kv_type = kv_type,
			      .kv_row_bytes = dtype_row_bytes(kv_type, 2), .scale = 1 / sqrtf(2) };
	void *work = malloc(ops_attention_work_size(&a, 2, 2));
	float out[8];

	/* Tokens at positions 0 and 1: position 0 sees only V row 0 (causal). */
	const float q[8] = { 1, 0, 0, 2, 1, 0, 0, 2 };
	assert_int_equal(ops_attention(&a, out, q, f32 ? (const void *)k : k16,
				       f32 ? (const void *)v : v16, 2, 0, work, 2), 0);
	const float want[8] = { 1, 2, 1, 2, 1.660477f, 2.660477f, 2.608859f, 3.608859f };
	assert_rows_close(out, want, 8, tol);

	/* The same second token alone, with position 0 already cached. */
	assert_int_equal(ops_attention(&a, out, q + 4, f32 ? (const void *)k : k16,
				       f32 ? (const void *)v : v16, 1, 1, work, 1), 0);
	assert_rows_close(out, want + 4, 4, tol);
	free(work);
}

static void test_attention_f32(void **state)
{
	(void)state;
	attention_case(GGML_TYPE_F32, TOL_HAND);
}

static void test_attention_f16(void **state)
{
	(void)state;
	attention_case(GGML_TYPE_F16, TOL_F16 * 4);
}

/* With an F16 cache the attention weights are rounded to f16 before they
 * scale V, as ggml's f16 matmul rounds its f32 operand. V rows (1,0) and
 * (0,1) make the output the weights themselves. */
static void test_attention_f16_rounds_weights(void **state)
{
	(void)state;
	const uint16_t k[4] = { f32_to_fp16(0), f32_to_fp16(0), f32_to_fp16(1), f32_to_fp16(0) };
	const uint16_t v[4] = { f32_to_fp16(1), f32_to_fp16(0), f32_to_fp16(0), f32_to_fp16(1) };
	struct ops_attn a = { .n_head = 1, .n_head_kv = 1, .head_dim = 2, .kv_type = GGML_TYPE_F16,
			      .kv_row_bytes = 4, .scale = 1 / sqrtf(2) };
	void *work = malloc(ops_attention_work_size(&a, 2, 1));
	const float q[2] = { 1, 0 };
	float out[2];
	assert_int_equal(ops_attention(&a, out, q, k, v, 1, 1, work, 1), 0);
	double p0 = 1 / (1 + exp(1 / sqrt(2))); /* 0.330238, not an f16 */
	double p0_f16 = 1353.0 / 4096;           /* the nearest f16, 0.330322 */
	assert_close(out[0], p0_f16, 1e-7);
	assert_true(fabs(out[0] - p0) > 5e-5);
	free(work);
}

/* ---- synthetic models ------------------------------------------------------- */

struct synth {
	const char *arch;
	int n_vocab, n_embd, n_layer, n_ff, n_head, n_head_kv, head_dim, n_rot;
	float freq_base, eps, rope_scale;
	bool tied, bias;
	const char *omit;       /* a tensor to leave out */
	const char *misshape;   /* a tensor written one row (or element) short */
};

static struct synth synth_llama(void)
{
	return (struct synth){ .arch = "llama", .n_vocab = 19, .n_embd = 16, .n_layer = 2,
			       .n_ff = 24, .n_head = 4, .n_head_kv = 2, .head_dim = 4,
			       .n_rot = 4, .freq_base = 10000, .eps = 1e-5f };
}

static struct synth synth_qwen2(void)
{
	struct synth s = synth_llama();
	s.arch = "qwen2";
	s.head_dim = 6; /* key_length overrides n_embd / n_head */
	s.n_rot = 4;    /* partial rotary */
	s.freq_base = 1000;
	s.tied = true;
	s.bias = true;
	s.rope_scale = 2;
	return s;
}

/* The tensors of a synthetic model, filled from a fixed LCG. */
struct synth_tensor {
	char name[64];
	int64_t ne[2];
	float *data;
};

struct synth_model {
	struct synth s;
	struct synth_tensor t[64];
	int n;
};

static float synth_rand(uint32_t *seed)
{
	*seed = *seed * 1664525u + 1013904223u;
	return ((float)(*seed >> 8) / (float)(1u << 24) - 0.5f);
}

static void synth_add(struct synth_model *sm, const char *name, int64_t ne0, int64_t ne1,
		      float base, uint32_t *seed)
{
	struct synth_tensor *t = &sm->t[sm->n++];
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->ne[0] = ne0;
	t->ne[1] = ne1;
	t->data = malloc((size_t)(ne0 * ne1) * sizeof(float));
	for (int64_t i = 0; i < ne0 * ne1; i++)
		t->data[i] = base + synth_rand(seed) * (base != 0 ? 0.2f : 0.8f);
}

static const float *synth_get(const struct synth_model *sm, const char *name)
{
	for (int i = 0; i < sm->n; i++)
		if (strcmp(sm->t[i].name, name) == 0)
			return sm->t[i].data;
	return NULL;
}

static void synth_build(struct synth_model *sm, const struct synth *s)
{
	memset(sm, 0, sizeof(*sm));
	sm->s = *s;
	uint32_t seed = 12345;
	const int q = s->n_head * s->head_dim, kv = s->n_head_kv * s->head_dim;
	char name[64];
	synth_add(sm, "token_embd.weight", s->n_embd, s->n_vocab, 0, &seed);
	synth_add(sm, "output_norm.weight", s->n_embd, 1, 1, &seed);
	if (!s->tied)
		synth_add(sm, "output.weight", s->n_embd, s->n_vocab, 0, &seed);
	for (int il = 0; il < s->n_layer; il++) {
#define ADD(suffix, a, b, base) \
	(snprintf(name, sizeof(name), "blk.%d." suffix, il), synth_add(sm, name, a, b, base, &seed))
		ADD("attn_norm.weight", s->n_embd, 1, 1);
		ADD("attn_q.weight", s->n_embd, q, 0);
		ADD("attn_k.weight", s->n_embd, kv, 0);
		ADD("attn_v.weight", s->n_embd, kv, 0);
		if (s->bias) {
			ADD("attn_q.bias", q, 1, 0);
			ADD("attn_k.bias", kv, 1, 0);
			ADD("attn_v.bias", kv, 1, 0);
		}
		ADD("attn_output.weight", q, s->n_embd, 0);
		ADD("ffn_norm.weight", s->n_embd, 1, 1);
		ADD("ffn_gate.weight", s->n_embd, s->n_ff, 0);
		ADD("ffn_up.weight", s->n_embd, s->n_ff, 0);
		ADD("ffn_down.weight", s->n_ff, s->n_embd, 0);
#undef ADD
	}
}

static void synth_free(struct synth_model *sm)
{
	for (int i = 0; i < sm->n; i++)
		free(sm->t[i].data);
}

/* Writes the model to a temporary file; path receives its name. */
static void synth_write(const struct synth_model *sm, char *path, size_t size)
{
	const struct synth *s = &sm->s;
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(path, size, "%s/lt_test_model_%d.gguf", dir, (int)getpid());
	struct gguf_writer *w;
	assert_int_equal(gguf_writer_new(&w), 0);
	char key[96];
#define KEY(suffix) (snprintf(key, sizeof(key), "%s." suffix, s->arch), key)
	gguf_writer_set_str(w, "general.architecture", s->arch);
	gguf_writer_set_u32(w, KEY("context_length"), 64);
	gguf_writer_set_u32(w, KEY("embedding_length"), (uint32_t)s->n_embd);
	gguf_writer_set_u32(w, KEY("block_count"), (uint32_t)s->n_layer);
	gguf_writer_set_u32(w, KEY("feed_forward_length"), (uint32_t)s->n_ff);
	gguf_writer_set_u32(w, KEY("attention.head_count"), (uint32_t)s->n_head);
	gguf_writer_set_u32(w, KEY("attention.head_count_kv"), (uint32_t)s->n_head_kv);
	gguf_writer_set_u32(w, KEY("attention.key_length"), (uint32_t)s->head_dim);
	gguf_writer_set_u32(w, KEY("attention.value_length"), (uint32_t)s->head_dim);
	gguf_writer_set_f32(w, KEY("attention.layer_norm_rms_epsilon"), s->eps);
	gguf_writer_set_u32(w, KEY("rope.dimension_count"), (uint32_t)s->n_rot);
	gguf_writer_set_f32(w, KEY("rope.freq_base"), s->freq_base);
	if (s->rope_scale) {
		gguf_writer_set_str(w, KEY("rope.scaling.type"), "linear");
		gguf_writer_set_f32(w, KEY("rope.scaling.factor"), s->rope_scale);
	}
#undef KEY
	for (int i = 0; i < sm->n; i++) {
		const struct synth_tensor *t = &sm->t[i];
		if (s->omit && strcmp(s->omit, t->name) == 0)
			continue;
		int64_t ne[2] = { t->ne[0], t->ne[1] };
		if (s->misshape && strcmp(s->misshape, t->name) == 0)
			ne[ne[1] == 1 ? 0 : 1]--;
		assert_int_equal(gguf_writer_add_tensor(w, t->name, GGML_TYPE_F32, ne[1] == 1 ? 1 : 2,
							ne, t->data), 0);
	}
	char err[256];
	int rc = gguf_writer_write(w, path, err, sizeof(err));
	if (rc)
		fail_msg("writing %s: %s", path, err);
	gguf_writer_free(w);
}

/* y (n_out) = W x with W stored as n_out rows of n_in. */
static void ref_matvec(double *y, const float *w, const double *x, int n_in, int n_out)
{
	for (int r = 0; r < n_out; r++) {
		double s = 0;
		for (int i = 0; i < n_in; i++)
			s += (double)w[(size_t)r * n_in + i] * x[i];
		y[r] = s;
	}
}

static void ref_rmsnorm(double *out, const double *x, const float *w, int n, double eps)
{
	double ss = 0;
	for (int i = 0; i < n; i++)
		ss += x[i] * x[i];
	double scale = 1 / sqrt(ss / n + eps);
	for (int i = 0; i < n; i++)
		out[i] = x[i] * scale * w[i];
}

static void ref_rope(double *x, const struct synth *s, int n_heads, int pos, bool neox)
{
	double scale = s->rope_scale ? 1.0 / s->rope_scale : 1.0;
	for (int h = 0; h < n_heads; h++) {
		double *v = x + h * s->head_dim;
		for (int i = 0; i < s->n_rot / 2; i++) {
			double th = pos * scale * pow(s->freq_base, -2.0 * i / s->n_rot);
			int a = neox ? i : 2 * i, b = neox ? i + s->n_rot / 2 : 2 * i + 1;
			double x0 = v[a], x1 = v[b];
			v[a] = x0 * cos(th) - x1 * sin(th);
			v[b] = x0 * sin(th) + x1 * cos(th);
		}
	}
}

/* The logits (n, n_vocab) of a whole sequence, straight from the definition. */
static void ref_forward(const struct synth_model *sm, const int32_t *tok, int n, double *logits)
{
	const struct synth *s = &sm->s;
	const int E = s->n_embd, Q = s->n_head * s->head_dim, KV = s->n_head_kv * s->head_dim;
	const bool neox = strcmp(s->arch, "qwen2") == 0;
	double *x = calloc((size_t)n * E, sizeof(double)), *xn = calloc(E > s->n_ff ? E : s->n_ff, 8);
	double *q = calloc((size_t)n * Q, 8), *k = calloc((size_t)n * KV, 8), *v = calloc((size_t)n * KV, 8);
	double *att = calloc(Q, 8), *tmp = calloc(E, 8), *g = calloc(s->n_ff, 8), *u = calloc(s->n_ff, 8);
	double *sc = calloc(n, 8);
	char name[64];
	const float *emb = synth_get(sm, "token_embd.weight");
	for (int t = 0; t < n; t++)
		for (int i = 0; i < E; i++)
			x[t * E + i] = emb[(size_t)tok[t] * E + i];
	for (int il = 0; il < s->n_layer; il++) {
#define W(suffix) (snprintf(name, sizeof(name), "blk.%d." suffix, il), synth_get(sm, name))
		for (int t = 0; t < n; t++) {
			ref_rmsnorm(xn, x + t * E, W("attn_norm.weight"), E, s->eps);
			ref_matvec(q + t * Q, W("attn_q.weight"), xn, E, Q);
			ref_matvec(k + t * KV, W("attn_k.weight"), xn, E, KV);
			ref_matvec(v + t * KV, W("attn_v.weight"), xn, E, KV);
			if (s->bias) {
				for (int i = 0; i < Q; i++)
					q[t * Q + i] += W("attn_q.bias")[i];
				for (int i = 0; i < KV; i++) {
					k[t * KV + i] += W("attn_k.bias")[i];
					v[t * KV + i] += W("attn_v.bias")[i];
				}
			}
			ref_rope(q + t * Q, s, s->n_head, t, neox);
			ref_rope(k + t * KV, s, s->n_head_kv, t, neox);
		}
		for (int t = 0; t < n; t++) {
			for (int h = 0; h < s->n_head; h++) {
				int kh = h / (s->n_head / s->n_head_kv);
				double mx = -1e300, sum = 0;
				for (int p = 0; p <= t; p++) {
					double d = 0;
					for (int i = 0; i < s->head_dim; i++)
						d += q[t * Q + h * s->head_dim + i] * k[p * KV + kh * s->head_dim + i];
					sc[p] = d / sqrt(s->head_dim);
					mx = sc[p] > mx ? sc[p] : mx;
				}
				for (int p = 0; p <= t; p++)
					sum += (sc[p] = exp(sc[p] - mx));
				for (int i = 0; i < s->head_dim; i++) {
					double o = 0;
					for (int p = 0; p <= t; p++)
						o += sc[p] / sum * v[p * KV + kh * s->head_dim + i];
					att[h * s->head_dim + i] = o;
				}
			}
			ref_matvec(tmp, W("attn_output.weight"), att, Q, E);
			for (int i = 0; i < E; i++)
				x[t * E + i] += tmp[i];
			ref_rmsnorm(xn, x + t * E, W("ffn_norm.weight"), E, s->eps);
			ref_matvec(g, W("ffn_gate.weight"), xn, E, s->n_ff);
			ref_matvec(u, W("ffn_up.weight"), xn, E, s->n_ff);
			for (int i = 0; i < s->n_ff; i++)
				g[i] = g[i] / (1 + exp(-g[i])) * u[i];
			ref_matvec(tmp, W("ffn_down.weight"), g, s->n_ff, E);
			for (int i = 0; i < E; i++)
				x[t * E + i] += tmp[i];
		}
#undef W
	}
	const float *out = synth_get(sm, s->tied ? "token_embd.weight" : "output.weight");
	for (int t = 0; t < n; t++) {
		ref_rmsnorm(xn, x + t * E, synth_get(sm, "output_norm.weight"), E, s->eps);
		ref_matvec(logits + (size_t)t * s->n_vocab, out, xn, E, s->n_vocab);
	}
	free(x), free(xn), free(q), free(k), free(v), free(att), free(tmp), free(g), free(u), free(sc);
}

static void synth_against_reference(const struct synth *s)
{
	struct synth_model sm;
	synth_build(&sm, s);
	char path[512], err[256];
	synth_write(&sm, path, sizeof(path));
	struct model *m;
	int rc = model_open(&m, path, NULL, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	const struct model_hparams *hp = model_hparams(m);
	assert_int_equal(hp->n_vocab, s->n_vocab);
	assert_int_equal(hp->head_dim, s->head_dim);
	assert_int_equal(hp->rope.n_rot, s->n_rot);
	assert_int_equal(model_weights(m)->tied_output, s->tied);

	const int32_t tok[7] = { 3, 1, 4, 1, 5, 9, 2 };
	const int n = 7;
	double want[7 * 64];
	ref_forward(&sm, tok, n, want);

	struct ctx_params p = ctx_params_default();
	p.kv_type = GGML_TYPE_F32;
	p.n_batch = 3; /* splits the 7 tokens into batches of 3, 3 and 1 */
	struct ctx *c;
	assert_int_equal(ctx_new(&c, m, &p, err, sizeof(err)), 0);
	assert_int_equal(ctx_eval(c, tok, n, 0, true), 0);
	for (int t = 0; t < n; t++) {
		const float *l = ctx_logits(c, t);
		assert_non_null(l);
		for (int i = 0; i < s->n_vocab; i++)
			if (fabs(l[i] - want[t * s->n_vocab + i]) > TOL_REF)
				fail_msg("%s token %d logit %d: %.7g vs reference %.7g", s->arch, t, i,
					 l[i], want[t * s->n_vocab + i]);
	}
	ctx_free(c);
	model_free(m);
	unlink(path);
	synth_free(&sm);
}

static void test_synth_llama_reference(void **state)
{
	(void)state;
	struct synth s = synth_llama();
	synth_against_reference(&s);
}

static void test_synth_qwen2_reference(void **state)
{
	(void)state;
	struct synth s = synth_qwen2();
	synth_against_reference(&s);
}

/* Opens a broken synthetic model and checks the error names the problem. */
static void expect_open_error(const struct synth *s, int want_rc, const char *want_msg)
{
	struct synth_model sm;
	synth_build(&sm, s);
	char path[512], err[256] = "";
	synth_write(&sm, path, sizeof(path));
	struct model *m = NULL;
	int rc = model_open(&m, path, NULL, err, sizeof(err));
	unlink(path);
	synth_free(&sm);
	assert_null(m);
	assert_int_equal(rc, want_rc);
	if (!strstr(err, want_msg))
		fail_msg("error '%s' does not contain '%s'", err, want_msg);
	if (!strstr(err, path))
		fail_msg("error '%s' does not name the file", err);
}

static void test_missing_tensor(void **state)
{
	(void)state;
	struct synth s = synth_llama();
	s.omit = "blk.1.ffn_up.weight";
	expect_open_error(&s, LT_E_NOTFOUND, "missing tensor 'blk.1.ffn_up.weight'");
	s = synth_qwen2();
	s.omit = "blk.0.attn_k.bias";
	expect_open_error(&s, LT_E_NOTFOUND, "missing tensor 'blk.0.attn_k.bias'");
}

static void test_wrong_shape(void **state)
{
	(void)state;
	struct synth s = synth_llama();
	s.misshape = "blk.0.ffn_down.weight";
	expect_open_error(&s, LT_E_FORMAT,
			  "tensor 'blk.0.ffn_down.weight' has shape [24, 15], expected [24, 16]");
	s = synth_llama();
	s.misshape = "output_norm.weight";
	expect_open_error(&s, LT_E_FORMAT, "tensor 'output_norm.weight' has shape [15], expected [16]");
}

/* arch_names() spells the table out for messages: it must list every row,
 * in order. */
static void test_arch_names(void **state)
{
	(void)state;
	size_t n;
	const struct arch_info *a = arch_list(&n);
	char want[512] = "";
	for (size_t i = 0; i < n; i++) {
		assert_non_null(a[i].family);
		assert_ptr_equal(arch_find(a[i].name), &a[i]);
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s", i ? ", " : "",
			 a[i].name);
	}
	assert_string_equal(arch_names(), want);
	assert_null(arch_find("gptj"));
}

static void test_bad_hparams(void **state)
{
	(void)state;
	struct synth s = synth_llama();
	s.arch = "gptj";
	expect_open_error(&s, LT_E_UNSUPPORTED, "architecture 'gptj' is not supported (supported: llama, qwen2");
	s = synth_llama();
	s.n_head_kv = 3; /* 4 heads do not split into 3 groups */
	expect_open_error(&s, LT_E_FORMAT, "not a multiple of head_count_kv 3");
}

/* A synthetic model of shape s, opened (its file is gone already). */
static struct model *synth_open(const struct synth *s)
{
	struct synth_model sm;
	synth_build(&sm, s);
	char path[512], err[256];
	synth_write(&sm, path, sizeof(path));
	synth_free(&sm);
	struct model *m;
	if (model_open(&m, path, NULL, err, sizeof(err)))
		fail_msg("%s", err);
	unlink(path);
	return m;
}

/* A warmed-up context is empty again and gives the same logits, bit for
 * bit, as one that was not; a context in use is not warmed. */
static void test_warmup_leaves_no_trace(void **state)
{
	(void)state;
	struct synth s = synth_llama();
	char err[256];
	struct model *m = synth_open(&s);
	struct ctx *warm, *cold;
	assert_int_equal(ctx_new(&warm, m, NULL, err, sizeof(err)), 0);
	assert_int_equal(ctx_new(&cold, m, NULL, err, sizeof(err)), 0);
	assert_int_equal(ctx_warmup(warm), 0);
	assert_int_equal(ctx_n_past(warm), 0);
	assert_null(ctx_logits(warm, -1));
	const int32_t tok[5] = { 3, 1, 4, 1, 5 };
	assert_int_equal(ctx_eval(warm, tok, 5, 0, true), 0);
	assert_int_equal(ctx_eval(cold, tok, 5, 0, true), 0);
	for (int t = 0; t < 5; t++)
		assert_memory_equal(ctx_logits(warm, t), ctx_logits(cold, t), (size_t)s.n_vocab * sizeof(float));
	assert_int_equal(ctx_warmup(warm), LT_E_INVAL);
	assert_non_null(strstr(ctx_error(warm), "holds 5 positions"));
	assert_int_equal(ctx_n_past(warm), 5);
	ctx_free(warm);
	ctx_free(cold);
	model_free(m);
}

/* Sanitizers keep shadow memory whose pages fault in as it is first read,
 * which the count below would take for the cache's. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TEST_SHADOW_MEMORY 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TEST_SHADOW_MEMORY 1
#endif
#endif

/* Decode steps write new rows of the KV cache and fault no page in: the
 * context makes the pages ahead present in one call (a fault a page cost
 * a 110M model's decode 4% on a virtual machine). Rows of 2 KiB, so
 * without that each layer's K and V would fault every second position. */
static void test_decode_faults_no_pages(void **state)
{
	(void)state;
#ifdef TEST_SHADOW_MEMORY
	printf("SKIP: %s: sanitizer shadow memory faults pages of its own\n", __func__);
	skip();
#endif
#ifdef MADV_POPULATE_WRITE
	void *probe = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(probe != MAP_FAILED);
	const bool populate = madvise(probe, 4096, MADV_POPULATE_WRITE) == 0;
	munmap(probe, 4096);
	if (!populate) {
		printf("SKIP: %s: the kernel lacks MADV_POPULATE_WRITE (Linux 5.14)\n", __func__);
		skip();
	}
#else
	printf("SKIP: %s: built without MADV_POPULATE_WRITE\n", __func__);
	skip();
#endif
	struct synth s = synth_llama();
	s.n_embd = 1024, s.n_head = s.n_head_kv = 8, s.head_dim = 128, s.n_rot = 128;
	char err[256];
	struct model *m = synth_open(&s);
	struct ctx_params p = ctx_params_default();
	p.n_threads = 1; /* the faults counted are the calling thread's */
	/* 32 MiB a cache: mapped afresh by any malloc, never reused memory. */
	p.n_ctx = 8192;
	struct ctx *c;
	assert_int_equal(ctx_new(&c, m, &p, err, sizeof(err)), 0);
	const int32_t prompt[4] = { 3, 1, 4, 1 };
	assert_int_equal(ctx_eval(c, prompt, 4, 0, false), 0);
	struct rusage before, after;
	assert_int_equal(getrusage(RUSAGE_THREAD, &before), 0);
	const int n_steps = 48;
	for (int i = 0; i < n_steps; i++) {
		const int32_t tok = (int32_t)(i % s.n_vocab);
		assert_int_equal(ctx_eval(c, &tok, 1, 4 + i, false), 0);
	}
	assert_int_equal(getrusage(RUSAGE_THREAD, &after), 0);
	const long faults = after.ru_minflt - before.ru_minflt;
	/* Unpopulated, 2 layers x K and V x a page per 2 positions: 96. */
	if (faults > 4)
		fail_msg("%d decode steps faulted %ld pages in", n_steps, faults);
	ctx_free(c);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rmsnorm),
		cmocka_unit_test(test_softmax),
		cmocka_unit_test(test_swiglu),
		cmocka_unit_test(test_rope_modes),
		cmocka_unit_test(test_rope_partial_and_scaled),
		cmocka_unit_test(test_matmul_f32),
		cmocka_unit_test(test_matmul_f16_rounds_activations),
		cmocka_unit_test(test_matmul_quantized),
		cmocka_unit_test(test_matmul_multi_same_bits),
		cmocka_unit_test(test_mat_init_rejects),
		cmocka_unit_test(test_attention_f32),
		cmocka_unit_test(test_attention_f16),
		cmocka_unit_test(test_attention_f16_rounds_weights),
		cmocka_unit_test(test_synth_llama_reference),
		cmocka_unit_test(test_synth_qwen2_reference),
		cmocka_unit_test(test_missing_tensor),
		cmocka_unit_test(test_wrong_shape),
		cmocka_unit_test(test_arch_names),
		cmocka_unit_test(test_bad_hparams),
		cmocka_unit_test(test_decode_faults_no_pages),
		cmocka_unit_test(test_warmup_leaves_no_trace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
