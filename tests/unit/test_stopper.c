/* Stop-string matcher tests: hold-back across pieces, false partials,
 * overlapping and multiple stops, UTF-8, flush, and a check that the
 * output never depends on how the text was cut into pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stopper.h"

/* Everything released so far, and what each feed released. */
struct run {
	char text[4096];
	size_t len;
	int status;
};

static struct stopper *make(const char *const *stops, int n)
{
	char err[256] = "";
	struct stopper *st;
	if (stopper_new(&st, stops, n, err, sizeof(err)) < 0)
		fail_msg("stopper_new: %s", err);
	return st;
}

/* Feeds one piece, appends its release to r and returns the release. */
static const char *feed(struct stopper *st, struct run *r, const char *piece)
{
	const char *out;
	size_t n;
	r->status = stopper_feed(st, piece, strlen(piece), &out, &n);
	assert_true(r->status >= 0);
	assert_true(r->len + n < sizeof(r->text));
	memcpy(r->text + r->len, out, n);
	r->len += n;
	r->text[r->len] = '\0';
	static char last[4096];
	snprintf(last, sizeof(last), "%.*s", (int)n, out);
	return last;
}

static void flush(struct stopper *st, struct run *r)
{
	const char *out;
	size_t n;
	stopper_flush(st, &out, &n);
	assert_true(r->len + n < sizeof(r->text));
	memcpy(r->text + r->len, out, n);
	r->len += n;
	r->text[r->len] = '\0';
}

static void test_split_stop(void **state)
{
	(void)state;
	const char *stops[] = { "Lily" };
	struct stopper *st = make(stops, 1);
	struct run r = { .len = 0 };
	assert_string_equal(feed(st, &r, "Once there was "), "Once there was ");
	assert_string_equal(feed(st, &r, "Li"), "");
	assert_int_equal(stopper_held(st), 2);
	assert_int_equal(r.status, STOPPER_MORE);
	assert_string_equal(feed(st, &r, "ly"), "");
	assert_int_equal(r.status, STOPPER_HIT);
	assert_string_equal(stopper_hit(st), "Lily");
	assert_string_equal(r.text, "Once there was ");
	/* After a hit nothing more comes out. */
	assert_string_equal(feed(st, &r, " and more"), "");
	assert_int_equal(r.status, STOPPER_HIT);
	flush(st, &r);
	assert_string_equal(r.text, "Once there was ");
	stopper_free(st);

	/* One byte at a time. */
	st = make(stops, 1);
	r = (struct run){ .len = 0 };
	const char *text = "xLiLilLily tail";
	for (const char *c = text; *c && r.status != STOPPER_HIT; c++) {
		char one[2] = { *c, 0 };
		feed(st, &r, one);
	}
	assert_int_equal(r.status, STOPPER_HIT);
	assert_string_equal(r.text, "xLiLil");
	stopper_free(st);
}

static void test_false_partial(void **state)
{
	(void)state;
	const char *stops[] = { "Lily" };
	struct stopper *st = make(stops, 1);
	struct run r = { .len = 0 };
	assert_string_equal(feed(st, &r, "Lil"), "");
	assert_int_equal(stopper_held(st), 3);
	assert_string_equal(feed(st, &r, "ac"), "Lilac");
	assert_int_equal(r.status, STOPPER_MORE);
	assert_int_equal(stopper_held(st), 0);
	/* A partial whose tail starts another partial keeps only that tail. */
	assert_string_equal(feed(st, &r, " LiL"), " Li");
	assert_int_equal(stopper_held(st), 1);
	assert_string_equal(feed(st, &r, "i"), "");
	assert_string_equal(feed(st, &r, "lo"), "Lilo");
	assert_null(stopper_hit(st));
	assert_string_equal(r.text, "Lilac LiLilo");
	stopper_free(st);
}

static void test_overlapping(void **state)
{
	(void)state;
	const char *stops[] = { "ab" };
	struct stopper *st = make(stops, 1);
	struct run r = { .len = 0 };
	assert_string_equal(feed(st, &r, "a"), "");
	assert_string_equal(feed(st, &r, "a"), "a");
	assert_string_equal(feed(st, &r, "b"), "");
	assert_int_equal(r.status, STOPPER_HIT);
	assert_string_equal(r.text, "a");
	stopper_free(st);

	/* "aab" in one piece. */
	st = make(stops, 1);
	r = (struct run){ .len = 0 };
	feed(st, &r, "aab");
	assert_int_equal(r.status, STOPPER_HIT);
	assert_string_equal(r.text, "a");
	stopper_free(st);

	/* Self-overlapping stop "aaab" in "aaaab". */
	const char *s2[] = { "aaab" };
	st = make(s2, 1);
	r = (struct run){ .len = 0 };
	const char *pieces[] = { "a", "a", "a", "a", "b" };
	for (int i = 0; i < 5; i++)
		feed(st, &r, pieces[i]);
	assert_int_equal(r.status, STOPPER_HIT);
	assert_string_equal(r.text, "a");
	stopper_free(st);
}

