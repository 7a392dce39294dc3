/* The OpenAI-compatible API of `llamaterm serve` (see serve.h). JSON in and
 * out goes through jansson; nothing here knows the HTTP library. */
#include "serve.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conversation.h"
#include "errors.h"
#include "paths.h"
#include "sampler.h"
#include "session.h"
#include "stopper.h"
#include "template_store.h"

/* The template a model without a recognisable one gets (as the chat's). */
static const char serve_builtin_template[] =
	"name = dialogue\n"
	"description = built-in fallback: plain User:/AI: turns\n"
	"user_prefix = User:\\s\n"
	"user_suffix = \\n\n"
	"assistant_prefix = AI:\\s\n"
	"assistant_suffix = \\n\n"
	"stop = \\nUser:\n";

#define SERVE_MAX_STOPS 16

struct serve {
	struct ctx *ctx;
	const struct vocab *vocab;
	char *model_name;
	char *template_name;
	struct gen_params defaults;
	char **tdirs;
	size_t n_tdirs;
	pthread_mutex_t mu;  /* one generation at a time */
	atomic_bool abort;   /* raised when a streaming client goes away */
	atomic_bool stopping; /* serve_stop was called */
	unsigned long n_requests;
};

/* The settings of one completion request. */
struct req {
	struct sampler_params sampling;
	int n_predict;
	const char *stops[SERVE_MAX_STOPS];
	int n_stops;
	bool stream;
};

/* One reply being produced: its text so far, or the stream it goes to. */
struct out {
	struct serve *s;
	bool chat;
	bool stream;
	serve_write_fn write;
	void *ud;
	char id[48];
	long long created;
	char *text;
	size_t len, cap;
	bool gone;   /* the client disconnected */
	bool failed; /* out of memory */
};

char *serve_error_body(int status, const char *message)
{
	const char *type = status == 503 ? "unavailable_error" : status == 401 ? "authentication_error" :
			   status == 404 ? "not_found_error" :
			   status >= 500 ? "server_error" : "invalid_request_error";
	json_t *j = json_pack("{s:{s:s,s:s,s:i}}", "error", "message", message, "type", type,
			      "code", status);
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return body;
}

static void fail(struct serve_result *res, int status, const char *message)
{
	res->status = status;
	free(res->body);
	res->body = serve_error_body(status, message);
}

static void ok_json(struct serve_result *res, json_t *j)
{
	res->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!res->body)
		fail(res, 500, "out of memory");
	else
		res->status = 200;
}

int serve_new(struct serve **out, const struct serve_config *cfg, char *err, size_t errlen)
{
	*out = NULL;
	struct serve *s = calloc(1, sizeof(*s));
	if (!s)
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	s->ctx = cfg->ctx;
	s->vocab = cfg->vocab;
	s->defaults = cfg->defaults;
	s->model_name = strdup(cfg->model_name);
	s->template_name = cfg->template_name ? strdup(cfg->template_name) : NULL;
	if (!s->model_name || (cfg->template_name && !s->template_name) ||
	    paths_template_dirs(&s->tdirs, &s->n_tdirs)) {
		serve_free(s);
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	}
	pthread_mutex_init(&s->mu, NULL);
	/* Fail at start-up, not at the first request, on a bad --template. */
	struct template *t;
	char note[256];
	int rc = template_choose(&t, s->template_name, vocab_chat_template(s->vocab), s->tdirs,
				 s->n_tdirs, note, sizeof(note), err, errlen);
	if (rc && s->template_name) {
		serve_free(s);
		return rc;
	}
	if (!rc)
		template_free(t);
	*out = s;
	return 0;
}

