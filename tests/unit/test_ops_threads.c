/* The engine's threads (engine/pool.c) and the work split across them:
 * every chunk of a loop runs exactly once on a thread the loop allows, two
 * callers at once both finish, matrix products and decode attention come
 * out bit for bit the same on 1 and N threads, and the decode attention
 * split by KV head and position range (flash decoding) equals the batch
 * path's attention within named tolerances over depths, head counts,
 * grouped-query ratios, KV types, a sliding-window ring, soft-capping and
 * ALiBi. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dtype.h"
#include "ops.h"
#include "pool.h"
#include "quant.h"

/* Split against batch attention over a quantized cache: both widen the same
 * rows and take the same score kernel; only the softmax is summed per range
 * and merged (float exps, rescaled by exp(m_s - m)), a few float roundings
 * of outputs that are weighted means of values within [-1, 1]. */
#define TOL_SPLIT 2e-6
/* With an F16 cache both round the weights to f16 before they scale V; the
 * split rounds w_s * exp(m_s - m) / sum, the batch path exp(s - m) / sum,
 * which can land on neighbouring f16 values: half an f16 ulp (2^-11
 * relative) of each weight, so of the mean. */
#define TOL_SPLIT_F16 5e-4

static uint32_t rng_state = 12345;
static float rnd(void) /* uniform in [-1, 1) */
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return (float)(rng_state >> 8) / (float)(1u << 23) - 1.0f;
}

/* ---- the pool ------------------------------------------------------------ */

struct count_job {
	atomic_int *seen;
	int nth;
	atomic_int bad_thread;
};

static void count_chunk(void *arg, int64_t i, int thread)
{
	struct count_job *j = arg;
	atomic_fetch_add(&j->seen[i], 1);
	if (thread < 0 || thread >= j->nth)
		atomic_store(&j->bad_thread, 1);
}

static void run_counted(int nth, int n_chunks)
{
	atomic_int *seen = calloc((size_t)n_chunks + 1, sizeof(*seen));
	assert_non_null(seen);
	struct count_job j = { .seen = seen, .nth = nth };
	pool_run(nth, n_chunks, count_chunk, &j);
	for (int i = 0; i < n_chunks; i++)
		if (atomic_load(&seen[i]) != 1)
			fail_msg("nth %d, %d chunks: chunk %d ran %d times", nth, n_chunks, i,
				 atomic_load(&seen[i]));
	assert_int_equal(atomic_load(&j.bad_thread), 0);
	free(seen);
}

static void test_pool_every_chunk_once(void **state)
{
	(void)state;
	const int nths[] = { 1, 2, 3, 4, 8 };
	const int chunks[] = { 0, 1, 2, 7, 100, 5000 };
	for (size_t a = 0; a < sizeof(nths) / sizeof(nths[0]); a++)
		for (size_t b = 0; b < sizeof(chunks) / sizeof(chunks[0]); b++)
			run_counted(nths[a], chunks[b]);
	/* Many short loops in a row: late workers must not take chunks of a
	 * loop that has ended or run one of the next twice. */
	for (int i = 0; i < 2000; i++)
		run_counted(2 + i % 3, 1 + i % 9);
}

static void *loop_caller(void *arg)
{
	for (int i = 0; i < 300; i++)
		run_counted(2, 1 + (i + (int)(intptr_t)arg) % 13);
	return NULL;
}

/* Two threads calling at once: one gets the pool, the other runs its loop
 * alone; both see every chunk once. */
static void test_pool_two_callers(void **state)
{
	(void)state;
	pthread_t a, b;
	assert_int_equal(pthread_create(&a, NULL, loop_caller, (void *)0), 0);
	assert_int_equal(pthread_create(&b, NULL, loop_caller, (void *)1), 0);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
}

/* ---- products on 1 and N threads ---------------------------------------- */

