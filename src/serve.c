/* The OpenAI-compatible API of `llamaterm serve` (see serve.h). JSON in and
 * out goes through jansson; nothing here knows the HTTP library. */
#include "serve.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conversation.h"
#include "errors.h"
#include "paths.h"
#include "sampler.h"
#include "serve_parse.h"
#include "serve_tokens.h"
#include "session.h"
#include "stopper.h"
#include "template_store.h"
#include "utf8.h"

/* One context and what its KV cache holds. */
struct slot {
	struct ctx *ctx;
	atomic_bool abort;       /* the client went away, or the server stops */
	bool busy;
	unsigned long used;      /* when it was last taken: the oldest goes first */
	int32_t *ids;            /* the tokens in the KV cache, n_ctx capacity */
	int n_ids;
	uint64_t *keys;          /* chat: the messages its conversation holds */
	int n_keys, cap_keys;
};

struct serve {
	struct slot *slots;
	int n_slots;
	const struct vocab *vocab;
	char *model_name;
	char *template_name;
	struct gen_params defaults;
	double slot_timeout;
	char **tdirs;
	size_t n_tdirs;
	pthread_mutex_t mu;   /* the slots' busy flags, keys and counters */
	pthread_cond_t freed; /* a slot became free, or the server stops */
	atomic_bool stopping; /* serve_stop was called */
	int n_busy;
	unsigned long n_requests;
};

/* One reply being produced: its text so far, and the stream it goes to. */
struct out {
	struct serve *s;
	struct slot *slot;
	const struct serve_req *q;
	enum serve_kind kind;
	bool stream;
	serve_write_fn write;
	void *ud;
	char id[48];
	long long created;
	char *text;
	size_t len, cap;
	json_t *lp;          /* logprobs entries not yet sent */
	bool role_sent;      /* a chat stream's first chunk names the role */
	int n_prompt;        /* the whole prompt, in tokens */
	int n_cached;        /* of it, tokens the cache held */
	const int32_t *old_ids; /* the slot's cache before this request */
	int n_old;
	struct conv *conv;
	struct serve_result *res;
	bool gone;   /* the client disconnected */
	bool failed; /* out of memory */
};

char *serve_error_body(int status, const char *message)
{
	const char *type = status == 503 ? "unavailable_error" : status == 401 ? "authentication_error" :
			   status == 404 ? "not_found_error" : status == 429 ? "rate_limit_error" :
			   status >= 500 ? "server_error" : "invalid_request_error";
	/* A message quoting the request may hold a cut UTF-8 character. */
	char *fixed = NULL;
	size_t len, n_bad;
	if (!utf8_valid(message, strlen(message)))
		message = fixed = utf8_sanitize(message, strlen(message), &len, &n_bad);
	json_t *j = message ? json_pack("{s:{s:s,s:s,s:i}}", "error", "message", message, "type",
					type, "code", status) : NULL;
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	free(fixed);
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
	struct ctx *const *ctxs = cfg->n_ctxs ? cfg->ctxs : &cfg->ctx;
	s->n_slots = cfg->n_ctxs ? cfg->n_ctxs : 1;
	s->vocab = cfg->vocab;
	s->defaults = cfg->defaults;
	s->slot_timeout = cfg->slot_timeout;
	s->model_name = strdup(cfg->model_name);
	s->template_name = cfg->template_name ? strdup(cfg->template_name) : NULL;
	s->slots = calloc((size_t)s->n_slots, sizeof(*s->slots));
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->freed, NULL);
	bool ok = s->slots && s->model_name && (!cfg->template_name || s->template_name) &&
		  !paths_template_dirs(&s->tdirs, &s->n_tdirs);
	for (int i = 0; ok && i < s->n_slots; i++) {
		struct slot *sl = &s->slots[i];
		sl->ctx = ctxs[i];
		sl->ids = malloc((size_t)ctx_n_ctx(sl->ctx) * sizeof(*sl->ids));
		ok = sl->ids != NULL;
		ctx_set_abort(sl->ctx, &sl->abort);
		/* The slot's tokens are known from now on. */
		ctx_truncate(sl->ctx, 0);
	}
	if (!ok) {
		serve_free(s);
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	}
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
	for (int i = 0; s->slots && i < s->n_slots; i++) {
		if (s->slots[i].ctx)
			ctx_set_abort(s->slots[i].ctx, NULL);
		free(s->slots[i].ids);
		free(s->slots[i].keys);
	}
	free(s->slots);
	paths_list_free(s->tdirs, s->n_tdirs);
	free(s->model_name);
	free(s->template_name);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->freed);
	free(s);
}

