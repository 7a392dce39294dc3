/* The HTTP client of an OpenAI-compatible server. See remote.h. */
#include "remote.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytebuf.h"
#include "sse.h"

#ifndef LLAMATERM_VERSION
#define LLAMATERM_VERSION "dev"
#endif

/* Seconds to wait for the connection, and for the first byte or the next
 * one of a reply (a long prompt on a slow server takes a while). */
#define REMOTE_CONNECT_SECONDS 10L
#define REMOTE_IDLE_SECONDS 600L
/* Largest non-streamed answer read (models, props, an error body). */
#define REMOTE_BODY_MAX (4u << 20)

struct remote {
	char *url;      /* without a trailing "/" or "/v1" */
	char *auth;     /* "Authorization: Bearer KEY" or NULL */
	char *model;    /* "" until resolved */
	char server[256];
	const atomic_bool *abort;
	CURL *curl;
	struct sse *sse;
};

static pthread_once_t remote_once = PTHREAD_ONCE_INIT;
static void remote_global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

int remote_new(struct remote **out, const char *url, const char *api_key, const char *model,
	       char *err, size_t errlen)
{
	*out = NULL;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return lt_seterr(err, errlen, LT_E_INVAL,
				 "--remote '%s': the URL must start with http:// or https://", url);
	pthread_once(&remote_once, remote_global_init);
	struct remote *r = calloc(1, sizeof(*r));
	if (!r)
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	r->url = strdup(url);
	r->model = strdup(model ? model : "");
	if (api_key && api_key[0] && asprintf(&r->auth, "Authorization: Bearer %s", api_key) < 0)
		r->auth = NULL;
	r->curl = curl_easy_init();
	if (!r->url || !r->model || !r->curl || (api_key && api_key[0] && !r->auth) ||
	    sse_new(&r->sse)) {
		remote_free(r);
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	}
	size_t n = strlen(r->url);
	while (n > 0 && r->url[n - 1] == '/')
		r->url[--n] = '\0';
	if (n >= 3 && !strcmp(r->url + n - 3, "/v1"))
		r->url[n -= 3] = '\0';
	/* host:port for the status bar. */
	const char *h = strstr(r->url, "://") + 3;
	const char *end = strchr(h, '/');
	size_t hl = end ? (size_t)(end - h) : strlen(h);
	const char *at = memchr(h, '@', hl);
	if (at) {
		hl -= (size_t)(at + 1 - h);
		h = at + 1;
	}
	/* An IPv6 address is in brackets; the port follows the last colon. */
	const char *close = h[0] == '[' ? memchr(h, ']', hl) : NULL;
	const char *from = close ? close : h;
	bool has_port = memchr(from, ':', hl - (size_t)(from - h)) != NULL;
	snprintf(r->server, sizeof(r->server), "%.*s%s", (int)hl, h,
		 has_port ? "" : r->url[4] == 's' ? ":443" : ":80");
	*out = r;
	return 0;
}

void remote_free(struct remote *r)
{
	if (!r)
		return;
	if (r->curl)
		curl_easy_cleanup(r->curl);
	sse_free(r->sse);
	free(r->url);
	free(r->auth);
	free(r->model);
	free(r);
}

void remote_set_abort(struct remote *r, const atomic_bool *flag) { r->abort = flag; }
const char *remote_url(const struct remote *r) { return r->url; }
const char *remote_server(const struct remote *r) { return r->server; }
const char *remote_model(const struct remote *r) { return r->model; }

/* ---- one transfer ---- */

struct xfer {
	struct remote *r;
	/* The body when it is not a stream (or the status is not 200). */
	struct bytebuf body;
	bool too_big;
	/* A stream. */
	bool streaming;
	remote_piece_fn fn;
	void *ud;
	struct remote_result *res;
	int rc;         /* what ended the stream early (callback, parse error) */
	bool done;      /* [DONE] arrived */
	char err[512];
};

static int xfer_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct xfer *x = ud;
	return x->r->abort && atomic_load(x->r->abort) ? 1 : 0;
}

