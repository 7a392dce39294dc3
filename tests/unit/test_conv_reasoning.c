/* Conversations with a reasoning template, on stories260K with
 * tests/data/think.tmpl (its reply prompt opens a <think> block that the
 * greedy story closes with the word "park"): the reply splits into
 * reasoning and answer on both the callbacks and the turn, the next
 * message drops the earlier reasoning and prefill from the context, /think
 * off writes the empty block, regenerate keeps the prefill, and a snapshot
 * restores the reasoning and the switch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conversation.h"
#include "model.h"
#include "session.h"

#include "stories_fixture.h"
#include "testutil.h"

#define THOUGHT ". Every day, she went to the"
#define ANSWER_START "with her mommy."

struct seen {
	char text[2048], thought[2048];
	size_t len, tlen;
	int n_tokens;
};

static void on_text(void *ud, const char *t, size_t n)
{
	struct seen *s = ud;
	tu_append(s->text, sizeof(s->text), &s->len, t, n);
}

static void on_reasoning(void *ud, const char *t, size_t n, int n_tokens)
{
	struct seen *s = ud;
	assert_int_equal(s->len, 0); /* reasoning comes before the answer */
	tu_append(s->thought, sizeof(s->thought), &s->tlen, t, n);
	assert_true(n_tokens >= s->n_tokens);
	s->n_tokens = n_tokens;
}

static struct conv_callbacks callbacks(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	return (struct conv_callbacks){ .ud = s, .on_text = on_text, .on_reasoning = on_reasoning };
}

static struct template *load_tmpl(const char *name)
{
	struct template *t;
	char err[256];
	static char *const dirs[] = { "prompts" };
	if (template_load(&t, name, dirs, 1, err, sizeof(err)))
		fail_msg("%s", err);
	return t;
}

static struct conv *make_conv(struct tu_stories *f, struct ctx **ctx, const char *tmpl)
{
	*ctx = tu_stories_ctx(f, 256);
	char err[256];
	struct conv_params p = { .sampling = sampler_params_default(), .n_predict = 24 };
	p.sampling.temperature = 0;
	struct conv *c;
	if (conv_new(&c, *ctx, f->v, load_tmpl(tmpl), &p, err, sizeof(err)))
		fail_msg("%s", err);
	return c;
}

