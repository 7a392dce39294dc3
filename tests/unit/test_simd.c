/* Every SIMD kernel of every kernel variant this CPU runs against its
 * scalar twin in quant_ref: activation quantizers byte for byte,
 * conversions exactly, dot products within named tolerances (the integer
 * parts agree exactly; only the order of the float sums differs). The
 * variants the CPU lacks are named as skipped. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel_variants.h"

#include "dtype.h"
#include "ops.h"
#include "quant.h"

/* Float dots summed in another order: relative to sum(|x*y|). */
#define TOL_DOT_FLOAT 1e-6
/* Integer block dots: per-block products of scales summed in another
 * order (and with FMA), relative to sum over blocks of |scale * isum|. */
#define TOL_DOT_QUANT 1e-5
/* Rows long enough for four k-quant super-blocks plus F32 tails. */
#define N_ROW 1024

static uint32_t rng_state = 12345;

static float rnd(void)
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return (float)((rng_state >> 8) / (double)(1u << 24)) - 0.5f;
}


/* Fills x with values of mixed magnitudes, including exact zeros and a
 * block scaled up a lot, so scales of many sizes are exercised. */
static void fill(float *x, int n, float scale)
{
	for (int i = 0; i < n; i++)
		x[i] = rnd() * scale * (i % 97 == 0 ? 0.0f : 1.0f) * (i / 256 == 1 ? 40.0f : 1.0f);
}

static void check_quantizer(enum ggml_type type)
{
	const struct quant_kernels *fast = variant_quant(type), *ref = quant_ref(type);
	float x[N_ROW];
	size_t rb = dtype_row_bytes(type, N_ROW);
	uint8_t *a = malloc(rb), *b = malloc(rb);
	for (int round = 0; round < 20; round++) {
		fill(x, N_ROW, round % 2 ? 3.0f : 0.01f);
		if (round == 3)
			memset(x, 0, sizeof(x)); /* all-zero blocks */
		if (round == 4) /* exact halves after scaling: amax 127 makes id 1 */
			for (int i = 0; i < N_ROW; i++)
				x[i] = i % 32 == 0 ? 127.0f : (float)(i % 7) - 2.5f;
		if (round == 5) /* all negative: the scale's sign comes from the smallest */
			for (int i = 0; i < N_ROW; i++)
				x[i] = -fabsf(x[i]);
		if (round == 6 || round == 7) /* +a and -a in every block, either first */
			for (int i = 0; i < N_ROW; i += 32) {
				x[i + 5] = round == 6 ? -9.0f : 9.0f;
				x[i + 17] = round == 6 ? 9.0f : -9.0f;
			}
		ref->from_float(x, a, N_ROW);
		fast->from_float(x, b, N_ROW);
		if (memcmp(a, b, rb) != 0) {
			size_t i = 0;
			while (a[i] == b[i])
				i++;
			fail_msg("%s from_float round %d: byte %zu is %d, want %d", dtype_name(type),
				 round, i, b[i], a[i]);
		}
	}
	free(a);
	free(b);
}

static void test_q8_0_from_float(void **state)
{
	(void)state;
	check_quantizer(GGML_TYPE_Q8_0);
}

static void test_q8_1_from_float(void **state)
{
	(void)state;
	check_quantizer(GGML_TYPE_Q8_1);
}

static void test_q8_K_from_float(void **state)
{
	(void)state;
	check_quantizer(GGML_TYPE_Q8_K);
}

static void test_f16_conversions(void **state)
{
	(void)state;
	const struct quant_kernels *fast = variant_quant(GGML_TYPE_F16), *ref = quant_ref(GGML_TYPE_F16);
	/* 37: a tail after the 8-wide loop. Specials: tiny (subnormal f16),
	 * huge (overflow to inf), ties, signed zero. */
	enum { N = 37 };
	float x[N];
	for (int i = 0; i < N; i++)
		x[i] = rnd() * 10;
	x[0] = 1e-6f, x[1] = -3e-7f, x[2] = 70000.0f, x[3] = -0.0f, x[4] = 1.0f + 1.0f / 2048;
	x[5] = INFINITY, x[36] = 2049.0f;
	uint16_t a[N], b[N];
	ref->from_float(x, a, N);
	fast->from_float(x, b, N);
	assert_memory_equal(a, b, sizeof(a));
	float fa[N], fb[N];
	ref->to_float(a, fa, N);
	fast->to_float(a, fb, N);
	assert_memory_equal(fa, fb, sizeof(fa));
}

