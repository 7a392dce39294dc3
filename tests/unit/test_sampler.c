/* Sampler tests: hand-computed distributions for each step, penalties with
 * a known history, order effects, seeded reproducibility, draw frequencies
 * and state save/restore. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sampler.h"

/* Probabilities are computed in float; 1e-5 is a few ulps of headroom. */
#define TOL_PROB 1e-5
/* Penalized logits are exact small sums, so float rounding is all. */
#define TOL_LOGIT 1e-6
/* Float sums of tens of thousands of probabilities drift this much. */
#define TOL_MASS 1e-4
/* Values typed in with five decimals. */
#define TOL_HAND 1e-5
/* 10,000 draws: one standard deviation of a frequency is at most 0.005,
 * so 0.02 is four of them. */
#define N_DRAWS 10000
#define TOL_FREQ 0.02

/* softmax([1, 2, 3, 4]) by hand: e^(l-4) / (1 + e^-1 + e^-2 + e^-3). */
#define P4_0 0.0320586
#define P4_1 0.0871443
#define P4_2 0.2368828
#define P4_3 0.6439143

static const float logits4[4] = { 1.0f, 2.0f, 3.0f, 4.0f };

/* Every step off, temperature 1, fixed seed: a plain softmax draw. */
static struct sampler_params params_plain(void)
{
	struct sampler_params p = sampler_params_default();
	p.temperature = 1.0f;
	p.top_k = 0;
	p.top_p = 1.0f;
	p.min_p = 0.0f;
	p.typical_p = 1.0f;
	p.repeat_penalty = 1.0f;
	p.frequency_penalty = 0.0f;
	p.presence_penalty = 0.0f;
	p.seed = 42;
	return p;
}

static struct sampler *new_sampler(const struct sampler_params *p, int n_vocab)
{
	char err[256] = "";
	struct sampler *s;
	if (sampler_new(&s, p, n_vocab, err, sizeof(err)) < 0)
		fail_msg("sampler_new: %s", err);
	return s;
}

/* Samples once and returns the survivors' ids in candidate order. */
static int survivors(struct sampler *s, const float *logits, int32_t *ids, float *probs)
{
	int32_t tok = sampler_sample(s, logits);
	assert_true(tok >= 0);
	const struct sampler_candidate *c;
	int n = sampler_last_candidates(s, &c);
	for (int i = 0; i < n; i++) {
		ids[i] = c[i].id;
		if (probs)
			probs[i] = c[i].p;
	}
	return n;
}

static void test_defaults(void **state)
{
	(void)state;
	struct sampler_params p = sampler_params_default();
	assert_float_equal(p.temperature, 0.8f, 0);
	assert_int_equal(p.top_k, 40);
	assert_float_equal(p.top_p, 0.95f, 0);
	assert_float_equal(p.min_p, 0.05f, 0);
	assert_float_equal(p.typical_p, 1.0f, 0);
	assert_float_equal(p.repeat_penalty, 1.0f, 0);
	assert_int_equal(p.repeat_last_n, 64);
	assert_int_equal(p.seed, SAMPLER_SEED_RANDOM);
	assert_float_equal(p.xtc_probability, 0.0f, 0);
	assert_float_equal(p.xtc_threshold, 0.1f, 0);
	assert_string_equal(p.order, "ekypmxt");
	assert_int_equal(sampler_params_check(&p, NULL, 0), LT_OK);
}

static void test_plain_softmax(void **state)
{
	(void)state;
	struct sampler_params p = params_plain();
	struct sampler *s = new_sampler(&p, 4);
	int32_t ids[4];
	float pr[4];
	assert_int_equal(survivors(s, logits4, ids, pr), 4);
	const double want[4] = { P4_3, P4_2, P4_1, P4_0 };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(ids[i], 3 - i);
		assert_float_equal(pr[i], want[i], TOL_PROB);
	}
	sampler_free(s);
}

static void test_top_k_then_greedy(void **state)
{
	(void)state;
	struct sampler_params p = params_plain();
	p.top_k = 2;
	struct sampler *s = new_sampler(&p, 4);
	int32_t ids[4];
	float pr[4];
	assert_int_equal(survivors(s, logits4, ids, pr), 2);
	assert_int_equal(ids[0], 3);
	assert_int_equal(ids[1], 2);
	/* Renormalized over {4, 3}: 1 / (1 + e^-1). */
	assert_float_equal(pr[0], 0.7310586, TOL_PROB);
	assert_float_equal(pr[1], 0.2689414, TOL_PROB);
	sampler_free(s);

	p.temperature = 0.0f;
	s = new_sampler(&p, 4);
	for (int i = 0; i < 20; i++)
		assert_int_equal(sampler_sample(s, logits4), 3);
	sampler_free(s);
}

