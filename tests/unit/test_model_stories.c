/* stories260K through the forward pass: its hyperparameters, its known
 * greedy continuation on both cache types, a batch against token-by-token
 * evaluation, any mix of thread counts giving the bits of one thread, and
 * truncate, state, abort and eval errors. Skips visibly without the shared
 * models. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "context.h"
#include "dtype.h"
#include "model.h"

#include "testutil.h"

/* Batch and token-by-token evaluation differ only in summation order: a
 * batch goes through the prefill panels (one running sum per row), a
 * single token through vec_dot (eight lanes). A last-bit difference can
 * flip the f16 rounding of a query or a cached key (a 5e-4 relative step),
 * so stories260K's logits (magnitudes up to 20) move by up to ~3e-4. */
#define TOL_BATCH 1e-3

static const int32_t STORIES_PROMPT[] = { 1, 403, 407, 261, 378 };
static const int32_t STORIES_GREEDY[] = {
	432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337,
	410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394,
};
#define N_PROMPT ((int)(sizeof(STORIES_PROMPT) / sizeof(STORIES_PROMPT[0])))
#define N_GREEDY ((int)(sizeof(STORIES_GREEDY) / sizeof(STORIES_GREEDY[0])))

static void assert_rows_close(const float *a, const float *b, int n, double tol)
{
	for (int i = 0; i < n; i++)
		if (fabs((double)a[i] - b[i]) > tol)
			fail_msg("element %d: %.9g vs %.9g (tolerance %g)", i, a[i], b[i], tol);
}