static void test_bf16_to_float(void **state)
{
	(void)state;
	const struct quant_kernels *fast = variant_quant(GGML_TYPE_BF16), *ref = quant_ref(GGML_TYPE_BF16);
	enum { N = 45 };
	uint16_t h[N];
	for (int i = 0; i < N; i++)
		h[i] = f32_to_bf16(rnd() * 1000);
	float a[N], b[N];
	ref->to_float(h, a, N);
	fast->to_float(h, b, N);
	assert_memory_equal(a, b, sizeof(a));
}

/* Sum of |x_i * y_i| over the dequantized rows: the scale of the rounding
 * error of any summation order. */
static double abs_dot(enum ggml_type tx, const void *x, enum ggml_type ty, const void *y, int n)
{
	float *fx = malloc(sizeof(float) * n), *fy = malloc(sizeof(float) * n);
	quant_ref(tx)->to_float(x, fx, n);
	quant_ref(ty)->to_float(y, fy, n);
	double s = 0;
	for (int i = 0; i < n; i++)
		s += fabs((double)fx[i] * fy[i]);
	free(fx);
	free(fy);
	return s;
}

/* Weights quantized by the reference, activations by the reference
 * quantizer of vec_dot_type; both dots must agree within tol. */
static void check_dot(enum ggml_type type, int n, double tol)
{
	const struct quant_kernels *fast = variant_quant(type), *ref = quant_ref(type);
	const struct quant_kernels *act = quant_ref(ref->vec_dot_type);
	assert_int_equal(fast->vec_dot_type, ref->vec_dot_type);
	float *wf = malloc(sizeof(float) * n), *xf = malloc(sizeof(float) * n);
	uint8_t *w = malloc(dtype_row_bytes(type, n));
	uint8_t *x = malloc(dtype_row_bytes(ref->vec_dot_type, n));
	for (int round = 0; round < 50; round++) {
		fill(wf, n, round % 3 ? 1.0f : 0.05f);
		fill(xf, n, round % 2 ? 2.0f : 0.3f);
		ref->from_float(wf, w, n);
		act->from_float(xf, x, n);
		float want, got;
		ref->vec_dot(n, &want, w, x);
		fast->vec_dot(n, &got, w, x);
		double scale = abs_dot(type, w, ref->vec_dot_type, x, n);
		if (fabs((double)got - want) > tol * scale + 1e-30)
			fail_msg("%s dot round %d (n %d): %.9g, want %.9g (scale %g, tolerance %g)",
				 dtype_name(type), round, n, got, want, scale, tol);
	}
	free(wf), free(xf), free(w), free(x);
}

static void test_dot_f32(void **state)
{
	(void)state;
	check_dot(GGML_TYPE_F32, N_ROW, TOL_DOT_FLOAT);
	check_dot(GGML_TYPE_F32, 45, TOL_DOT_FLOAT); /* tails */
}

static void test_dot_f16(void **state)
{
	(void)state;
	check_dot(GGML_TYPE_F16, N_ROW, TOL_DOT_FLOAT);
	check_dot(GGML_TYPE_F16, 45, TOL_DOT_FLOAT);
}

static void test_dot_bf16(void **state)
{
	(void)state;
	check_dot(GGML_TYPE_BF16, N_ROW, TOL_DOT_FLOAT);
	check_dot(GGML_TYPE_BF16, 45, TOL_DOT_FLOAT);
}

static void test_dot_legacy(void **state)
{
	(void)state;
	const enum ggml_type types[] = { GGML_TYPE_Q8_0, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1,
					 GGML_TYPE_Q5_0, GGML_TYPE_Q5_1 };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		check_dot(types[i], N_ROW, TOL_DOT_QUANT);
		check_dot(types[i], 96, TOL_DOT_QUANT); /* an odd number of blocks */
	}
}

static void test_dot_kquants(void **state)
{
	(void)state;
	const enum ggml_type types[] = { GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K,
					 GGML_TYPE_Q5_K, GGML_TYPE_Q6_K };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		check_dot(types[i], N_ROW, TOL_DOT_QUANT);
		check_dot(types[i], 256, TOL_DOT_QUANT);
	}
}

/* The prefill block kernels and the decode row kernels must give each
 * pair's vec_dot bit for bit: batch and token-by-token evaluation agree. */
