/* The event-stream parser (sse.c) and the chunk parser of remote.c, with
 * the stream shapes llama-server, vLLM and ollama send: a role-only first
 * chunk, empty deltas, finish_reason alone, usage last, keep-alive
 * comments, CRLF and lone CR line ends, events split at every byte, an
 * error event, and a stream that stops in the middle of an event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "remote.h"
#include "sse.h"

/* What a stream gave: the events' data joined by '|'; the reply text, the
 * reasoning, and the result. */
struct got {
	char events[4096];
	char text[1024], reasoning[1024];
	struct remote_result res;
	int n_events, done;
	char err[256];
};

static int on_event(void *ud, const char *data, size_t len)
{
	struct got *g = ud;
	size_t n = strlen(g->events);
	snprintf(g->events + n, sizeof(g->events) - n, "%s%.*s", g->n_events++ ? "|" : "",
		 (int)len, data);
	return 0;
}

static int on_piece(void *ud, enum remote_part part, const char *text, size_t len)
{
	struct got *g = ud;
	char *dst = part == REMOTE_REASONING ? g->reasoning : g->text;
	size_t n = strlen(dst);
	snprintf(dst + n, 1024 - n, "%.*s", (int)len, text);
	return 0;
}

static int on_chunk(void *ud, const char *data, size_t len)
{
	struct got *g = ud;
	int rc = remote_parse_chunk(data, len, on_piece, g, &g->res, g->err, sizeof(g->err));
	if (rc == REMOTE_CHUNK_DONE)
		g->done = 1;
	return rc == REMOTE_CHUNK_DONE ? 0 : rc;
}

/* Feeds s in pieces of step bytes (0: whole). */
static int feed(struct sse *p, const char *s, size_t step, sse_event_fn fn, void *ud)
{
	size_t n = strlen(s);
	if (!step)
		step = n ? n : 1;
	for (size_t i = 0; i < n; i += step) {
		int rc = sse_feed(p, s + i, i + step > n ? n - i : step, fn, ud);
		if (rc)
			return rc;
	}
	return 0;
}

static void test_fields(void **state)
{
	static const char s[] = ": comment\n"
				"data: one\n\n"
				"event: message\nid: 7\ndata:two\ndata:  three\n\n"
				"retry: 10\n\n"        /* no data: no event */
				"data\n\n"             /* a field without a colon: empty data */
				"data: four\r\n\r\n"
				"data: five\r\rdata: six\n\n"
				"data: half";
	for (size_t step = 0; step < 8; step++) {
		struct sse *p;
		assert_int_equal(sse_new(&p), 0);
		struct got g;
		memset(&g, 0, sizeof(g));
		assert_int_equal(feed(p, s, step, on_event, &g), 0);
		assert_string_equal(g.events, "one|two\n three||four|five|six");
		assert_true(sse_pending(p));
		sse_reset(p);
		assert_false(sse_pending(p));
		sse_free(p);
	}
}

/* Streams the whole text at every split size; checks text and result. */
static void stream(const char *s, const char *text, const char *reasoning, const char *finish,
		   int n_prompt, int n_gen, int done)
{
	for (size_t step = 0; step < 24; step++) {
		struct sse *p;
		assert_int_equal(sse_new(&p), 0);
		struct got g;
		memset(&g, 0, sizeof(g));
		g.res.n_prompt = -1;
		assert_int_equal(feed(p, s, step, on_chunk, &g), 0);
		assert_string_equal(g.text, text);
		assert_string_equal(g.reasoning, reasoning);
		assert_string_equal(g.res.finish, finish);
		assert_int_equal(g.res.n_prompt, n_prompt);
		assert_int_equal(g.res.n_gen, n_gen);
		assert_int_equal(g.done, done);
		assert_false(sse_pending(p));
		sse_free(p);
	}
}

#define CH(delta, fin) "data: {\"choices\":[{\"index\":0,\"delta\":" delta ",\"finish_reason\":" fin "}]}"

static void test_llama_server(void **state)
{
	stream(CH("{\"role\":\"assistant\",\"content\":null}", "null") "\n\n"
	       CH("{\"content\":\"Hel\"}", "null") "\n\n"
	       CH("{}", "null") "\n\n"
	       ": keep-alive\n\n"
	       CH("{\"content\":\"lo \\u00e9\"}", "null") "\n\n"
	       CH("{}", "\"stop\"") "\n\n"
	       "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\n\n"
	       "data: [DONE]\n\n",
	       "Hello \xc3\xa9", "", "stop", 5, 3, 1);
}

