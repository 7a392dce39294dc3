/* The request side of `llamaterm serve` (src/serve.c) without HTTP:
 * routes, OpenAI-style errors, a greedy completion, streams framed as
 * Server-Sent Events, a writer that goes away stopping the reply, slots
 * (429 when all are busy), the prompt cache (greedy text unchanged),
 * rllama's JSONL, logprobs, and the limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "serve.h"
#include "serve_parse.h"
#include "stories_fixture.h"

#define GREEDY16 ", there was a little girl named Lily. She loved to play"

struct served {
	struct ctx *ctx;
	struct serve *s;
};

static void open_served(void **state, struct served *sv)
{
	struct tu_stories *f = tu_need_stories(state);
	sv->ctx = tu_stories_ctx(f, 512);
	struct serve_config cfg = { .ctx = sv->ctx, .vocab = f->v, .model_name = "stories",
				    .defaults = gen_params_default() };
	char err[256];
	assert_int_equal(serve_new(&sv->s, &cfg, err, sizeof(err)), 0);
}

static void close_served(struct served *sv)
{
	serve_free(sv->s);
	ctx_free(sv->ctx);
}

/* Handles a request and returns its parsed body (NULL for a stream). */
static json_t *call(struct served *sv, const char *method, const char *path, const char *body,
		    int want_status, serve_write_fn write, void *ud, struct serve_result *out)
{
	struct serve_result res;
	serve_handle(sv->s, method, path, body, body ? strlen(body) : 0, write, ud, &res);
	if (res.status != want_status)
		fail_msg("%s %s: status %d, wanted %d: %s", method, path, res.status, want_status,
			 res.body ? res.body : "");
	json_t *j = res.body ? json_loads(res.body, 0, NULL) : NULL;
	if (res.body)
		assert_non_null(j);
	free(res.body);
	if (out)
		*out = res;
	return j;
}

static void assert_error(json_t *j, int code)
{
	json_t *e = json_object_get(j, "error");
	assert_true(json_is_string(json_object_get(e, "message")));
	assert_true(json_is_string(json_object_get(e, "type")));
	assert_int_equal(json_integer_value(json_object_get(e, "code")), code);
	json_decref(j);
}

static void test_error_body(void **state)
{
	(void)state;
	char *b = serve_error_body(413, "too \"big\"");
	json_t *j = json_loads(b, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
			    "too \"big\"");
	assert_error(j, 413);
	free(b);
}

static void test_routes_and_errors(void **state)
{
	struct served sv;
	open_served(state, &sv);
	json_t *j = call(&sv, "GET", "/health", NULL, 200, NULL, NULL, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
	json_decref(j);
	j = call(&sv, "GET", "/v1/models", NULL, 200, NULL, NULL, NULL);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(j, "data"), 0), "id")), "stories");
	json_decref(j);
	assert_error(call(&sv, "GET", "/v1/nothing", NULL, 404, NULL, NULL, NULL), 404);
	assert_error(call(&sv, "DELETE", "/health", NULL, 405, NULL, NULL, NULL), 405);
	assert_error(call(&sv, "GET", "/v1/completions", NULL, 405, NULL, NULL, NULL), 405);
	static const char *const bad[] = {
		"", "{", "[1]", "{\"prompt\":1}", "{\"prompt\":\"x\",\"temperature\":\"a\"}",
		"{\"prompt\":\"x\",\"top_p\":2}", "{\"prompt\":\"x\",\"top_k\":1.5}",
		"{\"prompt\":\"x\",\"seed\":-1}", "{\"prompt\":\"x\",\"stop\":{}}",
		"{\"prompt\":\"x\",\"stream\":\"yes\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_error(call(&sv, "POST", "/v1/completions", bad[i], 400, NULL, NULL, NULL), 400);
	static const char *const bad_chat[] = {
		"{}", "{\"messages\":[]}", "{\"messages\":\"hi\"}",
		"{\"messages\":[{\"role\":\"user\",\"content\":3}]}",
		"{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}",
		"{\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}",
	};
	for (size_t i = 0; i < sizeof(bad_chat) / sizeof(bad_chat[0]); i++)
		assert_error(call(&sv, "POST", "/v1/chat/completions", bad_chat[i], 400, NULL, NULL,
				  NULL), 400);
	close_served(&sv);
}

