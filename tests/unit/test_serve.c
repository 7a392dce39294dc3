/* The request side of `llamaterm serve` (src/serve.c) without HTTP:
 * routes, OpenAI-style errors, a greedy completion, streams framed as
 * Server-Sent Events, and a writer that goes away stopping the reply. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include "serve.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_body),
		cmocka_unit_test(test_routes_and_errors),
		cmocka_unit_test(test_greedy_completion),
		cmocka_unit_test(test_stream),
	};
	return cmocka_run_group_tests(tests, tu_stories_setup, tu_stories_teardown);
}
