/* Conversation tests on stories260K: the golden greedy continuation, stop
 * strings that never leak (also when split across tokens), undo and
 * regenerate, context shifting on a tiny context, special tokens only from
 * template text, and save -> resume giving token-identical replies. */
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

/* README.md of the models directory: greedy ids after BOS "Once upon a time". */
static const int32_t golden_ids[32] = { 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426,
					338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322,
					265, 282, 295, 433, 426, 385, 328, 432, 358, 394 };
static const char golden_text[] =
	", there was a little girl named Lily. She loved to play outside in the park. One day, she saw";
#define TOK_BOS 1

/* What the callbacks saw. */
struct seen {
	char text[4096];
	size_t len;
	int shifts, dropped;
	int turns;
};

static void on_text(void *ud, const char *t, size_t n)
{
	struct seen *s = ud;
	tu_append(s->text, sizeof(s->text), &s->len, t, n);
}

static void on_shift(void *ud, int dropped, int kept, const char *what)
{
	struct seen *s = ud;
	s->shifts++;
	s->dropped += dropped;
	assert_true(kept > 0);
	assert_non_null(strstr(what, "dropped"));
}

static void on_turn(void *ud, int i, const struct conv_turn *t)
{
	(void)i;
	(void)t;
	((struct seen *)ud)->turns++;
}

static struct conv_callbacks callbacks(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	return (struct conv_callbacks){ .ud = s, .on_text = on_text, .on_shift = on_shift,
					.on_turn = on_turn };
}

static struct template *make_tmpl(const char *text)
{
	struct template *t;
	char err[256];
	if (template_parse(&t, "test.tmpl", text, strlen(text), err, sizeof(err)))
		fail_msg("%s", err);
	return t;
}

static struct conv *make_conv(struct tu_stories *f, struct ctx *ctx, const char *tmpl, float temp,
			      uint32_t seed, int n_predict, const char *const *stops, int n_stops)
{
	struct conv_params p = { .sampling = sampler_params_default(), .n_predict = n_predict,
				 .stops = stops, .n_stops = n_stops };
	p.sampling.temperature = temp;
	p.sampling.seed = seed;
	struct conv *c;
	char err[256];
	if (conv_new(&c, ctx, f->v, make_tmpl(tmpl), &p, err, sizeof(err)))
		fail_msg("%s", err);
	return c;
}

/* The context holds exactly conv_ids. */
static void check_synced(struct conv *c, struct ctx *ctx)
{
	assert_int_equal(ctx_n_past(ctx), conv_n_ids(c));
	assert_true(conv_n_ids(c) <= ctx_n_ctx(ctx));
}

static void test_golden(void **state)
{
	struct tu_stories *f = tu_need_stories(state);
	struct ctx *ctx = tu_stories_ctx(f, 256);
	struct conv *c = make_conv(f, ctx, "name = raw\n", 0, 1, 32, NULL, 0);
	struct seen s;
	struct conv_callbacks cb = callbacks(&s);
	struct conv_reply r;
	assert_int_equal(conv_send(c, "Once upon a time", &cb, &r), 0);
	assert_int_equal(r.reason, CONV_STOP_LIMIT);
	assert_int_equal(r.n_gen, 32);
	assert_int_equal(r.n_prompt, 5);
	assert_string_equal(s.text, golden_text);
	assert_int_equal(s.turns, 2);
	assert_int_equal(conv_n_turns(c), 2);
	assert_string_equal(conv_turn(c, 1)->text, golden_text);
	assert_true(conv_turn(c, 1)->flags & CONV_TURN_PARTIAL);
	const int32_t *ids = conv_ids(c);
	assert_int_equal(conv_n_ids(c), 37);
	assert_int_equal(ids[0], TOK_BOS);
	assert_memory_equal(ids + 5, golden_ids, sizeof(golden_ids));
	check_synced(c, ctx);
	conv_free(c);
	ctx_free(ctx);
}

/* A stop string inside one token (" Lily") and one spread over three
 * (" g" "ir" "l"): neither appears, and the text before it does. */
