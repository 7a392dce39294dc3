/* Split models (gguf_split.h): stories260K cut into three files the way
 * llama.cpp's gguf-split cuts a model loads as one, with the same logits as
 * the whole file; a later part, a missing part, a part of another split and
 * a wrong tensor count are refused with a line naming the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "context.h"
#include "gguf_split.h"
#include "gguf_write.h"
#include "model.h"
#include "testutil.h"

#define N_PARTS 3

static char model_path[512];

/* Writes part k (0-based) of src as DIR/st-0000K-of-00003.gguf: the first
 * with all metadata, each with the split keys and a third of the tensors.
 * count_override, when >= 0, is written as split.count instead. */
static void write_part(const struct gguf *src, const char *dir, int k, int64_t tensors_count,
		       int count_override)
{
	struct gguf_writer *w;
	assert_int_equal(gguf_writer_new(&w), 0);
	if (k == 0)
		assert_true(gguf_writer_copy_prefix(w, src, "") > 0);
	else
		assert_int_equal(gguf_writer_copy_kv(w, src, "general.architecture"), 0);
	assert_int_equal(gguf_writer_set_u16(w, "split.no", (uint16_t)k), 0);
	assert_int_equal(gguf_writer_set_u16(w, "split.count",
					     (uint16_t)(count_override >= 0 ? count_override : N_PARTS)),
			 0);
	assert_int_equal(gguf_writer_set_i32(w, "split.tensors.count", (int32_t)tensors_count), 0);
	int64_t n = gguf_n_tensors(src);
	for (int64_t i = k * n / N_PARTS; i < (k + 1) * n / N_PARTS; i++) {
		const struct gguf_tensor *t = gguf_tensor(src, i);
		assert_int_equal(gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data),
				 0);
	}
	char path[256], err[256];
	snprintf(path, sizeof(path), "%s/st-%05d-of-%05d.gguf", dir, k + 1, N_PARTS);
	if (gguf_writer_write(w, path, err, sizeof(err)))
		fail_msg("%s", err);
	gguf_writer_free(w);
}

static void write_split(const char *dir)
{
	struct gguf *src;
	char err[256];
	if (gguf_open(&src, model_path, 0, err, sizeof(err)))
		fail_msg("%s", err);
	for (int k = 0; k < N_PARTS; k++)
		write_part(src, dir, k, gguf_n_tensors(src), -1);
	gguf_free(src);
}

/* The logits of "Once upon a time"'s ids after the whole prompt. */
static void logits_of(const char *path, float *out, int n_vocab)
{
	struct model *m;
	struct ctx *c;
	char err[512];
	if (model_open(&m, path, NULL, err, sizeof(err)))
		fail_msg("%s", err);
	struct ctx_params cp = ctx_params_default();
	cp.n_ctx = 32;
	cp.n_threads = 1;
	if (ctx_new(&c, m, &cp, err, sizeof(err)))
		fail_msg("%s", err);
	static const int32_t ids[] = { 1, 403, 407, 261, 378 };
	assert_int_equal(ctx_eval(c, ids, 5, 0, false), 0);
	assert_int_equal(ctx_n_vocab(c), n_vocab);
	memcpy(out, ctx_logits(c, -1), (size_t)n_vocab * sizeof(float));
	ctx_free(c);
	model_free(m);
}

static void test_split_loads_as_one(void **state)
{
	struct tu_tmp *t = *state;
	TU_NEED_MODEL(model_path, "stories260K.gguf");
	write_split(t->dir);
	char first[256], err[512];
	snprintf(first, sizeof(first), "%s/st-00001-of-00003.gguf", t->dir);
	struct gguf *g;
	if (gguf_open_split(&g, first, 0, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(gguf_n_tensors(g), 48);
	assert_non_null(gguf_find_tensor(g, "output.weight"));
	assert_non_null(gguf_find_tensor(g, "token_embd.weight"));
	gguf_free(g);
	float whole[512], split[512];
	logits_of(model_path, whole, 512);
	logits_of(first, split, 512);
	assert_memory_equal(whole, split, sizeof(whole));
}

static void test_split_errors(void **state)
{
	struct tu_tmp *t = *state;
	TU_NEED_MODEL(model_path, "stories260K.gguf");
	write_split(t->dir);
	char first[256], second[256], third[256], err[512] = "";
	snprintf(first, sizeof(first), "%s/st-00001-of-00003.gguf", t->dir);
	snprintf(second, sizeof(second), "%s/st-00002-of-00003.gguf", t->dir);
	snprintf(third, sizeof(third), "%s/st-00003-of-00003.gguf", t->dir);
	struct gguf *g;
	/* A later part: open the first. */
	assert_int_equal(gguf_open_split(&g, second, 0, err, sizeof(err)), LT_E_INVAL);
	assert_non_null(strstr(err, "part 2 of a model split in 3"));
	assert_non_null(strstr(err, "-00001-of-00003.gguf"));
	/* The first under another name: the others cannot be found. */
	char renamed[256];
	snprintf(renamed, sizeof(renamed), "%s/st.gguf", t->dir);
	assert_int_equal(link(first, renamed), 0);
	assert_int_equal(gguf_open_split(&g, renamed, 0, err, sizeof(err)), LT_E_FORMAT);
	assert_non_null(strstr(err, "cannot be found"));
	/* A part of another split. */
	struct gguf *src;
	assert_int_equal(gguf_open(&src, model_path, 0, err, sizeof(err)), 0);
	write_part(src, t->dir, 2, 48, 4);
	assert_int_equal(gguf_open_split(&g, first, 0, err, sizeof(err)), LT_E_FORMAT);
	assert_non_null(strstr(err, "st-00003-of-00003.gguf: says it is not part 3 of 3"));
	/* A tensor count that does not add up. */
	write_part(src, t->dir, 2, 48, -1);
	write_part(src, t->dir, 0, 47, -1);
	assert_int_equal(gguf_open_split(&g, first, 0, err, sizeof(err)), LT_E_FORMAT);
	assert_non_null(strstr(err, "hold 48 tensors, split.tensors.count says 47"));
	gguf_free(src);
	/* A missing part, named. */
	assert_int_equal(unlink(third), 0);
	assert_true(gguf_open_split(&g, first, 0, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "part 3 of 3"));
	assert_non_null(strstr(err, "st-00003-of-00003.gguf"));
	/* A model that is not split opens as it is. */
	assert_int_equal(gguf_open_split(&g, model_path, 0, err, sizeof(err)), 0);
	assert_int_equal(gguf_n_tensors(g), 48);
	gguf_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU_TMP_TEST(test_split_loads_as_one),
		TU_TMP_TEST(test_split_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