static int argmax(const float *x, int n)
{
	int best = 0;
	for (int i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return best;
}

/* ---- stories260K ------------------------------------------------------------ */

static struct model *stories_open(void)
{
	char path[1024], err[256];
	TU_NEED_MODEL(path, "stories260K.gguf");
	struct model *m;
	if (model_open(&m, path, NULL, err, sizeof(err)))
		fail_msg("%s", err);
	return m;
}

static struct ctx *stories_ctx(struct model *m, enum ggml_type kv_type, int n_batch)
{
	struct ctx_params p = ctx_params_default();
	p.kv_type = kv_type;
	p.n_batch = n_batch;
	char err[256];
	struct ctx *c;
	if (ctx_new(&c, m, &p, err, sizeof(err)))
		fail_msg("%s", err);
	return c;
}

static void stories_hparams(void **state)
{
	(void)state;
	struct model *m = stories_open();
	const struct model_hparams *hp = model_hparams(m);
	assert_string_equal(hp->arch->name, "llama");
	assert_int_equal(hp->n_embd, 64);
	assert_int_equal(hp->n_layer, 5);
	assert_int_equal(hp->n_ff, 172);
	assert_int_equal(hp->n_head, 8);
	assert_int_equal(hp->n_head_kv, 4);
	assert_int_equal(hp->head_dim, 8);
	assert_int_equal(hp->rope.n_rot, 8);
	assert_int_equal(hp->n_vocab, 512);
	assert_int_equal(hp->n_ctx_train, 2048);
	assert_int_equal(hp->rope.mode, OPS_ROPE_NORM);
	assert_false(model_weights(m)->tied_output);
	assert_int_equal(model_n_params(m), 292800);
	assert_non_null(model_gguf(m));
	model_free(m);
}

static void stories_greedy(enum ggml_type kv_type)
{
	struct model *m = stories_open();
	struct ctx *c = stories_ctx(m, kv_type, 0);
	int32_t tok[N_PROMPT + N_GREEDY];
	memcpy(tok, STORIES_PROMPT, sizeof(STORIES_PROMPT));
	assert_int_equal(ctx_eval(c, tok, N_PROMPT, 0, false), 0);
	for (int i = 0; i < N_GREEDY; i++) {
		int next = argmax(ctx_logits(c, -1), ctx_n_vocab(c));
		if (next != STORIES_GREEDY[i])
			fail_msg("%s cache: token %d is %d, want %d", dtype_name(kv_type), i, next,
				 STORIES_GREEDY[i]);
		tok[N_PROMPT + i] = next;
		assert_int_equal(ctx_eval(c, &tok[N_PROMPT + i], 1, N_PROMPT + i, false), 0);
	}
	assert_int_equal(ctx_n_past(c), N_PROMPT + N_GREEDY);
	ctx_free(c);
	model_free(m);
}

static void stories_greedy_f16(void **state)
{
	(void)state;
	stories_greedy(GGML_TYPE_F16);
}

static void stories_greedy_f32(void **state)
{
	(void)state;
	stories_greedy(GGML_TYPE_F32);
}

/* A prompt evaluated at once (in one batch, or split in batches of 2) gives
 * the logits of evaluating it token by token. */
static void stories_batch_equals_single(void **state)
{
	(void)state;
	struct model *m = stories_open();
	const int nv = 512;
	int32_t tok[12];
	memcpy(tok, STORIES_PROMPT, sizeof(STORIES_PROMPT));
	memcpy(tok + N_PROMPT, STORIES_GREEDY, 7 * sizeof(int32_t));
	for (int n_batch = 2; n_batch <= 512; n_batch += 510) {
		struct ctx *batch = stories_ctx(m, GGML_TYPE_F16, n_batch);
		struct ctx *single = stories_ctx(m, GGML_TYPE_F16, 0);
		assert_int_equal(ctx_eval(batch, tok, 12, 0, true), 0);
		for (int i = 0; i < 12; i++) {
			assert_int_equal(ctx_eval(single, &tok[i], 1, i, false), 0);
			assert_non_null(ctx_logits(batch, i));
			assert_rows_close(ctx_logits(batch, i), ctx_logits(single, -1), nv, TOL_BATCH);
		}
		assert_null(ctx_logits(batch, 12));
		ctx_free(batch);
		ctx_free(single);
	}
	model_free(m);
}

/* Batches switch thread counts from one layer to the next, and decode from
 * one step to the next, as they measure which count is faster (a round
 * always runs units on both): whatever they pick, the logits are the bits
 * of one thread. 4 threads so that the pool runs even on a small machine;
 * batches of 64 (matrices large enough to split) over 240 tokens, then 80
 * steps, span several rounds. */
static void stories_any_thread_mix_same_bits(void **state)
{
	(void)state;
	struct model *m = stories_open();
	const int nv = 512, n_prompt = 240, n_gen = 80;
	int32_t tok[240 + 80];
	uint32_t x = 12345;
	for (int i = 0; i < n_prompt + n_gen; i++) {
		x = x * 1103515245u + 12345u;
		tok[i] = (int32_t)(x >> 16) % nv;
	}
	struct ctx *c[2];
	for (int k = 0; k < 2; k++) {
		struct ctx_params p = ctx_params_default();
		p.n_ctx = 512;
		p.n_batch = 64;
		p.n_threads = k ? 4 : 1;
		char err[256];
		if (ctx_new(&c[k], m, &p, err, sizeof(err)))
			fail_msg("%s", err);
		assert_int_equal(ctx_eval(c[k], tok, n_prompt, 0, true), 0);
	}
	for (int i = 0; i < n_prompt; i++)
		if (memcmp(ctx_logits(c[0], i), ctx_logits(c[1], i), (size_t)nv * sizeof(float)))
			fail_msg("prompt token %d: 1 and 4 threads differ", i);
	for (int i = n_prompt; i < n_prompt + n_gen; i++) {
		for (int k = 0; k < 2; k++)
			assert_int_equal(ctx_eval(c[k], &tok[i], 1, i, false), 0);
		if (memcmp(ctx_logits(c[0], -1), ctx_logits(c[1], -1), (size_t)nv * sizeof(float)))
			fail_msg("step at position %d: 1 and 4 threads differ", i);
	}
	ctx_free(c[0]);
	ctx_free(c[1]);
	model_free(m);
}

static void stories_truncate_reeval(void **state)
{
	(void)state;
	struct model *m = stories_open();
	struct ctx *c = stories_ctx(m, GGML_TYPE_F16, 0);
	const int nv = 512;
	float first[512];
	assert_int_equal(ctx_eval(c, STORIES_PROMPT, N_PROMPT, 0, false), 0);
	assert_int_equal(ctx_eval(c, STORIES_GREEDY, 1, N_PROMPT, false), 0);
	memcpy(first, ctx_logits(c, -1), sizeof(first));
	/* Go on a few tokens, then undo back to the prompt and redo. */
	assert_int_equal(ctx_eval(c, STORIES_GREEDY + 1, 4, N_PROMPT + 1, false), 0);
	assert_int_equal(ctx_truncate(c, N_PROMPT), 0);
	assert_int_equal(ctx_n_past(c), N_PROMPT);
	assert_null(ctx_logits(c, -1));
	assert_int_equal(ctx_eval(c, STORIES_GREEDY, 1, N_PROMPT, false), 0);
	assert_memory_equal(ctx_logits(c, -1), first, nv * sizeof(float));
	/* An eval at an earlier position overwrites without a truncate. */
	assert_int_equal(ctx_eval(c, STORIES_GREEDY + 1, 3, N_PROMPT + 1, false), 0);
	assert_int_equal(ctx_eval(c, STORIES_GREEDY, 1, N_PROMPT, false), 0);
	assert_int_equal(ctx_n_past(c), N_PROMPT + 1);
	assert_memory_equal(ctx_logits(c, -1), first, nv * sizeof(float));
	assert_int_equal(ctx_truncate(c, N_PROMPT + 2), LT_E_RANGE);
	ctx_free(c);
	model_free(m);
}

static void stories_state_roundtrip(void **state)
{
	(void)state;
	struct model *m = stories_open();
	struct ctx *a = stories_ctx(m, GGML_TYPE_F16, 0);
	const int nv = 512;
	assert_int_equal(ctx_eval(a, STORIES_PROMPT, N_PROMPT, 0, false), 0);
	size_t size = ctx_state_size(a);
	uint8_t *buf = malloc(size);
	assert_int_equal(ctx_state_save(a, buf, size - 1), LT_E_FULL);
	assert_int_equal(ctx_state_save(a, buf, size), 0);

	struct ctx *b = stories_ctx(m, GGML_TYPE_F16, 0);
	assert_int_equal(ctx_state_load(b, buf, size), 0);
	assert_int_equal(ctx_n_past(b), N_PROMPT);
	assert_memory_equal(ctx_logits(b, -1), ctx_logits(a, -1), nv * sizeof(float));
	assert_int_equal(ctx_eval(a, STORIES_GREEDY, 1, N_PROMPT, false), 0);
	assert_int_equal(ctx_eval(b, STORIES_GREEDY, 1, N_PROMPT, false), 0);
	assert_memory_equal(ctx_logits(b, -1), ctx_logits(a, -1), nv * sizeof(float));

	/* A state from an F16 cache does not load into an F32 one. */
	struct ctx *f32 = stories_ctx(m, GGML_TYPE_F32, 0);
	assert_int_equal(ctx_state_load(f32, buf, size), LT_E_FORMAT);
	assert_non_null(strstr(ctx_error(f32), "KV type"));
	assert_int_equal(ctx_n_past(f32), 0);
	/* Nor does a damaged or cut-off one. */
	assert_int_equal(ctx_state_load(b, buf, size - 3), LT_E_FORMAT);
	buf[0] ^= 0xff;
	assert_int_equal(ctx_state_load(b, buf, size), LT_E_FORMAT);
	assert_int_equal(ctx_n_past(b), N_PROMPT + 1);

	free(buf);
	ctx_free(f32);
	ctx_free(a);
	ctx_free(b);
	model_free(m);
}

static void stories_abort(void **state)
{
	(void)state;
	struct model *m = stories_open();
	struct ctx *c = stories_ctx(m, GGML_TYPE_F16, 0);
	atomic_bool flag = true;
	ctx_set_abort(c, &flag);
	assert_int_equal(ctx_eval(c, STORIES_PROMPT, N_PROMPT, 0, false), LT_E_ABORTED);
	assert_int_equal(ctx_n_past(c), 0);
	assert_null(ctx_logits(c, -1));
	atomic_store(&flag, false);
	assert_int_equal(ctx_eval(c, STORIES_PROMPT, N_PROMPT, 0, false), 0);
	assert_int_equal(argmax(ctx_logits(c, -1), 512), STORIES_GREEDY[0]);
	ctx_set_abort(c, NULL);
	ctx_free(c);
	model_free(m);
}

static void stories_eval_errors(void **state)
{
	(void)state;
	struct model *m = stories_open();
	struct ctx_params p = ctx_params_default();
	p.n_ctx = 8;
	char err[256];
	struct ctx *c;
	assert_int_equal(ctx_new(&c, m, &p, err, sizeof(err)), 0);
	assert_int_equal(ctx_n_ctx(c), 8);
	assert_int_equal(ctx_eval(c, STORIES_PROMPT, N_PROMPT, 0, false), 0);
	assert_int_equal(ctx_eval(c, STORIES_GREEDY, 4, N_PROMPT, false), LT_E_FULL);
	assert_non_null(strstr(ctx_error(c), "context full"));
	assert_int_equal(ctx_eval(c, STORIES_GREEDY, 1, N_PROMPT + 1, false), LT_E_RANGE);
	const int32_t bad = 512;
	assert_int_equal(ctx_eval(c, &bad, 1, N_PROMPT, false), LT_E_RANGE);
	assert_non_null(strstr(ctx_error(c), "vocabulary"));
	assert_int_equal(ctx_eval(c, STORIES_GREEDY, 0, 0, false), LT_E_INVAL);
	assert_int_equal(ctx_n_past(c), N_PROMPT);
	ctx_free(c);

	p = ctx_params_default();
	p.kv_type = GGML_TYPE_Q4_0;
	assert_int_equal(ctx_new(&c, m, &p, err, sizeof(err)), LT_E_UNSUPPORTED);
	assert_non_null(strstr(err, "q4_0"));
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stories_hparams),
		cmocka_unit_test(stories_greedy_f16),
		cmocka_unit_test(stories_greedy_f32),
		cmocka_unit_test(stories_batch_equals_single),
		cmocka_unit_test(stories_any_thread_mix_same_bits),
		cmocka_unit_test(stories_truncate_reeval),
		cmocka_unit_test(stories_state_roundtrip),
		cmocka_unit_test(stories_abort),
		cmocka_unit_test(stories_eval_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
