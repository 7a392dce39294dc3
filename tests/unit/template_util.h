/* Helpers shared by the template tests: loading a shipped template and
 * rendering a conversation to one string. Include it after <cmocka.h>. */
#ifndef LT_TEMPLATE_UTIL_H
#define LT_TEMPLATE_UTIL_H

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

#endif
