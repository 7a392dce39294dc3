/* The side-pane table (ui/pane.c): every row complete, no two panes
 * sharing a focus or a toggle key, every toggle bound to a key that works
 * from anywhere, and the hooks that need no terminal behaving (the help
 * made once and kept, the metadata browser refusing without a model). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "keys.h"
#include "pane.h"

static void test_rows_complete(void **state)
{
	(void)state;
	size_t n;
	const struct pane_ops *const *p = pane_table(&n);
	assert_true(n > 0 && n <= PANE_MAX);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(p[i]->name);
		assert_non_null(p[i]->open);
		assert_non_null(p[i]->free);
		assert_non_null(p[i]->draw);
		assert_non_null(p[i]->list);
		/* Its bindings must be a side pane's, so Esc and q close it. */
		assert_true(p[i]->focus > KEYS_FOCUS_SIDE && p[i]->focus < KEYS_FOCUS_COUNT);
		for (size_t j = i + 1; j < n; j++) {
			if (p[i]->focus == p[j]->focus)
				fail_msg("panes %s and %s share a focus", p[i]->name, p[j]->name);
			if (p[i]->toggle == p[j]->toggle)
				fail_msg("panes %s and %s share a toggle", p[i]->name, p[j]->name);
		}
	}
}

/* A pane nobody can open is a mistake: its toggle must be bound to a key
 * that reaches it from the input, the transcript and every pane. */
static void test_toggles_bound(void **state)
{
	(void)state;
	size_t n, nk;
	const struct pane_ops *const *p = pane_table(&n);
	const struct keys_binding *k = keys_table(&nk);
	for (size_t i = 0; i < n; i++) {
		int key = -1;
		for (size_t j = 0; j < nk; j++)
			if (k[j].action == p[i]->toggle)
				key = k[j].key;
		if (key < 0)
			fail_msg("pane %s: no key toggles it", p[i]->name);
		assert_int_equal(keys_lookup(KEYS_FOCUS_INPUT, key), p[i]->toggle);
		assert_int_equal(keys_lookup(KEYS_FOCUS_TRANSCRIPT, key), p[i]->toggle);
		for (size_t j = 0; j < n; j++)
			assert_int_equal(keys_lookup(p[j]->focus, key), p[i]->toggle);
	}
}

static const struct pane_ops *find(enum keys_action toggle)
{
	size_t n;
	const struct pane_ops *const *p = pane_table(&n);
	for (size_t i = 0; i < n; i++)
		if (p[i]->toggle == toggle)
			return p[i];
	return NULL;
}

static void test_help_made_once(void **state)
{
	(void)state;
	const struct pane_ops *help = find(KA_HELP);
	assert_non_null(help);
	char err[256] = "";
	struct pane_env env = { .err = err, .err_len = sizeof(err) };
	void *st = NULL;
	assert_int_equal(help->open(&st, &env), 0);
	assert_non_null(st);
	void *first = st;
	assert_int_equal(help->open(&st, &env), 0);
	assert_ptr_equal(st, first);
	struct listview *lv = help->list(st);
	assert_true(listview_count(lv) > 10);
	bool slash = false;
	for (size_t i = 0; i < listview_count(lv); i++)
		slash |= strcmp(listview_text(lv, i), "Slash commands") == 0;
	assert_true(slash);
	help->free(st);
}

static void test_meta_needs_a_model(void **state)
{
	(void)state;
	const struct pane_ops *meta = find(KA_META);
	assert_non_null(meta);
	char err[256] = "";
	struct pane_env env = { .err = err, .err_len = sizeof(err) };
	void *st = NULL;
	assert_int_equal(meta->open(&st, &env), LT_E_INVAL);
	assert_null(st);
	assert_string_equal(err, "no model file to show");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_complete),
		cmocka_unit_test(test_toggles_bound),
		cmocka_unit_test(test_help_made_once),
		cmocka_unit_test(test_meta_needs_a_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
