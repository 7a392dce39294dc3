/* Conversations: turns, their tokens in the context, replies, undo,
 * regeneration and context shifting. See conversation.h. */
#include "conversation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "session.h"
#include "stopper.h"

struct cturn {
	struct conv_turn t;
	int32_t *ids; /* (t.n_tokens) its tokens while in the context */
};

/* A growable id array. */
struct idvec {
	int32_t *v;
	int n, cap;
};

struct conv {
	struct ctx *ctx;
	const struct vocab *v;
	struct template *tmpl;
	struct sampler *smp;
	struct stopper *stp;
	struct vocab_stream *vs;
	const atomic_bool *abort;

	char *system;
	char *in_prefix;
	char *postfix;
	int n_predict;
	char **tstops, **ustops; /* the template's and the user's stop strings */
	int n_tstops, n_ustops;

	struct cturn *turns;
	int n_turns, cap_turns;
	struct idvec head; /* BOS and the system block */
	struct idvec ids;  /* head + the tokens of every turn in the context */
	struct idvec kv;   /* what the KV cache holds, position by position */
	char err[512];
};

const char *conv_stop_reason_name(enum conv_stop_reason r)
{
	switch (r) {
	case CONV_STOP_EOG: return "end of turn";
	case CONV_STOP_STRING: return "stop string";
	case CONV_STOP_LIMIT: return "length limit";
	case CONV_STOP_USER: return "stopped";
	case CONV_STOP_CTX_FULL: return "context full";
	}
	return "?";
}

static int64_t conv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double conv_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int conv_fail(struct conv *c, int code, const char *fmt, const char *arg)
{
	snprintf(c->err, sizeof(c->err), fmt, arg ? arg : "");
	return code;
}

static int idvec_push(struct idvec *a, const int32_t *ids, int n)
{
	if (n <= 0)
		return 0;
	if (a->n + n > a->cap) {
		int cap = a->cap ? a->cap : 64;
		while (cap < a->n + n)
			cap *= 2;
		int32_t *v = realloc(a->v, (size_t)cap * sizeof(*v));
		if (!v)
			return LT_E_NOMEM;
		a->v = v;
		a->cap = cap;
	}
	memcpy(a->v + a->n, ids, (size_t)n * sizeof(*ids));
	a->n += n;
	return 0;
}

static char *conv_strdup(const char *s)
{
	return strdup(s ? s : "");
}

/* ---- tokenizing rendered text ---- */

/* Collects text of one kind and tokenizes it whenever the kind changes, so
 * adjacent template strings become one tokenizer call. */
struct tokb {
	const struct vocab *v;
	bool special; /* kind of the pending text */
	char *buf;
	size_t len, cap;
	struct idvec out;
	int rc;
};

static void tokb_flush(struct tokb *b)
{
	if (b->rc || b->len == 0)
		return;
	int n = vocab_tokenize(b->v, b->buf, b->len, false, b->special, NULL, 0);
	if (n < 0) {
		b->rc = n;
		return;
	}
	int32_t *tmp = malloc((size_t)(n ? n : 1) * sizeof(int32_t));
	if (!tmp) {
		b->rc = LT_E_NOMEM;
		return;
	}
	int m = vocab_tokenize(b->v, b->buf, b->len, false, b->special, tmp, n);
	b->rc = m < 0 ? m : idvec_push(&b->out, tmp, m);
	free(tmp);
	b->len = 0;
}

static void tokb_add(struct tokb *b, bool special, const char *text, size_t len)
{
	if (b->rc || len == 0)
		return;
	if (b->len && special != b->special)
		tokb_flush(b);
	b->special = special;
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + len + 1)
			cap *= 2;
		char *p = realloc(b->buf, cap);
		if (!p) {
			b->rc = LT_E_NOMEM;
			return;
		}
		b->buf = p;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, text, len);
	b->len += len;
}

static void tokb_tmpl(struct tokb *b, const char *s) { tokb_add(b, true, s, strlen(s)); }
static void tokb_text(struct tokb *b, const char *s) { tokb_add(b, false, s, strlen(s)); }

/* Finishes and hands over the ids (caller frees out->v). */
static int tokb_done(struct tokb *b, struct idvec *out)
{
	tokb_flush(b);
	free(b->buf);
	if (b->rc) {
		free(b->out.v);
		memset(out, 0, sizeof(*out));
		return b->rc;
	}
	*out = b->out;
	return 0;
}

/* ---- rendering ---- */

static const char *part(const struct conv *c, enum template_part p)
{
	return template_part(c->tmpl, p);
}

static void render_system_block(const struct conv *c, struct tokb *b)
{
	tokb_tmpl(b, part(c, TEMPLATE_SYSTEM_PREFIX));
	tokb_text(b, c->system);
	tokb_tmpl(b, part(c, TEMPLATE_SYSTEM_SUFFIX));
}

static int render_head(struct conv *c)
{
	struct tokb b = { .v = c->v };
	int32_t bos = vocab_bos(c->v);
	if (template_bos(c->tmpl) && vocab_add_bos(c->v) && bos != VOCAB_TOKEN_NULL)
		idvec_push(&b.out, &bos, 1);
	if (c->system[0] && !template_system_in_user(c->tmpl))
		render_system_block(c, &b);
	free(c->head.v);
	return tokb_done(&b, &c->head);
}

