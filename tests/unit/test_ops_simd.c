/* Every SIMD row kernel of every kernel variant this CPU runs against its
 * scalar twin in ops_rows_ref, over row lengths with and without tails,
 * within named tolerances; exp also against exp() in double over the whole
 * float range and at its special values. The variants the CPU lacks are
 * named as skipped. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel_variants.h"

#include "ops.h"
#include "quant.h"

/* exp of a normal result, relative to the correctly rounded value: 2 ulp
 * at the top of a binade (2^-23 is one ulp at its bottom). */
#define TOL_EXP 2.4e-7
/* exp of a result in the subnormal range, absolute: 2 ulp there. */
#define TOL_EXP_SUBNORMAL (2 * 0x1p-149)
/* Softmax: exp's 2 ulp plus the final scaling, relative to each output;
 * outputs that are subnormal are held to the absolute bound above. */
#define TOL_SOFTMAX 4e-7
/* RMS norm: both sum the same float squares in double, so at most the
 * order of the additions moves the scale by an ulp. */
#define TOL_RMSNORM 2.4e-7
/* SwiGLU: exp's error, damped by 1 + e^-g, then a division and a multiply. */
#define TOL_SWIGLU 4.8e-7
/* RoPE: one fused multiply-add instead of two roundings, relative to
 * |x0| + |x1| of the pair (an output may cancel to near zero). */
#define TOL_ROPE 2.4e-7
/* Attention scores and weighted sums: float lanes against a double (scores)
 * or a sequential float sum, relative to the sum of |terms|. */
#define TOL_DOT 1e-6

static const int lengths[] = { 1, 7, 8, 9, 31, 64, 100, 4097 };
#define N_LENGTHS (int)(sizeof(lengths) / sizeof(lengths[0]))
#define N_MAX 4097

static uint32_t rng_state = 4242;

/* Uniform in [-0.5, 0.5). */
static float rnd(void)
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return (float)((rng_state >> 8) / (double)(1u << 24)) - 0.5f;
}

static const struct ops_row_kernels *rows_or_skip(void)
{
	const struct ops_row_kernels *k = variant_rows();
	if (k == ops_rows_ref()) {
		printf("SKIP: %s has no row kernels\n", variant_under_test->name);
		skip();
	}
	return k;
}

static float *alloc_floats(size_t n)
{
	float *p = malloc(n * sizeof(float));
	assert_non_null(p);
	return p;
}

/* Fails unless |got - want| <= rel * scale + abs, with NaN only for NaN
 * and infinities equal. */
static void check_close(const char *what, int n, int i, float got, float want, double rel,
			double scale, double abs)
{
	if (isnan(want) || isnan(got)) {
		if (!(isnan(want) && isnan(got)))
			fail_msg("%s n=%d [%d]: %.9g, want %.9g", what, n, i, got, want);
		return;
	}
	if (isinf(want) || isinf(got)) {
		if (got != want)
			fail_msg("%s n=%d [%d]: %.9g, want %.9g", what, n, i, got, want);
		return;
	}
	if (fabs((double)got - want) > rel * scale + abs)
		fail_msg("%s n=%d [%d]: %.9g, want %.9g (off by %.3g, allowed %.3g)", what, n, i, got,
			 want, fabs((double)got - want), rel * scale + abs);
}

/* ---- exp ------------------------------------------------------------------ */

/* The exactly rounded e^x, from double. */
static float exp_truth(float x)
{
	return (float)exp((double)x);
}

static void check_exp_value(const struct ops_row_kernels *k, float x)
{
	float y;
	k->vexp(&y, &x, 1);
	const float want = exp_truth(x);
	if (isnan(x)) {
		if (!isnan(y))
			fail_msg("exp(NaN) = %.9g, want NaN", y);
		return;
	}
	if (want == 0 || fabsf(want) < FLT_MIN)
		check_close("exp (subnormal result)", 1, 0, y, want, 0, 0, TOL_EXP_SUBNORMAL);
	else
		check_close("exp", 1, 0, y, want, TOL_EXP, want, 0);
}