static void test_greedy_completion(void **state)
{
	struct served sv;
	open_served(state, &sv);
	json_t *j = call(&sv, "POST", "/v1/completions",
			 "{\"prompt\":\"Once upon a time\",\"temperature\":0,\"max_tokens\":16}", 200,
			 NULL, NULL, NULL);
	json_t *c = json_array_get(json_object_get(j, "choices"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "text")), GREEDY16);
	assert_string_equal(json_string_value(json_object_get(c, "finish_reason")), "length");
	json_t *u = json_object_get(j, "usage");
	assert_int_equal(json_integer_value(json_object_get(u, "prompt_tokens")), 5);
	assert_int_equal(json_integer_value(json_object_get(u, "completion_tokens")), 16);
	assert_int_equal(json_integer_value(json_object_get(u, "total_tokens")), 21);
	json_decref(j);
	/* A chat is a fresh conversation each time: greedy replies repeat. */
	const char *chat = "{\"messages\":[{\"role\":\"system\",\"content\":\"Be kind.\"},"
			   "{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\","
			   "\"content\":\"Hello\"},{\"role\":\"user\",\"content\":\"A story\"}],"
			   "\"temperature\":0,\"max_tokens\":8}";
	json_t *a = call(&sv, "POST", "/v1/chat/completions", chat, 200, NULL, NULL, NULL);
	json_t *b = call(&sv, "POST", "/v1/chat/completions", chat, 200, NULL, NULL, NULL);
	json_t *ma = json_object_get(json_array_get(json_object_get(a, "choices"), 0), "message");
	json_t *mb = json_object_get(json_array_get(json_object_get(b, "choices"), 0), "message");
	assert_string_equal(json_string_value(json_object_get(ma, "role")), "assistant");
	assert_true(json_equal(ma, mb));
	json_decref(a);
	json_decref(b);
	close_served(&sv);
}

/* A stream's frames, and how many the writer takes before it goes away. */
struct frames {
	char text[65536];
	size_t len;
	int n, quit_after;
};

static int collect(void *ud, const char *data, size_t len)
{
	struct frames *fr = ud;
	tu_append(fr->text, sizeof(fr->text), &fr->len, data, len);
	return ++fr->n == fr->quit_after;
}

static void test_stream(void **state)
{
	struct served sv;
	open_served(state, &sv);
	static struct frames fr;
	memset(&fr, 0, sizeof(fr));
	struct serve_result res;
	assert_null(call(&sv, "POST", "/v1/completions",
			 "{\"prompt\":\"Once upon a time\",\"temperature\":0,\"max_tokens\":16,"
			 "\"stream\":true}", 200, collect, &fr, &res));
	/* data: {chunk}\n\n ... data: [DONE]\n\n; the pieces make the text. */
	char text[256] = "";
	size_t tlen = 0;
	const char *p = fr.text;
	int n_chunks = 0;
	const char *finish = NULL;
	json_t *last = NULL;
	while (strncmp(p, "data: [DONE]\n\n", 14)) {
		assert_memory_equal(p, "data: ", 6);
		const char *end = strstr(p, "\n\n");
		assert_non_null(end);
		json_decref(last);
		last = json_loadb(p + 6, (size_t)(end - p - 6), 0, NULL);
		assert_non_null(last);
		json_t *c = json_array_get(json_object_get(last, "choices"), 0);
		const char *piece = json_string_value(json_object_get(c, "text"));
		tu_append(text, sizeof(text), &tlen, piece, strlen(piece));
		finish = json_string_value(json_object_get(c, "finish_reason"));
		n_chunks++;
		p = end + 2;
	}
	assert_string_equal(p, "data: [DONE]\n\n");
	assert_string_equal(text, GREEDY16);
	assert_non_null(finish);
	assert_string_equal(finish, "length");
	assert_true(n_chunks > 2);
	json_decref(last);
	assert_int_equal(res.n_gen, 16);

	/* A writer that goes away after its third frame stops the reply. */
	memset(&fr, 0, sizeof(fr));
	fr.quit_after = 3;
	assert_null(call(&sv, "POST", "/v1/completions",
			 "{\"prompt\":\"Once upon a time\",\"max_tokens\":400,\"stream\":true}", 200,
			 collect, &fr, &res));
	assert_int_equal(fr.n, 3);
	assert_true(res.n_gen < 10);
	close_served(&sv);
}

