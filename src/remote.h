/* A client of an OpenAI-compatible HTTP server (llama-server, vLLM,
 * ollama, llamaterm serve): the reply of POST /v1/chat/completions (or
 * /v1/completions for a raw prompt) streamed as Server-Sent Events (sse.h),
 * and what GET /v1/models and llama-server's /props say about the model.
 * libcurl does the HTTP, jansson the JSON; nothing else in the program
 * knows either for a client.
 *
 * Every failure is one line naming the URL: "remote: URL: connection
 * refused", "... HTTP 401: <the server's message>", "... timed out",
 * "... the stream was cut off". A stream cut off mid-reply keeps what came.
 *
 * Not thread-safe: one thread uses a client; only the abort flag may be
 * set from elsewhere (checked by libcurl's progress callback several
 * times a second, so a stop ends the request promptly). */
#ifndef LT_REMOTE_H
#define LT_REMOTE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "sampler.h"

struct remote;

/* url: the server (http://host:port, a trailing "/" or "/v1" is dropped);
 * api_key: NULL or sent as "Authorization: Bearer KEY"; model: NULL to
 * ask GET /v1/models for the first id at the first request. Nothing is
 * sent yet. LT_E_INVAL with a message for a URL that is not http(s). */
int remote_new(struct remote **out, const char *url, const char *api_key, const char *model,
	       char *err, size_t errlen);
void remote_free(struct remote *r);

/* The flag that stops a request in progress. */
void remote_set_abort(struct remote *r, const atomic_bool *flag);

/* The base URL as given, without "/v1"; "host:port" for a status bar. */
const char *remote_url(const struct remote *r);
const char *remote_server(const struct remote *r);

/* The model name sent in requests; asks GET /v1/models for the first id
 * when none was given. Returns 0 or an lt_error with the line in err. */
int remote_resolve_model(struct remote *r, char *err, size_t errlen);
/* The name, "" before remote_resolve_model found one. */
const char *remote_model(const struct remote *r);

/* GET {url}{path}: the body (malloc'd, NUL-terminated) of a 200 answer.
 * Other statuses are errors. */
int remote_get(struct remote *r, const char *path, char **body, char *err, size_t errlen);

/* One message of a chat. */
struct remote_msg {
	const char *role; /* "system", "user", "assistant" */
	const char *content;
};

struct remote_request {
	const struct remote_msg *msgs; /* a chat, or NULL with prompt */
	int n_msgs;
	const char *prompt;            /* continued by /v1/completions */
	const struct sampler_params *sampling;
	int n_predict;                 /* max_tokens; < 0 no limit */
	const char *const *stops;
	int n_stops;
};

/* What a piece of the reply is. */
enum remote_part {
	REMOTE_CONTENT = 0,
	REMOTE_REASONING, /* reasoning_content (llama-server, vLLM), reasoning (ollama) */
};

/* Receives each piece as it arrives; a non-zero return ends the request
 * (a stop string was seen) without an error. */
typedef int (*remote_piece_fn)(void *ud, enum remote_part part, const char *text, size_t len);

struct remote_result {
	int n_prompt, n_gen;  /* from the usage the server sent, else -1 (n_gen: pieces) */
	bool usage;           /* the server sent usage */
	char finish[32];      /* finish_reason: "stop", "length", ... or "" */
	bool stopped;         /* the piece callback or the abort flag ended it */
};

/* Streams the reply to q. Returns 0, LT_E_ABORTED when the abort flag
 * stopped it (res->stopped), or LT_E_IO etc. with one line in err; what
 * came before an error was already given to fn. */
int remote_stream(struct remote *r, const struct remote_request *q, remote_piece_fn fn, void *ud,
		  struct remote_result *res, char *err, size_t errlen);

#define REMOTE_CHUNK_DONE 1 /* the event was "[DONE]" */
#define REMOTE_CHUNK_STOP 2 /* the piece callback asked to stop */

/* Parses the data of one streamed event: the text of choices[0]
 * (delta.content or text, and the reasoning), finish_reason, usage.
 * Returns 0 for a chunk, REMOTE_CHUNK_DONE, REMOTE_CHUNK_STOP, or
 * LT_E_FORMAT for data that is not a chunk (err then holds the server's
 * error message when it sent one). Pieces go to fn. */
int remote_parse_chunk(const char *data, size_t len, remote_piece_fn fn, void *ud,
		       struct remote_result *res, char *err, size_t errlen);

#endif