static void test_top_p(void **state)
{
	(void)state;
	struct sampler_params p = params_plain();
	int32_t ids[4];
	float pr[4];
	/* Cumulative sorted mass: 0.644, 0.881, 0.968, 1. */
	const struct {
		float top_p;
		int keep;
	} cases[] = { { 0.5f, 1 }, { 0.64f, 1 }, { 0.7f, 2 }, { 0.88f, 2 }, { 0.9f, 3 }, { 0.99f, 4 } };
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		p.top_p = cases[c].top_p;
		struct sampler *s = new_sampler(&p, 4);
		int n = survivors(s, logits4, ids, pr);
		assert_int_equal(n, cases[c].keep);
		for (int i = 0; i < n; i++)
			assert_int_equal(ids[i], 3 - i);
		sampler_free(s);
	}
	/* With p = 0.5 only the top token is left, so every draw is 3. */
	p.top_p = 0.5f;
	struct sampler *s = new_sampler(&p, 4);
	for (int i = 0; i < 50; i++)
		assert_int_equal(sampler_sample(s, logits4), 3);
	sampler_free(s);
}

static void test_min_p(void **state)
{
	(void)state;
	struct sampler_params p = params_plain();
	int32_t ids[4];
	/* Kept when p_i >= min_p * p_max, i.e. l_i >= 4 + ln(min_p):
	 * 0.3 -> l >= 2.796, 0.1 -> l >= 1.697, 0.05 -> l >= 1.004, 0.04 -> l >= 0.781. */
	const struct {
		float min_p;
		int keep;
	} cases[] = { { 0.3f, 2 }, { 0.1f, 3 }, { 0.05f, 3 }, { 0.04f, 4 }, { 1.0f, 1 } };
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		p.min_p = cases[c].min_p;
		struct sampler *s = new_sampler(&p, 4);
		assert_int_equal(survivors(s, logits4, ids, NULL), cases[c].keep);
		assert_int_equal(ids[0], 3);
		sampler_free(s);
	}
}

/* XTC with certainty drops every token at least threshold likely except
 * the least likely of them: P4 is { 0.032, 0.087, 0.237, 0.644 }. */
static void test_xtc(void **state)
{
	(void)state;
	struct sampler_params p = params_plain();
	int32_t ids[4];
	const struct {
		float prob, threshold;
		int keep, first;
	} cases[] = {
		{ 1.0f, 0.2f, 3, 2 },  /* 0.644 dropped, 0.237 kept */
		{ 1.0f, 0.1f, 3, 2 },  /* 0.087 is below the threshold */
		{ 1.0f, 0.05f, 2, 1 }, /* 0.644 and 0.237 dropped */
		{ 1.0f, 0.7f, 4, 3 },  /* nothing reaches it */
		{ 1.0f, 0.6f, 4, 3 },  /* above 0.5: off, as llama.cpp */
		{ 0.0f, 0.05f, 4, 3 }, /* probability 0: off */
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		p.xtc_probability = cases[c].prob;
		p.xtc_threshold = cases[c].threshold;
		struct sampler *s = new_sampler(&p, 4);
		assert_int_equal(survivors(s, logits4, ids, NULL), cases[c].keep);
		assert_int_equal(ids[0], cases[c].first);
		sampler_free(s);
	}
	/* Greedy after XTC takes the best survivor, so the greedy shortcut
	 * must not skip the step; with probability 0.5 it acts about half
	 * the time. */
	p.temperature = 0.0f;
	p.xtc_threshold = 0.2f;
	p.xtc_probability = 1.0f;
	struct sampler *s = new_sampler(&p, 4);
	assert_int_equal(sampler_sample(s, logits4), 2);
	sampler_free(s);
	p.xtc_probability = 0.5f;
	s = new_sampler(&p, 4);
	int n_second = 0;
	for (int i = 0; i < N_DRAWS; i++)
		n_second += sampler_sample(s, logits4) == 2;
	assert_float_equal((double)n_second / N_DRAWS, 0.5, TOL_FREQ);
	sampler_free(s);
}