/* The context as text. */
static char *context_text(struct tu_stories *f, const struct conv *c)
{
	size_t cap = 8192, len = 0;
	char *s = calloc(1, cap);
	assert_non_null(s);
	for (int i = 0; i < conv_n_ids(c); i++) {
		char piece[128];
		int n = vocab_token_to_piece(f->v, conv_ids(c)[i], piece, sizeof(piece), false);
		if (n > 0 && len + (size_t)n < cap) {
			memcpy(s + len, piece, (size_t)n);
			len += (size_t)n;
		}
	}
	return s;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_reply_split(void **state)
{
	struct tu_stories *f = tu_need_stories(state);
	struct ctx *ctx;
	struct conv *c = make_conv(f, &ctx, "tests/data/think.tmpl");
	struct seen s;
	struct conv_callbacks cb = callbacks(&s);
	struct conv_reply r;
	assert_int_equal(conv_send(c, "Once upon a time", &cb, &r), 0);
	const struct conv_turn *t = conv_turn(c, 1);
	assert_string_equal(t->reasoning, THOUGHT);
	assert_string_equal(s.thought, THOUGHT);
	assert_string_equal(s.text, t->text);
	assert_true(strncmp(t->text, ANSWER_START, strlen(ANSWER_START)) == 0);
	/* The tokens of the reasoning count, in the turn and in the speeds. */
	assert_true(t->n_reasoning > 0 && t->n_reasoning < r.n_gen);
	assert_int_equal(r.n_reasoning, t->n_reasoning);
	/* The last piece came before the tokens of the end tag. */
	assert_true(s.n_tokens > 0 && s.n_tokens <= t->n_reasoning);
	/* Until the next message the context holds what was generated. */
	char *txt = context_text(f, c);
	assert_int_equal(count(txt, "Every day"), 1);
	free(txt);

	/* The next message: the earlier reasoning and its prefill are gone. */
	cb = callbacks(&s);
	assert_int_equal(conv_send(c, "The dog", &cb, &r), 0);
	txt = context_text(f, c);
	assert_int_equal(count(txt, "<think>"), 1);
	assert_non_null(strstr(txt, "Once upon a time\n" ANSWER_START));
	assert_int_equal(ctx_n_past(ctx), conv_n_ids(c));
	free(txt);
	conv_free(c);
	ctx_free(ctx);
}

static void test_think_switch(void **state)
{
	struct tu_stories *f = tu_need_stories(state);
	struct ctx *ctx;
	struct conv *c = make_conv(f, &ctx, "tests/data/think.tmpl");
	assert_true(conv_thinking(c));
	assert_int_equal(conv_set_thinking(c, false), 0);
	struct seen s;
	struct conv_callbacks cb = callbacks(&s);
	assert_int_equal(conv_send(c, "Once upon a time", &cb, NULL), 0);
	assert_string_equal(conv_turn(c, 1)->reasoning, "");
	assert_int_equal(s.tlen, 0);
	char *txt = context_text(f, c);
	assert_non_null(strstr(txt, "<think>park"));
	free(txt);
	/* Switched back on: a regenerated reply gets the thinking prefill. */
	assert_int_equal(conv_set_thinking(c, true), 0);
	cb = callbacks(&s);
	assert_int_equal(conv_regenerate(c, &cb, NULL), 0);
	assert_string_equal(conv_turn(c, 1)->reasoning, THOUGHT);
	txt = context_text(f, c);
	assert_null(strstr(txt, "<think>park"));
	free(txt);
	conv_free(c);
	ctx_free(ctx);

	/* Templates without a way to switch it off refuse. */
	c = make_conv(f, &ctx, "deepseek-r1");
	assert_int_equal(conv_set_thinking(c, false), LT_E_UNSUPPORTED);
	assert_non_null(strstr(conv_error(c), "always reasons"));
	assert_true(conv_thinking(c));
	conv_free(c);
	ctx_free(ctx);
	c = make_conv(f, &ctx, "qwen3");
	assert_int_equal(conv_set_thinking(c, false), 0);
	assert_false(conv_thinking(c));
	conv_free(c);
	ctx_free(ctx);
}

static void test_snapshot_restore(void **state)
{
	struct tu_stories *f = tu_need_stories(state);
	struct ctx *ctx;
	struct conv *c = make_conv(f, &ctx, "tests/data/think.tmpl");
	assert_int_equal(conv_send(c, "Once upon a time", NULL, NULL), 0);
	assert_int_equal(conv_set_thinking(c, false), 0);
	struct session_data d;
	assert_int_equal(conv_snapshot(c, &d), 0);
	assert_string_equal(d.turns[1].reasoning, THOUGHT);
	assert_true(d.thinking_off);

	/* Through the file format and back. */
	uint8_t *buf;
	size_t len;
	char err[256], warn[256];
	assert_int_equal(session_encode(&d, &buf, &len, err, sizeof(err)), 0);
	struct session_data back;
	assert_int_equal(session_decode(buf, len, "x.lts", &back, warn, sizeof(warn), err,
					sizeof(err)), 0);
	free(buf);
	assert_string_equal(warn, "");
	assert_string_equal(back.turns[1].reasoning, THOUGHT);
	assert_int_equal(back.turns[1].n_reasoning, d.turns[1].n_reasoning);
	assert_true(back.thinking_off);

	struct ctx *ctx2;
	struct conv *c2 = make_conv(f, &ctx2, "tests/data/think.tmpl");
	for (int use_kv = 0; use_kv < 2; use_kv++) {
		bool restored;
		assert_int_equal(conv_restore(c2, &back, use_kv, &restored), 0);
		assert_int_equal(restored, use_kv);
		assert_string_equal(conv_turn(c2, 1)->reasoning, THOUGHT);
		assert_int_equal(conv_turn(c2, 1)->n_reasoning, conv_turn(c, 1)->n_reasoning);
		assert_false(conv_thinking(c2));
	}
	/* The same next reply from the original and the restored one. */
	assert_int_equal(conv_send(c, "The dog", NULL, NULL), 0);
	assert_int_equal(conv_send(c2, "The dog", NULL, NULL), 0);
	assert_string_equal(conv_turn(c, 3)->text, conv_turn(c2, 3)->text);
	session_data_free(&d);
	session_data_free(&back);
	conv_free(c);
	conv_free(c2);
	ctx_free(ctx);
	ctx_free(ctx2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_split),
		cmocka_unit_test(test_think_switch),
		cmocka_unit_test(test_snapshot_restore),
	};
	return cmocka_run_group_tests(tests, tu_stories_setup, tu_stories_teardown);
}