static void check_tile(enum ggml_type type, int n)
{
	const struct quant_kernels *k = variant_quant(type);
	const struct quant_tile *tile = variant_tile(type);
	if (!tile) {
		printf("SKIP: %s has no %s tile\n", variant_under_test->name, dtype_name(type));
		return;
	}
	const struct quant_kernels *act = quant_best(k->vec_dot_type);
	enum { ROWS = 4, TOKS = 4 };
	assert_true(tile->rows <= ROWS && tile->tokens <= TOKS && tile->gemv_rows <= ROWS);
	size_t wb = dtype_row_bytes(type, n), ab = dtype_row_bytes(k->vec_dot_type, n);
	uint8_t *w = malloc(wb * ROWS), *a = malloc(ab * TOKS);
	float *f = malloc(sizeof(float) * n);
	for (int r = 0; r < ROWS; r++) {
		fill(f, n, 1.0f);
		k->from_float(f, w + r * wb, n);
	}
	for (int t = 0; t < TOKS; t++) {
		fill(f, n, 2.0f);
		act->from_float(f, a + t * ab, n);
	}
	float y[ROWS * TOKS], want;
	tile->fn(n, w, wb, a, ab, y, ROWS);
	for (int t = 0; t < tile->tokens; t++)
		for (int r = 0; r < tile->rows; r++) {
			k->vec_dot(n, &want, w + r * wb, a + t * ab);
			if (memcmp(&y[t * ROWS + r], &want, sizeof(want)) != 0)
				fail_msg("%s tile row %d token %d: %.9g, vec_dot %.9g", dtype_name(type), r,
					 t, y[t * ROWS + r], want);
		}
	if (tile->gemv) {
		tile->gemv(n, w, wb, a + ab, ab, y, 1);
		for (int r = 0; r < tile->gemv_rows; r++) {
			k->vec_dot(n, &want, w + r * wb, a + ab);
			if (memcmp(&y[r], &want, sizeof(want)) != 0)
				fail_msg("%s gemv row %d: %.9g, vec_dot %.9g", dtype_name(type), r, y[r],
					 want);
		}
	}
	free(w), free(a), free(f);
}

static void test_tiles_match_vec_dot(void **state)
{
	(void)state;
	const enum ggml_type types[] = { GGML_TYPE_F32, GGML_TYPE_Q4_K, GGML_TYPE_Q6_K };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		check_tile(types[i], N_ROW);
		check_tile(types[i], 256);
	}
	check_tile(GGML_TYPE_F32, 45); /* scalar tails */
}

/* The prefill panels against the reference vec_dot of each pair, with
 * weights and activations from the reference quantizers: partial panels,
 * more tokens than one pass of accumulators holds, and blocks at the edge
 * of the 16-bit sums (every product at its largest, all of one sign). */
#define GEMV_GUARD -12345.0f
/* The widest panel of any variant: avx512-vnni's float panels. */
#define PANEL_ROWS_MAX 32