void serve_free(struct serve *s)
{
	if (!s)
		return;
	paths_list_free(s->tdirs, s->n_tdirs);
	free(s->model_name);
	free(s->template_name);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void serve_stop(struct serve *s)
{
	atomic_store(&s->stopping, true);
	atomic_store(&s->abort, true);
}

bool serve_wants_stream(const char *body, size_t len)
{
	json_t *j = json_loadb(body, len, 0, NULL);
	bool stream = json_is_true(json_object_get(j, "stream"));
	json_decref(j);
	return stream;
}

/* ---- request fields ---- */

/* Reads a number field into *v; 0, or -1 with res set when of another type. */
static int get_number(json_t *j, const char *key, double lo, double hi, double *v,
		      struct serve_result *res)
{
	json_t *f = json_object_get(j, key);
	if (!f || json_is_null(f))
		return 0;
	char msg[160];
	if (!json_is_number(f)) {
		snprintf(msg, sizeof(msg), "'%s' must be a number", key);
		fail(res, 400, msg);
		return -1;
	}
	double x = json_number_value(f);
	if (x < lo || x > hi) {
		snprintf(msg, sizeof(msg), "'%s' must be between %g and %g", key, lo, hi);
		fail(res, 400, msg);
		return -1;
	}
	*v = x;
	return 0;
}

static int get_int(json_t *j, const char *key, double lo, double hi, double *v,
		   struct serve_result *res)
{
	json_t *f = json_object_get(j, key);
	if (f && !json_is_null(f) && !json_is_integer(f)) {
		char msg[160];
		snprintf(msg, sizeof(msg), "'%s' must be an integer", key);
		fail(res, 400, msg);
		return -1;
	}
	return get_number(j, key, lo, hi, v, res);
}

/* The sampling fields, max_tokens, stop and stream of a request. The stop
 * strings point into j. */
static int parse_req(struct serve *s, json_t *j, struct req *q, struct serve_result *res)
{
	memset(q, 0, sizeof(*q));
	q->sampling = s->defaults.sampling;
	q->sampling.n_ctx = ctx_n_ctx(s->ctx);
	q->n_predict = s->defaults.n_predict;
	double v;
	v = q->sampling.temperature;
	if (get_number(j, "temperature", 0, 100, &v, res))
		return -1;
	q->sampling.temperature = (float)v;
	v = q->sampling.top_p;
	if (get_number(j, "top_p", 0, 1, &v, res))
		return -1;
	q->sampling.top_p = (float)v;
	v = q->sampling.min_p;
	if (get_number(j, "min_p", 0, 1, &v, res))
		return -1;
	q->sampling.min_p = (float)v;
	v = q->sampling.frequency_penalty;
	if (get_number(j, "frequency_penalty", -2, 2, &v, res))
		return -1;
	q->sampling.frequency_penalty = (float)v;
	v = q->sampling.presence_penalty;
	if (get_number(j, "presence_penalty", -2, 2, &v, res))
		return -1;
	q->sampling.presence_penalty = (float)v;
	v = q->sampling.top_k;
	if (get_int(j, "top_k", 0, 1e9, &v, res))
		return -1;
	q->sampling.top_k = (int)v;
	v = q->n_predict;
	if (get_int(j, "max_tokens", -1, 1e9, &v, res))
		return -1;
	q->n_predict = (int)v;
	v = q->sampling.seed;
	if (get_int(j, "seed", 0, 4294967295.0, &v, res))
		return -1;
	q->sampling.seed = (uint32_t)v;
	json_t *st = json_object_get(j, "stream");
	if (st && !json_is_null(st) && !json_is_boolean(st)) {
		fail(res, 400, "'stream' must be true or false");
		return -1;
	}
	q->stream = json_is_true(st);
	json_t *stop = json_object_get(j, "stop");
	if (json_is_string(stop)) {
		q->stops[q->n_stops++] = json_string_value(stop);
	} else if (json_is_array(stop)) {
		size_t i;
		json_t *e;
		json_array_foreach(stop, i, e) {
			if (!json_is_string(e) || q->n_stops == SERVE_MAX_STOPS) {
				fail(res, 400, "'stop' must be a string or a list of at most 16 strings");
				return -1;
			}
			q->stops[q->n_stops++] = json_string_value(e);
		}
	} else if (stop && !json_is_null(stop)) {
		fail(res, 400, "'stop' must be a string or a list of strings");
		return -1;
	}
	return 0;
}

/* ---- the reply ---- */

/* A chunk of a stream: delta content (chat) or text, with finish_reason
 * when finish is not NULL. */
static void send_chunk(struct out *o, const char *text, size_t len, const char *finish)
{
	if (o->gone)
		return;
	json_t *choice = json_pack("{s:i,s:o}", "index", 0, "finish_reason",
				   finish ? json_string(finish) : json_null());
	json_t *piece = json_stringn(text, len);
	if (!o->chat)
		json_object_set_new(choice, "text", piece);
	else if (finish) {
		json_decref(piece);
		json_object_set_new(choice, "delta", json_object());
	} else
		json_object_set_new(choice, "delta", json_pack("{s:o}", "content", piece));
	json_t *j = json_pack("{s:s,s:s,s:I,s:s,s:[o]}", "id", o->id, "object",
			      o->chat ? "chat.completion.chunk" : "text_completion", "created",
			      (json_int_t)o->created, "model", o->s->model_name, "choices", choice);
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!body) {
		o->failed = true;
		return;
	}
	size_t n = strlen(body);
	char *frame = malloc(n + 9);
	if (frame) {
		memcpy(frame, "data: ", 6);
		memcpy(frame + 6, body, n);
		memcpy(frame + 6 + n, "\n\n", 3);
		if (o->write(o->ud, frame, n + 8))
			o->gone = true;
	}
	free(frame);
	free(body);
	if (o->gone)
		atomic_store(&o->s->abort, true);
}