static void test_several_stops(void **state)
{
	(void)state;
	const char *stops[] = { "</s>", "User:", "\n\n", "User:" };
	struct stopper *st = make(stops, 4);
	const char *const *list;
	assert_int_equal(stopper_list(st, &list), 3); /* the duplicate is kept once */
	assert_string_equal(list[1], "User:");
	struct run r = { .len = 0 };
	feed(st, &r, "Hello.\n");
	assert_string_equal(r.text, "Hello.");
	feed(st, &r, "Use");
	assert_string_equal(r.text, "Hello.\n");
	feed(st, &r, "r: hi");
	assert_int_equal(r.status, STOPPER_HIT);
	assert_string_equal(stopper_hit(st), "User:");
	assert_string_equal(r.text, "Hello.\n");

	/* The stop that completes first wins, even if another started earlier. */
	stopper_reset(st);
	assert_null(stopper_hit(st));
	assert_int_equal(stopper_add(st, "xyz-long", NULL, 0), LT_OK);
	assert_int_equal(stopper_add(st, "z", NULL, 0), LT_OK);
	r = (struct run){ .len = 0 };
	feed(st, &r, "wxyz-long");
	assert_int_equal(r.status, STOPPER_HIT);
	assert_string_equal(stopper_hit(st), "z");
	assert_string_equal(r.text, "wxy");

	/* Two stops ending on the same byte: the longer one is swallowed. */
	stopper_reset(st);
	assert_int_equal(stopper_add(st, "yz", NULL, 0), LT_OK);
	r = (struct run){ .len = 0 };
	feed(st, &r, "wxyz");
	assert_string_equal(stopper_hit(st), "yz");
	assert_string_equal(r.text, "wx");

	/* Removing a stop releases what only it held. */
	stopper_reset(st);
	r = (struct run){ .len = 0 };
	feed(st, &r, "ab</");
	assert_string_equal(r.text, "ab");
	assert_int_equal(stopper_remove(st, "</s>"), LT_OK);
	assert_int_equal(stopper_remove(st, "</s>"), LT_E_NOTFOUND);
	feed(st, &r, "");
	assert_string_equal(r.text, "ab</");
	stopper_free(st);
}

static void test_stop_at_start(void **state)
{
	(void)state;
	const char *stops[] = { "###" };
	struct stopper *st = make(stops, 1);
	struct run r = { .len = 0 };
	assert_string_equal(feed(st, &r, "###"), "");
	assert_int_equal(r.status, STOPPER_HIT);
	assert_int_equal(r.len, 0);
	/* Reset makes it usable for the next reply. */
	stopper_reset(st);
	r = (struct run){ .len = 0 };
	feed(st, &r, "#");
	feed(st, &r, "#");
	feed(st, &r, "#!");
	assert_int_equal(r.status, STOPPER_HIT);
	assert_int_equal(r.len, 0);
	stopper_free(st);
}

static void test_empty_list(void **state)
{
	(void)state;
	struct stopper *st = make(NULL, 0);
	struct run r = { .len = 0 };
	assert_string_equal(feed(st, &r, "anything "), "anything ");
	assert_string_equal(feed(st, &r, "goes"), "goes");
	assert_int_equal(stopper_held(st), 0);
	assert_int_equal(stopper_list(st, NULL), 0);
	flush(st, &r);
	assert_string_equal(r.text, "anything goes");
	stopper_free(st);
}

static void test_utf8(void **state)
{
	(void)state;
	/* "ünde" (u-umlaut is C3 BC) and a 4-byte emoji stop. */
	const char *stops[] = { "\xC3\xBCnde", "\xF0\x9F\x9B\x91" };
	struct stopper *st = make(stops, 2);
	struct run r = { .len = 0 };
	assert_string_equal(feed(st, &r, "M\xC3\xBC"), "M");
	assert_string_equal(feed(st, &r, "nd"), "");
	assert_string_equal(feed(st, &r, "ung"), "\xC3\xBCndung");
	feed(st, &r, " \xF0\x9F\x9B\x91 after");
	assert_int_equal(r.status, STOPPER_HIT);
	assert_string_equal(r.text, "M\xC3\xBCndung ");
	stopper_free(st);

	/* A character cut in half by the caller is held until it is whole,
	 * even with no stop strings at all. */
	st = make(NULL, 0);
	r = (struct run){ .len = 0 };
	assert_string_equal(feed(st, &r, "a\xE2\x82"), "a");
	assert_int_equal(stopper_held(st), 2);
	assert_string_equal(feed(st, &r, "\xAC!"), "\xE2\x82\xAC!");
	stopper_free(st);

	/* Invalid or empty stop strings are refused with a message. */
	char err[128];
	const char *bad[] = { "ok", "\xC3" };
	struct stopper *none;
	assert_int_equal(stopper_new(&none, bad, 2, err, sizeof(err)), LT_E_INVAL);
	assert_null(none);
	assert_non_null(strstr(err, "UTF-8"));
	st = make(NULL, 0);
	assert_int_equal(stopper_add(st, "", err, sizeof(err)), LT_E_INVAL);
	assert_int_equal(stopper_add(st, "\xED\xA0\x80", err, sizeof(err)), LT_E_INVAL);
	assert_int_equal(stopper_add(st, "\xC0\xAF", err, sizeof(err)), LT_E_INVAL);
	stopper_free(st);
}