static void test_matmul_any_thread_count(void **state)
{
	(void)state;
	enum { N_IN = 256, N_OUT = 203 };
	const enum ggml_type types[] = { GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_Q8_0,
					 GGML_TYPE_Q4_0 };
	const int toks[] = { 1, 3, 17 };
	float *wf = malloc(sizeof(float) * N_IN * N_OUT);
	float *x = malloc(sizeof(float) * N_IN * 17);
	float *y1 = malloc(sizeof(float) * N_OUT * 17), *yn = malloc(sizeof(float) * N_OUT * 17);
	assert_true(wf && x && y1 && yn);
	for (int i = 0; i < N_IN * N_OUT; i++)
		wf[i] = rnd();
	for (int i = 0; i < N_IN * 17; i++)
		x[i] = rnd();
	for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
		const struct quant_kernels *k = quant_best(types[ti]);
		assert_non_null(k);
		const size_t row = dtype_row_bytes(types[ti], N_IN);
		uint8_t *w = malloc(row * N_OUT);
		assert_non_null(w);
		for (int r = 0; r < N_OUT; r++) {
			if (types[ti] == GGML_TYPE_F32)
				memcpy(w + row * r, wf + (size_t)r * N_IN, row);
			else
				k->from_float(wf + (size_t)r * N_IN, w + row * r, N_IN);
		}
		struct ops_mat m;
		assert_int_equal(ops_mat_init(&m, w, types[ti], N_IN, N_OUT), 0);
		for (size_t t = 0; t < sizeof(toks) / sizeof(toks[0]); t++) {
			void *work = malloc(ops_matmul_work_size(&m, toks[t], 8) + 1);
			assert_non_null(work);
			ops_matmul(y1, &m, x, toks[t], work, 1);
			for (int nth = 2; nth <= 8; nth *= 2) {
				ops_matmul(yn, &m, x, toks[t], work, nth);
				if (memcmp(y1, yn, sizeof(float) * N_OUT * toks[t]))
					fail_msg("%s, %d tokens: 1 and %d threads differ",
						 dtype_name(types[ti]), toks[t], nth);
			}
			free(work);
		}
		free(w);
	}
	free(wf), free(x), free(y1), free(yn);
}

/* ---- split decode attention ----------------------------------------------- */

struct attn_case {
	enum ggml_type kv;
	int n_head, n_head_kv, head_dim;
	int depth;        /* positions before the query */
	int n_swa, ring;  /* window and ring rows, or 0 */
	float softcap;
	bool alibi;
};

/* Fills a cache of n_rows rows of the case's type from values in [-1, 1). */
static uint8_t *fill_cache(const struct attn_case *c, int n_rows, size_t row_bytes, float amp)
{
	const int kv_dim = c->n_head_kv * c->head_dim;
	uint8_t *cache = malloc(row_bytes * (size_t)n_rows);
	float *tmp = malloc(sizeof(float) * (size_t)kv_dim);
	assert_true(cache && tmp);
	for (int r = 0; r < n_rows; r++) {
		for (int i = 0; i < kv_dim; i++)
			tmp[i] = rnd() * amp;
		quant_best(c->kv)->from_float(tmp, cache + row_bytes * (size_t)r, kv_dim);
	}
	free(tmp);
	return cache;
}

/* The decode attention of one query at position depth, on nth threads,
 * through the split path (or the batch path when reference). */
static void run_attn(const struct attn_case *c, const float *q, const uint8_t *kc,
		     const uint8_t *vc, int nth, bool reference, float *out, float *slopes)
{
	const int n_rows = c->ring ? c->ring : c->depth + 1;
	struct ops_attn a = {
		.n_head = c->n_head, .n_head_kv = c->n_head_kv, .head_dim = c->head_dim,
		.kv_type = c->kv,
		.kv_row_bytes = dtype_row_bytes(c->kv, (int64_t)c->n_head_kv * c->head_dim),
		.scale = 1 / sqrtf((float)c->head_dim), .softcap = c->softcap,
		.n_swa = c->n_swa, .ring_rows = c->ring,
		.path = reference ? OPS_ATTN_BATCH : OPS_ATTN_SPLIT,
		.alibi_slopes = c->alibi ? slopes : NULL,
	};
	void *work = malloc(ops_attention_work_size(&a, n_rows, nth));
	assert_non_null(work);
	assert_int_equal(ops_attention(&a, out, q, kc, vc, 1, c->depth, work, nth), 0);
	free(work);
}