static int body_add(struct xfer *x, const char *p, size_t n)
{
	if (x->body.len + n + 1 > REMOTE_BODY_MAX) {
		x->too_big = true;
		return -1;
	}
	bytebuf_put(&x->body, p, n);
	return x->body.oom ? -1 : 0;
}

static int on_event(void *ud, const char *data, size_t len)
{
	struct xfer *x = ud;
	int rc = remote_parse_chunk(data, len, x->fn, x->ud, x->res, x->err, sizeof(x->err));
	if (rc == REMOTE_CHUNK_DONE)
		x->done = true;
	return rc == REMOTE_CHUNK_DONE ? 0 : rc;
}

static size_t xfer_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	long status = 0;
	curl_easy_getinfo(x->r->curl, CURLINFO_RESPONSE_CODE, &status);
	if (!x->streaming || status != 200)
		return body_add(x, p, n) ? 0 : n;
	int rc = sse_feed(x->r->sse, p, n, on_event, x);
	if (rc) {
		x->rc = rc;
		return 0;
	}
	return n;
}

/* The server's error message from an OpenAI-style error body, or the
 * body's first line. */
static void error_message(const char *body, char *out, size_t outlen)
{
	out[0] = '\0';
	if (!body || !body[0])
		return;
	json_t *j = json_loads(body, 0, NULL);
	json_t *e = j ? json_object_get(j, "error") : NULL;
	const char *m = json_string_value(json_is_object(e) ? json_object_get(e, "message") : e);
	if (!m && j)
		m = json_string_value(json_object_get(j, "message"));
	if (m)
		snprintf(out, outlen, "%s", m);
	else
		snprintf(out, outlen, "%.*s", (int)strcspn(body, "\r\n"), body);
	json_decref(j);
}

/* Runs a request to path (body: POST JSON, else GET) and reports a failure
 * as one line. */