/* A user turn up to the reply prompt (assistant_prefix without its
 * trailing spaces: the model's first token brings its own space). */
static int render_user(const struct conv *c, const char *text, bool first, struct idvec *out)
{
	struct tokb b = { .v = c->v };
	tokb_tmpl(&b, part(c, TEMPLATE_USER_PREFIX));
	if (first && template_system_in_user(c->tmpl) && c->system[0])
		render_system_block(c, &b);
	tokb_tmpl(&b, c->in_prefix);
	tokb_text(&b, text);
	tokb_tmpl(&b, c->postfix);
	tokb_tmpl(&b, part(c, TEMPLATE_USER_SUFFIX));
	const char *ap = part(c, TEMPLATE_ASSISTANT_PREFIX);
	size_t n = strlen(ap);
	while (n && ap[n - 1] == ' ')
		n--;
	tokb_add(&b, true, ap, n);
	return tokb_done(&b, out);
}

/* A past reply from its text (when the context is rebuilt). */
static int render_reply(const struct conv *c, const char *text, struct idvec *out)
{
	struct tokb b = { .v = c->v };
	/* The tokenizer puts its own space before the text. */
	if (vocab_add_space_prefix(c->v) && text[0] == ' ')
		text++;
	tokb_text(&b, text);
	tokb_tmpl(&b, part(c, TEMPLATE_ASSISTANT_SUFFIX));
	return tokb_done(&b, out);
}

static int render_suffix(const struct conv *c, struct idvec *out)
{
	struct tokb b = { .v = c->v };
	tokb_tmpl(&b, part(c, TEMPLATE_ASSISTANT_SUFFIX));
	return tokb_done(&b, out);
}

/* Rebuilds ids from the head and the turns in the context. */
static int compose(struct conv *c)
{
	c->ids.n = 0;
	int rc = idvec_push(&c->ids, c->head.v, c->head.n);
	for (int i = 0; rc == 0 && i < c->n_turns; i++)
		if (c->turns[i].t.flags & CONV_TURN_IN_CTX)
			rc = idvec_push(&c->ids, c->turns[i].ids, c->turns[i].t.n_tokens);
	return rc;
}

/* Index of the first user turn in the context, or -1. */
static int first_user_in_ctx(const struct conv *c)
{
	for (int i = 0; i < c->n_turns; i++)
		if ((c->turns[i].t.flags & CONV_TURN_IN_CTX) && c->turns[i].t.role == CONV_ROLE_USER)
			return i;
	return -1;
}

static void turn_set_ids(struct cturn *t, struct idvec *ids)
{
	free(t->ids);
	t->ids = ids->v;
	t->t.n_tokens = ids->n;
	ids->v = NULL;
}

/* Templates that carry the system prompt in the first user turn need that
 * turn rendered again when it changes (shift, new system prompt). */
static int rerender_first_user(struct conv *c)
{
	if (!template_system_in_user(c->tmpl))
		return 0;
	int i = first_user_in_ctx(c);
	if (i < 0)
		return 0;
	struct idvec ids;
	int rc = render_user(c, c->turns[i].t.text, true, &ids);
	if (rc == 0)
		turn_set_ids(&c->turns[i], &ids);
	return rc;
}

/* ---- keeping the KV cache in line ---- */

/* Evaluates what ids has beyond the cached common prefix. With
 * need_logits the last token is evaluated even when it is cached, so
 * sampling can start. Returns 0 or a ctx error (message in c->err). */
static int sync_kv(struct conv *c, bool need_logits, int *n_eval)
{
	int common = 0;
	while (common < c->kv.n && common < c->ids.n && c->kv.v[common] == c->ids.v[common])
		common++;
	if (need_logits && common == c->ids.n && common > 0)
		common--;
	if (n_eval)
		*n_eval = 0;
	if (common < ctx_n_past(c->ctx)) {
		int rc = ctx_truncate(c->ctx, common);
		if (rc)
			return conv_fail(c, rc, "%s", ctx_error(c->ctx));
	}
	c->kv.n = common;
	if (common == c->ids.n)
		return 0;
	if (c->ids.n > ctx_n_ctx(c->ctx))
		return conv_fail(c, LT_E_FULL, "%s", "the conversation does not fit in the context");
	int n = c->ids.n - common;
	int rc = ctx_eval(c->ctx, c->ids.v + common, n, common, false);
	int past = ctx_n_past(c->ctx);
	if (past > c->ids.n)
		past = c->ids.n;
	c->kv.n = 0;
	idvec_push(&c->kv, c->ids.v, past);
	if (n_eval)
		*n_eval = past - common;
	if (rc)
		return conv_fail(c, rc, "%s", ctx_error(c->ctx));
	return 0;
}

/* Final evaluations (closing a reply, undo) must not be cut short by a
 * stop request that already did its job. */
