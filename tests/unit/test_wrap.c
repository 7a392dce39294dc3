/* Display-width wrapping: ASCII words, CJK and emoji that take two cells,
 * combining marks that take none, words longer than the line cut hard,
 * newlines, invalid UTF-8, and the character mode of the input line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wrap.h"

#define MAX_LINES 64

/* Wraps s and returns the lines joined with '|' into buf, so a whole
 * layout is one string to compare. */
static const char *layout(const char *s, int width, enum wrap_mode mode, char *buf, size_t size)
{
	struct wrap_line lines[MAX_LINES];
	size_t n = wrap_text(s, strlen(s), width, mode, lines, MAX_LINES);
	assert_true(n <= MAX_LINES);
	size_t pos = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		assert_true(lines[i].cols <= width || width < 2);
		assert_int_equal(lines[i].cols, wrap_width(s + lines[i].off, lines[i].len));
		int k = snprintf(buf + pos, size - pos, "%s%.*s", i ? "|" : "", (int)lines[i].len,
				 s + lines[i].off);
		assert_true(k >= 0 && (size_t)k < size - pos);
		pos += (size_t)k;
	}
	return buf;
}

static int setup_locale(void **state)
{
	(void)state;
	if (!setlocale(LC_ALL, "C.UTF-8") && !setlocale(LC_ALL, "en_US.UTF-8"))
		print_message("note: no UTF-8 locale; widths come from the built-in fallback\n");
	return 0;
}

