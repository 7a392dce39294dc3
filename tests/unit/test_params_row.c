/* Adding a row to the parameter table is all it takes: this builds
 * params.c with one more row (PARAMS_EXTRA_ROW) and finds it in --help,
 * the man page, option parsing, /set, /show and /set completion, which
 * options.c, slash.c and the worker make from the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "options.h"
#include "slash.h"
#include "testutil.h"

/* It borrows n_ctx's field: any int32 field of struct gen_params will do. */
#define PARAMS_EXTRA_ROW                                                                      \
	{ .name = "test_knob", .aliases = { "knob" }, .long_flag = "--test-knob", .arg = "N",  \
	  .kind = PARAM_INT, .offset = offsetof(struct gen_params, n_ctx), .def = 0, .min = 0,  \
	  .max = 9, .commands = OPTC_CHAT, .help = "a knob only this test has" }
#include "params.c"

static void print_man(FILE *f, unsigned cmd)
{
	(void)cmd;
	options_print_man(f);
}

static void show_line(void *ud, const char *text)
{
	if (!strncmp(text, "test_knob", 9))
		snprintf(ud, 128, "%.100s", text);
}

static void test_new_row_everywhere(void **state)
{
	(void)state;
	char *help = tu_capture(options_print_help, OPTC_CHAT);
	assert_non_null(strstr(help, "--test-knob N"));
	assert_non_null(strstr(help, "a knob only this test has; default 0, range 0 to 9; "
				     "/set test_knob, knob"));
	free(help);
	help = tu_capture(options_print_help, OPTC_RUN);
	assert_null(strstr(help, "--test-knob"));
	free(help);
	char *man = tu_capture(print_man, 0);
	assert_non_null(strstr(man, ".B \"\\-\\-test\\-knob N\"\na knob only this test has"));
	free(man);

	struct options o;
	options_defaults(&o);
	char *argv[] = { "chat", "--test-knob", "7" };
	assert_int_equal(options_parse(&o, 3, argv, OPTC_CHAT), 0);
	assert_int_equal(o.gen.n_ctx, 7);

	struct gen_params gp = gen_params_default();
	char err[256];
	assert_int_equal(params_apply(&gp, "knob", "3", err, sizeof(err)), 0);
	assert_int_equal(gp.n_ctx, 3);
	assert_int_equal(params_apply(&gp, "test_knob", "10", err, sizeof(err)), LT_E_INVAL);
	assert_string_equal(err, "/set test_knob: 10 is out of range (0 to 9)");
	char line[128] = "";
	params_describe(&gp, show_line, line);
	assert_string_equal(line, "test_knob = 3");

	bool name = false, alias = false;
	const char *c;
	for (size_t i = 0; (c = slash_complete("set ", i)) != NULL; i++) {
		name |= !strcmp(c, "test_knob");
		alias |= !strcmp(c, "knob");
	}
	assert_true(name && alias);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_row_everywhere),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
