/* Tests of the shared option table: info's and quantize's flags come from
 * it (and only for their command), unknown options and misplaced flags are
 * usage errors (2), and --help lists what the table says. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

#include "testutil.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void test_info_flags(void **state)
{
	(void)state;
	char *argv[] = { "info", "--kv", "--tensors", "--full", "--json", "--no-mmap", "m.gguf" };
	struct options o;
	options_defaults(&o);
	assert_int_equal(options_parse(&o, ARGC(argv), argv, OPTC_INFO), 0);
	assert_true(o.info_kv);
	assert_true(o.info_tensors);
	assert_true(o.info_full);
	assert_true(o.json);
	assert_true(o.no_mmap);
	assert_false(o.pure);
	assert_int_equal(o.n_positional, 1);
	assert_string_equal(o.positional[0], "m.gguf");
}

static void test_info_defaults_off(void **state)
{
	(void)state;
	char *argv[] = { "info", "m.gguf" };
	struct options o;
	options_defaults(&o);
	assert_int_equal(options_parse(&o, ARGC(argv), argv, OPTC_INFO), 0);
	assert_false(o.info_kv || o.info_tensors || o.info_full || o.json || o.no_mmap);
}

static void test_quantize_pure(void **state)
{
	(void)state;
	char *argv[] = { "quantize", "--pure", "-t", "2", "in.gguf", "out.gguf", "Q4_0" };
	struct options o;
	options_defaults(&o);
	assert_int_equal(options_parse(&o, ARGC(argv), argv, OPTC_QUANTIZE), 0);
	assert_true(o.pure);
	assert_int_equal(o.n_threads, 2);
	assert_int_equal(o.n_positional, 3);
	assert_string_equal(o.positional[2], "Q4_0");
}

/* Each command's flags are usage errors elsewhere. */
static void test_flags_belong_to_their_command(void **state)
{
	(void)state;
	struct options o;
	char *pure[] = { "info", "--pure", "m.gguf" };
	options_defaults(&o);
	assert_int_equal(options_parse(&o, ARGC(pure), pure, OPTC_INFO), 2);
	char *kv[] = { "quantize", "--kv", "a", "b", "Q8_0" };
	options_defaults(&o);
	assert_int_equal(options_parse(&o, ARGC(kv), kv, OPTC_QUANTIZE), 2);
	char *full[] = { "run", "--full" };
	options_defaults(&o);
	assert_int_equal(options_parse(&o, ARGC(full), full, OPTC_RUN), 2);
	/* bench keeps its own --json. */
	char *json[] = { "bench", "--json" };
	options_defaults(&o);
	assert_int_equal(options_parse(&o, ARGC(json), json, OPTC_BENCH), 0);
	assert_true(o.json);
}

static void test_usage_errors(void **state)
{
	(void)state;
	struct options o;
	char *bogus[] = { "info", "--bogus-option", "m.gguf" };
	options_defaults(&o);
	assert_int_equal(options_parse(&o, ARGC(bogus), bogus, OPTC_INFO), 2);
	char *arg[] = { "info", "--kv=yes", "m.gguf" };
	options_defaults(&o);
	assert_int_equal(options_parse(&o, ARGC(arg), arg, OPTC_INFO), 2);
	/* After "--" everything is a file name. */
	char *dashes[] = { "info", "--", "--kv" };
	options_defaults(&o);
	assert_int_equal(options_parse(&o, ARGC(dashes), dashes, OPTC_INFO), 0);
	assert_false(o.info_kv);
	assert_int_equal(o.n_positional, 1);
	assert_string_equal(o.positional[0], "--kv");
}

/* The help of a command lists exactly its options, in table order. */
static void test_help_lists_the_table(void **state)
{
	(void)state;
	char *buf = tu_capture(options_print_help, OPTC_INFO);
	const char *want[] = { "--kv ", "--tensors ", "--json ", "--full ", "--no-mmap ", "--help " };
	const char *p = buf;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *q = strstr(p, want[i]);
		assert_non_null(q);
		p = q;
	}
	assert_null(strstr(buf, "--pure"));
	assert_null(strstr(buf, "--model"));
	free(buf);

	buf = tu_capture(options_print_help, OPTC_QUANTIZE);
	assert_non_null(strstr(buf, "--pure "));
	assert_null(strstr(buf, "--kv "));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_flags),
		cmocka_unit_test(test_info_defaults_off),
		cmocka_unit_test(test_quantize_pure),
		cmocka_unit_test(test_flags_belong_to_their_command),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_help_lists_the_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