static int sync_kv_unabortable(struct conv *c, bool need_logits)
{
	ctx_set_abort(c->ctx, NULL);
	int rc = sync_kv(c, need_logits, NULL);
	ctx_set_abort(c->ctx, c->abort);
	return rc;
}

/* ---- context shift ---- */

/* Drops the oldest exchanges before turn `keep_from` until `need` more
 * tokens fit and (when possible) at most half the context is used. */
static int shift(struct conv *c, int keep_from, int need, const struct conv_callbacks *cb)
{
	int n_ctx = ctx_n_ctx(c->ctx);
	if (c->ids.n + need <= n_ctx)
		return 0;
	int before = c->ids.n, dropped_turns = 0;
	char first[64] = "";
	for (int i = 0; i < keep_from; i++) {
		struct cturn *t = &c->turns[i];
		if (!(t->t.flags & CONV_TURN_IN_CTX))
			continue;
		bool enough = c->ids.n + need <= n_ctx && c->ids.n <= n_ctx / 2;
		/* Stop only between exchanges, never between a question and its answer. */
		if (enough && t->t.role == CONV_ROLE_USER)
			break;
		if (!first[0])
			snprintf(first, sizeof(first), "%.40s%s", t->t.text,
				 strlen(t->t.text) > 40 ? "..." : "");
		c->ids.n -= t->t.n_tokens;
		free(t->ids);
		t->ids = NULL;
		t->t.n_tokens = 0;
		t->t.flags &= ~CONV_TURN_IN_CTX;
		dropped_turns++;
	}
	if (!dropped_turns)
		return 0;
	int rc = rerender_first_user(c);
	if (rc == 0)
		rc = compose(c);
	if (rc)
		return conv_fail(c, rc, "%s", "out of memory");
	if (cb && cb->on_shift) {
		char what[160];
		snprintf(what, sizeof(what), "context full: dropped the %d oldest turn%s (from \"%s\")",
			 dropped_turns, dropped_turns == 1 ? "" : "s", first);
		cb->on_shift(cb->ud, before - c->ids.n, c->ids.n, what);
	}
	return 0;
}

/* ---- turns ---- */

static struct cturn *turn_append(struct conv *c, enum conv_role role, const char *text)
{
	if (c->n_turns == c->cap_turns) {
		int cap = c->cap_turns ? c->cap_turns * 2 : 16;
		struct cturn *t = realloc(c->turns, (size_t)cap * sizeof(*t));
		if (!t)
			return NULL;
		c->turns = t;
		c->cap_turns = cap;
	}
	struct cturn *t = &c->turns[c->n_turns];
	memset(t, 0, sizeof(*t));
	t->t.text = conv_strdup(text);
	if (!t->t.text)
		return NULL;
	t->t.role = role;
	t->t.flags = CONV_TURN_IN_CTX;
	t->t.t_start = t->t.t_end = conv_now_ms();
	c->n_turns++;
	return t;
}

static void turn_drop_last(struct conv *c)
{
	struct cturn *t = &c->turns[--c->n_turns];
	free(t->t.text);
	free(t->ids);
}

/* ---- stop strings ---- */

static int rebuild_stopper(struct conv *c)
{
	int n = c->n_tstops + c->n_ustops;
	const char **all = calloc((size_t)(n ? n : 1), sizeof(char *));
	if (!all)
		return LT_E_NOMEM;
	for (int i = 0; i < c->n_tstops; i++)
		all[i] = c->tstops[i];
	for (int i = 0; i < c->n_ustops; i++)
		all[c->n_tstops + i] = c->ustops[i];
	struct stopper *st = stopper_new(all, n, c->err, sizeof(c->err));
	free(all);
	if (!st)
		return LT_E_INVAL;
	stopper_free(c->stp);
	c->stp = st;
	return 0;
}

static void list_free(char **l, int n)
{
	for (int i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

static int list_add(char ***l, int *n, const char *s)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp((*l)[i], s))
			return 0;
	char **g = realloc(*l, (size_t)(*n + 1) * sizeof(char *));
	if (!g)
		return LT_E_NOMEM;
	*l = g;
	if (!(g[*n] = strdup(s)))
		return LT_E_NOMEM;
	(*n)++;
	return 0;
}

static bool list_remove(char **l, int *n, const char *s)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(l[i], s)) {
			free(l[i]);
			memmove(l + i, l + i + 1, (size_t)(*n - i - 1) * sizeof(char *));
			(*n)--;
			return true;
		}
	return false;
}

static int take_template_stops(struct conv *c)
{
	list_free(c->tstops, c->n_tstops);
	c->tstops = NULL;
	c->n_tstops = 0;
	for (size_t i = 0; i < template_n_stops(c->tmpl); i++)
		if (list_add(&c->tstops, &c->n_tstops, template_stop(c->tmpl, i)))
			return LT_E_NOMEM;
	return 0;
}

/* ---- life cycle ---- */