static void test_stop_strings(void **state)
{
	struct tu_stories *f = tu_need_stories(state);
	const char *cases[][2] = {
		{ "Lily", ", there was a little girl named " },
		{ "girl", ", there was a little " },
		{ "little girl named L", ", there was a " },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct ctx *ctx = tu_stories_ctx(f, 256);
		const char *stops[] = { cases[k][0] };
		struct conv *c = make_conv(f, ctx, "name = raw\n", 0, 1, 64, stops, 1);
		struct seen s;
		struct conv_callbacks cb = callbacks(&s);
		struct conv_reply r;
		assert_int_equal(conv_send(c, "Once upon a time", &cb, &r), 0);
		assert_int_equal(r.reason, CONV_STOP_STRING);
		assert_string_equal(r.stop, cases[k][0]);
		assert_string_equal(s.text, cases[k][1]);
		assert_null(strstr(s.text, cases[k][0]));
		assert_string_equal(conv_turn(c, 1)->text, cases[k][1]);
		/* The context keeps only whole tokens before the stop string. */
		char buf[512];
		int n = vocab_detokenize(f->v, conv_ids(c) + 5, conv_turn(c, 1)->n_tokens, buf,
					 sizeof(buf), false, false);
		assert_true(n >= 0);
		assert_null(strstr(buf, cases[k][0]));
		check_synced(c, ctx);
		conv_free(c);
		ctx_free(ctx);
	}
}

/* User text never turns into special tokens; template text does. */
static void test_specials(void **state)
{
	struct tu_stories *f = tu_need_stories(state);
	struct ctx *ctx = tu_stories_ctx(f, 256);
	struct conv *c = make_conv(f, ctx, "name = t\nbos = false\nuser_prefix = <s>\n", 0, 1, 1, NULL, 0);
	assert_int_equal(conv_send(c, "</s><s> hi", NULL, NULL), 0);
	const int32_t *ids = conv_ids(c);
	int n_user = conv_turn(c, 0)->n_tokens;
	assert_true(n_user > 3);
	assert_int_equal(ids[0], TOK_BOS); /* from the template's <s> */
	for (int i = 1; i < n_user; i++) {
		assert_int_not_equal(ids[i], TOK_BOS);
		assert_int_not_equal(ids[i], 2);
	}
	conv_free(c);
	ctx_free(ctx);
}

static void test_undo_regen(void **state)
{
	struct tu_stories *f = tu_need_stories(state);
	struct ctx *ctx = tu_stories_ctx(f, 256);
	struct conv *c = make_conv(f, ctx, "name = raw\n", 0, 1, 12, NULL, 0);
	struct seen s;
	struct conv_callbacks cb = callbacks(&s);
	assert_int_equal(conv_send(c, "Once upon a time", &cb, NULL), 0);
	char first[512];
	snprintf(first, sizeof(first), "%s", conv_turn(c, 1)->text);
	int n_after_first = conv_n_ids(c);
	assert_int_equal(conv_send(c, "The dog", &cb, NULL), 0);
	assert_int_equal(conv_n_turns(c), 4);

	/* Undo truncates back to the first exchange. */
	assert_int_equal(conv_undo(c), 0);
	assert_int_equal(conv_n_turns(c), 2);
	assert_int_equal(conv_n_ids(c), n_after_first);
	check_synced(c, ctx);
	assert_int_equal(conv_undo(c), 0);
	assert_int_equal(conv_n_turns(c), 0);
	assert_int_equal(conv_n_ids(c), 1);
	check_synced(c, ctx);
	assert_int_equal(conv_undo(c), LT_E_INVAL);

	/* The same message after undo gives the same greedy reply. */
	assert_int_equal(conv_send(c, "Once upon a time", &cb, NULL), 0);
	assert_string_equal(conv_turn(c, 1)->text, first);

	/* Greedy regeneration reproduces it; with sampling the turn count stays. */
	struct conv_reply r;
	assert_int_equal(conv_regenerate(c, &cb, &r), 0);
	assert_int_equal(r.n_prompt, 1); /* only the last prompt token again */
	assert_int_equal(conv_n_turns(c), 2);
	assert_string_equal(conv_turn(c, 1)->text, first);
	struct sampler_params sp = *conv_sampling(c);
	sp.temperature = 1.5f;
	sp.seed = 5;
	sp.top_k = 0;
	sp.top_p = 1;
	sp.min_p = 0;
	assert_int_equal(conv_set_sampling(c, &sp), 0);
	bool differed = false;
	for (int i = 0; i < 4 && !differed; i++) {
		assert_int_equal(conv_regenerate(c, &cb, NULL), 0);
		assert_int_equal(conv_n_turns(c), 2);
		check_synced(c, ctx);
		differed = strcmp(conv_turn(c, 1)->text, first) != 0;
	}
	assert_true(differed);
	conv_free(c);
	ctx_free(ctx);
}