static void test_typical(void **state)
{
	(void)state;
	/* Entropy of softmax([1,2,3,4]) is 0.94752; the distances
	 * |-ln p_i - H| are 2.4927, 1.4927, 0.4927, 0.5073, so token 2 is the
	 * most typical, then 3, then 1, then 0. */
	struct sampler_params p = params_plain();
	int32_t ids[4];
	float pr[4];

	p.typical_p = 0.2f; /* 0.2369 > 0.2 after token 2 alone */
	struct sampler *s = new_sampler(&p, 4);
	assert_int_equal(survivors(s, logits4, ids, pr), 1);
	assert_int_equal(ids[0], 2);
	assert_float_equal(pr[0], 1.0, TOL_PROB);
	sampler_free(s);

	p.typical_p = 0.5f; /* 0.2369 + 0.6439 = 0.8808 > 0.5 */
	s = new_sampler(&p, 4);
	assert_int_equal(survivors(s, logits4, ids, pr), 2);
	assert_int_equal(ids[0], 3);
	assert_int_equal(ids[1], 2);
	sampler_free(s);

	p.typical_p = 0.95f; /* 0.8808 + 0.0871 = 0.9679 > 0.95 */
	s = new_sampler(&p, 4);
	assert_int_equal(survivors(s, logits4, ids, pr), 3);
	assert_int_equal(ids[2], 1);
	sampler_free(s);

	/* Typical sampling can drop the best token, so greedy after it does
	 * not pick the argmax. */
	p.typical_p = 0.2f;
	p.temperature = 0.0f;
	s = new_sampler(&p, 4);
	assert_int_equal(sampler_sample(s, logits4), 2);
	sampler_free(s);
}

static void test_temperature(void **state)
{
	(void)state;
	struct sampler_params p = params_plain();
	int32_t ids[4];
	float pr[4];
	p.temperature = 2.0f; /* softmax([0.5, 1, 1.5, 2]) */
	struct sampler *s = new_sampler(&p, 4);
	assert_int_equal(survivors(s, logits4, ids, pr), 4);
	/* 1 / (1 + e^-0.5 + e^-1 + e^-1.5) and e^-1.5 times that */
	assert_float_equal(pr[0], 0.45505, TOL_HAND);
	assert_float_equal(pr[3], 0.10154, TOL_HAND);
	sampler_free(s);
}

static void test_greedy_ties_and_nan(void **state)
{
	(void)state;
	struct sampler_params p = params_plain();
	p.temperature = 0.0f;
	struct sampler *s = new_sampler(&p, 5);
	const float tie[5] = { 1.0f, 5.0f, 5.0f, 2.0f, -3.0f };
	assert_int_equal(sampler_sample(s, tie), 1);
	const float with_nan[5] = { 1.0f, NAN, 0.5f, 2.0f, NAN };
	assert_int_equal(sampler_sample(s, with_nan), 3);
	sampler_free(s);

	/* The chain's own temperature step breaks ties the same way. */
	p.typical_p = 0.99f;
	s = new_sampler(&p, 5);
	assert_int_equal(sampler_sample(s, tie), 1);
	sampler_free(s);

	/* The shortcut reads the logits without the chain: it must pick what
	 * the chain picks, on ties, infinities and NaN alike. */
	struct sampler_params chain = params_plain();
	chain.temperature = 0.0f;
	chain.typical_p = 0.99f;
	struct sampler_params quick = params_plain();
	quick.temperature = 0.0f;
	struct sampler *sc = new_sampler(&chain, 64), *sq = new_sampler(&quick, 64);
	const float pool[] = { -INFINITY, NAN, -2.0f, 0.0f, -0.0f, 1.5f, 3.0f, INFINITY };
	uint32_t rnd = 12345;
	for (int round = 0; round < 300; round++) {
		float lg[64];
		/* The first rounds draw from fewer values: all NaN, all -inf, ties. */
		int k = 1 + round % 8;
		for (int i = 0; i < 64; i++) {
			rnd = rnd * 1664525u + 1013904223u;
			lg[i] = pool[(rnd >> 16) % (uint32_t)k];
		}
		assert_int_equal(sampler_sample(sq, lg), sampler_sample(sc, lg));
	}
	sampler_free(sc);
	sampler_free(sq);

	/* NaN never wins a random draw either. */
	p = params_plain();
	s = new_sampler(&p, 5);
	for (int i = 0; i < 200; i++) {
		int32_t t = sampler_sample(s, with_nan);
		assert_true(t == 0 || t == 2 || t == 3);
	}
	sampler_free(s);
}