static void test_exp_special_values(void **state)
{
	(void)state;
	const struct ops_row_kernels *k = rows_or_skip();
	const float xs[] = { 0.0f, -0.0f, 1e-30f, -1e-30f, FLT_MIN, 0x1p-149f, 1.0f, -1.0f, 0.5f,
			     -87.3f, -87.5f, -100.0f, -103.9f, -104.0f, -110.0f, -200.0f, -1e30f,
			     -INFINITY, 88.0f, 88.7f, 88.72f, 88.73f, 89.0f, 1e30f, INFINITY, NAN };
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++)
		check_exp_value(k, xs[i]);

	/* Exact values where the answer is not a matter of tolerance. */
	const float exact_in[] = { 0.0f, -0.0f, 1e-30f, -1e-30f, -104.0f, -200.0f, -1e30f,
				   -INFINITY, 88.73f, 1e30f, INFINITY };
	const float exact_out[] = { 1, 1, 1, 1, 0, 0, 0, 0, INFINITY, INFINITY, INFINITY };
	float y[sizeof(exact_in) / sizeof(exact_in[0])];
	const int n = (int)(sizeof(exact_in) / sizeof(exact_in[0]));
	k->vexp(y, exact_in, n);
	for (int i = 0; i < n; i++) {
		if (y[i] != exact_out[i] || signbit(y[i]))
			fail_msg("exp(%.9g) = %.9g, want %.9g", exact_in[i], y[i], exact_out[i]);
	}
	/* A NaN lane among others stays NaN and leaves its neighbours alone. */
	float mixed[9] = { 1, NAN, -INFINITY, 2, 3, NAN, 0, -1, NAN };
	k->vexp(mixed, mixed, 9);
	assert_true(isnan(mixed[1]) && isnan(mixed[5]) && isnan(mixed[8]));
	assert_true(mixed[2] == 0 && mixed[6] == 1);
	check_close("exp", 9, 0, mixed[0], exp_truth(1), TOL_EXP, exp_truth(1), 0);
	check_close("exp", 9, 7, mixed[7], exp_truth(-1), TOL_EXP, exp_truth(-1), 0);
}

/* A dense sweep of the whole range where e^x is neither 0 nor inf, plus
 * random arguments, in rows of every tested length (the tails too). */
static void test_exp_sweep(void **state)
{
	(void)state;
	const struct ops_row_kernels *k = rows_or_skip();
	enum { N_SWEEP = 1 << 20 };
	float *x = alloc_floats(N_SWEEP), *y = alloc_floats(N_SWEEP);
	const double lo = -104.5, hi = 88.75;
	for (int i = 0; i < N_SWEEP; i++)
		x[i] = (float)(lo + (hi - lo) * i / (N_SWEEP - 1));
	int done = 0;
	for (int l = 0; done < N_SWEEP; l = (l + 1) % N_LENGTHS) {
		const int n = done + lengths[l] <= N_SWEEP ? lengths[l] : N_SWEEP - done;
		k->vexp(y + done, x + done, n);
		done += n;
	}
	double worst = 0;
	for (int i = 0; i < N_SWEEP; i++) {
		const float want = exp_truth(x[i]);
		if (want == 0 || want < FLT_MIN || isinf(want)) {
			check_close("exp sweep (subnormal or limit)", N_SWEEP, i, y[i], want, 0, 0,
				    TOL_EXP_SUBNORMAL);
			continue;
		}
		const double rel = fabs((double)y[i] - want) / want;
		if (rel > worst)
			worst = rel;
		check_close("exp sweep", N_SWEEP, i, y[i], want, TOL_EXP, want, 0);
	}
	printf("exp: worst relative error %.3g over %d arguments (TOL_EXP %.3g)\n", worst, N_SWEEP,
	       TOL_EXP);
	/* The SIMD exp against the reference table's expf, on small arguments. */
	for (int i = 0; i < N_MAX; i++)
		x[i] = rnd() * 40;
	k->vexp(y, x, N_MAX);
	ops_rows_ref()->vexp(x, x, N_MAX);
	for (int i = 0; i < N_MAX; i++)
		check_close("exp vs expf", N_MAX, i, y[i], x[i], 2 * TOL_EXP, x[i], 0);
	free(x);
	free(y);
}