static void test_shift(void **state)
{
	struct tu_stories *f = tu_need_stories(state);
	struct ctx *ctx = tu_stories_ctx(f, 64);
	struct conv *c = make_conv(f, ctx, "name = t\nsystem_prefix = Story:\\s\nuser_suffix = \\n\n",
				   0.8f, 3, 20, NULL, 0);
	assert_int_equal(conv_set_system(c, "kids"), 0);
	int n_head = conv_n_ids(c);
	assert_true(n_head > 1);
	int32_t head[16];
	memcpy(head, conv_ids(c), (size_t)n_head * sizeof(int32_t));
	struct seen s;
	struct conv_callbacks cb = callbacks(&s);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(conv_send(c, "Once upon a time", &cb, NULL), 0);
		check_synced(c, ctx);
		/* The system prompt always stays at the front. */
		assert_memory_equal(conv_ids(c), head, (size_t)n_head * sizeof(int32_t));
	}
	assert_true(s.shifts > 0);
	assert_true(s.dropped > 0);
	assert_int_equal(conv_n_turns(c), 12);
	assert_false(conv_turn(c, 0)->flags & CONV_TURN_IN_CTX);
	assert_true(conv_turn(c, 11)->flags & CONV_TURN_IN_CTX);
	/* Too long for the context at all: refused, nothing added. */
	char big[2048];
	memset(big, 0, sizeof(big));
	for (int i = 0; i < 60; i++)
		strcat(big, "dog cat ");
	assert_int_equal(conv_send(c, big, &cb, NULL), LT_E_FULL);
	assert_int_equal(conv_n_turns(c), 12);
	assert_non_null(strstr(conv_error(c), "context"));
	conv_free(c);
	ctx_free(ctx);
}

/* Save after one exchange, resume in a fresh context, and continue both:
 * the replies match token for token (temperature > 0, same seed). */
static void test_resume_identical(void **state)
{
	struct tu_stories *f = tu_need_stories(state);
	const char *tmpl = "name = t\nuser_suffix = \\n\n";
	struct ctx *ca = tu_stories_ctx(f, 512);
	struct conv *a = make_conv(f, ca, tmpl, 0.9f, 1234, 24, NULL, 0);
	assert_int_equal(conv_send(a, "Once upon a time", NULL, NULL), 0);
	struct session_data d, e;
	assert_int_equal(conv_snapshot(a, &d), 0);
	assert_true(d.has_kv);
	uint8_t *buf;
	size_t len;
	char err[256], warn[256];
	assert_int_equal(session_encode(&d, &buf, &len, err, sizeof(err)), 0);
	assert_int_equal(session_decode(buf, len, "mem", &e, warn, sizeof(warn), err, sizeof(err)), 0);

	struct ctx *cb_ctx = tu_stories_ctx(f, 512);
	struct conv *b = make_conv(f, cb_ctx, tmpl, 0.1f, 99, 5, NULL, 0);
	bool restored = false;
	assert_int_equal(conv_restore(b, &e, true, &restored), 0);
	assert_true(restored);
	assert_int_equal(conv_n_ids(b), conv_n_ids(a));
	assert_memory_equal(conv_ids(b), conv_ids(a), (size_t)conv_n_ids(a) * sizeof(int32_t));
	check_synced(b, cb_ctx);
	const char *msgs[] = { "The dog", "Then" };
	for (int k = 0; k < 2; k++) {
		struct conv_reply ra, rb;
		assert_int_equal(conv_send(a, msgs[k], NULL, &ra), 0);
		assert_int_equal(conv_send(b, msgs[k], NULL, &rb), 0);
		assert_int_equal(ra.n_gen, rb.n_gen);
		int n = conv_n_turns(a);
		assert_string_equal(conv_turn(a, n - 1)->text, conv_turn(b, n - 1)->text);
		assert_int_equal(conv_n_ids(a), conv_n_ids(b));
		assert_memory_equal(conv_ids(a), conv_ids(b), (size_t)conv_n_ids(a) * sizeof(int32_t));
	}

	/* Without the KV cache the context is rebuilt from the transcript. */
	struct ctx *cc = tu_stories_ctx(f, 512);
	struct conv *c = make_conv(f, cc, tmpl, 0.9f, 1, 5, NULL, 0);
	assert_int_equal(conv_restore(c, &e, false, &restored), 0);
	assert_false(restored);
	assert_int_equal(conv_n_turns(c), 2);
	assert_string_equal(conv_turn(c, 1)->text, e.turns[1].text);
	check_synced(c, cc);
	assert_int_equal(conv_send(c, "More", NULL, NULL), 0);

	conv_free(a);
	conv_free(b);
	conv_free(c);
	ctx_free(ca);
	ctx_free(cb_ctx);
	ctx_free(cc);
	session_data_free(&d);
	session_data_free(&e);
	free(buf);
}