/* Top-k as the first step reads the logits in one pass; with penalties
 * first (active by their settings, but with no history yet, so without
 * effect) the chain fills every candidate and cuts after. Both must keep
 * the same candidates in the same order and draw the same token. */
static void test_top_k_first_pass(void **state)
{
	(void)state;
	const float pool[] = { -INFINITY, NAN, -2.0f, 0.0f, -0.0f, 1.5f, 3.0f, 1.5f };
	const int ks[] = { 1, 2, 5, 40, 63 };
	uint32_t rnd = 777;
	for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
		struct sampler_params quick = params_plain();
		quick.top_k = ks[ki];
		quick.top_p = 0.9f;
		struct sampler_params chain = quick;
		chain.repeat_penalty = 1.5f;
		struct sampler *sq = new_sampler(&quick, 64), *sc = new_sampler(&chain, 64);
		for (int round = 0; round < 200; round++) {
			float lg[64];
			int spread = 2 + round % 7;
			for (int i = 0; i < 64; i++) {
				rnd = rnd * 1664525u + 1013904223u;
				lg[i] = round % 2 ? pool[(rnd >> 16) % (uint32_t)spread]
						  : (float)((rnd >> 8) % 1000) / 100.0f;
			}
			assert_int_equal(sampler_sample(sq, lg), sampler_sample(sc, lg));
			const struct sampler_candidate *cq, *cc;
			int nq = sampler_last_candidates(sq, &cq), nc = sampler_last_candidates(sc, &cc);
			assert_int_equal(nq, nc);
			for (int i = 0; i < nq; i++) {
				assert_int_equal(cq[i].id, cc[i].id);
				assert_memory_equal(&cq[i].logit, &cc[i].logit, sizeof(float));
			}
		}
		sampler_free(sq);
		sampler_free(sc);
	}
}

static void test_penalties(void **state)
{
	(void)state;
	struct sampler_params p = params_plain();
	p.repeat_penalty = 2.0f;
	p.frequency_penalty = 0.5f;
	p.presence_penalty = 0.25f;
	const float lg[4] = { 2.0f, -1.0f, 0.5f, 3.0f };
	struct sampler *s = new_sampler(&p, 4);
	assert_int_equal(sampler_accept(s, 0), LT_OK);
	assert_int_equal(sampler_accept(s, 0), LT_OK);
	assert_int_equal(sampler_accept(s, 1), LT_OK);
	assert_int_equal(sampler_accept(s, 4), LT_E_RANGE);
	assert_int_equal(sampler_accept(s, -1), LT_E_RANGE);
	assert_true(sampler_sample(s, lg) >= 0);
	const struct sampler_candidate *c;
	assert_int_equal(sampler_last_candidates(s, &c), 4);
	/* Token 0 seen twice: 2 / 2 - (2 * 0.5 + 0.25) = -0.25.
	 * Token 1 seen once: -1 * 2 - (0.5 + 0.25) = -2.75. */
	const int32_t want_id[4] = { 3, 2, 0, 1 };
	const float want_logit[4] = { 3.0f, 0.5f, -0.25f, -2.75f };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(c[i].id, want_id[i]);
		assert_float_equal(c[i].logit, want_logit[i], TOL_LOGIT);
	}
	sampler_free(s);

	/* A window of 2 keeps only the last two tokens (0, 1): token 0 now
	 * counts once, 2 / 2 - 0.75 = 0.25. */
	p.repeat_last_n = 2;
	s = new_sampler(&p, 4);
	sampler_accept(s, 0);
	sampler_accept(s, 0);
	sampler_accept(s, 1);
	sampler_sample(s, lg);
	assert_int_equal(sampler_last_candidates(s, &c), 4);
	assert_int_equal(c[2].id, 0);
	assert_float_equal(c[2].logit, 0.25f, TOL_LOGIT);
	/* Reset forgets the history. */
	sampler_reset(s);
	sampler_sample(s, lg);
	assert_int_equal(sampler_last_candidates(s, &c), 4);
	assert_int_equal(c[1].id, 0);
	assert_float_equal(c[1].logit, 2.0f, TOL_LOGIT);
	sampler_free(s);

	/* A window of 0 switches penalties off. */
	p.repeat_last_n = 0;
	s = new_sampler(&p, 4);
	sampler_accept(s, 3);
	sampler_sample(s, lg);
	sampler_last_candidates(s, &c);
	assert_int_equal(c[0].id, 3);
	assert_float_equal(c[0].logit, 3.0f, TOL_LOGIT);
	sampler_free(s);

	/* -1 with n_ctx 3 remembers three tokens. */
	p.repeat_last_n = -1;
	p.n_ctx = 3;
	s = new_sampler(&p, 4);
	for (int i = 0; i < 5; i++)
		sampler_accept(s, 0); /* only 3 count */
	sampler_sample(s, lg);
	sampler_last_candidates(s, &c);
	assert_int_equal(c[2].id, 0);
	assert_float_equal(c[2].logit, 1.0f - 3 * 0.5f - 0.25f, TOL_LOGIT);
	sampler_free(s);
}

