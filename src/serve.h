/* The request side of `llamaterm serve`: an OpenAI-compatible API
 * (/health, /v1/models, /v1/chat/completions, /v1/completions) over one
 * loaded model, independent of the HTTP library, which only hands over
 * method, path and body and sends what comes back.
 *
 * Slots: each of the contexts given (one per --parallel slot, all over
 * one model) serves one request at a time. A request takes a free slot
 * (the one whose cache shares the longest prefix with its prompt); when
 * none is free it waits up to slot_timeout seconds, then gets 429. A slot
 * keeps the tokens its KV cache holds after a request, and the next
 * request there evaluates only what its prompt does not share with them
 * (usage.prompt_tokens_details.cached_tokens says how many were reused).
 * A chat request gets a fresh conversation (conversation.h): its "system"
 * message, the earlier turns replayed, then the reply to the last user
 * message. POST /rllama/v1/inference is rllama's API (JSONL per token). */
#ifndef LT_SERVE_H
#define LT_SERVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "context.h"
#include "params.h"
#include "vocab.h"

struct serve;

struct serve_config {
	struct ctx *ctx;             /* one slot (when n_ctxs is 0); used exclusively */
	struct ctx *const *ctxs;     /* or n_ctxs slots over the same model */
	int n_ctxs;
	double slot_timeout;         /* seconds a request waits for a slot (0: none) */
	const struct vocab *vocab;
	const char *model_name;      /* the "id" /v1/models lists */
	const char *template_name;   /* NULL: chosen from the model */
	struct gen_params defaults;  /* settings a request does not give */
};

/* What a request produced. body is a malloc'd JSON text (NULL when the
 * reply was streamed through the writer). */
struct serve_result {
	int status;        /* HTTP status */
	char *body;
	int n_prompt, n_gen;
	int n_cached;      /* prompt tokens the slot's cache already held; set
			    * before a stream's first frame */
};

/* Streaming: called with each Server-Sent Events frame; returns nonzero
 * when the client is gone, which stops the generation. */
typedef int (*serve_write_fn)(void *ud, const char *data, size_t len);

int serve_new(struct serve **out, const struct serve_config *cfg, char *err, size_t errlen);
void serve_free(struct serve *s);

/* Makes later completion requests (and those waiting for a slot) fail
 * with 503 while the running ones finish (a drain). Safe from any thread. */
void serve_stop(struct serve *s);
/* serve_stop, and the running generations end within a token. */
void serve_abort(struct serve *s);
/* Slots in use. */
int serve_busy(struct serve *s);

/* Whether a request to path is a stream (rllama's always; a JSON body
 * with "stream": true), so the caller can choose its kind of response
 * before serve_handle; *content_type is the stream's. */
bool serve_wants_stream(const char *path, const char *body, size_t len,
			const char **content_type);

/* Handles one request. With write non-NULL and a streaming request the
 * reply goes out as SSE frames and res->body stays NULL (unless the
 * request fails before the first frame: then body holds the error). For a
 * request that is not streamed, write(ud, NULL, 0) is called once a token
 * instead: nonzero says the client is gone and stops the reply. */
void serve_handle(struct serve *s, const char *method, const char *path, const char *body,
		  size_t len, serve_write_fn write, void *ud, struct serve_result *res);

/* An OpenAI-style error body {"error":{"message","type","code"}} for
 * status (malloc'd; NULL when out of memory). */
char *serve_error_body(int status, const char *message);

#endif