static void check_panel(enum ggml_type type, int n, int n_rows, int n_tok)
{
	const struct quant_panel *pn = variant_panel(type);
	if (!pn) {
		printf("SKIP: %s has no %s panel\n", variant_under_test->name, dtype_name(type));
		return;
	}
	assert_true(n_rows <= pn->rows && pn->rows <= PANEL_ROWS_MAX);
	const struct quant_kernels *ref = quant_ref(type), *act = quant_ref(ref->vec_dot_type);
	const size_t wb = dtype_row_bytes(type, n), qb = dtype_row_bytes(ref->vec_dot_type, n);
	/* Float panels read the activations as they are. */
	const size_t ab = pn->act_from_float ? (size_t)(n / 32) * pn->act_block_bytes
					     : (size_t)n * sizeof(float);
	uint8_t *w = malloc(wb * n_rows), *a = malloc(ab * n_tok), *q = malloc(qb * n_tok);
	void *panel = malloc((size_t)(n / 32) * pn->block_bytes);
	float *f = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n_tok * n_rows);
	const double tol = type == GGML_TYPE_F32 || type == GGML_TYPE_F16 || type == GGML_TYPE_BF16
				   ? TOL_DOT_FLOAT
				   : TOL_DOT_QUANT;
	/* The k-quant panels add the integer sums of each sub-block exactly and
	 * take the reference's float steps in its order: the same bits. */
	const bool kquant = type == GGML_TYPE_Q2_K || type == GGML_TYPE_Q3_K ||
			    type == GGML_TYPE_Q4_K || type == GGML_TYPE_Q5_K || type == GGML_TYPE_Q6_K;
	for (int round = 0; round < 4; round++) {
		for (int r = 0; r < n_rows; r++) {
			fill(f, n, 1.0f);
			if (round == 3) /* q4_0: one -1 per block sets d, the rest quantize to 15 */
				for (int i = 0; i < n; i++)
					f[i] = type == GGML_TYPE_Q4_0 && i % 32 == 0 ? -1.0f : 1.0f;
			/* k-quants with mins: one 0 per group sets the min to 0 and
			 * the rest to the top quant (q4_K 15, q5_K 31, q2_K 3). */
			if (round == 3 && (type == GGML_TYPE_Q4_K || type == GGML_TYPE_Q5_K ||
					   type == GGML_TYPE_Q2_K))
				for (int i = 0; i < n; i++)
					f[i] = i % 16 == 0 ? 0.0f : 1.0f;
			/* q6_K and q3_K: all -1 quantize to their lowest quants, -32
			 * and -4, with the most negative scales. */
			if (round == 3 && (type == GGML_TYPE_Q6_K || type == GGML_TYPE_Q3_K))
				for (int i = 0; i < n; i++)
					f[i] = -1.0f;
			ref->from_float(f, w + r * wb, n);
		}
		for (int t = 0; t < n_tok; t++) {
			fill(f, n, round == 1 ? 0.01f : 2.0f);
			/* All 1 quantize to -127; one -1 per super-block takes that
			 * and the rest become 127, whose shift to unsigned (q6_K and
			 * q3_K panels) is 255. */
			if (round == 3)
				for (int i = 0; i < n; i++)
					f[i] = (type == GGML_TYPE_Q6_K || type == GGML_TYPE_Q3_K) && i % 256 == 0
						       ? -1.0f
						       : 1.0f;
			if (pn->act_from_float)
				pn->act_from_float(f, a + t * ab, n);
			else
				memcpy(a + t * ab, f, sizeof(float) * n);
			act->from_float(f, q + t * qb, n);
		}
		/* Decode-only panels have no gemm; their gemv is checked below. */
		if (pn->gemm) {
			pn->pack(n, w, wb, n_rows, panel);
			pn->gemm(n, panel, a, ab, n_tok, y, (size_t)n_rows, n_rows);
		}
		for (int t = 0; t < n_tok && pn->gemm; t++)
			for (int r = 0; r < n_rows; r++) {
				float want;
				ref->vec_dot(n, &want, w + r * wb, q + t * qb);
				double scale = abs_dot(type, w + r * wb, ref->vec_dot_type, q + t * qb, n);
				float got = y[t * n_rows + r];
				if (kquant && got != want)
					fail_msg("%s panel round %d row %d token %d: %.9g, want %.9g exactly",
						 dtype_name(type), round, r, t, got, want);
				if (fabs((double)got - want) > tol * scale + 1e-30)
					fail_msg("%s panel round %d row %d token %d: %.9g, want %.9g",
						 dtype_name(type), round, r, t, got, want);
			}
		if (!pn->gemv)
			continue;
		for (int t = 0; t < n_tok; t++) {
			float g[PANEL_ROWS_MAX];
			for (int r = 0; r < PANEL_ROWS_MAX; r++)
				g[r] = GEMV_GUARD;
			pn->gemv(n, w, wb, n_rows, a + t * ab, g);
			/* The lanes past n_rows repeat a row but must not be stored. */
			for (int r = n_rows; r < PANEL_ROWS_MAX; r++)
				assert_true(g[r] == GEMV_GUARD);
			for (int r = 0; r < n_rows; r++) {
				float want;
				ref->vec_dot(n, &want, w + r * wb, q + t * qb);
				double scale = abs_dot(type, w + r * wb, ref->vec_dot_type, q + t * qb, n);
				if (fabs((double)g[r] - want) > TOL_DOT_QUANT * scale + 1e-30)
					fail_msg("%s gemv round %d row %d token %d: %.9g, want %.9g",
						 dtype_name(type), round, r, t, g[r], want);
			}
		}
	}
	free(w), free(a), free(q), free(panel), free(f), free(y);
}

static void test_panels_match_reference(void **state)
{
	(void)state;
	const enum ggml_type types[] = { GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q8_0,
					 GGML_TYPE_Q4_0 };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (!variant_panel(types[i])) {
			check_panel(types[i], 32, 1, 1); /* says SKIP */
			continue;
		}
		const int rows = variant_panel(types[i])->rows;
		check_panel(types[i], N_ROW, rows, 5);
		check_panel(types[i], 96, 3, 37); /* a partial panel, two passes of tokens */
		check_panel(types[i], 32, rows, 1);
		check_panel(types[i], 64, rows, 13);
		/* Past the first eight rows of a wider panel, and short of its end. */
		check_panel(types[i], 128, rows > 8 ? rows - 3 : rows - 1, 17);
	}
}

/* The k-quant panels (prefill, and decode where a type has it): every
 * partial panel of rows, token counts from 1 to more than one pass of
 * accumulators, rows of one to sixteen super-blocks, against the reference
 * vec_dot. */