int conv_new(struct conv **out, struct ctx *ctx, const struct vocab *v, struct template *tmpl,
	     const struct conv_params *p, char *err, size_t errlen)
{
	*out = NULL;
	struct conv *c = calloc(1, sizeof(*c));
	if (!c) {
		template_free(tmpl);
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	}
	c->ctx = ctx;
	c->v = v;
	c->tmpl = tmpl;
	c->n_predict = p->n_predict;
	c->system = conv_strdup(p->system ? p->system : template_default_system(tmpl));
	c->in_prefix = conv_strdup(p->in_prefix);
	c->postfix = conv_strdup(p->postfix ? p->postfix : template_part(tmpl, TEMPLATE_POSTFIX));
	int rc = (!c->system || !c->in_prefix || !c->postfix) ? LT_E_NOMEM : 0;
	if (rc == 0)
		rc = take_template_stops(c);
	for (int i = 0; rc == 0 && i < p->n_stops; i++) {
		if (!p->stops[i][0])
			rc = lt_seterr(err, errlen, LT_E_INVAL, "empty stop string");
		else
			rc = list_add(&c->ustops, &c->n_ustops, p->stops[i]);
	}
	if (rc == 0 && (rc = rebuild_stopper(c)) != 0)
		lt_seterr(err, errlen, rc, "%s", c->err);
	if (rc == 0) {
		c->smp = sampler_new(&p->sampling, ctx_n_vocab(ctx), err, errlen);
		if (!c->smp)
			rc = LT_E_INVAL;
	}
	if (rc == 0 && vocab_stream_new(&c->vs, v, 0))
		rc = LT_E_NOMEM;
	if (rc == 0)
		rc = render_head(c);
	if (rc == 0)
		rc = compose(c);
	if (rc) {
		if (rc == LT_E_NOMEM)
			lt_seterr(err, errlen, rc, "out of memory");
		conv_free(c);
		return rc;
	}
	/* Whatever the context held belongs to someone else. */
	ctx_truncate(ctx, 0);
	*out = c;
	return 0;
}

void conv_free(struct conv *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->n_turns; i++) {
		free(c->turns[i].t.text);
		free(c->turns[i].ids);
	}
	free(c->turns);
	free(c->head.v);
	free(c->ids.v);
	free(c->kv.v);
	list_free(c->tstops, c->n_tstops);
	list_free(c->ustops, c->n_ustops);
	free(c->system);
	free(c->in_prefix);
	free(c->postfix);
	vocab_stream_free(c->vs);
	stopper_free(c->stp);
	sampler_free(c->smp);
	template_free(c->tmpl);
	free(c);
}

void conv_set_abort(struct conv *c, const atomic_bool *flag)
{
	c->abort = flag;
	ctx_set_abort(c->ctx, flag);
}

static bool aborted(const struct conv *c)
{
	return c->abort && atomic_load(c->abort);
}

/* ---- generation ---- */

/* Closes the reply in the last turn: keeps the sampled tokens that lie
 * before a stop string, appends assistant_suffix and evaluates. */
static int finish_reply(struct conv *c, struct cturn *t, int n_gen, const int *cum_bytes,
			size_t shown, bool hit, const struct conv_callbacks *cb)
{
	int keep = n_gen;
	if (hit)
		while (keep > 0 && (size_t)cum_bytes[keep - 1] > shown)
			keep--;
	c->ids.n -= n_gen - keep;
	t->t.n_tokens = keep;
	struct idvec sfx;
	int rc = render_suffix(c, &sfx);
	if (rc)
		return conv_fail(c, rc, "%s", "cannot tokenize the assistant suffix");
	int n_ctx = ctx_n_ctx(c->ctx);
	if (c->ids.n + sfx.n > n_ctx)
		shift(c, c->n_turns - 2, sfx.n, cb);
	/* A reply that fills the context alone loses its last tokens (not its text). */
	int over = c->ids.n + sfx.n - n_ctx;
	if (over > 0) {
		int cut = over < t->t.n_tokens ? over : t->t.n_tokens;
		t->t.n_tokens -= cut;
		c->ids.n -= cut;
	}
	struct idvec all = { .v = t->ids, .n = t->t.n_tokens, .cap = n_gen };
	rc = idvec_push(&all, sfx.v, sfx.n);
	t->ids = all.v;
	if (rc == 0) {
		t->t.n_tokens = all.n;
		for (int i = 0; i < sfx.n; i++)
			sampler_accept(c->smp, sfx.v[i]);
		rc = compose(c);
	}
	free(sfx.v);
	if (rc)
		return conv_fail(c, rc, "%s", "out of memory");
	t->t.t_end = conv_now_ms();
	return sync_kv_unabortable(c, false);
}

/* Appends text to the reply turn and shows it. */
static int reply_text(struct cturn *t, size_t *len, size_t *cap, const char *s, size_t n,
		      const struct conv_callbacks *cb)
{
	if (!n)
		return 0;
	if (*len + n + 1 > *cap) {
		size_t nc = *cap ? *cap : 256;
		while (nc < *len + n + 1)
			nc *= 2;
		char *p = realloc(t->t.text, nc);
		if (!p)
			return LT_E_NOMEM;
		t->t.text = p;
		*cap = nc;
	}
	memcpy(t->t.text + *len, s, n);
	*len += n;
	t->t.text[*len] = '\0';
	if (cb && cb->on_text)
		cb->on_text(cb->ud, s, n);
	return 0;
}

