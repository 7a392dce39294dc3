/* libFuzzer harness for the request bodies of `llamaterm serve`
 * (src/serve_parse.c): the first byte picks the endpoint (chat, completion,
 * rllama), the rest is the body. No model is loaded: parsing never needs
 * one. An accepted request must satisfy what serve.c relies on; a refused
 * one must have a message that makes a valid OpenAI-style error body. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "serve_parse.h"

#define FUZZ_N_CTX 512

static void check_accepted(const struct serve_req *q)
{
	if (q->n_predict < 0 || q->n_predict > FUZZ_N_CTX || q->n_stops < 0 ||
	    q->n_stops > SERVE_MAX_STOPS || q->top_logprobs < 0 ||
	    q->top_logprobs > SERVE_MAX_TOP_LOGPROBS || (q->top_logprobs && !q->logprobs))
		abort();
	for (int i = 0; i < q->n_stops; i++)
		if (!q->stops[i])
			abort();
	if (q->kind != SERVE_CHAT) {
		if (!q->prompt)
			abort();
		if (q->kind == SERVE_RLLAMA && (q->max_seq_len < 1 || q->max_seq_len > FUZZ_N_CTX ||
						q->sampling.top_k < 1))
			abort();
		return;
	}
	size_t n = json_array_size(q->messages);
	if (!n || n > SERVE_MAX_MESSAGES)
		abort();
	for (size_t i = 0; i < n; i++) {
		json_t *m = json_array_get(q->messages, i);
		if (!json_is_string(json_object_get(m, "role")) ||
		    !json_is_string(json_object_get(m, "content")))
			abort();
	}
	if (strcmp(json_string_value(json_object_get(json_array_get(q->messages, n - 1), "role")),
		   "user"))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct serve_parse_env env = { .defaults = gen_params_default(), .n_ctx = FUZZ_N_CTX };
	struct serve_req q;
	char msg[512];
	enum serve_kind kind = (enum serve_kind)(data[0] % 3);
	int rc = serve_parse(kind, (const char *)data + 1, size - 1, &env, &q, msg, sizeof(msg));
	if (rc == 0) {
		check_accepted(&q);
	} else {
		if (rc != 400 || !msg[0])
			abort();
		char *body = serve_error_body(rc, msg);
		json_t *j = body ? json_loads(body, 0, NULL) : NULL;
		if (!j)
			abort();
		json_decref(j);
		free(body);
	}
	serve_req_free(&q);
	return 0;
}