/* ---- row operations --------------------------------------------------------- */

static void test_rmsnorm(void **state)
{
	(void)state;
	const struct ops_row_kernels *k = rows_or_skip(), *ref = ops_rows_ref();
	float *x = alloc_floats(N_MAX), *w = alloc_floats(N_MAX);
	float *a = alloc_floats(N_MAX), *b = alloc_floats(N_MAX);
	for (int round = 0; round < 3; round++) {
		const float mag = round == 0 ? 1.0f : round == 1 ? 1e-3f : 300.0f;
		for (int l = 0; l < N_LENGTHS; l++) {
			const int n = lengths[l];
			for (int i = 0; i < n; i++) {
				x[i] = rnd() * mag;
				w[i] = rnd() * 4;
			}
			ref->rmsnorm(a, x, w, n, 1e-5f);
			k->rmsnorm(b, x, w, n, 1e-5f);
			for (int i = 0; i < n; i++)
				check_close("rmsnorm", n, i, b[i], a[i], TOL_RMSNORM, fabsf(a[i]), 0);
			/* In place, as the forward pass may call it. */
			memcpy(b, x, (size_t)n * sizeof(float));
			k->rmsnorm(b, b, w, n, 1e-5f);
			for (int i = 0; i < n; i++)
				check_close("rmsnorm in place", n, i, b[i], a[i], TOL_RMSNORM, fabsf(a[i]),
					    0);
		}
	}
	free(x), free(w), free(a), free(b);
}

static void check_softmax_row(const struct ops_row_kernels *k, const float *x, int n,
			      const char *what)
{
	float *a = alloc_floats((size_t)n), *b = alloc_floats((size_t)n);
	memcpy(a, x, (size_t)n * sizeof(float));
	memcpy(b, x, (size_t)n * sizeof(float));
	ops_rows_ref()->softmax(a, n);
	k->softmax(b, n);
	double sum = 0;
	for (int i = 0; i < n; i++) {
		check_close(what, n, i, b[i], a[i], TOL_SOFTMAX, fabsf(a[i]), TOL_EXP_SUBNORMAL);
		sum += b[i];
	}
	if (fabs(sum - 1) > 1e-5)
		fail_msg("%s n=%d: outputs sum to %.9g", what, n, sum);
	free(a);
	free(b);
}

static void test_softmax(void **state)
{
	(void)state;
	const struct ops_row_kernels *k = rows_or_skip();
	float *x = alloc_floats(N_MAX);
	for (int l = 0; l < N_LENGTHS; l++) {
		const int n = lengths[l];
		for (int i = 0; i < n; i++)
			x[i] = rnd() * 8;
		check_softmax_row(k, x, n, "softmax");
		/* Huge spreads: most terms underflow to zero or to subnormals. */
		for (int i = 0; i < n; i++)
			x[i] = rnd() * 400;
		check_softmax_row(k, x, n, "softmax, spread 400");
		for (int i = 0; i < n; i++)
			x[i] = i % 3 == 0 ? 1e4f * rnd() : -1e30f;
		check_softmax_row(k, x, n, "softmax, spread 1e30");
		/* Masked scores, with the maximum in the tail. */
		for (int i = 0; i < n; i++)
			x[i] = i % 2 ? -INFINITY : rnd();
		x[n - 1] = 5000;
		check_softmax_row(k, x, n, "softmax, -inf entries");
		/* All equal, far from zero: the maximum subtraction keeps it finite. */
		for (int i = 0; i < n; i++)
			x[i] = 1000;
		check_softmax_row(k, x, n, "softmax, constant");
	}
	free(x);
}

