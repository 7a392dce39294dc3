/* Strict UTF-8: every sequence length decodes to its code point, and each
 * kind of invalid input (stray continuation, bad lead byte, truncation,
 * overlong forms, surrogates, values past U+10FFFF) is rejected. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static void expect_decode(const char *s, size_t len, uint32_t want_cp)
{
	uint32_t cp = 0;
	assert_int_equal(utf8_decode(s, strlen(s), &cp), len);
	assert_int_equal(cp, want_cp);
}

static void expect_invalid(const char *s)
{
	uint32_t cp = 0;
	assert_int_equal(utf8_decode(s, strlen(s), &cp), 0);
	assert_int_equal(cp, UTF8_REPLACEMENT_CP);
	assert_false(utf8_valid(s, strlen(s)));
}

static void test_decode(void **state)
{
	(void)state;
	expect_decode("A", 1, 'A');
	expect_decode("\x7F", 1, 0x7F);
	expect_decode("\xC2\x80", 2, 0x80);
	expect_decode("\xC3\xA9", 2, 0xE9);
	expect_decode("\xE0\xA0\x80", 3, 0x800);
	expect_decode("\xE4\xB8\xAD", 3, 0x4E2D);
	expect_decode("\xEF\xBF\xBD", 3, UTF8_REPLACEMENT_CP);
	expect_decode("\xF0\x90\x80\x80", 4, 0x10000);
	expect_decode("\xF0\x9F\x98\x80", 4, 0x1F600);
	expect_decode("\xF4\x8F\xBF\xBF", 4, 0x10FFFF);
	/* Only n bytes are looked at. */
	uint32_t cp;
	assert_int_equal(utf8_decode("\xE4\xB8\xAD", 2, &cp), 0);
}

static void test_invalid(void **state)
{
	(void)state;
	expect_invalid("\x80");             /* stray continuation */
	expect_invalid("\xC0\x80");         /* overlong NUL */
	expect_invalid("\xC1\xBF");         /* overlong */
	expect_invalid("\xE0\x9F\xBF");     /* overlong 3-byte */
	expect_invalid("\xF0\x8F\xBF\xBF"); /* overlong 4-byte */
	expect_invalid("\xED\xA0\x80");     /* surrogate */
	expect_invalid("\xF4\x90\x80\x80"); /* past U+10FFFF */
	expect_invalid("\xF5\x80\x80\x80"); /* no such lead byte */
	expect_invalid("\xE4\xB8");         /* truncated */
	expect_invalid("\xC3(");            /* missing continuation */
}

static void test_lead_len_and_valid(void **state)
{
	(void)state;
	assert_int_equal(utf8_lead_len('a'), 1);
	assert_int_equal(utf8_lead_len(0xC2), 2);
	assert_int_equal(utf8_lead_len(0xEF), 3);
	assert_int_equal(utf8_lead_len(0xF4), 4);
	assert_int_equal(utf8_lead_len(0x80), 0);
	assert_int_equal(utf8_lead_len(0xC1), 0);
	assert_int_equal(utf8_lead_len(0xF5), 0);
	const char ok[] = "caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80";
	assert_true(utf8_valid(ok, strlen(ok)));
	assert_true(utf8_valid("", 0));
	/* A NUL byte is valid UTF-8 (callers that forbid it check for it). */
	assert_true(utf8_valid("a\0b", 3));
	assert_false(utf8_valid(ok, strlen(ok) - 1));
}

static void sanitized(const char *in, size_t n, const char *want, size_t want_bad)
{
	size_t len, bad;
	char *out = utf8_sanitize(in, n, &len, &bad);
	assert_non_null(out);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	assert_int_equal(bad, want_bad);
	assert_true(utf8_valid(out, len));
	free(out);
}

/* Each invalid sequence becomes one U+FFFD; valid text is left alone. */
static void test_sanitize(void **state)
{
	(void)state;
	sanitized("caf\xC3\xA9", 5, "caf\xC3\xA9", 0);
	sanitized("caf\xE9", 4, "caf\xEF\xBF\xBD", 1);
	sanitized("a\xE2\x82" "b", 4, "a\xEF\xBF\xBD" "b", 1);
	sanitized("\x80\x80", 2, "\xEF\xBF\xBD\xEF\xBF\xBD", 2);
	sanitized("\xC0\xAF", 2, "\xEF\xBF\xBD\xEF\xBF\xBD", 2);
	sanitized("\xED\xA0\x80x", 4, "\xEF\xBF\xBDx", 1);
	sanitized("\xF0\x9F\x98", 3, "\xEF\xBF\xBD", 1);
	sanitized("", 0, "", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_lead_len_and_valid),
		cmocka_unit_test(test_sanitize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