void serve_stop(struct serve *s)
{
	pthread_mutex_lock(&s->mu);
	atomic_store(&s->stopping, true);
	pthread_cond_broadcast(&s->freed);
	pthread_mutex_unlock(&s->mu);
}

void serve_abort(struct serve *s)
{
	serve_stop(s);
	for (int i = 0; i < s->n_slots; i++)
		atomic_store(&s->slots[i].abort, true);
}

int serve_busy(struct serve *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->n_busy;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* The route of a completion path; -1 for others. */
static int route(const char *path)
{
	if (!strcmp(path, "/v1/chat/completions"))
		return SERVE_CHAT;
	if (!strcmp(path, "/v1/completions"))
		return SERVE_COMPLETION;
	if (!strcmp(path, "/rllama/v1/inference"))
		return SERVE_RLLAMA;
	return -1;
}

bool serve_wants_stream(const char *path, const char *body, size_t len,
			const char **content_type)
{
	*content_type = "text/event-stream";
	if (route(path) == SERVE_RLLAMA) {
		*content_type = "application/jsonl";
		return true;
	}
	json_t *j = json_loadb(body, len, 0, NULL);
	bool stream = json_is_true(json_object_get(j, "stream"));
	json_decref(j);
	return stream;
}

/* ---- slots ---- */

static int common_prefix(const int32_t *a, int na, const int32_t *b, int nb)
{
	int n = 0;
	while (n < na && n < nb && a[n] == b[n])
		n++;
	return n;
}

static int common_keys(const uint64_t *a, int na, const uint64_t *b, int nb)
{
	int n = 0;
	while (n < na && n < nb && a[n] == b[n])
		n++;
	return n;
}

/* FNV-1a of a message's role and content: which conversation a slot holds. */
static uint64_t message_key(const char *role, const char *text, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = role; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)text[i]) * 1099511628211ull;
	return h;
}

/* Takes the free slot that shares most with the request (its tokens, or
 * for a chat its leading messages), the least recently used among equals;
 * waits for one up to slot_timeout. 0, or 429 / 503. */