/* Generates a reply to the user turn that ends the context. */
static int generate(struct conv *c, const struct conv_callbacks *cb, struct conv_reply *r)
{
	double t0 = conv_mono();
	int n_eval = 0;
	int rc = sync_kv(c, true, &n_eval);
	r->n_prompt = n_eval;
	r->t_prompt = conv_mono() - t0;
	if (rc)
		return rc;
	struct cturn *t = turn_append(c, CONV_ROLE_ASSISTANT, "");
	if (!t)
		return conv_fail(c, LT_E_NOMEM, "%s", "out of memory");
	int idx = c->n_turns - 1;
	if (cb && cb->on_turn)
		cb->on_turn(cb->ud, idx, &t->t);
	stopper_reset(c->stp);
	vocab_stream_reset(c->vs);
	size_t len = 0, cap = 1;
	int n_gen = 0, cap_gen = 0, raw = 0;
	int *cum = NULL;
	bool hit = false;
	enum conv_stop_reason reason = CONV_STOP_EOG;
	int n_ctx = ctx_n_ctx(c->ctx);
	t0 = conv_mono();
	for (;;) {
		if (aborted(c)) {
			reason = CONV_STOP_USER;
			break;
		}
		if (c->n_predict >= 0 && n_gen >= c->n_predict) {
			reason = CONV_STOP_LIMIT;
			break;
		}
		const float *logits = ctx_logits(c->ctx, -1);
		if (!logits) {
			rc = conv_fail(c, LT_E_INVAL, "%s", "no logits to sample from");
			break;
		}
		int32_t tok = sampler_sample(c->smp, logits);
		if (tok < 0) {
			rc = conv_fail(c, tok, "%s", "sampling failed");
			break;
		}
		if (vocab_is_eog(c->v, tok))
			break;
		sampler_accept(c->smp, tok);
		if (n_gen == cap_gen) {
			cap_gen = cap_gen ? cap_gen * 2 : 64;
			int *g = realloc(cum, (size_t)cap_gen * sizeof(int));
			if (!g) {
				rc = conv_fail(c, LT_E_NOMEM, "%s", "out of memory");
				break;
			}
			cum = g;
		}
		struct idvec tv = { .v = t->ids, .n = t->t.n_tokens, .cap = t->t.n_tokens };
		if (idvec_push(&tv, &tok, 1) || idvec_push(&c->ids, &tok, 1)) {
			t->ids = tv.v;
			rc = conv_fail(c, LT_E_NOMEM, "%s", "out of memory");
			break;
		}
		t->ids = tv.v;
		t->t.n_tokens = tv.n;
		int pl = vocab_token_to_piece(c->v, tok, NULL, 0, false);
		raw += pl > 0 ? pl : 0;
		cum[n_gen++] = raw;
		const char *piece, *out;
		size_t plen, olen;
		if ((rc = vocab_stream_push(c->vs, tok, &piece, &plen)) != 0) {
			conv_fail(c, rc, "%s", "detokenizing failed");
			break;
		}
		int st = stopper_feed(c->stp, piece, plen, &out, &olen);
		if (reply_text(t, &len, &cap, out, olen, cb)) {
			rc = conv_fail(c, LT_E_NOMEM, "%s", "out of memory");
			break;
		}
		if (st == STOPPER_HIT) {
			hit = true;
			reason = CONV_STOP_STRING;
			break;
		}
		if (c->ids.n > n_ctx) {
			shift(c, idx - 1, 0, cb);
			if (c->ids.n > n_ctx) {
				reason = CONV_STOP_CTX_FULL;
				break;
			}
		}
		rc = sync_kv(c, true, NULL);
		if (rc == LT_E_ABORTED) {
			rc = 0;
			reason = CONV_STOP_USER;
			break;
		}
		if (rc)
			break;
	}
	r->t_gen = conv_mono() - t0;
	r->n_gen = n_gen;
	if (!hit) {
		const char *tail, *out;
		size_t tlen, olen;
		if (vocab_stream_flush(c->vs, &tail, &tlen) == 0 && tlen &&
		    stopper_feed(c->stp, tail, tlen, &out, &olen) >= 0)
			reply_text(t, &len, &cap, out, olen, cb);
		if (stopper_hit(c->stp)) {
			hit = true;
			reason = CONV_STOP_STRING;
		} else {
			stopper_flush(c->stp, &out, &olen);
			reply_text(t, &len, &cap, out, olen, cb);
		}
	}
	r->reason = reason;
	r->stop = hit ? stopper_hit(c->stp) : NULL;
	if (reason == CONV_STOP_USER || reason == CONV_STOP_LIMIT || reason == CONV_STOP_CTX_FULL)
		t->t.flags |= CONV_TURN_PARTIAL;
	int rc2 = finish_reply(c, t, n_gen, cum, len, hit, cb);
	free(cum);
	return rc ? rc : rc2;
}