/* A turn is tokenized as the text that follows the token before it, and
 * its template and user pieces in one call: rebuilt from the transcript, a
 * 2-turn prompt gives exactly the ids of tokenizing the whole rendered text
 * at once (the user text has no specials), with no stray space token where
 * template and user text meet or at the start of a later turn. */
static void check_joins(struct tu_stories *f, const char *tmpl, const char *system, bool bos,
			const char *whole)
{
	struct ctx *ctx = tu_stories_ctx(f, 256);
	struct conv *c = make_conv(f, ctx, tmpl, 0, 1, 8, NULL, 0);
	static const char *const texts[] = { "Tell me a story", " Once upon a time there was a dog.",
					     "What was its name?" };
	struct session_data d;
	memset(&d, 0, sizeof(d));
	d.system = (char *)system;
	d.sampling = sampler_params_default();
	d.n_predict = 8;
	struct session_turn turns[3];
	for (int i = 0; i < 3; i++)
		turns[i] = (struct session_turn){ .role = (uint8_t)(i & 1), .flags = CONV_TURN_IN_CTX,
						  .text = (char *)texts[i] };
	d.turns = turns;
	d.n_turns = 3;
	bool restored = true;
	assert_int_equal(conv_restore(c, &d, false, &restored), 0);
	assert_false(restored);
	assert_int_equal(conv_n_turns(c), 3);
	check_synced(c, ctx);

	int32_t want[256];
	int n = vocab_tokenize(f->v, whole, strlen(whole), bos, true, want, 256);
	assert_true(n > 0 && n <= 256);
	assert_int_equal(conv_n_ids(c), n);
	assert_memory_equal(conv_ids(c), want, (size_t)n * sizeof(int32_t));
	/* The turns' token counts add up to what follows the head. */
	int sum = conv_n_ids(c) - conv_turn(c, 0)->n_tokens - conv_turn(c, 1)->n_tokens -
		  conv_turn(c, 2)->n_tokens;
	assert_true(sum >= (bos ? 1 : 0));

	/* A live turn after a reply continues the text after "\n" or "</s>"
	 * and is tokenized the same way. */
	assert_int_equal(conv_send(c, "Who found it?", NULL, NULL), 0);
	const struct conv_turn *u = conv_turn(c, 3);
	int at = conv_n_ids(c) - conv_turn(c, 4)->n_tokens - u->n_tokens;
	int32_t prev = conv_ids(c)[at - 1];
	char text[256];
	const char *up = strstr(tmpl, "<s>") ? "<s>[INST] " : "Human: ";
	const char *ap = strstr(tmpl, "<s>") ? " [/INST]" : "\nAI:";
	snprintf(text, sizeof(text), "%sWho found it?%s", up, ap);
	int32_t live[64];
	int m = vocab_tokenize_ex(f->v, text, strlen(text),
				  VOCAB_TOK_PARSE_SPECIAL | vocab_tokenize_flags_after(f->v, prev), live, 64);
	assert_int_equal(u->n_tokens, m);
	assert_memory_equal(conv_ids(c) + at, live, (size_t)m * sizeof(int32_t));
	check_synced(c, ctx);
	conv_free(c);
	ctx_free(ctx);
}