static void test_vllm_reasoning_crlf(void **state)
{
	stream(CH("{\"role\":\"assistant\",\"content\":\"\"}", "null") "\r\n\r\n"
	       CH("{\"reasoning_content\":\"hmm\"}", "null") "\r\n\r\n"
	       CH("{\"content\":\"ok\"}", "\"length\"") "\r\n\r\n"
	       "data: [DONE]\r\n\r\n",
	       "ok", "hmm", "length", -1, 2, 1);
}

static void test_ollama(void **state)
{
	/* No role chunk, "reasoning", no usage, no [DONE] before the close. */
	stream(CH("{\"role\":\"assistant\",\"content\":\"a\",\"reasoning\":\"r\"}", "null") "\n\n"
	       CH("{\"role\":\"assistant\",\"content\":\"\"}", "\"stop\"") "\n\n",
	       "a", "r", "stop", -1, 1, 0);
}

static void test_completions(void **state)
{
	stream("data: {\"choices\":[{\"text\":\"once\",\"index\":0,\"finish_reason\":null}]}\n\n"
	       "data: {\"choices\":[{\"text\":\" upon\",\"index\":0,\"finish_reason\":\"stop\"}]}\n\n"
	       "data: [DONE]\n\n",
	       "once upon", "", "stop", -1, 2, 1);
}

static void test_bad_chunks(void **state)
{
	struct remote_result res;
	memset(&res, 0, sizeof(res));
	char err[256];
	assert_int_equal(remote_parse_chunk("{\"error\":{\"message\":\"boom\"}}", 28, on_piece, NULL,
					    &res, err, sizeof(err)),
			 LT_E_FORMAT);
	assert_non_null(strstr(err, "boom"));
	assert_int_equal(remote_parse_chunk("nope", 4, on_piece, NULL, &res, err, sizeof(err)),
			 LT_E_FORMAT);
	assert_int_equal(remote_parse_chunk("[1,2]", 5, on_piece, NULL, &res, err, sizeof(err)),
			 LT_E_FORMAT);
	/* Odd but valid: choices not a list, a delta that is not an object. */
	assert_int_equal(remote_parse_chunk("{\"choices\":3}", 13, on_piece, NULL, &res, err,
					    sizeof(err)),
			 0);
	assert_int_equal(remote_parse_chunk("{\"choices\":[{\"delta\":\"x\"}]}", 27, on_piece, NULL,
					    &res, err, sizeof(err)),
			 0);
	assert_int_equal(remote_parse_chunk(" [DONE]", 7, NULL, NULL, &res, err, sizeof(err)),
			 REMOTE_CHUNK_DONE);
}

static int stop_at_once(void *ud, enum remote_part part, const char *text, size_t len)
{
	return 1;
}

static void test_stop(void **state)
{
	struct remote_result res;
	memset(&res, 0, sizeof(res));
	char err[64];
	static const char c[] = "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}";
	assert_int_equal(remote_parse_chunk(c, sizeof(c) - 1, stop_at_once, NULL, &res, err,
					    sizeof(err)),
			 REMOTE_CHUNK_STOP);
}

static void test_cut_off(void **state)
{
	struct sse *p;
	assert_int_equal(sse_new(&p), 0);
	struct got g;
	memset(&g, 0, sizeof(g));
	assert_int_equal(feed(p, CH("{\"content\":\"Hi\"}", "null") "\n\ndata: {\"choi", 5,
			      on_chunk, &g),
			 0);
	assert_string_equal(g.text, "Hi");
	assert_true(sse_pending(p));
	assert_string_equal(g.res.finish, "");
	sse_free(p);
}

static void test_url(void **state)
{
	struct remote *r;
	char err[256];
	assert_int_equal(remote_new(&r, "ftp://x", NULL, NULL, err, sizeof(err)), LT_E_INVAL);
	assert_int_equal(remote_new(&r, "http://h:8080/v1/", "k", NULL, err, sizeof(err)), 0);
	assert_string_equal(remote_url(r), "http://h:8080");
	assert_string_equal(remote_server(r), "h:8080");
	assert_string_equal(remote_model(r), "");
	remote_free(r);
	assert_int_equal(remote_new(&r, "https://user@example.org/api", NULL, "m", err, sizeof(err)), 0);
	assert_string_equal(remote_server(r), "example.org:443");
	assert_string_equal(remote_model(r), "m");
	remote_free(r);
	assert_int_equal(remote_new(&r, "http://[::1]", NULL, NULL, err, sizeof(err)), 0);
	assert_string_equal(remote_server(r), "[::1]:80");
	remote_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),         cmocka_unit_test(test_llama_server),
		cmocka_unit_test(test_vllm_reasoning_crlf), cmocka_unit_test(test_ollama),
		cmocka_unit_test(test_completions),    cmocka_unit_test(test_bad_chunks),
		cmocka_unit_test(test_stop),           cmocka_unit_test(test_cut_off),
		cmocka_unit_test(test_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