int conv_send(struct conv *c, const char *text, const struct conv_callbacks *cb,
	      struct conv_reply *r)
{
	struct conv_reply dummy;
	if (!r)
		r = &dummy;
	memset(r, 0, sizeof(*r));
	c->err[0] = '\0';
	struct idvec ids;
	int rc = render_user(c, text, first_user_in_ctx(c) < 0, &ids);
	if (rc)
		return conv_fail(c, rc, "%s", "cannot tokenize the message");
	struct cturn *t = turn_append(c, CONV_ROLE_USER, text);
	if (!t) {
		free(ids.v);
		return conv_fail(c, LT_E_NOMEM, "%s", "out of memory");
	}
	turn_set_ids(t, &ids);
	int n_ctx = ctx_n_ctx(c->ctx);
	/* Keep room for a reply of a reasonable length. */
	int room = n_ctx / 8 > 1 ? n_ctx / 8 : 1;
	if ((rc = compose(c)) == 0)
		rc = shift(c, c->n_turns - 1, room, cb);
	if (rc == 0 && c->ids.n + 1 > n_ctx) {
		int need = t->t.n_tokens;
		turn_drop_last(c);
		compose(c);
		snprintf(c->err, sizeof(c->err),
			 "the message needs %d tokens; the context holds %d (-c)", need, n_ctx);
		return LT_E_FULL;
	}
	if (rc)
		return rc;
	for (int i = 0; i < t->t.n_tokens; i++)
		sampler_accept(c->smp, t->ids[i]);
	if (cb && cb->on_turn)
		cb->on_turn(cb->ud, c->n_turns - 1, &t->t);
	return generate(c, cb, r);
}

int conv_regenerate(struct conv *c, const struct conv_callbacks *cb, struct conv_reply *r)
{
	struct conv_reply dummy;
	if (!r)
		r = &dummy;
	memset(r, 0, sizeof(*r));
	c->err[0] = '\0';
	if (c->n_turns == 0)
		return conv_fail(c, LT_E_INVAL, "%s", "nothing to regenerate");
	if (c->turns[c->n_turns - 1].t.role == CONV_ROLE_ASSISTANT)
		turn_drop_last(c);
	if (c->n_turns == 0 || !(c->turns[c->n_turns - 1].t.flags & CONV_TURN_IN_CTX))
		return conv_fail(c, LT_E_INVAL, "%s", "nothing to regenerate");
	int rc = compose(c);
	if (rc)
		return conv_fail(c, rc, "%s", "out of memory");
	return generate(c, cb, r);
}

int conv_undo(struct conv *c)
{
	c->err[0] = '\0';
	if (c->n_turns == 0)
		return conv_fail(c, LT_E_INVAL, "%s", "nothing to undo");
	if (c->turns[c->n_turns - 1].t.role == CONV_ROLE_ASSISTANT)
		turn_drop_last(c);
	if (c->n_turns > 0 && c->turns[c->n_turns - 1].t.role == CONV_ROLE_USER)
		turn_drop_last(c);
	int rc = compose(c);
	if (rc)
		return conv_fail(c, rc, "%s", "out of memory");
	/* Only a truncation: the remaining ids are a prefix of the cache. */
	return sync_kv_unabortable(c, false);
}

int conv_clear(struct conv *c)
{
	c->err[0] = '\0';
	while (c->n_turns)
		turn_drop_last(c);
	int rc = compose(c);
	if (rc)
		return conv_fail(c, rc, "%s", "out of memory");
	return sync_kv_unabortable(c, false);
}

/* Renders every turn again from its text, keeping the newest that fit in
 * three quarters of the context, and evaluates. */
static int rebuild(struct conv *c)
{
	int rc = render_head(c);
	if (rc)
		return conv_fail(c, rc, "%s", "cannot tokenize the system prompt");
	int budget = ctx_n_ctx(c->ctx) * 3 / 4 - c->head.n;
	int start = c->n_turns;
	/* Whole exchanges from the newest backwards. */
	for (int i = c->n_turns - 1; i >= 0; i--) {
		struct cturn *t = &c->turns[i];
		struct idvec ids;
		free(t->ids);
		t->ids = NULL;
		t->t.n_tokens = 0;
		t->t.flags &= ~CONV_TURN_IN_CTX;
		if (budget <= 0)
			continue;
		if (t->t.role == CONV_ROLE_USER)
			rc = render_user(c, t->t.text, false, &ids);
		else
			rc = render_reply(c, t->t.text, &ids);
		if (rc)
			return conv_fail(c, rc, "%s", "cannot tokenize the transcript");
		if (ids.n > budget) {
			free(ids.v);
			budget = 0;
			continue;
		}
		budget -= ids.n;
		turn_set_ids(t, &ids);
		t->t.flags |= CONV_TURN_IN_CTX;
		start = i;
	}
	/* The context must start with a question, not an answer. */
	if (start < c->n_turns && c->turns[start].t.role == CONV_ROLE_ASSISTANT) {
		struct cturn *t = &c->turns[start];
		free(t->ids);
		t->ids = NULL;
		t->t.n_tokens = 0;
		t->t.flags &= ~CONV_TURN_IN_CTX;
	}
	rc = rerender_first_user(c);
	if (rc == 0)
		rc = compose(c);
	if (rc)
		return conv_fail(c, rc, "%s", "out of memory");
	return sync_kv_unabortable(c, false);
}

