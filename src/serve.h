/* The request side of `llamaterm serve`: an OpenAI-compatible API
 * (/health, /v1/models, /v1/chat/completions, /v1/completions) over one
 * loaded model, independent of the HTTP library, which only hands over
 * method, path and body and sends what comes back.
 *
 * One generation at a time: serve_handle holds a mutex while it uses the
 * context, so a second request waits. A chat request gets a fresh
 * conversation (conversation.h): its "system" message, the earlier turns
 * replayed, then the reply to the last user message. */
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
	struct ctx *ctx;             /* used exclusively by the server */
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
};

/* Streaming: called with each Server-Sent Events frame; returns nonzero
 * when the client is gone, which stops the generation. */
typedef int (*serve_write_fn)(void *ud, const char *data, size_t len);

int serve_new(struct serve **out, const struct serve_config *cfg, char *err, size_t errlen);
void serve_free(struct serve *s);

/* Stops the generation in progress and makes later completion requests
 * fail with 503, so a server that is shutting down need not wait for a
 * long reply. Safe from any thread. */
void serve_stop(struct serve *s);

/* Whether a request asks for a stream (a JSON body with "stream": true),
 * so the caller can choose its kind of response before serve_handle. */
bool serve_wants_stream(const char *body, size_t len);

/* Handles one request. With write non-NULL and a streaming request the
 * reply goes out as SSE frames and res->body stays NULL (unless the
 * request fails before the first frame: then body holds the error). */
void serve_handle(struct serve *s, const char *method, const char *path, const char *body,
		  size_t len, serve_write_fn write, void *ud, struct serve_result *res);

/* An OpenAI-style error body {"error":{"message","type","code"}} for
 * status (malloc'd; NULL when out of memory). */
char *serve_error_body(int status, const char *message);

#endif