static void out_text(struct out *o, const char *text, size_t len)
{
	if (!len)
		return;
	if (o->stream) {
		send_chunk(o, text, len, NULL);
		return;
	}
	if (o->len + len + 1 > o->cap) {
		size_t cap = (o->cap ? o->cap * 2 : 256) + len;
		char *p = realloc(o->text, cap);
		if (!p) {
			o->failed = true;
			return;
		}
		o->text = p;
		o->cap = cap;
	}
	memcpy(o->text + o->len, text, len);
	o->len += len;
	o->text[o->len] = '\0';
}

/* The final response (or the stream's last chunk and [DONE]). */
static void finish(struct out *o, const char *reason, int n_prompt, int n_gen,
		   struct serve_result *res)
{
	res->n_prompt = n_prompt;
	res->n_gen = n_gen;
	if (o->failed) {
		fail(res, 500, "out of memory");
		return;
	}
	if (o->stream) {
		send_chunk(o, "", 0, reason);
		if (!o->gone && o->write(o->ud, "data: [DONE]\n\n", 14))
			o->gone = true;
		res->status = 200;
		return;
	}
	json_t *content = json_stringn(o->text ? o->text : "", o->len);
	json_t *choice = o->chat ?
		json_pack("{s:i,s:{s:s,s:o},s:s}", "index", 0, "message", "role", "assistant",
			  "content", content, "finish_reason", reason) :
		json_pack("{s:i,s:o,s:s}", "index", 0, "text", content, "finish_reason", reason);
	ok_json(res, json_pack("{s:s,s:s,s:I,s:s,s:[o],s:{s:i,s:i,s:i}}", "id", o->id, "object",
			       o->chat ? "chat.completion" : "text_completion", "created",
			       (json_int_t)o->created, "model", o->s->model_name, "choices", choice,
			       "usage", "prompt_tokens", n_prompt, "completion_tokens", n_gen,
			       "total_tokens", n_prompt + n_gen));
}

static const char *finish_reason(enum conv_stop_reason r)
{
	return r == CONV_STOP_LIMIT || r == CONV_STOP_CTX_FULL ? "length" : "stop";
}

/* ---- /v1/completions: the prompt as it is, like `llamaterm run` ---- */