static void test_flush(void **state)
{
	(void)state;
	const char *stops[] = { "<|end|>" };
	struct stopper *st = make(stops, 1);
	struct run r = { .len = 0 };
	feed(st, &r, "The end <|en");
	assert_string_equal(r.text, "The end ");
	flush(st, &r);
	assert_string_equal(r.text, "The end <|en");
	assert_int_equal(stopper_held(st), 0);
	/* Flushing twice releases nothing more. */
	flush(st, &r);
	assert_string_equal(r.text, "The end <|en");
	stopper_free(st);
}

static void test_bad_args(void **state)
{
	(void)state;
	const char *out;
	size_t n;
	struct stopper *st = make(NULL, 0);
	assert_int_equal(stopper_feed(st, NULL, 3, &out, &n), LT_E_INVAL);
	assert_int_equal(stopper_feed(NULL, "x", 1, &out, &n), LT_E_INVAL);
	assert_int_equal(stopper_feed(st, NULL, 0, &out, &n), STOPPER_MORE);
	assert_int_equal(n, 0);
	struct stopper *none;
	assert_int_equal(stopper_new(&none, NULL, 2, NULL, 0), LT_E_INVAL);
	assert_null(none);
	stopper_free(st);
	stopper_free(NULL);
}

/* Reference: the text before the earliest-ending stop (longest on ties),
 * computed on the whole string at once. */
static size_t reference(const char *text, const char *const *stops, int n, int *hit)
{
	size_t len = strlen(text);
	for (size_t e = 1; e <= len; e++) {
		size_t best = 0;
		for (int i = 0; i < n; i++) {
			size_t l = strlen(stops[i]);
			if (l <= e && l > best && memcmp(text + e - l, stops[i], l) == 0)
				best = l;
		}
		if (best) {
			*hit = 1;
			return e - best;
		}
	}
	*hit = 0;
	return len;
}

/* Random texts over a small alphabet cut at random places give exactly
 * the reference output. */
static void test_chunking_invariance(void **state)
{
	(void)state;
	const char *stops[] = { "aba", "bb", "abc\xC3\xA9", "\xC3\xA9\xC3\xA9" };
	const char *alphabet[] = { "a", "b", "c", "\xC3\xA9" };
	uint32_t x = 2024;
	for (int iter = 0; iter < 3000; iter++) {
		char text[128];
		size_t len = 0;
		int n_chars = 1 + iter % 24;
		for (int i = 0; i < n_chars; i++) {
			x = x * 1103515245u + 12345u;
			const char *c = alphabet[(x >> 16) % 4];
			memcpy(text + len, c, strlen(c));
			len += strlen(c);
		}
		text[len] = '\0';
		int want_hit;
		size_t want = reference(text, stops, 4, &want_hit);

		struct stopper *st = make(stops, 4);
		struct run r = { .len = 0 };
		size_t pos = 0;
		while (pos < len && r.status != STOPPER_HIT) {
			x = x * 1103515245u + 12345u;
			size_t cut = 1 + (x >> 16) % 4; /* may split the 2-byte character */
			if (cut > len - pos)
				cut = len - pos;
			char piece[8];
			memcpy(piece, text + pos, cut);
			piece[cut] = '\0';
			feed(st, &r, piece);
			pos += cut;
		}
		if (r.status != STOPPER_HIT)
			flush(st, &r);
		assert_int_equal(r.status == STOPPER_HIT, want_hit);
		if (r.len != want || memcmp(r.text, text, want) != 0)
			fail_msg("text \"%s\": released \"%s\", expected %zu bytes", text, r.text, want);
		stopper_free(st);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_stop),
		cmocka_unit_test(test_false_partial),
		cmocka_unit_test(test_overlapping),
		cmocka_unit_test(test_several_stops),
		cmocka_unit_test(test_stop_at_start),
		cmocka_unit_test(test_empty_list),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_chunking_invariance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