static void test_swiglu(void **state)
{
	(void)state;
	const struct ops_row_kernels *k = rows_or_skip(), *ref = ops_rows_ref();
	float *g = alloc_floats(N_MAX), *u = alloc_floats(N_MAX);
	float *a = alloc_floats(N_MAX), *b = alloc_floats(N_MAX);
	for (int l = 0; l < N_LENGTHS; l++) {
		const int n = lengths[l];
		for (int i = 0; i < n; i++) {
			/* Gates up to +-200 reach both saturations of the sigmoid. */
			g[i] = rnd() * (i % 5 == 0 ? 400 : 16);
			u[i] = rnd() * 3;
		}
		if (n > 2) {
			g[0] = -INFINITY; /* silu(-inf) is -0, times up */
			g[1] = 0;
		}
		ref->swiglu(a, g, u, n);
		k->swiglu(b, g, u, n);
		for (int i = 0; i < n; i++)
			check_close("swiglu", n, i, b[i], a[i], TOL_SWIGLU, fabsf(a[i]), 0);
		/* out aliasing gate, as the forward pass calls it. */
		k->swiglu(g, g, u, n);
		for (int i = 0; i < n; i++)
			check_close("swiglu in place", n, i, g[i], a[i], TOL_SWIGLU, fabsf(a[i]), 0);
	}
	free(g), free(u), free(a), free(b);
}

static void test_add_exact(void **state)
{
	(void)state;
	const struct ops_row_kernels *k = rows_or_skip(), *ref = ops_rows_ref();
	float *x = alloc_floats(N_MAX), *a = alloc_floats(N_MAX + 1), *b = alloc_floats(N_MAX + 1);
	for (int l = 0; l < N_LENGTHS; l++) {
		const int n = lengths[l];
		for (int i = 0; i <= n; i++)
			a[i] = b[i] = rnd() * 100;
		for (int i = 0; i < n; i++)
			x[i] = rnd();
		ref->add(a, x, n);
		k->add(b, x, n);
		/* Element n is past the row: it must not be touched. */
		if (memcmp(a, b, (size_t)(n + 1) * sizeof(float)) != 0)
			fail_msg("add n=%d differs from the reference", n);
	}
	free(x), free(a), free(b);
}

/* ---- rope ----------------------------------------------------------------- */

static void check_rope(const struct ops_row_kernels *k, enum ops_rope_mode mode, int n_heads,
		       int head_dim, int n_rot, int pos)
{
	const struct ops_rope r = { .mode = mode, .n_rot = n_rot, .freq_base = 10000,
				    .freq_scale = 1 };
	const size_t n = (size_t)n_heads * head_dim;
	float *cs = alloc_floats((size_t)n_rot), *x = alloc_floats(n);
	float *a = alloc_floats(n), *b = alloc_floats(n);
	ops_rope_cache(&r, pos, cs);
	for (size_t i = 0; i < n; i++)
		x[i] = a[i] = b[i] = rnd() * 6;
	ops_rows_ref()->rope(&r, a, n_heads, head_dim, cs);
	k->rope(&r, b, n_heads, head_dim, cs);
	const int half = n_rot / 2;
	for (int h = 0; h < n_heads; h++) {
		const float *xh = x + (size_t)h * head_dim;
		for (int d = 0; d < head_dim; d++) {
			const size_t i = (size_t)h * head_dim + d;
			if (d >= n_rot) {
				/* Dims past n_rot pass through untouched. */
				if (memcmp(&a[i], &b[i], sizeof(float)) != 0 || a[i] != xh[d])
					fail_msg("rope mode %d hd %d n_rot %d: dim %d changed", mode,
						 head_dim, n_rot, d);
				continue;
			}
			/* The partner of d in its pair. */
			int e;
			if (mode == OPS_ROPE_NEOX)
				e = d < half ? d + half : d - half;
			else
				e = d ^ 1;
			char what[64];
			snprintf(what, sizeof(what), "rope mode %d hd %d n_rot %d", mode, head_dim,
				 n_rot);
			check_close(what, (int)n, (int)i, b[i], a[i], TOL_ROPE,
				    fabsf(xh[d]) + fabsf(xh[e]), 0);
		}
	}
	free(cs), free(x), free(a), free(b);
}

