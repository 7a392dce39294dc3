/* Helpers shared by the template tests: loading a shipped template,
 * rendering a conversation to one string and checking which shipped
 * template detection picks. Include it after <cmocka.h>. */
#ifndef LT_TEMPLATE_UTIL_H
#define LT_TEMPLATE_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "template.h"

/* The shipped templates, relative to the repository root (where the tests
 * run). */
static char *const tu_shipped_dirs[] = { "prompts" };

/* A shipped template; fails the test when it does not load. */
static inline struct template *tu_load_shipped(const char *name)
{
	struct template *t = NULL;
	char err[512] = "";
	if (template_load(&t, name, tu_shipped_dirs, 1, err, sizeof(err)) != 0)
		fail_msg("loading %s: %s", name, err);
	return t;
}

/* The whole conversation msgs[0..n) as t renders it (malloc'd). */
static inline char *tu_render(const struct template *t, const char *system,
			      const struct template_msg *msgs, size_t n, unsigned flags)
{
	struct template_segs s = { 0 };
	assert_int_equal(template_render_conversation(t, system, msgs, n, flags, &s), 0);
	char *out = template_segs_join(&s, NULL);
	assert_non_null(out);
	template_segs_free(&s);
	return out;
}

/* A piece of a model's tokenizer.chat_template and the shipped template
 * detection should pick for it. */
struct tu_detect_case {
	const char *what;
	const char *chat_template;
	const char *expected; /* NULL: not recognised */
};

/* Fails the test at the first of cases[0..n) detected otherwise. */
static inline void tu_check_detect(const struct tu_detect_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *name = NULL;
		char err[512];
		assert_int_equal(template_detect(cases[i].chat_template, tu_shipped_dirs, 1, &name, err,
						 sizeof(err)), 0);
		const char *want = cases[i].expected;
		if (want ? !name || strcmp(name, want) != 0 : name != NULL)
			fail_msg("%s: detected %s, expected %s", cases[i].what, name ? name : "nothing",
				 want ? want : "nothing");
		free(name);
	}
}

#endif
