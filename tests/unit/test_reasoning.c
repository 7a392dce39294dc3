/* Reasoning splitter tests: tags split across token boundaries, a block
 * that never ends, no block at all, a block the prompt opened, a start tag
 * later in the answer, and a check that the result never depends on how
 * the reply was cut into pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reasoning.h"

/* What came out on each side. */
struct out {
	char part[2][2048];
	size_t n[2];
	int calls;
};

static int collect(void *ud, enum reasoning_part p, const char *s, size_t n)
{
	struct out *o = ud;
	assert_true(n > 0); /* empty pieces are never emitted */
	assert_true(o->n[p] + n < sizeof(o->part[p]));
	memcpy(o->part[p] + o->n[p], s, n);
	o->n[p] += n;
	o->part[p][o->n[p]] = '\0';
	o->calls++;
	return 0;
}

/* Feeds the pieces (NULL-terminated) and flushes. */
static void run(struct reasoning *r, bool inside, const char *const *pieces, struct out *o)
{
	memset(o, 0, sizeof(*o));
	reasoning_reset(r, inside);
	for (size_t i = 0; pieces[i]; i++)
		assert_int_equal(reasoning_feed(r, pieces[i], strlen(pieces[i]), collect, o), 0);
	assert_int_equal(reasoning_flush(r, collect, o), 0);
}

static struct reasoning *think(void)
{
	struct reasoning *r;
	assert_int_equal(reasoning_new(&r, "<think>", "</think>"), 0);
	return r;
}

static void test_split_tags(void **state)
{
	(void)state;
	struct reasoning *r = think();
	static const char *const pieces[] = { "<th", "ink", ">\n", "Let me", " see.\n", "</",
					      "thi", "nk>", "\n\n", "Hello", "!", NULL };
	struct out o;
	run(r, false, pieces, &o);
	assert_string_equal(o.part[REASONING_THOUGHT], "Let me see.");
	assert_string_equal(o.part[REASONING_ANSWER], "Hello!");
	reasoning_free(r);
}

static void test_in_thought_while_streaming(void **state)
{
	(void)state;
	struct reasoning *r = think();
	struct out o;
	memset(&o, 0, sizeof(o));
	reasoning_reset(r, false);
	assert_false(reasoning_in_thought(r));
	reasoning_feed(r, "<thi", 4, collect, &o);
	assert_true(reasoning_in_thought(r)); /* may still be the tag */
	reasoning_feed(r, "nk>Hmm", 6, collect, &o);
	assert_true(reasoning_in_thought(r));
	assert_string_equal(o.part[REASONING_THOUGHT], "Hmm");
	/* A partial end tag is held back, then released when it is not one. */
	reasoning_feed(r, " </th", 5, collect, &o);
	assert_string_equal(o.part[REASONING_THOUGHT], "Hmm");
	reasoning_feed(r, "ere", 3, collect, &o);
	assert_string_equal(o.part[REASONING_THOUGHT], "Hmm </there");
	reasoning_feed(r, "</think>", 8, collect, &o);
	assert_false(reasoning_in_thought(r));
	assert_int_equal(o.n[REASONING_ANSWER], 0);
	reasoning_free(r);
}

static void test_unterminated(void **state)
{
	(void)state;
	struct reasoning *r = think();
	static const char *const pieces[] = { "<think>", "\nStill thinking", " about it </thi", NULL };
	struct out o;
	run(r, false, pieces, &o);
	/* The held partial tag is reasoning text after all; no answer. */
	assert_string_equal(o.part[REASONING_THOUGHT], "Still thinking about it </thi");
	assert_int_equal(o.n[REASONING_ANSWER], 0);
	reasoning_free(r);
}

static void test_no_block(void **state)
{
	(void)state;
	struct reasoning *r = think();
	static const char *const pieces[] = { " Once", " upon a time", NULL };
	struct out o;
	run(r, false, pieces, &o);
	assert_string_equal(o.part[REASONING_ANSWER], " Once upon a time"); /* space kept */
	assert_int_equal(o.n[REASONING_THOUGHT], 0);

	/* Something that starts like the tag but is not it. */
	static const char *const lt[] = { "<", "b>bold</b>", NULL };
	run(r, false, lt, &o);
	assert_string_equal(o.part[REASONING_ANSWER], "<b>bold</b>");

	/* A tag after the answer started is answer text. */
	static const char *const late[] = { "Use <think>", " tags</think>", NULL };
	run(r, false, late, &o);
	assert_string_equal(o.part[REASONING_ANSWER], "Use <think> tags</think>");
	assert_int_equal(o.n[REASONING_THOUGHT], 0);

	/* Only blank space, then the end: blank space is the answer. */
	static const char *const blank[] = { "\n", NULL };
	run(r, false, blank, &o);
	assert_string_equal(o.part[REASONING_ANSWER], "\n");
	reasoning_free(r);
}