static void test_penalties_greedy(void **state)
{
	(void)state;
	struct sampler_params p = params_plain();
	p.temperature = 0.0f;
	p.repeat_penalty = 2.0f;
	p.frequency_penalty = 0.5f;
	p.presence_penalty = 0.25f;
	const float lg[4] = { 2.0f, -1.0f, 0.5f, 1.5f };
	struct sampler *s = new_sampler(&p, 4);
	assert_int_equal(sampler_sample(s, lg), 0);
	sampler_accept(s, 0);
	sampler_accept(s, 0);
	/* 2 / 2 - 1.25 = -0.25 < 1.5. */
	assert_int_equal(sampler_sample(s, lg), 3);
	sampler_free(s);
}

static void test_order_matters(void **state)
{
	(void)state;
	int32_t ids[4];
	struct sampler_params p = params_plain();
	p.min_p = 0.1f;
	p.top_p = 0.9f;
	/* top-p first keeps 3 (0.968 >= 0.9), min-p then keeps all three.
	 * min-p first keeps 3 renormalized to 0.665, 0.245, 0.090, and top-p
	 * then stops at 0.910 with two. */
	snprintf(p.order, sizeof(p.order), "pmt");
	struct sampler *s = new_sampler(&p, 4);
	assert_int_equal(survivors(s, logits4, ids, NULL), 3);
	sampler_free(s);
	snprintf(p.order, sizeof(p.order), "mpt");
	s = new_sampler(&p, 4);
	assert_int_equal(survivors(s, logits4, ids, NULL), 2);
	sampler_free(s);

	/* Penalties before or after a top-1 cut, greedy. */
	p = params_plain();
	p.temperature = 0.0f;
	p.top_k = 1;
	p.repeat_penalty = 4.0f;
	const float lg[4] = { 2.0f, -1.0f, 0.5f, 1.5f };
	snprintf(p.order, sizeof(p.order), "ekt");
	s = new_sampler(&p, 4);
	sampler_accept(s, 0);
	assert_int_equal(sampler_sample(s, lg), 3);
	sampler_free(s);
	snprintf(p.order, sizeof(p.order), "ket");
	s = new_sampler(&p, 4);
	sampler_accept(s, 0);
	assert_int_equal(sampler_sample(s, lg), 0);
	sampler_free(s);
	/* Penalties after the temperature step see a single candidate. */
	snprintf(p.order, sizeof(p.order), "te");
	s = new_sampler(&p, 4);
	sampler_accept(s, 0);
	assert_int_equal(sampler_sample(s, lg), 0);
	sampler_free(s);

	/* No temperature step means no temperature at all. */
	p = params_plain();
	p.temperature = 0.0f;
	snprintf(p.order, sizeof(p.order), "k");
	s = new_sampler(&p, 4);
	assert_int_equal(survivors(s, logits4, ids, NULL), 4);
	sampler_free(s);
}

static void test_top_k_large_vocab(void **state)
{
	(void)state;
	enum { N = 50000, K = 40 };
	float *lg = malloc(N * sizeof(*lg));
	assert_non_null(lg);
	uint32_t x = 12345;
	for (int i = 0; i < N; i++) {
		x = x * 1664525u + 1013904223u;
		lg[i] = (float)(x >> 8) / (float)(1u << 24) * 20.0f - 10.0f;
	}
	lg[777] = lg[778] = 11.0f; /* a tie at the top */
	struct sampler_params p = params_plain();
	p.top_k = K;
	struct sampler *s = new_sampler(&p, N);
	sampler_sample(s, lg);
	const struct sampler_candidate *c;
	assert_int_equal(sampler_last_candidates(s, &c), K);
	assert_int_equal(c[0].id, 777);
	assert_int_equal(c[1].id, 778);
	/* Every survivor beats every other token. */
	float worst = c[K - 1].logit;
	int better = 0;
	for (int i = 0; i < N; i++)
		better += lg[i] > worst;
	assert_true(better <= K - 1);
	for (int i = 1; i < K; i++)
		assert_true(c[i - 1].logit >= c[i].logit);
	sampler_free(s);
	free(lg);
}

