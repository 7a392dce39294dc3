/* The request bodies of `llamaterm serve`, parsed and checked before any
 * model work: a request that fails here gets its 400 without taking a
 * slot. Needs no model (tests/fuzz/fuzz_serve.c feeds it anything). */
#ifndef LT_SERVE_PARSE_H
#define LT_SERVE_PARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "params.h"
#include "sampler.h"

#define SERVE_MAX_STOPS 16
/* Most messages a chat request may carry. */
#define SERVE_MAX_MESSAGES 1024
/* Most top_logprobs (OpenAI's own limit). */
#define SERVE_MAX_TOP_LOGPROBS 20

enum serve_kind { SERVE_CHAT, SERVE_COMPLETION, SERVE_RLLAMA };

/* What a request does not say comes from here. */
struct serve_parse_env {
	struct gen_params defaults;
	int n_ctx;  /* max_tokens and max_seq_len are capped at it */
};

struct serve_req {
	enum serve_kind kind;
	json_t *root;             /* the body; strings below point into it */
	struct sampler_params sampling;
	int n_predict;            /* -1: until the context is full */
	const char *stops[SERVE_MAX_STOPS];
	int n_stops;
	bool stream;
	bool logprobs;            /* chat: choices[].logprobs */
	int top_logprobs;
	json_t *messages;         /* chat: checked list of {role, content} strings */
	const char *prompt;       /* completion and rllama */
	/* rllama */
	int max_seq_len;          /* prompt and generated tokens together */
	bool stop_at_end_token;
	bool no_token_sampling;
};

/* Parses body as a request of kind. Returns 0, or the HTTP status (400)
 * with a message in msg; q->root must be freed with serve_req_free
 * either way. */
int serve_parse(enum serve_kind kind, const char *body, size_t len,
		const struct serve_parse_env *env, struct serve_req *q, char *msg, size_t msglen);
void serve_req_free(struct serve_req *q);

#endif