static int xfer_run(struct remote *r, const char *path, const char *body, struct xfer *x,
		    char *err, size_t errlen)
{
	char *url = NULL;
	if (asprintf(&url, "%s%s", r->url, path) < 0)
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	CURL *c = r->curl;
	curl_easy_reset(c);
	struct curl_slist *h = NULL;
	if (r->auth)
		h = curl_slist_append(h, r->auth);
	if (body) {
		h = curl_slist_append(h, "Content-Type: application/json");
		h = curl_slist_append(h, x->streaming ? "Accept: text/event-stream" : "Accept: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	char cerr[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "llamaterm/" LLAMATERM_VERSION);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, REMOTE_CONNECT_SECONDS);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, REMOTE_IDLE_SECONDS);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, xfer_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xfer_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/* The answer is decoded as it streams: no compression to wait on. */
	CURLcode cc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	int rc = 0;
	if (cc == CURLE_ABORTED_BY_CALLBACK) {
		rc = LT_E_ABORTED;
	} else if (cc == CURLE_WRITE_ERROR && x->streaming && status == 200 && x->rc == REMOTE_CHUNK_STOP) {
		rc = 0; /* the piece callback ended it */
	} else if (cc == CURLE_WRITE_ERROR && x->streaming && status == 200) {
		rc = lt_seterr(err, errlen, LT_E_FORMAT, "remote: %s: %s", url,
			       x->err[0] ? x->err : lt_strerror(x->rc));
	} else if (status != 200 && status != 0) {
		char msg[400];
		error_message((const char *)x->body.p, msg, sizeof(msg));
		rc = lt_seterr(err, errlen, LT_E_IO, "remote: %s: HTTP %ld%s%s", url, status,
			       msg[0] ? ": " : "", msg);
	} else if (cc != CURLE_OK && !(x->streaming && (x->done || x->res->finish[0]))) {
		const char *what = cc == CURLE_COULDNT_CONNECT	 ? "connection refused"
				   : cc == CURLE_OPERATION_TIMEDOUT ? "timed out"
				   : cc == CURLE_COULDNT_RESOLVE_HOST ? "cannot resolve the host"
				   : (cc == CURLE_PARTIAL_FILE || cc == CURLE_RECV_ERROR ||
				      cc == CURLE_GOT_NOTHING) && x->streaming
					   ? "the stream was cut off"
				   : cerr[0] ? cerr : curl_easy_strerror(cc);
		rc = lt_seterr(err, errlen, LT_E_IO, "remote: %s: %s", url, what);
	} else if (x->too_big) {
		rc = lt_seterr(err, errlen, LT_E_FULL, "remote: %s: the answer is too large", url);
	}
	free(url);
	return rc;
}

int remote_get(struct remote *r, const char *path, char **body, char *err, size_t errlen)
{
	struct xfer x = { .r = r };
	*body = NULL;
	int rc = xfer_run(r, path, NULL, &x, err, errlen);
	if (rc) {
		free(x.body.p);
		return rc;
	}
	*body = x.body.p ? (char *)x.body.p : strdup("");
	return *body ? 0 : lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
}

int remote_resolve_model(struct remote *r, char *err, size_t errlen)
{
	if (r->model[0])
		return 0;
	char *body;
	int rc = remote_get(r, "/v1/models", &body, err, errlen);
	if (rc)
		return rc;
	json_t *j = json_loads(body, 0, NULL);
	json_t *first = json_array_get(json_object_get(j, "data"), 0);
	const char *id = json_string_value(json_object_get(first, "id"));
	if (!id)
		rc = lt_seterr(err, errlen, LT_E_FORMAT, "remote: %s/v1/models lists no model (use -m NAME)",
			       r->url);
	else {
		char *m = strdup(id);
		if (m) {
			free(r->model);
			r->model = m;
		} else {
			rc = lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
		}
	}
	json_decref(j);
	free(body);
	return rc;
}

/* ---- a streamed reply ---- */

/* The request's JSON (malloc'd), or NULL when memory runs out. */
static char *request_json(const struct remote *r, const struct remote_request *q)
{
	json_t *j = json_object();
	if (r->model[0])
		json_object_set_new(j, "model", json_string(r->model));
	if (q->msgs) {
		json_t *msgs = json_array();
		for (int i = 0; i < q->n_msgs; i++)
			json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", q->msgs[i].role,
							      "content", q->msgs[i].content));
		json_object_set_new(j, "messages", msgs);
	} else {
		json_object_set_new(j, "prompt", json_string(q->prompt ? q->prompt : ""));
	}
	json_object_set_new(j, "stream", json_true());
	json_object_set_new(j, "stream_options", json_pack("{s:b}", "include_usage", 1));
	const struct sampler_params *sp = q->sampling;
	if (sp) {
		json_object_set_new(j, "temperature", json_real(sp->temperature > 0 ? sp->temperature : 0));
		if (sp->top_p < 1)
			json_object_set_new(j, "top_p", json_real(sp->top_p));
		if (sp->top_k > 0)
			json_object_set_new(j, "top_k", json_integer(sp->top_k));
		if (sp->min_p > 0)
			json_object_set_new(j, "min_p", json_real(sp->min_p));
		if (sp->presence_penalty != 0)
			json_object_set_new(j, "presence_penalty", json_real(sp->presence_penalty));
		if (sp->frequency_penalty != 0)
			json_object_set_new(j, "frequency_penalty", json_real(sp->frequency_penalty));
		if (sp->seed != SAMPLER_SEED_RANDOM)
			json_object_set_new(j, "seed", json_integer(sp->seed));
	}
	if (q->n_predict >= 0)
		json_object_set_new(j, "max_tokens", json_integer(q->n_predict));
	if (q->n_stops > 0) {
		json_t *st = json_array();
		for (int i = 0; i < q->n_stops; i++)
			json_array_append_new(st, json_string(q->stops[i]));
		json_object_set_new(j, "stop", st);
	}
	/* Seven digits: the floats were floats (0.8, not 0.800000011920929). */
	char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(7));
	json_decref(j);
	return s;
}