int conv_set_system(struct conv *c, const char *system)
{
	char *s = conv_strdup(system ? system : template_default_system(c->tmpl));
	if (!s)
		return conv_fail(c, LT_E_NOMEM, "%s", "out of memory");
	free(c->system);
	c->system = s;
	int rc = render_head(c);
	if (rc == 0)
		rc = rerender_first_user(c);
	if (rc == 0)
		rc = compose(c);
	if (rc)
		return conv_fail(c, rc, "%s", "cannot tokenize the system prompt");
	if (c->ids.n > ctx_n_ctx(c->ctx))
		return rebuild(c);
	return sync_kv_unabortable(c, false);
}

int conv_set_template(struct conv *c, struct template *tmpl)
{
	bool default_postfix = !strcmp(c->postfix, template_part(c->tmpl, TEMPLATE_POSTFIX));
	template_free(c->tmpl);
	c->tmpl = tmpl;
	if (default_postfix) {
		char *p = conv_strdup(template_part(tmpl, TEMPLATE_POSTFIX));
		if (p) {
			free(c->postfix);
			c->postfix = p;
		}
	}
	int rc = take_template_stops(c);
	if (rc == 0)
		rc = rebuild_stopper(c);
	if (rc)
		return rc;
	return rebuild(c);
}

int conv_set_postfix(struct conv *c, const char *postfix)
{
	char *p = conv_strdup(postfix);
	if (!p)
		return LT_E_NOMEM;
	free(c->postfix);
	c->postfix = p;
	return 0;
}

int conv_set_in_prefix(struct conv *c, const char *in_prefix)
{
	char *p = conv_strdup(in_prefix);
	if (!p)
		return LT_E_NOMEM;
	free(c->in_prefix);
	c->in_prefix = p;
	return 0;
}

int conv_set_sampling(struct conv *c, const struct sampler_params *p)
{
	return sampler_set_params(c->smp, p, c->err, sizeof(c->err));
}

const struct sampler_params *conv_sampling(const struct conv *c) { return sampler_get_params(c->smp); }
void conv_set_n_predict(struct conv *c, int n_predict) { c->n_predict = n_predict; }
int conv_n_predict(const struct conv *c) { return c->n_predict; }

int conv_stop_add(struct conv *c, const char *stop)
{
	if (!stop || !stop[0])
		return conv_fail(c, LT_E_INVAL, "%s", "empty stop string");
	int rc = stopper_add(c->stp, stop, c->err, sizeof(c->err));
	if (rc == 0)
		rc = list_add(&c->ustops, &c->n_ustops, stop);
	return rc;
}

int conv_stop_remove(struct conv *c, const char *stop)
{
	bool found = list_remove(c->ustops, &c->n_ustops, stop);
	found |= list_remove(c->tstops, &c->n_tstops, stop);
	if (!found)
		return conv_fail(c, LT_E_NOTFOUND, "no stop string '%s'", stop);
	stopper_remove(c->stp, stop);
	return 0;
}

int conv_stops(const struct conv *c, const char *const **out) { return stopper_list(c->stp, out); }
int conv_n_turns(const struct conv *c) { return c->n_turns; }

const struct conv_turn *conv_turn(const struct conv *c, int i)
{
	return i >= 0 && i < c->n_turns ? &c->turns[i].t : NULL;
}

const char *conv_system(const struct conv *c) { return c->system; }
const char *conv_in_prefix(const struct conv *c) { return c->in_prefix; }
const char *conv_postfix(const struct conv *c) { return c->postfix; }
const struct template *conv_template(const struct conv *c) { return c->tmpl; }
const int32_t *conv_ids(const struct conv *c) { return c->ids.v; }
int conv_n_ids(const struct conv *c) { return c->ids.n; }
int conv_n_ctx(const struct conv *c) { return ctx_n_ctx(c->ctx); }
const char *conv_error(const struct conv *c) { return c->err; }

/* ---- sessions ---- */

static void *memdup(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);
	if (q && n)
		memcpy(q, p, n);
	return q;
}