/* The text of choice 0 of a completion; takes j. */
static char *text_of(json_t *j)
{
	json_t *c = json_array_get(json_object_get(j, "choices"), 0);
	char *t = strdup(json_string_value(json_object_get(c, "text")));
	json_decref(j);
	assert_non_null(t);
	return t;
}

static int cached_of(json_t *j)
{
	return (int)json_integer_value(json_object_get(json_object_get(
		json_object_get(j, "usage"), "prompt_tokens_details"), "cached_tokens"));
}

/* The cache: a repeated prompt reuses all but its last token, a longer
 * one the part it shares, and greedy text is what a fresh context gives. */
static void test_prompt_cache(void **state)
{
	struct served sv, fresh;
	open_served(state, &sv);
	const char *a = "{\"prompt\":\"Once upon a time\",\"temperature\":0,\"max_tokens\":16}";
	const char *b = "{\"prompt\":\"Once upon a time, there was a little girl\",\"temperature\":0,"
			"\"max_tokens\":20}";
	const char *c = "{\"prompt\":\"The sun\",\"temperature\":0,\"max_tokens\":10}";
	json_t *j = call(&sv, "POST", "/v1/completions", a, 200, NULL, NULL, NULL);
	assert_int_equal(cached_of(j), 0);
	json_decref(j);
	j = call(&sv, "POST", "/v1/completions", a, 200, NULL, NULL, NULL);
	assert_int_equal(cached_of(j), 4);
	char *ta = text_of(j);
	assert_string_equal(ta, GREEDY16);
	j = call(&sv, "POST", "/v1/completions", b, 200, NULL, NULL, NULL);
	int cb = cached_of(j);
	assert_true(cb >= 5);
	char *tb = text_of(j);
	j = call(&sv, "POST", "/v1/completions", c, 200, NULL, NULL, NULL);
	assert_int_equal(cached_of(j), 1); /* BOS */
	char *tc = text_of(j);
	close_served(&sv);
	open_served(state, &fresh);
	j = call(&fresh, "POST", "/v1/completions", b, 200, NULL, NULL, NULL);
	assert_int_equal(cached_of(j), 0);
	char *tb0 = text_of(j);
	assert_string_equal(tb, tb0);
	close_served(&fresh);
	open_served(state, &fresh);
	j = call(&fresh, "POST", "/v1/completions", c, 200, NULL, NULL, NULL);
	char *tc0 = text_of(j);
	assert_string_equal(tc, tc0);
	close_served(&fresh);
	free(ta);
	free(tb);
	free(tb0);
	free(tc);
	free(tc0);
}

/* A writer that makes another request while its own holds a slot. */
struct nested {
	struct served *sv;
	const char *body;
	int status, depth, n;
};

static int nested_write(void *ud, const char *data, size_t len)
{
	(void)data;
	(void)len;
	struct nested *ns = ud;
	if (ns->n++ || ns->depth == 0)
		return 0;
	ns->depth--;
	struct serve_result res;
	serve_handle(ns->sv->s, "POST", "/v1/completions", ns->body, strlen(ns->body),
		     nested_write, ns, &res);
	ns->status = res.status;
	free(res.body);
	return 0;
}

/* Slots: with every slot busy a request gets 429 (slot_timeout 0); with
 * two slots the second request runs. */