static void test_segment_joins(void **state)
{
	struct tu_stories *f = tu_need_stories(state);
	assert_true(vocab_add_space_prefix(f->v));
	/* Plain text everywhere: cuts between template and user text, and
	 * turns that continue after "\n", must add no space. */
	check_joins(f,
		    "name = t\nsystem_suffix = \\n\\n\nuser_prefix = Human:\\s\nuser_suffix = \\n\n"
		    "assistant_prefix = AI:\\s\nassistant_suffix = \\n\n",
		    "A story.", true,
		    "A story.\n\nHuman: Tell me a story\nAI: Once upon a time there was a dog.\n"
		    "Human: What was its name?\nAI:");
	/* Special tokens in the template: the space prefix comes back after them. */
	check_joins(f,
		    "name = t\nbos = false\nuser_prefix = <s>[INST]\\s\nuser_suffix = \\s[/INST]\n"
		    "assistant_prefix = \\s\nassistant_suffix = \\s</s>\n",
		    "", false,
		    "<s>[INST] Tell me a story [/INST] Once upon a time there was a dog. </s>"
		    "<s>[INST] What was its name? [/INST]");

	/* No lone space token where the template's "Human: " meets the text. */
	int32_t space = vocab_find(f->v, "\xe2\x96\x81", 3);
	struct ctx *ctx = tu_stories_ctx(f, 256);
	struct conv *c = make_conv(f, ctx, "name = t\nuser_prefix = Human:\\s\nuser_suffix = \\n\n",
				   0, 1, 4, NULL, 0);
	assert_int_equal(conv_send(c, "Tell me a story", NULL, NULL), 0);
	for (int i = 0; i < conv_turn(c, 0)->n_tokens; i++)
		assert_int_not_equal(conv_ids(c)[1 + i], space);
	conv_free(c);
	ctx_free(ctx);
}

/* A system prompt longer than half the context is refused whole, with the
 * token count it needs, and the previous one stays in place. */
static void test_long_system(void **state)
{
	struct tu_stories *f = tu_need_stories(state);
	struct ctx *ctx = tu_stories_ctx(f, 256);
	struct conv *c = make_conv(f, ctx, "name = t\nsystem_suffix = \\n\n", 0, 1, 4, NULL, 0);
	assert_int_equal(conv_set_system(c, "A story."), 0);
	int n_head = conv_n_ids(c);
	size_t n = 100u << 10;
	char *big = malloc(n + 1);
	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = "dog "[i % 4];
	big[n] = '\0';
	assert_int_equal(conv_set_system(c, big), LT_E_FULL);
	assert_non_null(strstr(conv_error(c), "system prompt needs"));
	int need = atoi(strstr(conv_error(c), "needs ") + 6);
	assert_true(need > 10000);
	assert_string_equal(conv_system(c), "A story.");
	assert_int_equal(conv_n_ids(c), n_head);
	check_synced(c, ctx);
	assert_int_equal(conv_send(c, "Once upon a time", NULL, NULL), 0);
	check_synced(c, ctx);
	conv_free(c);
	ctx_free(ctx);

	/* The same from the start: conv_new refuses it. */
	struct conv_params p = { .sampling = sampler_params_default(), .n_predict = 4, .system = big };
	char err[256];
	ctx = tu_stories_ctx(f, 256);
	assert_int_equal(conv_new(&c, ctx, f->v, make_tmpl("name = t\n"), &p, err, sizeof(err)),
			 LT_E_FULL);
	assert_non_null(strstr(err, "system prompt needs"));
	ctx_free(ctx);
	free(big);
}

/* The abort flag ends a reply at once and keeps what was generated. */
static void test_abort(void **state)
{
	struct tu_stories *f = tu_need_stories(state);
	struct ctx *ctx = tu_stories_ctx(f, 256);
	struct conv *c = make_conv(f, ctx, "name = raw\n", 0, 1, -1, NULL, 0);
	atomic_bool flag = true;
	conv_set_abort(c, &flag);
	struct conv_reply r;
	int rc = conv_send(c, "Once upon a time", NULL, &r);
	assert_int_equal(rc, LT_E_ABORTED);
	assert_int_equal(conv_n_turns(c), 1);
	atomic_store(&flag, false);
	assert_int_equal(conv_regenerate(c, NULL, &r), 0);
	assert_int_equal(conv_n_turns(c), 2);
	check_synced(c, ctx);
	conv_free(c);
	ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_stop_strings),
		cmocka_unit_test(test_specials),
		cmocka_unit_test(test_segment_joins),
		cmocka_unit_test(test_undo_regen),
		cmocka_unit_test(test_shift),
		cmocka_unit_test(test_long_system),
		cmocka_unit_test(test_resume_identical),
		cmocka_unit_test(test_abort),
	};
	return cmocka_run_group_tests(tests, tu_stories_setup, tu_stories_teardown);
}