static int cmp_desc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Large vocabularies take a partitioned path; its nucleus must be the one
 * a full sort gives. */
static void test_top_p_large_vocab(void **state)
{
	(void)state;
	enum { N = 40000 };
	float *lg = malloc(N * sizeof(*lg));
	double *pr = malloc(N * sizeof(*pr));
	assert_non_null(lg);
	assert_non_null(pr);
	const float spread[3] = { 2.0f, 8.0f, 30.0f };
	const float top_p[3] = { 0.5f, 0.9f, 0.99f };
	for (int sp = 0; sp < 3; sp++) {
		uint32_t x = 777 + (uint32_t)sp;
		double sum = 0;
		for (int i = 0; i < N; i++) {
			x = x * 1664525u + 1013904223u;
			lg[i] = (float)(x >> 8) / (float)(1u << 24) * spread[sp];
			sum += pr[i] = exp(lg[i]);
		}
		for (int i = 0; i < N; i++)
			pr[i] /= sum;
		qsort(pr, N, sizeof(*pr), cmp_desc);
		for (int q = 0; q < 3; q++) {
			struct sampler_params p = params_plain();
			p.top_p = top_p[q];
			struct sampler *s = new_sampler(&p, N);
			sampler_sample(s, lg);
			const struct sampler_candidate *c;
			int got = sampler_last_candidates(s, &c);
			int above = 0;
			for (int i = 0; i < N; i++)
				above += lg[i] > c[got - 1].logit;
			assert_true(above < got);
			/* The survivors are the top tokens, their mass reaches p
			 * and without the last one it does not (up to float
			 * summation over thousands of terms). */
			double cum = 0;
			for (int i = 0; i < got; i++)
				cum += pr[i];
			if (cum < top_p[q] - TOL_MASS || cum - pr[got - 1] >= top_p[q] + TOL_MASS)
				fail_msg("spread %g top_p %g: %d survivors hold %.6f", spread[sp],
					 top_p[q], got, cum);
			sampler_free(s);
		}
	}
	free(lg);
	free(pr);
}

static void test_same_seed_same_stream(void **state)
{
	(void)state;
	const float lg[8] = { 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f };
	struct sampler_params p = params_plain();
	p.seed = 1234;
	struct sampler *a = new_sampler(&p, 8), *b = new_sampler(&p, 8);
	int32_t first[200];
	for (int i = 0; i < 200; i++) {
		first[i] = sampler_sample(a, lg);
		assert_int_equal(first[i], sampler_sample(b, lg));
	}
	assert_int_equal(sampler_seed(a), 1234);
	/* Reset replays the stream. */
	sampler_reset(a);
	for (int i = 0; i < 200; i++)
		assert_int_equal(sampler_sample(a, lg), first[i]);
	sampler_free(b);
	/* Another seed gives another stream. */
	p.seed = 1235;
	b = new_sampler(&p, 8);
	int same = 0;
	for (int i = 0; i < 200; i++)
		same += sampler_sample(b, lg) == first[i];
	assert_true(same < 100);
	sampler_free(a);
	sampler_free(b);
}

static void check_frequencies(const struct sampler_params *p, const double *want)
{
	struct sampler *s = new_sampler(p, 4);
	int hits[4] = { 0 };
	for (int i = 0; i < N_DRAWS; i++) {
		int32_t t = sampler_sample(s, logits4);
		assert_true(t >= 0 && t < 4);
		hits[t]++;
	}
	for (int t = 0; t < 4; t++) {
		double f = (double)hits[t] / N_DRAWS;
		if (fabs(f - want[t]) > TOL_FREQ)
			fail_msg("token %d drawn with frequency %.4f, expected %.4f", t, f, want[t]);
	}
	sampler_free(s);
}