int conv_snapshot(const struct conv *c, struct session_data *d)
{
	memset(d, 0, sizeof(*d));
	d->template_name = conv_strdup(template_name(c->tmpl));
	d->system = conv_strdup(c->system);
	d->in_prefix = conv_strdup(c->in_prefix);
	d->postfix = conv_strdup(c->postfix);
	d->n_ctx = (uint32_t)ctx_n_ctx(c->ctx);
	d->sampling = *sampler_get_params(c->smp);
	d->n_predict = c->n_predict;
	d->stops = calloc((size_t)c->n_ustops + 1, sizeof(char *));
	d->turns = calloc((size_t)c->n_turns + 1, sizeof(*d->turns));
	bool ok = d->template_name && d->system && d->in_prefix && d->postfix && d->stops && d->turns;
	for (int i = 0; ok && i < c->n_ustops; i++, d->n_stops++)
		ok = (d->stops[i] = strdup(c->ustops[i])) != NULL;
	for (int i = 0; ok && i < c->n_turns; i++, d->n_turns++) {
		const struct conv_turn *t = &c->turns[i].t;
		d->turns[i] = (struct session_turn){ .role = (uint8_t)t->role, .flags = (uint8_t)t->flags,
						     .n_tokens = t->n_tokens, .t_start = t->t_start,
						     .t_end = t->t_end, .text = strdup(t->text) };
		ok = d->turns[i].text != NULL;
	}
	/* The cache is only worth saving when it holds exactly the ids. */
	bool synced = c->kv.n == c->ids.n && ctx_n_past(c->ctx) == c->ids.n &&
		      !memcmp(c->kv.v, c->ids.v, (size_t)c->ids.n * sizeof(int32_t));
	if (ok && synced) {
		d->n_head = c->head.n;
		d->n_ids = c->ids.n;
		d->ids = memdup(c->ids.v, (size_t)c->ids.n * sizeof(int32_t));
		d->sampler_state_len = sampler_state_size(c->smp);
		d->sampler_state = malloc(d->sampler_state_len);
		d->kv_len = ctx_state_size(c->ctx);
		d->kv = malloc(d->kv_len ? d->kv_len : 1);
		ok = d->ids && d->sampler_state && d->kv &&
		     sampler_state_save(c->smp, d->sampler_state, d->sampler_state_len) == 0 &&
		     ctx_state_save(c->ctx, d->kv, d->kv_len) == 0;
		d->has_ctx = d->has_sampler = d->has_kv = ok;
	}
	if (!ok) {
		session_data_free(d);
		return LT_E_NOMEM;
	}
	return 0;
}

/* Takes the saved ids and KV cache as they are. */
static int restore_kv(struct conv *c, const struct session_data *d)
{
	if (!d->has_ctx || !d->has_kv || d->n_ids > ctx_n_ctx(c->ctx))
		return LT_E_FORMAT;
	for (int i = 0; i < d->n_ids; i++)
		if (d->ids[i] >= ctx_n_vocab(c->ctx))
			return LT_E_FORMAT;
	if (ctx_state_load(c->ctx, d->kv, d->kv_len) != 0 || ctx_n_past(c->ctx) != d->n_ids) {
		ctx_truncate(c->ctx, 0);
		return LT_E_FORMAT;
	}
	c->head.n = 0;
	int rc = idvec_push(&c->head, d->ids, d->n_head);
	int pos = d->n_head;
	for (int i = 0; rc == 0 && i < c->n_turns; i++) {
		struct cturn *t = &c->turns[i];
		if (!(t->t.flags & CONV_TURN_IN_CTX))
			continue;
		struct idvec v = { 0 };
		rc = idvec_push(&v, d->ids + pos, t->t.n_tokens);
		t->ids = v.v;
		pos += t->t.n_tokens;
	}
	if (rc == 0)
		rc = compose(c);
	c->kv.n = 0;
	if (rc == 0)
		rc = idvec_push(&c->kv, c->ids.v, c->ids.n);
	if (d->has_sampler)
		sampler_state_load(c->smp, d->sampler_state, d->sampler_state_len, NULL, 0);
	return rc;
}

int conv_restore(struct conv *c, const struct session_data *d, bool use_kv, bool *kv_restored)
{
	bool dummy;
	if (!kv_restored)
		kv_restored = &dummy;
	*kv_restored = false;
	c->err[0] = '\0';
	while (c->n_turns)
		turn_drop_last(c);
	free(c->system);
	free(c->in_prefix);
	free(c->postfix);
	c->system = conv_strdup(d->system);
	c->in_prefix = conv_strdup(d->in_prefix);
	c->postfix = conv_strdup(d->postfix);
	if (!c->system || !c->in_prefix || !c->postfix)
		return conv_fail(c, LT_E_NOMEM, "%s", "out of memory");
	sampler_set_params(c->smp, &d->sampling, NULL, 0);
	c->n_predict = d->n_predict;
	list_free(c->ustops, c->n_ustops);
	c->ustops = NULL;
	c->n_ustops = 0;
	for (int i = 0; i < d->n_stops; i++)
		list_add(&c->ustops, &c->n_ustops, d->stops[i]);
	take_template_stops(c);
	if (rebuild_stopper(c))
		return LT_E_INVAL;
	for (int i = 0; i < d->n_turns; i++) {
		const struct session_turn *st = &d->turns[i];
		struct cturn *t = turn_append(c, st->role ? CONV_ROLE_ASSISTANT : CONV_ROLE_USER,
					      st->text);
		if (!t)
			return conv_fail(c, LT_E_NOMEM, "%s", "out of memory");
		t->t.flags = st->flags;
		t->t.n_tokens = (st->flags & CONV_TURN_IN_CTX) ? st->n_tokens : 0;
		t->t.t_start = st->t_start;
		t->t.t_end = st->t_end;
	}
	if (use_kv && restore_kv(c, d) == 0) {
		*kv_restored = true;
		return 0;
	}
	return rebuild(c);
}