static void complete_raw(struct serve *s, const char *prompt, const struct req *q, struct out *o,
			 struct serve_result *res)
{
	int n_ctx = ctx_n_ctx(s->ctx);
	size_t len = strlen(prompt);
	int32_t *ids = malloc((len + 2) * sizeof(*ids));
	struct sampler *smp = NULL;
	struct stopper *stp = NULL;
	struct vocab_stream *vs = NULL;
	char err[256];
	if (!ids) {
		fail(res, 500, "out of memory");
		return;
	}
	int n = vocab_tokenize(s->vocab, prompt, len, true, false, ids, (int)len + 2);
	if (n > (int)len + 2) { /* more ids than bytes: never, but never overrun */
		fail(res, 500, "the prompt's tokenization failed");
		free(ids);
		return;
	}
	if (n <= 0 || n >= n_ctx) {
		snprintf(err, sizeof(err), n <= 0 ? "the prompt has no tokens" :
			 "the prompt has %d tokens, the context only %d", n, n_ctx);
		fail(res, 400, err);
		free(ids);
		return;
	}
	if (sampler_new(&smp, &q->sampling, ctx_n_vocab(s->ctx), err, sizeof(err)) < 0 ||
	    stopper_new(&stp, q->stops, q->n_stops, err, sizeof(err)) < 0) {
		fail(res, 400, err);
		goto out;
	}
	if (vocab_stream_new(&vs, s->vocab, 0)) {
		fail(res, 500, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++)
		sampler_accept(smp, ids[i]);
	ctx_truncate(s->ctx, 0);
	int rc = ctx_eval(s->ctx, ids, n, 0, false);
	int limit = q->n_predict < 0 ? n_ctx : q->n_predict, n_gen = 0;
	const char *reason = "stop";
	const char *piece, *txt;
	size_t plen, tlen;
	bool hit = false;
	while (rc == 0 && !o->gone) {
		if (n_gen >= limit) {
			reason = "length";
			break;
		}
		int pos = ctx_n_past(s->ctx);
		int32_t tok = sampler_sample(smp, ctx_logits(s->ctx, -1));
		if (tok < 0) {
			rc = tok;
			break;
		}
		if (vocab_is_eog(s->vocab, tok))
			break;
		sampler_accept(smp, tok);
		n_gen++;
		if (vocab_stream_push(vs, tok, &piece, &plen)) {
			rc = LT_E_FORMAT;
			break;
		}
		if (stopper_feed(stp, piece, plen, &txt, &tlen) == STOPPER_HIT)
			hit = true;
		out_text(o, txt, tlen);
		if (hit)
			break;
		if (pos + 1 >= n_ctx) {
			reason = "length";
			break;
		}
		if (n_gen < limit)
			rc = ctx_eval(s->ctx, &tok, 1, pos, false);
	}
	if (rc && rc != LT_E_ABORTED) {
		fail(res, 500, lt_strerror(rc));
		goto out;
	}
	if (!hit) {
		if (vocab_stream_flush(vs, &piece, &plen) == 0 && plen &&
		    stopper_feed(stp, piece, plen, &txt, &tlen) >= 0)
			out_text(o, txt, tlen);
		if (!stopper_hit(stp)) {
			stopper_flush(stp, &txt, &tlen);
			out_text(o, txt, tlen);
		}
	}
	finish(o, reason, n, n_gen, res);
out:
	vocab_stream_free(vs);
	stopper_free(stp);
	sampler_free(smp);
	free(ids);
}

/* ---- /v1/chat/completions: the template and a fresh conversation ---- */

static void chat_on_text(void *ud, const char *text, size_t len)
{
	out_text(ud, text, len);
}

/* Adds text to the malloc'd *sys ("\n" between system messages). */
static int append_system(char **sys, const char *text)
{
	size_t a = *sys ? strlen(*sys) : 0, b = strlen(text);
	char *p = realloc(*sys, a + b + 2);
	if (!p)
		return -1;
	if (a)
		p[a++] = '\n';
	memcpy(p + a, text, b + 1);
	*sys = p;
	return 0;
}

static void complete_chat(struct serve *s, json_t *messages, const struct req *q, struct out *o,
			  struct serve_result *res)
{
	size_t n_msg = json_array_size(messages), i;
	json_t *m;
	char *sys = NULL, err[512];
	const char *last = NULL;
	struct session_data d;
	memset(&d, 0, sizeof(d));
	d.turns = calloc(n_msg ? n_msg : 1, sizeof(*d.turns));
	if (!d.turns) {
		fail(res, 500, "out of memory");
		return;
	}
	json_array_foreach(messages, i, m) {
		const char *role = json_string_value(json_object_get(m, "role"));
		const char *content = json_string_value(json_object_get(m, "content"));
		if (!role || !content) {
			snprintf(err, sizeof(err), "messages[%zu] needs a string 'role' and 'content'", i);
			fail(res, 400, err);
			goto out;
		}
		if (!strcmp(role, "system") || !strcmp(role, "developer")) {
			if (append_system(&sys, content)) {
				fail(res, 500, "out of memory");
				goto out;
			}
		} else if (!strcmp(role, "user") || !strcmp(role, "assistant")) {
			/* The user turns so far; the last one is the one answered. */
			if (last)
				d.turns[d.n_turns++] = (struct session_turn){
					.role = CONV_ROLE_USER, .text = (char *)last };
			last = NULL;
			if (role[0] == 'u')
				last = content;
			else
				d.turns[d.n_turns++] = (struct session_turn){
					.role = CONV_ROLE_ASSISTANT, .text = (char *)content };
		} else {
			snprintf(err, sizeof(err), "messages[%zu]: unknown role '%.40s'", i, role);
			fail(res, 400, err);
			goto out;
		}
	}
	if (!last) {
		fail(res, 400, "'messages' must end with a user message");
		goto out;
	}
	struct template *t = NULL;
	char note[256];
	int rc = template_choose(&t, s->template_name, vocab_chat_template(s->vocab), s->tdirs,
				 s->n_tdirs, note, sizeof(note), err, sizeof(err));
	if (rc && !s->template_name)
		rc = template_parse(&t, "(built-in dialogue)", serve_builtin_template,
				    sizeof(serve_builtin_template) - 1, err, sizeof(err));
	if (rc) {
		fail(res, 500, err);
		goto out;
	}
	struct conv_params cp = { .sampling = q->sampling, .n_predict = q->n_predict,
				  .stops = q->stops, .n_stops = q->n_stops, .system = sys };
	struct conv *c;
	ctx_truncate(s->ctx, 0);
	rc = conv_new(&c, s->ctx, s->vocab, t, &cp, err, sizeof(err));
	if (rc) {
		fail(res, rc == LT_E_FULL || rc == LT_E_INVAL ? 400 : 500, err);
		goto out;
	}
	conv_set_abort(c, &s->abort);
	if (d.n_turns) {
		d.system = (char *)conv_system(c);
		d.in_prefix = (char *)conv_in_prefix(c);
		d.postfix = (char *)conv_postfix(c);
		d.sampling = q->sampling;
		d.n_predict = q->n_predict;
		d.stops = (char **)q->stops;
		d.n_stops = q->n_stops;
		/* conv_restore frees the strings it replaces: give it copies. */
		char *a = strdup(d.system), *b = strdup(d.in_prefix), *p = strdup(d.postfix);
		d.system = a;
		d.in_prefix = b;
		d.postfix = p;
		rc = a && b && p ? conv_restore(c, &d, false, NULL) : LT_E_NOMEM;
		free(a);
		free(b);
		free(p);
		if (rc) {
			fail(res, rc == LT_E_FULL ? 400 : 500,
			     rc == LT_E_NOMEM ? "out of memory" : conv_error(c));
			conv_free(c);
			goto out;
		}
	}
	int n_before = conv_n_ids(c);
	struct conv_callbacks cb = { .ud = o, .on_text = chat_on_text };
	struct conv_reply r;
	memset(&r, 0, sizeof(r));
	rc = conv_send(c, last, &cb, &r);
	if (rc && rc != LT_E_ABORTED)
		fail(res, rc == LT_E_FULL ? 400 : 500, conv_error(c));
	else
		finish(o, finish_reason(r.reason), n_before + r.n_prompt, r.n_gen, res);
	conv_free(c);
out:
	free(sys);
	free(d.turns);
}

/* ---- routing ---- */

static void completion(struct serve *s, bool chat, const char *body, size_t len,
		       serve_write_fn write, void *ud, struct serve_result *res)
{
	json_error_t jerr;
	json_t *j = json_loadb(body, len, 0, &jerr);
	char msg[256];
	if (!json_is_object(j)) {
		snprintf(msg, sizeof(msg), j ? "the body must be a JSON object" :
			 "the body is not valid JSON: %s", jerr.text);
		fail(res, 400, msg);
		json_decref(j);
		return;
	}
	struct req q;
	json_t *input = json_object_get(j, chat ? "messages" : "prompt");
	if (parse_req(s, j, &q, res))
		goto out;
	if (chat ? !json_is_array(input) || !json_array_size(input) : !json_is_string(input)) {
		fail(res, 400, chat ? "'messages' must be a non-empty list" :
			 "'prompt' must be a string");
		goto out;
	}
	struct out o = { .s = s, .chat = chat, .stream = q.stream && write, .write = write,
			 .ud = ud, .created = (long long)time(NULL) };
	pthread_mutex_lock(&s->mu);
	snprintf(o.id, sizeof(o.id), "%s-%lx%lu", chat ? "chatcmpl" : "cmpl",
		 (unsigned long)o.created, ++s->n_requests);
	atomic_store(&s->abort, false);
	/* Checked after clearing the flag: a stop that came before stays. */
	if (atomic_load(&s->stopping))
		fail(res, 503, "the server is shutting down");
	else if (chat)
		complete_chat(s, input, &q, &o, res);
	else
		complete_raw(s, json_string_value(input), &q, &o, res);
	pthread_mutex_unlock(&s->mu);
	free(o.text);
out:
	json_decref(j);
}

void serve_handle(struct serve *s, const char *method, const char *path, const char *body,
		  size_t len, serve_write_fn write, void *ud, struct serve_result *res)
{
	memset(res, 0, sizeof(*res));
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	if (!strcmp(path, "/health")) {
		if (get)
			ok_json(res, json_pack("{s:s}", "status", "ok"));
		else
			fail(res, 405, "use GET");
	} else if (!strcmp(path, "/v1/models")) {
		if (get)
			ok_json(res, json_pack("{s:s,s:[{s:s,s:s,s:i,s:s}]}", "object", "list", "data",
					       "id", s->model_name, "object", "model", "created", 0,
					       "owned_by", "llamaterm"));
		else
			fail(res, 405, "use GET");
	} else if (!strcmp(path, "/v1/chat/completions") || !strcmp(path, "/v1/completions")) {
		if (post)
			completion(s, path[4] == 'c' && path[5] == 'h', body ? body : "",
				   body ? len : 0, write, ud, res);
		else
			fail(res, 405, "use POST");
	} else {
		fail(res, 404, "unknown path");
	}
	if (!res->body && !res->status)
		fail(res, 500, "out of memory");
}
