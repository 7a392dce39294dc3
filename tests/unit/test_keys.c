/* The key table: no key bound twice in one focus, every entry named and
 * explained, every action reachable through the dispatcher, the more
 * specific focus winning, the help listing every binding, and the man
 * page's KEY BINDINGS section equal to what the table generates. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

#include "testutil.h"

#define MAN_PAGE "man/llamaterm.1"
#define MAN_BEGIN ".\\\" BEGIN KEYS\n"
#define MAN_END ".\\\" END KEYS\n"

static void test_no_duplicates(void **state)
{
	(void)state;
	size_t n;
	const struct keys_binding *t = keys_table(&n);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (t[i].key == t[j].key && t[i].focus == t[j].focus)
				fail_msg("key %s bound twice in '%s'", t[i].name,
					 keys_focus_title(t[i].focus));
}

static void test_every_entry_documented(void **state)
{
	(void)state;
	size_t n;
	const struct keys_binding *t = keys_table(&n);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(t[i].name);
		assert_non_null(t[i].help);
		assert_true(strlen(t[i].name) > 0);
		assert_true(strlen(t[i].help) > 3);
		assert_true(t[i].action > KA_NONE && t[i].action < KA_COUNT);
		assert_true((unsigned)t[i].focus < KEYS_FOCUS_COUNT);
	}
	for (int a = 0; a < KA_COUNT; a++)
		assert_string_not_equal(keys_action_name((enum keys_action)a), "?");
}

static void test_dispatcher_reaches_every_action(void **state)
{
	(void)state;
	size_t n;
	const struct keys_binding *t = keys_table(&n);
	bool reached[KA_COUNT] = { false };
	for (size_t i = 0; i < n; i++) {
		enum keys_action a = keys_lookup(t[i].focus, t[i].key);
		assert_int_equal(a, t[i].action);
		reached[a] = true;
	}
	for (int a = 1; a < KA_COUNT; a++)
		if (!reached[a])
			fail_msg("action %s has no key", keys_action_name((enum keys_action)a));
}

static void test_specific_focus_wins(void **state)
{
	(void)state;
	/* Esc stops a reply, except in a side pane where it closes the pane. */
	assert_int_equal(keys_lookup(KEYS_FOCUS_INPUT, KEYS_ESC), KA_STOP);
	assert_int_equal(keys_lookup(KEYS_FOCUS_META, KEYS_ESC), KA_CLOSE);
	assert_int_equal(keys_lookup(KEYS_FOCUS_SESSIONS, KEYS_ESC), KA_CLOSE);
	/* Global keys work in every pane. */
	for (int f = 0; f < KEYS_FOCUS_COUNT; f++) {
		assert_int_equal(keys_lookup((enum keys_focus)f, KEYS_FN(KEY_F(2))), KA_META);
		assert_int_equal(keys_lookup((enum keys_focus)f, KEYS_CTRL('c')), KA_INTERRUPT);
	}
	assert_int_equal(keys_lookup(KEYS_FOCUS_META, '/'), KA_SEARCH);
	assert_int_equal(keys_lookup(KEYS_FOCUS_SESSIONS, 'n'), KA_SESSION_NEW);
	assert_int_equal(keys_lookup(KEYS_FOCUS_META, 'n'), KA_SEARCH_NEXT);
	/* Ordinary characters in the input line belong to readline. */
	assert_int_equal(keys_lookup(KEYS_FOCUS_INPUT, 'n'), KA_NONE);
	assert_int_equal(keys_lookup(KEYS_FOCUS_INPUT, '/'), KA_NONE);
	assert_int_equal(keys_lookup(KEYS_FOCUS_INPUT, KEYS_CTRL('a')), KA_NONE);
	assert_int_equal(keys_lookup(KEYS_FOCUS_INPUT, '\r'), KA_SEND);
	assert_int_equal(keys_lookup(KEYS_FOCUS_INPUT, KEYS_ALT('\r')), KA_NEWLINE);
}

struct help_buf {
	char *text;
	size_t len;
	FILE *f;
};

static void help_line(void *ud, const char *text)
{
	struct help_buf *h = ud;
	fprintf(h->f, "%s\n", text);
}

static void test_help_lists_everything(void **state)
{
	(void)state;
	struct help_buf h = { 0 };
	h.f = open_memstream(&h.text, &h.len);
	assert_non_null(h.f);
	keys_help(help_line, &h);
	fclose(h.f);
	size_t n;
	const struct keys_binding *t = keys_table(&n);
	for (size_t i = 0; i < n; i++)
		assert_non_null(strstr(h.text, t[i].help));
	free(h.text);
}

static void test_man_page_section(void **state)
{
	(void)state;
	char *page = tu_read_file(MAN_PAGE, NULL);
	if (!page) {
		print_message("SKIP: %s not found (run from the repository root)\n", MAN_PAGE);
		skip();
	}
	char *begin = strstr(page, MAN_BEGIN);
	char *end = begin ? strstr(begin, MAN_END) : NULL;
	if (!begin || !end) {
		free(page);
		fail_msg("%s: no section between '.\\\" BEGIN KEYS' and '.\\\" END KEYS'", MAN_PAGE);
	}
	begin += strlen(MAN_BEGIN);
	char *gen = NULL;
	size_t gen_len = 0;
	FILE *m = open_memstream(&gen, &gen_len);
	keys_print_roff(m);
	fclose(m);
	*end = '\0';
	if (strcmp(begin, gen) != 0)
		fail_msg("%s: the KEY BINDINGS section differs from keys_print_roff(); "
			 "regenerate it with 'llamaterm chat --print-keys-roff'", MAN_PAGE);
	free(gen);
	free(page);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_duplicates),
		cmocka_unit_test(test_every_entry_documented),
		cmocka_unit_test(test_dispatcher_reaches_every_action),
		cmocka_unit_test(test_specific_focus_wins),
		cmocka_unit_test(test_help_lists_everything),
		cmocka_unit_test(test_man_page_section),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
