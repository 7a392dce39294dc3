/* Escapes and quotes in typed strings (escape.h): decoding, the errors,
 * quoting back, and the same rules through /postfix, /stop and -r. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "escape.h"
#include "options.h"
#include "slash.h"

static void decodes(const char *in, const char *want)
{
	char *s = strdup(in), err[256] = "";
	assert_non_null(s);
	if (escape_decode(s, err, sizeof(err)))
		fail_msg("%s: %s", in, err);
	assert_string_equal(s, want);
	/* Quoting gives it back. */
	char *q = escape_quote(s);
	assert_non_null(q);
	if (escape_decode(q, err, sizeof(err)))
		fail_msg("%s quoted: %s", in, err);
	assert_string_equal(q, want);
	free(q);
	free(s);
}

static void refused(const char *in, const char *needle)
{
	char *s = strdup(in), err[256] = "";
	assert_int_equal(escape_decode(s, err, sizeof(err)), LT_E_INVAL);
	if (!strstr(err, needle))
		fail_msg("%s: '%s' lacks '%s'", in, err, needle);
	assert_null(strchr(err, '\n'));
	free(s);
}

static void test_decode(void **state)
{
	(void)state;
	decodes("plain", "plain");
	decodes("\\nHuman:", "\nHuman:");
	decodes("a\\tb\\\\c\\\"d\\'e\\r", "a\tb\\c\"d'e\r");
	decodes("\\x41\\x7e", "A~");
	decodes("\" AI:\"", " AI:");
	decodes("\"\\nUser: \"", "\nUser: ");
	decodes("\"say \\\"hi\\\"\"", "say \"hi\"");
	decodes("\"\"", "");
	decodes("", "");
	refused("oops\\", "end of the text");
	refused("\\q", "bad escape '\\q'");
	refused("\\x4", "two hex digits");
	refused("\\x00", "not 00");
	refused("\" AI:", "must end with a double quote");
	refused("\"a\" b", "after the closing quote");
}

static void test_quote(void **state)
{
	(void)state;
	char *q = escape_quote("\nHuman: \"x\"\\\x01");
	assert_string_equal(q, "\"\\nHuman: \\\"x\\\"\\\\\\x01\"");
	free(q);
}

static void test_slash(void **state)
{
	(void)state;
	char err[256];
	struct slash_call call;
	char line1[] = "/postfix \" AI:\"";
	assert_int_equal(slash_parse(line1, &call, err, sizeof(err)), 0);
	assert_string_equal(call.arg1, " AI:");
	char line2[] = "/stop add \"\\nHuman:\"";
	assert_int_equal(slash_parse(line2, &call, err, sizeof(err)), 0);
	assert_string_equal(call.arg2, "\nHuman:");
	char line3[] = "/stop rm \\nHuman:";
	assert_int_equal(slash_parse(line3, &call, err, sizeof(err)), 0);
	assert_string_equal(call.arg2, "\nHuman:");
	char line4[] = "/postfix \\q";
	assert_int_equal(slash_parse(line4, &call, err, sizeof(err)), LT_E_INVAL);
	assert_non_null(strstr(err, "/postfix: bad escape"));
	/* Other commands take their text as typed. */
	char line5[] = "/system a\\nb";
	assert_int_equal(slash_parse(line5, &call, err, sizeof(err)), 0);
	assert_string_equal(call.arg1, "a\\nb");
}

static void test_options(void **state)
{
	(void)state;
	struct options o;
	options_defaults(&o);
	char a0[] = "chat", a1[] = "-r", a2[] = "\\nHuman:", a3[] = "--in-suffix", a4[] = "\" AI:\"",
	     a5[] = "--in-prefix=\\t";
	char *argv[] = { a0, a1, a2, a3, a4, a5 };
	assert_int_equal(options_parse(&o, 6, argv, OPTC_CHAT), 0);
	assert_int_equal(o.n_stops, 1);
	assert_string_equal(o.stops[0], "\nHuman:");
	assert_string_equal(o.in_suffix, " AI:");
	assert_string_equal(o.in_prefix, "\t");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_slash),
		cmocka_unit_test(test_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