static void test_draw_frequencies(void **state)
{
	(void)state;
	struct sampler_params p = params_plain();
	p.seed = 99;
	const double plain[4] = { P4_0, P4_1, P4_2, P4_3 };
	check_frequencies(&p, plain);
	p.top_k = 2;
	const double top2[4] = { 0, 0, 0.2689414, 0.7310586 };
	check_frequencies(&p, top2);
	p.top_k = 0;
	p.temperature = 2.0f;
	/* softmax([0.5, 1, 1.5, 2]) by hand */
	const double hot[4] = { 0.10154, 0.16740, 0.27600, 0.45505 };
	check_frequencies(&p, hot);
}

static void test_state_roundtrip(void **state)
{
	(void)state;
	const float lg[6] = { 1.0f, 1.2f, 0.9f, 1.1f, 0.8f, 1.3f };
	struct sampler_params p = params_plain();
	p.seed = 7;
	p.repeat_penalty = 1.3f;
	p.presence_penalty = 0.2f;
	p.repeat_last_n = 8;
	struct sampler *a = new_sampler(&p, 6);
	for (int i = 0; i < 25; i++)
		sampler_accept(a, sampler_sample(a, lg));
	size_t n = sampler_state_size(a);
	assert_int_equal(n, 48 + 4 * 8);
	unsigned char *img = malloc(n);
	assert_non_null(img);
	assert_int_equal(sampler_state_save(a, img, n - 1), LT_E_RANGE);
	assert_int_equal(sampler_state_save(a, img, n), LT_OK);
	int32_t cont[50];
	for (int i = 0; i < 50; i++) {
		cont[i] = sampler_sample(a, lg);
		sampler_accept(a, cont[i]);
	}
	p.seed = 8;
	struct sampler *b = new_sampler(&p, 6);
	sampler_accept(b, 5);
	char err[256];
	assert_int_equal(sampler_state_load(b, img, n, err, sizeof(err)), LT_OK);
	assert_int_equal(sampler_seed(b), 7);
	for (int i = 0; i < 50; i++) {
		int32_t t = sampler_sample(b, lg);
		assert_int_equal(t, cont[i]);
		sampler_accept(b, t);
	}

	/* Damaged images are refused with a message and change nothing. */
	unsigned char *bad = malloc(n);
	assert_non_null(bad);
	memcpy(bad, img, n);
	bad[0] = 'X';
	assert_int_equal(sampler_state_load(b, bad, n, err, sizeof(err)), LT_E_FORMAT);
	assert_non_null(strstr(err, "magic"));
	assert_int_equal(sampler_state_load(b, img, n - 2, err, sizeof(err)), LT_E_FORMAT);
	assert_int_equal(sampler_state_load(b, img, 10, err, sizeof(err)), LT_E_FORMAT);
	memcpy(bad, img, n);
	bad[48] = 6; /* first history token outside the vocabulary */
	assert_int_equal(sampler_state_load(b, bad, n, err, sizeof(err)), LT_E_FORMAT);
	assert_non_null(strstr(err, "vocabulary"));
	memcpy(bad, img, n);
	memset(bad + 16, 0, 32);
	assert_int_equal(sampler_state_load(b, bad, n, err, sizeof(err)), LT_E_FORMAT);
	free(bad);
	free(img);
	sampler_free(a);
	sampler_free(b);
}

static void test_set_params(void **state)
{
	(void)state;
	struct sampler_params p = params_plain();
	p.repeat_penalty = 2.0f;
	p.repeat_last_n = 4;
	struct sampler *s = new_sampler(&p, 4);
	const int32_t toks[4] = { 0, 1, 2, 3 };
	for (int i = 0; i < 4; i++)
		sampler_accept(s, toks[i]);
	/* Shrinking the window to 1 keeps only token 3. */
	p.repeat_last_n = 1;
	p.temperature = 0.0f;
	char err[128];
	assert_int_equal(sampler_set_params(s, &p, err, sizeof(err)), LT_OK);
	assert_int_equal(sampler_state_size(s), 48 + 4);
	const float lg[4] = { 1.0f, 1.0f, 1.0f, 1.5f };
	assert_int_equal(sampler_sample(s, lg), 0); /* 3 penalized to 0.75 */
	/* Growing it again and accepting works. */
	p.repeat_last_n = 3;
	assert_int_equal(sampler_set_params(s, &p, err, sizeof(err)), LT_OK);
	sampler_accept(s, 0);
	sampler_accept(s, 1);
	assert_int_equal(sampler_state_size(s), 48 + 12);
	assert_int_equal(sampler_sample(s, lg), 2);
	/* Window off drops everything; on again starts empty. */
	p.repeat_last_n = 0;
	assert_int_equal(sampler_set_params(s, &p, err, sizeof(err)), LT_OK);
	assert_int_equal(sampler_state_size(s), 48);
	p.repeat_last_n = -1;
	assert_int_equal(sampler_set_params(s, &p, err, sizeof(err)), LT_OK);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(sampler_accept(s, i % 4), LT_OK);
	assert_int_equal(sampler_state_size(s), 48 + 4000);
	assert_int_equal(sampler_get_params(s)->repeat_last_n, -1);
	/* Invalid parameters are refused and the old ones stay. */
	p.top_p = NAN;
	assert_int_equal(sampler_set_params(s, &p, err, sizeof(err)), LT_E_INVAL);
	assert_non_null(strstr(err, "top_p"));
	assert_int_equal(sampler_get_params(s)->repeat_last_n, -1);
	sampler_free(s);
}