static void test_slots(void **state)
{
	struct tu_stories *f = tu_need_stories(state);
	struct ctx *ctxs[2] = { tu_stories_ctx(f, 256), tu_stories_ctx(f, 256) };
	const char *body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":4,\"stream\":true}";
	for (int n_slots = 1; n_slots <= 2; n_slots++) {
		struct served sv = { 0 };
		struct serve_config cfg = { .ctxs = ctxs, .n_ctxs = n_slots, .vocab = f->v,
					    .model_name = "stories", .slot_timeout = 0,
					    .defaults = gen_params_default() };
		char err[256];
		assert_int_equal(serve_new(&sv.s, &cfg, err, sizeof(err)), 0);
		/* One nested request inside the first: the second slot, or 429. */
		struct nested ns = { .sv = &sv, .body = body, .depth = 1 };
		struct serve_result res;
		serve_handle(sv.s, "POST", "/v1/completions", body, strlen(body), nested_write, &ns,
			     &res);
		assert_int_equal(res.status, 200);
		assert_int_equal(ns.status, n_slots == 1 ? 429 : 200);
		free(res.body);
		assert_int_equal(serve_busy(sv.s), 0);
		if (n_slots == 1) {
			/* 429 is OpenAI-style. */
			ns = (struct nested){ .sv = &sv, .body = "{\"prompt\":\"x\",\"max_tokens\":1}",
					      .depth = 1 };
			serve_handle(sv.s, "POST", "/v1/completions", body, strlen(body),
				     nested_write, &ns, &res);
			free(res.body);
			assert_int_equal(ns.status, 429);
		}
		/* A stopping server refuses new requests with 503. */
		serve_stop(sv.s);
		assert_error(call(&sv, "POST", "/v1/completions", body, 503, NULL, NULL, NULL), 503);
		serve_free(sv.s);
	}
	ctx_free(ctxs[0]);
	ctx_free(ctxs[1]);
}

/* rllama: one JSON line per token; with no_token_sampling the whole
 * distribution, summing to 1. */
static void test_rllama(void **state)
{
	struct served sv;
	open_served(state, &sv);
	struct serve_result res;
	const char *b = "{\"prompt\":\"Once upon a time\",\"temperature\":0,\"max_new_tokens\":3}";
	serve_handle(sv.s, "POST", "/rllama/v1/inference", b, strlen(b), NULL, NULL, &res);
	assert_int_equal(res.status, 200);
	int lines = 0;
	for (const char *p = res.body; *p; p = strchr(p, '\n') + 1) {
		json_t *j = json_loadb(p, (size_t)(strchr(p, '\n') - p), 0, NULL);
		assert_int_equal(json_object_size(j), 1);
		const char *key;
		json_t *v;
		json_object_foreach(j, key, v) {
			assert_true(json_number_value(json_object_get(v, "p")) == 1.0);
			assert_null(json_object_get(v, "is_end_token"));
		}
		json_decref(j);
		lines++;
	}
	assert_int_equal(lines, 3);
	free(res.body);
	b = "{\"prompt\":\"Once\",\"max_new_tokens\":1,\"no_token_sampling\":true}";
	serve_handle(sv.s, "POST", "/rllama/v1/inference", b, strlen(b), NULL, NULL, &res);
	assert_int_equal(res.status, 200);
	json_t *j = json_loads(res.body, JSON_DISABLE_EOF_CHECK, NULL);
	assert_true(json_object_size(j) > 400);
	double sum = 0;
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v)
		sum += json_number_value(json_object_get(v, "p"));
	assert_true(sum > 0.999 && sum < 1.001);
	json_decref(j);
	free(res.body);
	assert_error(call(&sv, "POST", "/rllama/v1/inference", "{\"prompt\":\"x\",\"top_k\":0}", 400,
			  NULL, NULL, NULL), 400);
	close_served(&sv);
}

/* Chat logprobs: one entry per token, the greedy token the top one. */
static void test_logprobs(void **state)
{
	struct served sv;
	open_served(state, &sv);
	json_t *j = call(&sv, "POST", "/v1/chat/completions",
			 "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"temperature\":0,"
			 "\"max_tokens\":5,\"logprobs\":true,\"top_logprobs\":2}", 200, NULL, NULL, NULL);
	json_t *c = json_array_get(json_object_get(j, "choices"), 0);
	json_t *lp = json_object_get(json_object_get(c, "logprobs"), "content");
	assert_int_equal(json_array_size(lp), 5);
	size_t i;
	json_t *e;
	json_array_foreach(lp, i, e) {
		double l = json_real_value(json_object_get(e, "logprob"));
		json_t *top = json_object_get(e, "top_logprobs");
		assert_true(l <= 0);
		assert_int_equal(json_array_size(top), 2);
		assert_true(fabs(json_real_value(json_object_get(json_array_get(top, 0), "logprob")) - l) < 1e-9);
		assert_true(json_real_value(json_object_get(json_array_get(top, 1), "logprob")) <= l);
		assert_true(json_is_array(json_object_get(e, "bytes")));
	}
	json_decref(j);
	/* Without logprobs the field is null. */
	j = call(&sv, "POST", "/v1/chat/completions",
		 "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":1}", 200,
		 NULL, NULL, NULL);
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(j, "choices"), 0),
						 "logprobs")));
	json_decref(j);
	close_served(&sv);
}