int remote_parse_chunk(const char *data, size_t len, remote_piece_fn fn, void *ud,
		       struct remote_result *res, char *err, size_t errlen)
{
	while (len && (data[0] == ' ' || data[0] == '\t'))
		data++, len--;
	if (len >= 6 && !memcmp(data, "[DONE]", 6))
		return REMOTE_CHUNK_DONE;
	json_t *j = json_loadb(data, len, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return lt_seterr(err, errlen, LT_E_FORMAT, "the server sent an event that is not JSON");
	}
	int rc = 0;
	json_t *e = json_object_get(j, "error");
	if (e) {
		char msg[400];
		char *s = json_dumps(j, JSON_COMPACT);
		error_message(s, msg, sizeof(msg));
		free(s);
		rc = lt_seterr(err, errlen, LT_E_FORMAT, "the server reported an error: %s", msg);
		json_decref(j);
		return rc;
	}
	json_t *u = json_object_get(j, "usage");
	if (json_is_object(u)) {
		json_t *pt = json_object_get(u, "prompt_tokens"), *ct = json_object_get(u, "completion_tokens");
		if (json_is_integer(pt) && json_is_integer(ct)) {
			res->n_prompt = (int)json_integer_value(pt);
			res->n_gen = (int)json_integer_value(ct);
			res->usage = true;
		}
	}
	json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
	if (json_is_object(ch)) {
		json_t *d = json_object_get(ch, "delta");
		const char *txt = NULL, *rsn = NULL;
		size_t tl = 0, rl = 0;
		json_t *v;
		if (json_is_object(d)) {
			if (json_is_string(v = json_object_get(d, "reasoning_content")) ||
			    json_is_string(v = json_object_get(d, "reasoning")))
				rsn = json_string_value(v), rl = json_string_length(v);
			if (json_is_string(v = json_object_get(d, "content")))
				txt = json_string_value(v), tl = json_string_length(v);
		} else if (json_is_string(v = json_object_get(ch, "text"))) {
			txt = json_string_value(v), tl = json_string_length(v);
		}
		if (rl && fn && fn(ud, REMOTE_REASONING, rsn, rl))
			rc = REMOTE_CHUNK_STOP;
		if (rc == 0 && tl && fn && fn(ud, REMOTE_CONTENT, txt, tl))
			rc = REMOTE_CHUNK_STOP;
		if ((rl || tl) && !res->usage)
			res->n_gen++;
		const char *fr = json_string_value(json_object_get(ch, "finish_reason"));
		if (fr && fr[0])
			snprintf(res->finish, sizeof(res->finish), "%s", fr);
	}
	json_decref(j);
	return rc;
}

int remote_stream(struct remote *r, const struct remote_request *q, remote_piece_fn fn, void *ud,
		  struct remote_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof(*res));
	res->n_prompt = -1;
	/* A server that cannot list its models may still answer: the request
	 * then goes without a name, and its own failure is the one told. */
	char ignored[256];
	remote_resolve_model(r, ignored, sizeof(ignored));
	int rc;
	char *body = request_json(r, q);
	if (!body)
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	sse_reset(r->sse);
	struct xfer x = { .r = r, .streaming = true, .fn = fn, .ud = ud, .res = res };
	rc = xfer_run(r, q->msgs ? "/v1/chat/completions" : "/v1/completions", body, &x, err, errlen);
	free(body);
	free(x.body.p);
	if (rc == LT_E_ABORTED || (rc == 0 && x.rc == REMOTE_CHUNK_STOP)) {
		res->stopped = true;
		return rc;
	}
	if (rc == 0 && !x.done && !res->finish[0]) {
		/* A clean end without [DONE] or a finish_reason: the server went away. */
		rc = lt_seterr(err, errlen, LT_E_IO, "remote: %s%s: the stream was cut off", r->url,
			       q->msgs ? "/v1/chat/completions" : "/v1/completions");
	}
	return rc;
}