static void test_decode(void **state)
{
	(void)state;
	uint32_t cp;
	assert_int_equal(wrap_decode("A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(wrap_decode("\xC3\xA9", 2, &cp), 2); /* é */
	assert_int_equal(cp, 0xE9);
	assert_int_equal(wrap_decode("\xE4\xB8\xAD", 3, &cp), 3); /* 中 */
	assert_int_equal(cp, 0x4E2D);
	assert_int_equal(wrap_decode("\xF0\x9F\x98\x80", 4, &cp), 4); /* 😀 */
	assert_int_equal(cp, 0x1F600);
	/* Truncated, overlong, surrogate and stray continuation bytes. */
	assert_int_equal(wrap_decode("\xE4\xB8", 2, &cp), 1);
	assert_int_equal(cp, 0xFFFD);
	assert_int_equal(wrap_decode("\xC0\x80", 2, &cp), 1);
	assert_int_equal(cp, 0xFFFD);
	assert_int_equal(wrap_decode("\xED\xA0\x80", 3, &cp), 1);
	assert_int_equal(cp, 0xFFFD);
	assert_int_equal(wrap_decode("\x80", 1, &cp), 1);
	assert_int_equal(cp, 0xFFFD);
}

static void test_widths(void **state)
{
	(void)state;
	assert_int_equal(wrap_width("hello", 5), 5);
	assert_int_equal(wrap_width("\xE4\xB8\xAD\xE6\x96\x87", 6), 4);        /* 中文 */
	assert_int_equal(wrap_width("\xF0\x9F\x98\x80", 4), 2);                /* 😀 */
	assert_int_equal(wrap_width("e\xCC\x81", 3), 1);                       /* e + acute */
	assert_int_equal(wrap_width("\x01\x7F", 2), 2);                        /* controls: one cell */
	assert_int_equal(wrap_width("a\nb", 3), 2);
	assert_int_equal(wrap_width("\xFF\xFE", 2), 2);                        /* invalid bytes */
}

static void test_words(void **state)
{
	(void)state;
	char buf[512];
	assert_string_equal(layout("the quick brown fox jumps", 10, WRAP_WORD, buf, sizeof(buf)),
			    "the quick|brown fox|jumps");
	assert_string_equal(layout("exactly ten", 11, WRAP_WORD, buf, sizeof(buf)), "exactly ten");
	/* A space exactly at the edge ends the line and is not carried over. */
	assert_string_equal(layout("abcde fgh", 5, WRAP_WORD, buf, sizeof(buf)), "abcde|fgh");
	assert_string_equal(layout("", 10, WRAP_WORD, buf, sizeof(buf)), "");
	assert_int_equal(wrap_text("", 0, 10, WRAP_WORD, NULL, 0), 1);
}

static void test_long_word_hard_break(void **state)
{
	(void)state;
	char buf[512];
	assert_string_equal(layout("abcdefghijklmnop", 5, WRAP_WORD, buf, sizeof(buf)),
			    "abcde|fghij|klmno|p");
	assert_string_equal(layout("hi abcdefghij ok", 4, WRAP_WORD, buf, sizeof(buf)),
			    "hi|abcd|efgh|ij|ok");
}

static void test_newlines(void **state)
{
	(void)state;
	char buf[512];
	assert_string_equal(layout("a\nb\n\nc", 10, WRAP_WORD, buf, sizeof(buf)), "a|b||c");
	assert_int_equal(wrap_text("a\n", 2, 10, WRAP_WORD, NULL, 0), 2);
}

static void test_cjk(void **state)
{
	(void)state;
	char buf[512];
	/* 中文字符测试 is twelve columns: three lines of two characters at width 5,
	 * because the third character would need columns 5 and 6. */
	assert_string_equal(layout("中文字符测试", 5, WRAP_WORD, buf, sizeof(buf)),
			    "中文|字符|测试");
	assert_string_equal(layout("中文字符测试", 4, WRAP_WORD, buf, sizeof(buf)),
			    "中文|字符|测试");
	assert_string_equal(layout("ab 中文", 4, WRAP_WORD, buf, sizeof(buf)), "ab|中文");
	/* Width 1: a wide character still gets a line of its own. */
	assert_string_equal(layout("中a", 1, WRAP_WORD, buf, sizeof(buf)), "中|a");
}

static void test_emoji(void **state)
{
	(void)state;
	char buf[512];
	assert_string_equal(layout("😀😀😀", 5, WRAP_WORD, buf, sizeof(buf)), "😀😀|😀");
	assert_string_equal(layout("hi 😀 there", 5, WRAP_WORD, buf, sizeof(buf)), "hi 😀|there");
}

static void test_combining(void **state)
{
	(void)state;
	char buf[512];
	/* "cafe" + U+0301 four times: marks stay with their letter, so each
	 * line holds whole letters and its width counts them once. */
	const char *s = "e\xCC\x81" "e\xCC\x81" "e\xCC\x81" "e\xCC\x81";
	assert_string_equal(layout(s, 2, WRAP_WORD, buf, sizeof(buf)),
			    "e\xCC\x81" "e\xCC\x81|" "e\xCC\x81" "e\xCC\x81");
}

static void test_invalid_bytes(void **state)
{
	(void)state;
	char buf[512];
	assert_string_equal(layout("ab\xFF\xFE" "cd", 3, WRAP_WORD, buf, sizeof(buf)),
			    "ab\xFF|\xFE" "cd");
}

static void test_char_mode(void **state)
{
	(void)state;
	char buf[512];
	assert_string_equal(layout("> hello world", 6, WRAP_CHAR, buf, sizeof(buf)),
			    "> hell|o worl|d");
	assert_string_equal(layout("ab中文", 3, WRAP_CHAR, buf, sizeof(buf)), "ab|中|文");
}

static void test_fit(void **state)
{
	(void)state;
	const char *s = "a中b";
	assert_int_equal(wrap_fit(s, strlen(s), 0), 0);
	assert_int_equal(wrap_fit(s, strlen(s), 1), 1);
	assert_int_equal(wrap_fit(s, strlen(s), 2), 1);
	assert_int_equal(wrap_fit(s, strlen(s), 3), 4);
	assert_int_equal(wrap_fit(s, strlen(s), 4), 5);
	/* A combining mark after the last fitting letter comes along. */
	assert_int_equal(wrap_fit("e\xCC\x81x", 4, 1), 3);
}

static void test_alloc(void **state)
{
	(void)state;
	struct wrap_line *lines;
	const char *s = "one two three four five six";
	size_t n = wrap_text_alloc(s, strlen(s), 10, WRAP_WORD, &lines);
	assert_int_equal(n, 3);
	assert_int_equal(lines[2].cols, 8); /* "five six" */
	free(lines);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_widths),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_long_word_hard_break),
		cmocka_unit_test(test_newlines),
		cmocka_unit_test(test_cjk),
		cmocka_unit_test(test_emoji),
		cmocka_unit_test(test_combining),
		cmocka_unit_test(test_invalid_bytes),
		cmocka_unit_test(test_char_mode),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_alloc),
	};
	return cmocka_run_group_tests(tests, setup_locale, NULL);
}
