/* Sliding-window layers keep a ring of rows: evaluating in small batches,
 * rewinding (within the ring and past it), and saving and loading the state
 * must all give the logits of one plain evaluation. The model is a Gemma 2
 * shape from lt-synth ($BUILD/lt-synth) with a window of 5 positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "context.h"
#include "model.h"
#include "testutil.h"

#define N_TOK 40
#define WINDOW 5
/* Every path here evaluates the same tokens at the same positions; only the
 * batch split and where the rows sit in the ring differ, and batches sum in
 * another order than single tokens. */
#define TOL_SWA 1e-4f

static char model_path[512];

static int setup(void **state)
{
	(void)state;
	const char *build = getenv("BUILD");
	if (!build) {
		printf("SKIP: test_swa: BUILD unset (lt-synth not found)\n");
		return 0;
	}
	snprintf(model_path, sizeof(model_path), "/tmp/lt-test-swa-%d.gguf", (int)getpid());
	char cmd[1536];
	snprintf(cmd, sizeof(cmd),
		 "'%s/lt-synth' --arch gemma2 --dim 64 --ffn 128 --layers 3 --heads 4 --kv-heads 2 "
		 "--swa %d --ctx 128 -o '%s' >/dev/null",
		 build, WINDOW, model_path);
	if (system(cmd) != 0)
		model_path[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (model_path[0])
		unlink(model_path);
	return 0;
}

static struct model *open_model(void)
{
	if (!model_path[0]) {
		printf("SKIP: test_swa: no synthetic model\n");
		skip();
	}
	struct model *m;
	char err[256];
	if (model_open(&m, model_path, NULL, err, sizeof(err)))
		fail_msg("%s", err);
	return m;
}

static struct ctx *new_ctx(struct model *m, int n_batch)
{
	struct ctx_params p = ctx_params_default();
	p.n_ctx = 64;
	p.n_batch = n_batch;
	p.n_threads = 1;
	p.kv_type = GGML_TYPE_F32;
	struct ctx *c;
	char err[256];
	if (ctx_new(&c, m, &p, err, sizeof(err)))
		fail_msg("%s", err);
	return c;
}

static void tokens(int32_t *t)
{
	for (int i = 0; i < N_TOK; i++)
		t[i] = (int32_t)((i * 37 + 11) % 500);
}

/* The logits of every position from one evaluation with a full batch
 * (malloc'd, N_TOK rows of n_vocab). */
static float *reference(struct model *m)
{
	int32_t t[N_TOK];
	tokens(t);
	struct ctx *c = new_ctx(m, 64);
	assert_int_equal(ctx_eval(c, t, N_TOK, 0, true), 0);
	const int nv = ctx_n_vocab(c);
	float *out = malloc((size_t)N_TOK * nv * sizeof(float));
	assert_non_null(out);
	for (int i = 0; i < N_TOK; i++)
		memcpy(out + (size_t)i * nv, ctx_logits(c, i), (size_t)nv * sizeof(float));
	ctx_free(c);
	return out;
}

static void expect_logits(const float *got, const float *want, int n_vocab, int pos)
{
	for (int j = 0; j < n_vocab; j++)
		if (fabsf(got[j] - want[(size_t)pos * n_vocab + j]) > TOL_SWA)
			fail_msg("position %d logit %d: %g, reference %g", pos, j, (double)got[j],
				 (double)want[(size_t)pos * n_vocab + j]);
}

/* What each sliding-window test starts from: the model, its vocabulary
 * size, the reference logits and the tokens they are of. */
struct swa_run {
	struct model *m;
	int nv;
	float *ref;
	int32_t t[N_TOK];
};

static void swa_begin(struct swa_run *r)
{
	r->m = open_model();
	r->nv = model_hparams(r->m)->n_vocab;
	r->ref = reference(r->m);
	tokens(r->t);
}

static void swa_end(struct swa_run *r)
{
	free(r->ref);
	model_free(r->m);
}

static void swa_small_batches(void **state)
{
	(void)state;
	struct swa_run r;
	swa_begin(&r);
	assert_int_equal(model_hparams(r.m)->n_swa, WINDOW);
	assert_true(model_hparams(r.m)->n_swa_layers > 0);
	/* Batches of 3 make the ring 7 rows: it wraps many times. */
	struct ctx *c = new_ctx(r.m, 3);
	assert_int_equal(ctx_eval(c, r.t, N_TOK, 0, true), 0);
	for (int i = 0; i < N_TOK; i++)
		expect_logits(ctx_logits(c, i), r.ref, r.nv, i);
	/* One token at a time. */
	assert_int_equal(ctx_truncate(c, 0), 0);
	for (int i = 0; i < N_TOK; i++) {
		assert_int_equal(ctx_eval(c, &r.t[i], 1, i, false), 0);
		expect_logits(ctx_logits(c, -1), r.ref, r.nv, i);
	}
	ctx_free(c);
	swa_end(&r);
}

static void swa_rewind(void **state)
{
	(void)state;
	struct swa_run r;
	swa_begin(&r);
	struct ctx *c = new_ctx(r.m, 3);
	assert_int_equal(ctx_eval(c, r.t, N_TOK, 0, false), 0);
	/* One step back: the window of position 39 is still in the ring. */
	assert_int_equal(ctx_truncate(c, N_TOK - 1), 0);
	assert_int_equal(ctx_n_past(c), N_TOK - 1);
	assert_int_equal(ctx_eval(c, &r.t[N_TOK - 1], 1, N_TOK - 1, false), 0);
	expect_logits(ctx_logits(c, -1), r.ref, r.nv, N_TOK - 1);
	/* Far back: those rows were overwritten, so the cache starts over... */
	assert_int_equal(ctx_truncate(c, 20), 0);
	assert_int_equal(ctx_n_past(c), 0);
	/* ... and an eval that pretends otherwise is refused. */
	assert_int_equal(ctx_eval(c, r.t, 30, 0, false), 0);
	assert_int_equal(ctx_eval(c, &r.t[10], 1, 10, false), LT_E_RANGE);
	assert_non_null(strstr(ctx_error(c), "sliding-window"));
	/* Re-evaluated from 0, position 29 is right again. */
	expect_logits(ctx_logits(c, -1), r.ref, r.nv, 29);
	ctx_free(c);
	swa_end(&r);
}

static void swa_state_roundtrip(void **state)
{
	(void)state;
	struct swa_run r;
	swa_begin(&r);
	struct ctx *a = new_ctx(r.m, 4);
	assert_int_equal(ctx_eval(a, r.t, 25, 0, false), 0);
	size_t size = ctx_state_size(a);
	void *img = malloc(size);
	assert_int_equal(ctx_state_save(a, img, size), 0);
	/* Another batch size gives another ring; the image does not care. */
	struct ctx *b = new_ctx(r.m, 2);
	assert_int_equal(ctx_state_load(b, img, size), 0);
	assert_int_equal(ctx_n_past(b), 25);
	assert_int_equal(ctx_eval(b, r.t + 25, N_TOK - 25, 25, true), 0);
	for (int i = 25; i < N_TOK; i++)
		expect_logits(ctx_logits(b, i - 25), r.ref, r.nv, i);
	/* A loaded state holds only the window: rewinding past it starts over. */
	assert_int_equal(ctx_truncate(b, 22), 0);
	assert_int_equal(ctx_n_past(b), 0);
	/* A damaged size is refused with a message. */
	assert_int_equal(ctx_state_load(b, img, size - 4), LT_E_FORMAT);
	ctx_free(a);
	ctx_free(b);
	free(img);
	swa_end(&r);
}

/* Sessions written before sliding windows hold version-1 images: a header
 * of 10 words. They load into a model without windows. */
static void state_version1_loads(void **state)
{
	(void)state;
	char path[1024], err[256];
	TU_NEED_MODEL(path, "stories260K.gguf");
	struct model *m;
	if (model_open(&m, path, NULL, err, sizeof(err)))
		fail_msg("%s", err);
	struct ctx *a = new_ctx(m, 8);
	int32_t t[] = { 1, 403, 407, 261, 378 };
	assert_int_equal(ctx_eval(a, t, 5, 0, false), 0);
	size_t size = ctx_state_size(a);
	uint8_t *img = malloc(size);
	assert_int_equal(ctx_state_save(a, img, size), 0);
	uint32_t version = 1;
	memcpy(img + 4, &version, 4);
	memmove(img + 40, img + 44, size - 44); /* drop the 11th word */
	struct ctx *b = new_ctx(m, 8);
	assert_int_equal(ctx_state_load(b, img, size - 4), 0);
	assert_int_equal(ctx_n_past(b), 5);
	assert_memory_equal(ctx_logits(a, -1), ctx_logits(b, -1), 512 * sizeof(float));
	ctx_free(a);
	ctx_free(b);
	free(img);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(swa_small_batches),
		cmocka_unit_test(swa_rewind),
		cmocka_unit_test(swa_state_roundtrip),
		cmocka_unit_test(state_version1_loads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