static void test_bad_params(void **state)
{
	(void)state;
	char err[256];
	struct sampler *s;
	struct sampler_params p = params_plain();
	snprintf(p.order, sizeof(p.order), "ekz");
	assert_int_equal(sampler_new(&s, &p, 4, err, sizeof(err)), LT_E_INVAL);
	assert_null(s);
	assert_non_null(strstr(err, "'z'"));
	p = params_plain();
	assert_int_equal(sampler_new(&s, &p, 0, err, sizeof(err)), LT_E_INVAL);
	assert_null(s);
	assert_non_null(strstr(err, "vocabulary"));
	p.repeat_penalty = 0.0f;
	assert_int_equal(sampler_new(&s, &p, 4, err, sizeof(err)), LT_E_INVAL);
	assert_null(s);
	p = params_plain();
	p.repeat_last_n = -2;
	assert_int_equal(sampler_new(&s, &p, 4, err, sizeof(err)), LT_E_INVAL);
	assert_null(s);
	assert_int_equal(sampler_new(&s, NULL, 4, err, sizeof(err)), LT_E_INVAL);
	assert_null(s);
	/* llama.cpp's full sequence with DRY and XTC letters is accepted. */
	p = params_plain();
	snprintf(p.order, sizeof(p.order), "edkypmxt");
	s = new_sampler(&p, 4);
	assert_int_equal(sampler_sample(s, NULL), LT_E_INVAL);
	sampler_free(s);
	sampler_free(NULL);
}

static void test_order_from_names(void **state)
{
	(void)state;
	char order[SAMPLER_MAX_STEPS + 1], err[256];
	assert_int_equal(sampler_order_from_names("penalties;top_k;typ_p;top_p;min_p;temperature",
						  order, sizeof(order), err, sizeof(err)),
			 LT_OK);
	assert_string_equal(order, "ekypmt");
	assert_int_equal(sampler_order_from_names("top-k, nucleus temp", order, sizeof(order), err,
						  sizeof(err)),
			 LT_OK);
	assert_string_equal(order, "kpt");
	assert_int_equal(sampler_order_from_names("top_k;mirostat", order, sizeof(order), err,
						  sizeof(err)),
			 LT_E_INVAL);
	assert_non_null(strstr(err, "mirostat"));
	char tiny[3];
	assert_int_equal(sampler_order_from_names("top_k;top_p;temp", tiny, sizeof(tiny), err,
						  sizeof(err)),
			 LT_E_RANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_plain_softmax),
		cmocka_unit_test(test_top_k_then_greedy),
		cmocka_unit_test(test_top_p),
		cmocka_unit_test(test_min_p),
		cmocka_unit_test(test_xtc),
		cmocka_unit_test(test_typical),
		cmocka_unit_test(test_temperature),
		cmocka_unit_test(test_greedy_ties_and_nan),
		cmocka_unit_test(test_top_k_first_pass),
		cmocka_unit_test(test_penalties),
		cmocka_unit_test(test_penalties_greedy),
		cmocka_unit_test(test_order_matters),
		cmocka_unit_test(test_top_k_large_vocab),
		cmocka_unit_test(test_top_p_large_vocab),
		cmocka_unit_test(test_same_seed_same_stream),
		cmocka_unit_test(test_draw_frequencies),
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_set_params),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_order_from_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