/* Limits: max_tokens capped at the context, at most 1024 messages, a
 * prompt longer than the context refused. */
static void test_limits(void **state)
{
	struct served sv;
	open_served(state, &sv);
	json_t *j = call(&sv, "POST", "/v1/completions",
			 "{\"prompt\":\"Once upon a time\",\"max_tokens\":100000,\"seed\":1}", 200,
			 NULL, NULL, NULL);
	assert_true(json_integer_value(json_object_get(json_object_get(j, "usage"),
						       "completion_tokens")) < 512);
	json_decref(j);
	size_t cap = 1100 * 40 + 64, len = 0;
	char *big = malloc(cap);
	assert_non_null(big);
	len += (size_t)snprintf(big, cap, "{\"messages\":[");
	for (int i = 0; i < 1025; i++)
		len += (size_t)snprintf(big + len, cap - len, "%s{\"role\":\"user\",\"content\":\"a\"}",
					i ? "," : "");
	snprintf(big + len, cap - len, "]}");
	assert_error(call(&sv, "POST", "/v1/chat/completions", big, 400, NULL, NULL, NULL), 400);
	len = (size_t)snprintf(big, cap, "{\"prompt\":\"");
	for (int i = 0; i < 600; i++)
		len += (size_t)snprintf(big + len, cap - len, "the cat ");
	snprintf(big + len, cap - len, "\"}");
	assert_error(call(&sv, "POST", "/v1/completions", big, 400, NULL, NULL, NULL), 400);
	len = (size_t)snprintf(big, cap, "{\"messages\":[{\"role\":\"user\",\"content\":\"");
	for (int i = 0; i < 600; i++)
		len += (size_t)snprintf(big + len, cap - len, "the cat ");
	snprintf(big + len, cap - len, "\"}]}");
	assert_error(call(&sv, "POST", "/v1/chat/completions", big, 400, NULL, NULL, NULL), 400);
	free(big);
	close_served(&sv);
}

/* The parser alone, without a model. */
static void test_parse(void **state)
{
	(void)state;
	struct serve_parse_env env = { .defaults = gen_params_default(), .n_ctx = 100 };
	struct serve_req q;
	char msg[256];
	const char *b = "{\"prompt\":\"p\",\"max_seq_len\":5000,\"repetition_penalty\":1.2}";
	assert_int_equal(serve_parse(SERVE_RLLAMA, b, strlen(b), &env, &q, msg, sizeof(msg)), 0);
	assert_int_equal(q.max_seq_len, 100);
	assert_int_equal(q.n_predict, 20);
	assert_int_equal(q.sampling.top_k, 20);
	assert_true(q.stream && q.stop_at_end_token && !q.no_token_sampling);
	assert_true(q.sampling.repeat_penalty > 1.19f && q.sampling.repeat_penalty < 1.21f);
	serve_req_free(&q);
	b = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_completion_tokens\":7}";
	assert_int_equal(serve_parse(SERVE_CHAT, b, strlen(b), &env, &q, msg, sizeof(msg)), 0);
	assert_int_equal(q.n_predict, 7);
	serve_req_free(&q);
	b = "{\"messages\":[{\"role\":\"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
	    "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\",\"content\":\"x\"}]}";
	assert_int_equal(serve_parse(SERVE_CHAT, b, strlen(b), &env, &q, msg, sizeof(msg)), 400);
	serve_req_free(&q);
	/* The role is cut inside a character: the error body is still JSON. */
	char *body = serve_error_body(400, msg);
	assert_non_null(body);
	assert_error(json_loads(body, 0, NULL), 400);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_body),
		cmocka_unit_test(test_routes_and_errors),
		cmocka_unit_test(test_greedy_completion),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_prompt_cache),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_rllama),
		cmocka_unit_test(test_logprobs),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, tu_stories_setup, tu_stories_teardown);
}