static int slot_take(struct serve *s, const int32_t *ids, int n, const uint64_t *keys, int n_keys,
		     struct slot **out, unsigned long *req_no)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	double t = s->slot_timeout > 0 ? s->slot_timeout : 0;
	until.tv_sec += (time_t)t;
	until.tv_nsec += (long)((t - (double)(time_t)t) * 1e9);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (atomic_load(&s->stopping)) {
			rc = 503;
			break;
		}
		struct slot *best = NULL;
		int best_score = -1;
		for (int i = 0; i < s->n_slots; i++) {
			struct slot *sl = &s->slots[i];
			if (sl->busy)
				continue;
			int score = keys ? common_keys(sl->keys, sl->n_keys, keys, n_keys) :
				    common_prefix(sl->ids, sl->n_ids, ids, n);
			if (score > best_score || (score == best_score && sl->used < best->used)) {
				best = sl;
				best_score = score;
			}
		}
		if (best) {
			best->busy = true;
			best->used = ++s->n_requests;
			*req_no = best->used;
			atomic_store(&best->abort, false);
			s->n_busy++;
			*out = best;
			break;
		}
		if (pthread_cond_timedwait(&s->freed, &s->mu, &until) == ETIMEDOUT) {
			rc = 429;
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void slot_give(struct serve *s, struct slot *sl)
{
	/* Only rows the cache really holds count. */
	if (sl->n_ids > ctx_n_past(sl->ctx))
		sl->n_ids = ctx_n_past(sl->ctx);
	pthread_mutex_lock(&s->mu);
	sl->busy = false;
	s->n_busy--;
	pthread_cond_broadcast(&s->freed);
	pthread_mutex_unlock(&s->mu);
}

static void slot_set_ids(struct slot *sl, const int32_t *ids, int n)
{
	memmove(sl->ids, ids, (size_t)n * sizeof(*ids));
	sl->n_ids = n;
}

/* The keys of a chat (its messages, then the reply) for the next request. */
static void slot_set_keys(struct slot *sl, const uint64_t *keys, int n, uint64_t reply)
{
	if (n + 1 > sl->cap_keys) {
		uint64_t *k = realloc(sl->keys, (size_t)(n + 1) * sizeof(*k));
		if (!k) {
			sl->n_keys = 0;
			return;
		}
		sl->keys = k;
		sl->cap_keys = n + 1;
	}
	memcpy(sl->keys, keys, (size_t)n * sizeof(*keys));
	sl->keys[n] = reply;
	sl->n_keys = n + 1;
}

/* ---- the reply ---- */

/* A sampled token's logprobs entry (with its top_logprobs) for the reply. */
static void add_logprobs(struct out *o, int32_t tok, const float *logits)
{
	json_t *e = serve_logprob_entry(o->s->vocab, logits, ctx_n_vocab(o->slot->ctx), tok,
					o->q->top_logprobs);
	if (!e || json_array_append_new(o->lp, e))
		o->failed = true;
}

static void out_append(struct out *o, const char *text, size_t len)
{
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

/* Writes one SSE frame (or a JSONL line) of j; marks the client gone.
 * Without a stream (rllama's lines only) the lines make the body. */
static void send_json(struct out *o, json_t *j, bool sse)
{
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!body) {
		o->failed = true;
		return;
	}
	size_t n = strlen(body);
	char *frame = malloc(n + 9);
	size_t len = 0;
	if (frame) {
		if (sse) {
			memcpy(frame, "data: ", 6);
			len = 6;
		}
		memcpy(frame + len, body, n);
		len += n;
		memcpy(frame + len, sse ? "\n\n" : "\n", sse ? 3 : 2);
		len += sse ? 2 : 1;
		if (!o->stream)
			out_append(o, frame, len);
		else if (o->write(o->ud, frame, len))
			o->gone = true;
	} else {
		o->failed = true;
	}
	free(frame);
	free(body);
	if (o->gone)
		atomic_store(&o->slot->abort, true);
}

/* The logprobs of a choice: {"content": [...]} taking the pending
 * entries, or null without logprobs. */
static json_t *take_logprobs(struct out *o)
{
	if (!o->q->logprobs)
		return json_null();
	json_t *j = json_pack("{s:o}", "content", o->lp);
	o->lp = json_array();
	return j;
}

/* A chunk of a stream: delta content (chat) or text, with finish_reason
 * when finish is not NULL; role: the chat's first, role-only chunk. */
static void send_chunk(struct out *o, const char *text, size_t len, const char *finish, bool role)
{
	if (o->gone)
		return;
	bool chat = o->kind == SERVE_CHAT;
	json_t *choice = json_pack("{s:i,s:o}", "index", 0, "finish_reason",
				   finish ? json_string(finish) : json_null());
	if (!chat)
		json_object_set_new(choice, "text", json_stringn(text, len));
	else if (role)
		json_object_set_new(choice, "delta", json_pack("{s:s}", "role", "assistant"));
	else if (finish)
		json_object_set_new(choice, "delta", json_object());
	else
		json_object_set_new(choice, "delta", json_pack("{s:o}", "content", json_stringn(text, len)));
	if (chat)
		json_object_set_new(choice, "logprobs", role ? json_null() : take_logprobs(o));
	send_json(o, json_pack("{s:s,s:s,s:I,s:s,s:[o]}", "id", o->id, "object",
			       chat ? "chat.completion.chunk" : "text_completion", "created",
			       (json_int_t)o->created, "model", o->s->model_name, "choices", choice),
		  true);
}

/* The prompt is known and about to be evaluated: record its size and what
 * the slot's cache held of it; a chat stream names the role. */
static void out_prompt(struct out *o, const int32_t *ids, int n)
{
	int common = common_prefix(o->old_ids, o->n_old, ids, n);
	/* The last prompt token is evaluated again for its logits. */
	o->n_cached = common < n ? common : n - 1;
	o->n_prompt = n;
	o->res->n_cached = o->n_cached;
	o->res->n_prompt = n;
	if (o->stream && o->kind == SERVE_CHAT && !o->role_sent) {
		o->role_sent = true;
		send_chunk(o, "", 0, NULL, true);
	}
}

/* A reply that is not streamed asks the writer, once a token, whether its
 * client is still there (write with no data). */
static void probe(struct out *o)
{
	if (!o->stream && o->write && !o->gone && o->write(o->ud, NULL, 0)) {
		o->gone = true;
		atomic_store(&o->slot->abort, true);
	}
}

static void out_text(struct out *o, const char *text, size_t len)
{
	if (!len)
		return;
	out_append(o, text, len);
	if (o->stream)
		send_chunk(o, text, len, NULL, false);
}

/* The final response (or the stream's last chunk and [DONE]). */
static void finish(struct out *o, const char *reason, int n_gen, struct serve_result *res)
{
	res->n_prompt = o->n_prompt;
	res->n_gen = n_gen;
	res->n_cached = o->n_cached;
	if (o->failed) {
		fail(res, 500, "out of memory");
		return;
	}
	if (o->stream) {
		send_chunk(o, "", 0, reason, false);
		if (!o->gone && o->write(o->ud, "data: [DONE]\n\n", 14))
			o->gone = true;
		res->status = 200;
		return;
	}
	bool chat = o->kind == SERVE_CHAT;
	json_t *content = json_stringn(o->text ? o->text : "", o->len);
	json_t *choice = chat ?
		json_pack("{s:i,s:{s:s,s:o},s:o,s:s}", "index", 0, "message", "role", "assistant",
			  "content", content, "logprobs", take_logprobs(o), "finish_reason", reason) :
		json_pack("{s:i,s:o,s:n,s:s}", "index", 0, "text", content, "logprobs",
			  "finish_reason", reason);
	ok_json(res, json_pack("{s:s,s:s,s:I,s:s,s:[o],s:{s:i,s:i,s:i,s:{s:i}}}", "id", o->id,
			       "object", chat ? "chat.completion" : "text_completion", "created",
			       (json_int_t)o->created, "model", o->s->model_name, "choices", choice,
			       "usage", "prompt_tokens", o->n_prompt, "completion_tokens", n_gen,
			       "total_tokens", o->n_prompt + n_gen, "prompt_tokens_details",
			       "cached_tokens", o->n_cached));
}

static const char *finish_reason(enum conv_stop_reason r)
{
	return r == CONV_STOP_LIMIT || r == CONV_STOP_CTX_FULL ? "length" : "stop";
}

/* ---- /v1/completions and rllama: the prompt as it is, like `llamaterm run` ---- */

/* The probability the sampler gave tok (1 when it was the only choice). */
static double sampled_p(const struct sampler *smp, int32_t tok)
{
	const struct sampler_candidate *c;
	int n = sampler_last_candidates(smp, &c);
	for (int i = 0; i < n; i++)
		if (c[i].id == tok)
			return c[i].p;
	return 1.0;
}

static void complete_raw(struct serve *s, const int32_t *ids, int n, const struct serve_req *q,
			 struct out *o, struct serve_result *res)
{
	struct slot *sl = o->slot;
	struct ctx *ctx = sl->ctx;
	int n_ctx = ctx_n_ctx(ctx);
	bool rl = o->kind == SERVE_RLLAMA;
	struct sampler *smp = NULL;
	struct stopper *stp = NULL;
	struct vocab_stream *vs = NULL;
	char err[256];
	if (sampler_new(&smp, &q->sampling, ctx_n_vocab(ctx), err, sizeof(err)) < 0 ||
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
	out_prompt(o, ids, n);
	sl->n_keys = 0;
	/* Keep what the cache shares with the prompt; evaluate the rest. */
	int common = o->n_cached;
	ctx_truncate(ctx, common <= ctx_n_past(ctx) ? common : 0);
	common = ctx_n_past(ctx);
	slot_set_ids(sl, ids, common);
	int rc = ctx_eval(ctx, ids + common, n - common, common, false);
	slot_set_ids(sl, ids, ctx_n_past(ctx) < n ? ctx_n_past(ctx) : n);
	int limit = q->n_predict, n_gen = 0;
	if (rl && q->max_seq_len - n < limit)
		limit = q->max_seq_len - n > 0 ? q->max_seq_len - n : 0;
	const char *reason = "stop";
	const char *piece, *txt;
	size_t plen, tlen;
	bool hit = false;
	while (rc == 0 && !o->gone && !o->failed) {
		if (n_gen >= limit) {
			reason = "length";
			break;
		}
		int pos = ctx_n_past(ctx);
		const float *logits = ctx_logits(ctx, -1);
		int32_t tok = sampler_sample(smp, logits);
		if (tok < 0) {
			rc = tok;
			break;
		}
		bool eog = vocab_is_eog(s->vocab, tok);
		if (rl) {
			bool end = eog && q->stop_at_end_token;
			json_t *line = q->no_token_sampling ?
				serve_rllama_all(s->vocab, logits, ctx_n_vocab(ctx)) :
				serve_rllama_line(s->vocab, tok, sampled_p(smp, tok), end);
			send_json(o, line, false);
			sampler_accept(smp, tok);
			n_gen++;
			if (end)
				break;
		} else {
			if (eog)
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
		}
		if (pos + 1 >= n_ctx) {
			reason = "length";
			break;
		}
		probe(o);
		if (n_gen < limit && !o->gone) {
			rc = ctx_eval(ctx, &tok, 1, pos, false);
			if (ctx_n_past(ctx) > pos) {
				sl->ids[pos] = tok;
				sl->n_ids = pos + 1;
			}
		}
	}
	if (rc && rc != LT_E_ABORTED) {
		fail(res, 500, lt_strerror(rc));
		goto out;
	}
	if (rl) {
		res->status = 200;
		res->n_prompt = n;
		res->n_gen = n_gen;
		if (o->failed) {
			fail(res, 500, "out of memory");
		} else if (!o->stream) {
			res->body = o->text ? o->text : strdup("");
			o->text = NULL;
		}
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
	finish(o, reason, n_gen, res);
out:
	vocab_stream_free(vs);
	stopper_free(stp);
	sampler_free(smp);
}

/* ---- /v1/chat/completions: the template and a fresh conversation ---- */

static void chat_on_text(void *ud, const char *text, size_t len)
{
	out_text(ud, text, len);
}

static void chat_on_prompt(void *ud, const int32_t *ids, int n)
{
	(void)ids;
	(void)n;
	struct out *o = ud;
	out_prompt(o, conv_ids(o->conv), conv_n_ids(o->conv));
}

static void chat_on_sample(void *ud, int32_t tok, const float *logits)
{
	struct out *o = ud;
	if (o->q->logprobs)
		add_logprobs(o, tok, logits);
	probe(o);
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

/* The keys of a chat's messages (serve_parse checked them). */
static uint64_t *chat_keys(json_t *messages, int *n)
{
	size_t i;
	json_t *m;
	uint64_t *k = malloc((json_array_size(messages) + 1) * sizeof(*k));
	if (!k)
		return NULL;
	json_array_foreach(messages, i, m) {
		json_t *c = json_object_get(m, "content");
		k[i] = message_key(json_string_value(json_object_get(m, "role")),
				   json_string_value(c), json_string_length(c));
	}
	*n = (int)json_array_size(messages);
	return k;
}

static void complete_chat(struct serve *s, const struct serve_req *q, const uint64_t *keys,
			  int n_keys, struct out *o, struct serve_result *res)
{
	json_t *messages = q->messages, *m;
	struct slot *sl = o->slot;
	size_t n_msg = json_array_size(messages), i;
	char *sys = NULL, err[512];
	int32_t *old = NULL;
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
		if (!strcmp(role, "system") || !strcmp(role, "developer")) {
			if (append_system(&sys, content)) {
				fail(res, 500, "out of memory");
				goto out;
			}
		} else {
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
		}
	}
	struct template *t = NULL;
	char note[256];
	int rc = template_choose(&t, s->template_name, vocab_chat_template(s->vocab), s->tdirs,
				 s->n_tdirs, note, sizeof(note), err, sizeof(err));
	if (rc && !s->template_name)
		rc = template_builtin(&t, err, sizeof(err));
	if (rc) {
		fail(res, 500, err);
		goto out;
	}
	/* The conversation keeps what the slot's cache shares with it. */
	old = malloc(((size_t)sl->n_ids + 1) * sizeof(*old));
	if (!old) {
		template_free(t);
		fail(res, 500, "out of memory");
		goto out;
	}
	memcpy(old, sl->ids, (size_t)sl->n_ids * sizeof(*old));
	o->old_ids = old;
	o->n_old = sl->n_ids;
	struct conv_params cp = { .sampling = q->sampling, .n_predict = q->n_predict,
				  .stops = q->stops, .n_stops = q->n_stops, .system = sys,
				  .kv_ids = old, .n_kv_ids = sl->n_ids };
	struct conv *c;
	sl->n_keys = 0;
	rc = conv_new(&c, sl->ctx, s->vocab, t, &cp, err, sizeof(err));
	if (rc) {
		sl->n_ids = 0;
		fail(res, rc == LT_E_FULL || rc == LT_E_INVAL ? 400 : 500, err);
		goto out;
	}
	o->conv = c;
	conv_set_abort(c, &sl->abort);
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
	}
	struct conv_callbacks cb = { .ud = o, .on_text = chat_on_text, .on_prompt = chat_on_prompt,
				     .on_sample = chat_on_sample };
	struct conv_reply r;
	memset(&r, 0, sizeof(r));
	if (rc == 0)
		rc = conv_send(c, last, &cb, &r);
	const int32_t *kv;
	int n_kv = conv_kv_ids(c, &kv);
	slot_set_ids(sl, kv, n_kv <= ctx_n_past(sl->ctx) ? n_kv : ctx_n_past(sl->ctx));
	if (rc == LT_E_FULL) {
		snprintf(err, sizeof(err), "the prompt does not fit in the context of %d tokens: %s",
			 ctx_n_ctx(sl->ctx), conv_error(c));
		fail(res, 400, err);
	} else if (rc && rc != LT_E_ABORTED) {
		fail(res, 500, rc == LT_E_NOMEM ? "out of memory" : conv_error(c));
	} else {
		finish(o, finish_reason(r.reason), r.n_gen, res);
		if (res->status == 200)
			slot_set_keys(sl, keys, n_keys,
				      message_key("assistant", o->text ? o->text : "", o->len));
	}
	conv_free(c);
out:
	free(old);
	free(sys);
	free(d.turns);
}

/* ---- routing ---- */

static void completion(struct serve *s, enum serve_kind kind, const char *body, size_t len,
		       serve_write_fn write, void *ud, struct serve_result *res)
{
	struct slot *sl0 = &s->slots[0];
	struct serve_parse_env env = { .defaults = s->defaults, .n_ctx = ctx_n_ctx(sl0->ctx) };
	struct serve_req q;
	char msg[512];
	int32_t *ids = NULL;
	uint64_t *keys = NULL;
	int n = 0, n_keys = 0, status = serve_parse(kind, body, len, &env, &q, msg, sizeof(msg));
	if (status) {
		fail(res, status, msg);
		goto out;
	}
	if (kind == SERVE_CHAT) {
		keys = chat_keys(q.messages, &n_keys);
		if (!keys) {
			fail(res, 500, "out of memory");
			goto out;
		}
	} else {
		/* Tokens first: the slot is chosen by them. */
		size_t plen = strlen(q.prompt);
		ids = malloc((plen + 2) * sizeof(*ids));
		if (!ids) {
			fail(res, 500, "out of memory");
			goto out;
		}
		n = vocab_tokenize(s->vocab, q.prompt, plen, true, false, ids, (int)plen + 2);
		if (n > (int)plen + 2) { /* more ids than bytes: never, but never overrun */
			fail(res, 500, "the prompt's tokenization failed");
			goto out;
		}
		if (n <= 0 || n >= env.n_ctx) {
			snprintf(msg, sizeof(msg), n <= 0 ? "the prompt has no tokens" :
				 "the prompt has %d tokens, the context only %d", n, env.n_ctx);
			fail(res, 400, msg);
			goto out;
		}
	}
	struct out o = { .s = s, .q = &q, .kind = kind, .stream = q.stream && write,
			 .write = write, .ud = ud, .created = (long long)time(NULL), .res = res,
			 .lp = json_array() };
	unsigned long no = 0;
	status = slot_take(s, ids, n, keys, n_keys, &o.slot, &no);
	if (status) {
		snprintf(msg, sizeof(msg), status == 503 ? "the server is shutting down" :
			 "all %d slots are busy (waited %g s); try again later", s->n_slots,
			 s->slot_timeout);
		fail(res, status, msg);
		json_decref(o.lp);
		goto out;
	}
	snprintf(o.id, sizeof(o.id), "%s-%lx%lu", kind == SERVE_CHAT ? "chatcmpl" : "cmpl",
		 (unsigned long)o.created, no);
	o.old_ids = o.slot->ids;
	o.n_old = o.slot->n_ids;
	if (!o.lp)
		fail(res, 500, "out of memory");
	else if (kind == SERVE_CHAT)
		complete_chat(s, &q, keys, n_keys, &o, res);
	else
		complete_raw(s, ids, n, &q, &o, res);
	slot_give(s, o.slot);
	free(o.text);
	json_decref(o.lp);
out:
	free(ids);
	free(keys);
	serve_req_free(&q);
}

void serve_handle(struct serve *s, const char *method, const char *path, const char *body,
		  size_t len, serve_write_fn write, void *ud, struct serve_result *res)
{
	memset(res, 0, sizeof(*res));
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	int kind = route(path);
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
	} else if (kind >= 0) {
		if (post)
			completion(s, (enum serve_kind)kind, body ? body : "", body ? len : 0, write,
				   ud, res);
		else
			fail(res, 405, "use POST");
	} else {
		fail(res, 404, "unknown path");
	}
	if (!res->body && !res->status)
		fail(res, 500, "out of memory");
}