static void test_kpanels_match_reference(void **state)
{
	(void)state;
	const enum ggml_type types[] = { GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K,
					 GGML_TYPE_Q5_K, GGML_TYPE_Q6_K };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const struct quant_panel *pn = variant_panel(types[i]);
		if (!pn) {
			printf("SKIP: %s has no %s panel\n", variant_under_test->name,
			       dtype_name(types[i]));
			continue;
		}
		for (int rows = 1; rows <= pn->rows; rows++)
			check_panel(types[i], 512, rows, 4 * rows - 2);
		check_panel(types[i], 256, pn->rows, 1);
		check_panel(types[i], 256, pn->rows, 3);
		check_panel(types[i], N_ROW, pn->rows, 33);
		check_panel(types[i], 11 * 256, 5, 37);
		check_panel(types[i], 16 * 256, pn->rows, 2);
	}
}

/* Attention widens an F16 cache to floats once per call; with heads longer
 * than twice the sequence its scratch must still hold the f16 query. F16
 * and F32 caches of the same rows agree to f16 precision. */
#define TOL_ATTN_F16 2e-2
static void test_attention_f16_cache_matches_f32(void **state)
{
	(void)state;
	enum { HD = 64, NH = 4, NKV = 2, NTOK = 3 };
	struct ops_attn a = { .n_head = NH, .n_head_kv = NKV, .head_dim = HD,
			      .scale = 1 / sqrtf(HD) };
	float q[NTOK * NH * HD], k[NTOK * NKV * HD], v[NTOK * NKV * HD];
	float out32[NTOK * NH * HD], out16[NTOK * NH * HD];
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		q[i] = rnd() * 4;
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		k[i] = rnd() * 4;
		v[i] = rnd();
	}
	uint16_t k16[NTOK * NKV * HD], v16[NTOK * NKV * HD];
	quant_ref(GGML_TYPE_F16)->from_float(k, k16, NTOK * NKV * HD);
	quant_ref(GGML_TYPE_F16)->from_float(v, v16, NTOK * NKV * HD);
	quant_ref(GGML_TYPE_F16)->to_float(k16, k, NTOK * NKV * HD);
	quant_ref(GGML_TYPE_F16)->to_float(v16, v, NTOK * NKV * HD);
	for (int f16 = 0; f16 < 2; f16++) {
		a.kv_type = f16 ? GGML_TYPE_F16 : GGML_TYPE_F32;
		a.kv_row_bytes = dtype_row_bytes(a.kv_type, NKV * HD);
		void *work = malloc(ops_attention_work_size(&a, NTOK, 2));
		assert_int_equal(ops_attention(&a, f16 ? out16 : out32, q, f16 ? (void *)k16 : (void *)k,
					       f16 ? (void *)v16 : (void *)v, NTOK, 0, work, 2), 0);
		free(work);
	}
	for (int i = 0; i < NTOK * NH * HD; i++)
		if (fabsf(out16[i] - out32[i]) > TOL_ATTN_F16)
			fail_msg("element %d: f16 cache %.6g, f32 cache %.6g", i, out16[i], out32[i]);
}

/* quant_best follows the selected variant; the reference stays reachable;
 * unknown names are refused. */
static void test_select(void **state)
{
	(void)state;
	assert_ptr_equal(kernels_active(), variant_under_test);
	assert_ptr_equal(quant_best(GGML_TYPE_Q4_0), variant_quant(GGML_TYPE_Q4_0));
	assert_int_equal(kernels_select("scalar"), 0);
	assert_ptr_equal(quant_best(GGML_TYPE_Q4_0), quant_ref(GGML_TYPE_Q4_0));
	assert_int_equal(kernels_select("no-such-isa"), LT_E_NOTFOUND);
	assert_int_equal(kernels_select(variant_under_test->name), 0);
	assert_null(quant_best(GGML_TYPE_I32));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_q8_0_from_float),
		cmocka_unit_test(test_q8_1_from_float),
		cmocka_unit_test(test_q8_K_from_float),
		cmocka_unit_test(test_f16_conversions),
		cmocka_unit_test(test_bf16_to_float),
		cmocka_unit_test(test_dot_f32),
		cmocka_unit_test(test_dot_f16),
		cmocka_unit_test(test_dot_bf16),
		cmocka_unit_test(test_dot_legacy),
		cmocka_unit_test(test_dot_kquants),
		cmocka_unit_test(test_tiles_match_vec_dot),
		cmocka_unit_test(test_panels_match_reference),
		cmocka_unit_test(test_kpanels_match_reference),
		cmocka_unit_test(test_attention_f16_cache_matches_f32),
		cmocka_unit_test(test_select),
	};
	return run_per_variant(tests, sizeof(tests) / sizeof(tests[0]));
}