static void test_prompt_opened(void **state)
{
	(void)state;
	struct reasoning *r = think();
	static const char *const pieces[] = { "Okay", ", 2+2.\n", "</think>", "\n\n4", NULL };
	struct out o;
	run(r, true, pieces, &o);
	assert_string_equal(o.part[REASONING_THOUGHT], "Okay, 2+2.");
	assert_string_equal(o.part[REASONING_ANSWER], "4");
	/* Empty reasoning (thinking switched off by an empty block). */
	static const char *const empty[] = { "<think>\n\n</think>\n\nHi", NULL };
	run(r, false, empty, &o);
	assert_int_equal(o.n[REASONING_THOUGHT], 0);
	assert_string_equal(o.part[REASONING_ANSWER], "Hi");
	reasoning_free(r);

	assert_true(reasoning_opens("<｜Assistant｜><think>\n", "<think>", "</think>"));
	assert_false(reasoning_opens("<think>\n\n</think>\n\n", "<think>", "</think>"));
	assert_false(reasoning_opens("<|im_start|>assistant\n", "<think>", "</think>"));
	assert_false(reasoning_opens("<think>", "", ""));
}

static void test_no_tags(void **state)
{
	(void)state;
	struct reasoning *r;
	assert_int_equal(reasoning_new(&r, NULL, NULL), 0);
	static const char *const pieces[] = { "<think>x</think>y", NULL };
	struct out o;
	run(r, false, pieces, &o);
	assert_string_equal(o.part[REASONING_ANSWER], "<think>x</think>y");
	assert_false(reasoning_in_thought(r));
	reasoning_free(r);
}

/* Cut the same replies at every pair of points: the sides never change. */
static void test_chunking_invariance(void **state)
{
	(void)state;
	static const struct {
		const char *text, *thought, *answer;
	} cases[] = {
		{ "<think>\nA </ B\n</think>\n\nC <think> D", "A </ B", "C <think> D" },
		{ " \n<think>x</think>y", "x", "y" },
		{ "<think>never ends  \n", "never ends", "" },
		{ "plain </think> text", "", "plain </think> text" },
	};
	struct reasoning *r = think();
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const char *t = cases[c].text;
		size_t n = strlen(t);
		for (size_t a = 0; a <= n; a++) {
			for (size_t b = a; b <= n; b++) {
				char p0[64], p1[64], p2[64];
				snprintf(p0, sizeof(p0), "%.*s", (int)a, t);
				snprintf(p1, sizeof(p1), "%.*s", (int)(b - a), t + a);
				snprintf(p2, sizeof(p2), "%s", t + b);
				const char *const pieces[] = { p0, p1, p2, NULL };
				struct out o;
				run(r, false, pieces, &o);
				if (strcmp(o.part[REASONING_THOUGHT], cases[c].thought) ||
				    strcmp(o.part[REASONING_ANSWER], cases[c].answer))
					fail_msg("\"%s\" cut at %zu,%zu: thought \"%s\" answer \"%s\"", t,
						 a, b, o.part[REASONING_THOUGHT], o.part[REASONING_ANSWER]);
			}
		}
	}
	reasoning_free(r);
}

static void test_split_whole(void **state)
{
	(void)state;
	char *answer, *thought;
	assert_int_equal(reasoning_split("<think>\nwhy\n</think>\n\nbecause", "<think>", "</think>",
					 false, &answer, &thought), 0);
	assert_string_equal(answer, "because");
	assert_string_equal(thought, "why");
	free(answer);
	free(thought);
	assert_int_equal(reasoning_split("just text", "<think>", "</think>", false, &answer, &thought),
			 0);
	assert_string_equal(answer, "just text");
	assert_string_equal(thought, "");
	free(answer);
	free(thought);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_tags),
		cmocka_unit_test(test_in_thought_while_streaming),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_no_block),
		cmocka_unit_test(test_prompt_opened),
		cmocka_unit_test(test_no_tags),
		cmocka_unit_test(test_chunking_invariance),
		cmocka_unit_test(test_split_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
