/* The group fixture the conversation tests share: stories260K opened once
 * as a model and its tokenizer, a context on it, and the text callbacks'
 * append. Without the shared models the group still runs and each test
 * skips visibly. Include it after <cmocka.h>. */
#ifndef LT_STORIES_FIXTURE_H
#define LT_STORIES_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "model.h"
#include "testutil.h"
#include "vocab.h"

struct tu_stories {
	struct model *m;
	struct vocab *v;
};

/* cmocka group setup: *state becomes the fixture, or NULL when the model
 * is not there (tu_need_stories then skips). */
static inline int tu_stories_setup(void **state)
{
	char path[512], err[512] = "";
	*state = NULL;
	if (!tu_model_path(path, sizeof(path), "stories260K.gguf"))
		return 0;
	struct tu_stories *f = calloc(1, sizeof(*f));
	if (!f || model_open(&f->m, path, NULL, err, sizeof(err)) ||
	    vocab_open(&f->v, model_gguf(f->m), err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static inline int tu_stories_teardown(void **state)
{
	struct tu_stories *f = *state;
	if (f) {
		vocab_free(f->v);
		model_free(f->m);
		free(f);
	}
	return 0;
}

/* The fixture, or a visible skip of the running test. */
static inline struct tu_stories *tu_need_stories(void **state)
{
	if (!*state) {
		printf("SKIP: stories260K.gguf not found (set LLAMATERM_SHARED)\n");
		skip();
	}
	return *state;
}

/* A context of n_ctx positions on one thread. */
static inline struct ctx *tu_stories_ctx(struct tu_stories *f, int n_ctx)
{
	struct ctx_params cp = ctx_params_default();
	cp.n_ctx = n_ctx;
	cp.n_threads = 1;
	struct ctx *c;
	char err[256];
	assert_int_equal(ctx_new(&c, f->m, &cp, err, sizeof(err)), 0);
	return c;
}

/* Appends t[0..n) to the NUL-terminated text of a callback's record,
 * failing the test where it would not fit in cap bytes. */
static inline void tu_append(char *text, size_t cap, size_t *len, const char *t, size_t n)
{
	assert_true(*len + n < cap);
	memcpy(text + *len, t, n);
	*len += n;
	text[*len] = '\0';
}

#endif