static void test_rope_modes(void **state)
{
	(void)state;
	const struct ops_row_kernels *k = rows_or_skip();
	const enum ops_rope_mode modes[] = { OPS_ROPE_NORM, OPS_ROPE_NEOX };
	/* (head_dim, n_rot): stories260K's 8/8, a full 64 and 128, partial
	 * rotations with vector tails (20 of 80: 16 + 4 in NORM, 8 + 2 pairs in
	 * NEOX), and rotations too short for a vector. */
	const int shapes[][2] = { { 8, 8 }, { 64, 64 }, { 128, 128 }, { 64, 32 }, { 80, 20 },
				  { 128, 24 }, { 16, 6 }, { 4, 2 }, { 96, 64 } };
	for (size_t m = 0; m < 2; m++)
		for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
			for (int pos = 0; pos < 3000; pos += 1499)
				check_rope(k, modes[m], 3, shapes[s][0], shapes[s][1], pos);
}

/* ---- attention rows --------------------------------------------------------- */

/* Scores and weighted sums over cache rows with other heads in between,
 * for head sizes with and without a tail and runs of any length, close to
 * the scalar twin. The f16 forms read an F16 cache in place: their scores
 * equal the variant's own float kernel over the widened rows bit for bit
 * (so the split and batch paths agree on scores), and wsum_f16 adds to what
 * the output held. */
static void scores_and_wsum_case(const bool half)
{
	const struct ops_row_kernels *k = rows_or_skip(), *ref = ops_rows_ref();
	const int head_dims[] = { 8, 12, 64, 80, 96, 128, 5 };
	const int n_kvs[] = { 1, 7, 8, 9, 31, 100 };
	const size_t stride = 3 * 128 + 5;
	const size_t n_el = stride * 100 + 128;
	uint16_t *kvh = malloc(n_el * sizeof(uint16_t));
	float *kv = alloc_floats(n_el); /* the rows as floats: kvh widened when half */
	assert_non_null(kvh);
	float q[128], a[128], b[128], w[100], sa[100], sb[100], sw[100];
	for (size_t i = 0; i < n_el; i++) {
		kvh[i] = f32_to_fp16(rnd() * 4);
		kv[i] = half ? fp16_to_f32(kvh[i]) : rnd() * 4;
	}
	const char *what_s = half ? "scores_f16" : "scores", *what_w = half ? "wsum_f16" : "wsum";
	for (size_t h = 0; h < sizeof(head_dims) / sizeof(head_dims[0]); h++) {
		const int hd = head_dims[h];
		for (int d = 0; d < hd; d++)
			q[d] = rnd() * 4;
		for (size_t j = 0; j < sizeof(n_kvs) / sizeof(n_kvs[0]); j++) {
			const int n_kv = n_kvs[j];
			const float scale = 1 / sqrtf((float)hd);
			k->scores(sw, q, kv + 3, stride, n_kv, hd, scale);
			if (half) {
				ref->scores_f16(sa, q, kvh + 3, stride, n_kv, hd, scale);
				k->scores_f16(sb, q, kvh + 3, stride, n_kv, hd, scale);
			} else {
				ref->scores(sa, q, kv + 3, stride, n_kv, hd, scale);
				memcpy(sb, sw, (size_t)n_kv * sizeof(float));
			}
			for (int p = 0; p < n_kv; p++) {
				double mag = 0;
				for (int d = 0; d < hd; d++)
					mag += fabs((double)q[d] * kv[3 + p * stride + d]);
				check_close(what_s, hd, p, sb[p], sa[p], TOL_DOT, mag * scale, 0);
				if (half && memcmp(&sb[p], &sw[p], sizeof(float)) != 0)
					fail_msg("%s: scores_f16 hd %d p %d: %.9g, scores over the widened "
						 "row %.9g", variant_under_test->name, hd, p, sb[p], sw[p]);
			}
			for (int p = 0; p < n_kv; p++)
				w[p] = rnd() + 0.5f;
			for (int d = 0; d < hd; d++)
				a[d] = b[d] = half ? rnd() : NAN;
			if (half) {
				ref->wsum_f16(a, w, kvh + 3, stride, n_kv, hd);
				k->wsum_f16(b, w, kvh + 3, stride, n_kv, hd);
			} else {
				ref->wsum(a, w, kv + 3, stride, n_kv, hd);
				k->wsum(b, w, kv + 3, stride, n_kv, hd);
			}
			for (int d = 0; d < hd; d++) {
				double mag = half ? 1 : 0;
				for (int p = 0; p < n_kv; p++)
					mag += fabs((double)w[p] * kv[3 + p * stride + d]);
				check_close(what_w, hd, d, b[d], a[d], TOL_DOT, mag, 0);
			}
		}
	}
	free(kv);
	free(kvh);
}