static void check_case(const struct attn_case *c)
{
	const int n_rows = c->ring ? c->ring : c->depth + 1;
	const size_t row_bytes = dtype_row_bytes(c->kv, (int64_t)c->n_head_kv * c->head_dim);
	const size_t nq = (size_t)c->n_head * c->head_dim;
	/* Large keys make peaked softmaxes, whose ranges' maxima differ a lot. */
	uint8_t *kc = fill_cache(c, n_rows, row_bytes, 3.0f);
	uint8_t *vc = fill_cache(c, n_rows, row_bytes, 1.0f);
	float *q = malloc(sizeof(float) * nq), *ref = malloc(sizeof(float) * nq);
	float *out = malloc(sizeof(float) * nq), *out1 = malloc(sizeof(float) * nq);
	float *slopes = malloc(sizeof(float) * (size_t)c->n_head);
	assert_true(q && ref && out && out1 && slopes);
	for (size_t i = 0; i < nq; i++)
		q[i] = rnd() * 2;
	ops_alibi_slopes(slopes, c->n_head, 8.0f);
	run_attn(c, q, kc, vc, 1, true, ref, slopes);
	const double tol = c->kv == GGML_TYPE_F16 ? TOL_SPLIT_F16 : TOL_SPLIT;
	for (int nth = 1; nth <= 4; nth++) {
		run_attn(c, q, kc, vc, nth, false, out, slopes);
		for (size_t i = 0; i < nq; i++)
			if (!(fabs((double)out[i] - ref[i]) <= tol))
				fail_msg("%s heads %d/%d hd %d depth %d swa %d ring %d, %d threads: "
					 "output %zu is %.7g, the batch path's %.7g (tolerance %g)",
					 dtype_name(c->kv), c->n_head, c->n_head_kv, c->head_dim,
					 c->depth, c->n_swa, c->ring, nth, i, out[i], ref[i], tol);
		/* The ranges do not depend on the thread count: same bits. */
		if (nth == 1)
			memcpy(out1, out, sizeof(float) * nq);
		else if (memcmp(out1, out, sizeof(float) * nq))
			fail_msg("%s depth %d: 1 and %d threads differ", dtype_name(c->kv), c->depth,
				 nth);
	}
	free(kc), free(vc), free(q), free(ref), free(out), free(out1), free(slopes);
}

static void test_split_attention_matches_batch(void **state)
{
	(void)state;
	const enum ggml_type kvs[] = { GGML_TYPE_F16, GGML_TYPE_Q8_0, GGML_TYPE_Q4_0 };
	/* (heads, KV heads, head size): one KV head per query head, groups of
	 * 4 and 6, a single KV head, and 3 KV heads that 2 threads cannot share
	 * evenly. */
	const int shapes[][3] = { { 4, 4, 64 }, { 8, 2, 64 }, { 6, 1, 128 }, { 12, 3, 32 } };
	const int depths[] = { 0, 1, 31, 32, 257, 1000, 4100 };
	for (size_t k = 0; k < sizeof(kvs) / sizeof(kvs[0]); k++)
		for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
			for (size_t d = 0; d < sizeof(depths) / sizeof(depths[0]); d++) {
				const struct attn_case c = { .kv = kvs[k], .n_head = shapes[s][0],
							     .n_head_kv = shapes[s][1],
							     .head_dim = shapes[s][2],
							     .depth = depths[d] };
				check_case(&c);
			}
}

/* A sliding window in a ring whose rows wrap, soft-capped scores, ALiBi. */
static void test_split_attention_window_softcap_alibi(void **state)
{
	(void)state;
	const enum ggml_type kvs[] = { GGML_TYPE_F16, GGML_TYPE_Q8_0, GGML_TYPE_Q4_0 };
	for (size_t k = 0; k < sizeof(kvs) / sizeof(kvs[0]); k++) {
		const struct attn_case ring = { .kv = kvs[k], .n_head = 8, .n_head_kv = 2,
						.head_dim = 64, .depth = 1500, .n_swa = 600,
						.ring = 700 };
		check_case(&ring);
		const struct attn_case cap = { .kv = kvs[k], .n_head = 4, .n_head_kv = 2,
					       .head_dim = 64, .depth = 900, .softcap = 5.0f,
					       .alibi = true };
		check_case(&cap);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_every_chunk_once),
		cmocka_unit_test(test_pool_two_callers),
		cmocka_unit_test(test_matmul_any_thread_count),
		cmocka_unit_test(test_split_attention_matches_batch),
		cmocka_unit_test(test_split_attention_window_softcap_alibi),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