static void test_scores_and_wsum(void **state)
{
	(void)state;
	scores_and_wsum_case(false);
}

static void test_scores_and_wsum_f16(void **state)
{
	(void)state;
	scores_and_wsum_case(true);
}

/* Whole attention calls, SIMD against scalar through the switch: grouped
 * heads, a batch after cached positions, head sizes with and without tails. */
#define TOL_ATTN 1e-5
static void test_attention_matches_scalar(void **state)
{
	(void)state;
	rows_or_skip();
	enum { NH = 4, NKV = 2, NTOK = 5, POS0 = 11, NPOS = POS0 + NTOK };
	const int head_dims[] = { 8, 12, 64, 128 };
	for (size_t h = 0; h < sizeof(head_dims) / sizeof(head_dims[0]); h++) {
		const int hd = head_dims[h];
		struct ops_attn at = { .n_head = NH, .n_head_kv = NKV, .head_dim = hd,
				       .kv_type = GGML_TYPE_F32,
				       .kv_row_bytes = (size_t)NKV * hd * sizeof(float),
				       .scale = 1 / sqrtf((float)hd) };
		const size_t nq = (size_t)NTOK * NH * hd, nk = (size_t)NPOS * NKV * hd;
		float *q = alloc_floats(nq), *kc = alloc_floats(nk), *vc = alloc_floats(nk);
		float *o_simd = alloc_floats(nq), *o_ref = alloc_floats(nq);
		for (size_t i = 0; i < nq; i++)
			q[i] = rnd() * 4;
		for (size_t i = 0; i < nk; i++) {
			kc[i] = rnd() * 4;
			vc[i] = rnd();
		}
		void *work = malloc(ops_attention_work_size(&at, NPOS, 2));
		assert_non_null(work);
		assert_int_equal(ops_attention(&at, o_simd, q, kc, vc, NTOK, POS0, work, 2), 0);
		assert_int_equal(kernels_select("scalar"), 0);
		assert_int_equal(ops_attention(&at, o_ref, q, kc, vc, NTOK, POS0, work, 2), 0);
		assert_int_equal(kernels_select(variant_under_test->name), 0);
		for (size_t i = 0; i < nq; i++)
			check_close("attention", hd, (int)i, o_simd[i], o_ref[i], TOL_ATTN, 1, 0);
		free(q), free(kc), free(vc), free(o_simd), free(o_ref), free(work);
	}
}

/* ops_rows_best follows the selected variant; the reference stays reachable. */
static void test_switch(void **state)
{
	(void)state;
	const struct ops_row_kernels *k = rows_or_skip();
	assert_ptr_equal(ops_rows_best(), k);
	assert_int_equal(kernels_select("scalar"), 0);
	assert_ptr_equal(ops_rows_best(), ops_rows_ref());
	assert_int_equal(kernels_select(variant_under_test->name), 0);
	assert_ptr_equal(ops_rows_best(), k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exp_special_values),
		cmocka_unit_test(test_exp_sweep),
		cmocka_unit_test(test_rmsnorm),
		cmocka_unit_test(test_softmax),
		cmocka_unit_test(test_swiglu),
		cmocka_unit_test(test_add_exact),
		cmocka_unit_test(test_rope_modes),
		cmocka_unit_test(test_scores_and_wsum),
		cmocka_unit_test(test_scores_and_wsum_f16),
		cmocka_unit_test(test_attention_matches_scalar),
		cmocka_unit_test(test_switch),
	};
	return run_per_variant(tests, sizeof(tests) / sizeof(tests[0]));
}
