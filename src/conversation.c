/* Conversations: turns, replies, undo, regeneration, settings and
 * sessions. The tokens in the context (rendering, KV sync, shifting,
 * rebuilding) are in conversation_ctx.c. See conversation.h. */
#include "conversation_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "session.h"

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

int64_t conv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double conv_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *conv_strdup(const char *s)
{
	return strdup(s ? s : "");
}

/* ---- turns ---- */

struct cturn *conv_turn_append(struct conv *c, enum conv_role role, const char *text)
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
	t->t.reasoning = strdup("");
	if (!t->t.text || !t->t.reasoning) {
		free(t->t.text);
		free(t->t.reasoning);
		return NULL;
	}
	t->prefill = CONV_PREFILL_NONE;
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
	free(t->t.reasoning);
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
	struct stopper *st;
	int rc = stopper_new(&st, all, n, c->err, sizeof(c->err));
	free(all);
	if (rc < 0)
		return rc;
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

/* A splitter for the template's reasoning tags (none: all answer). A
 * template that cannot switch thinking off has it on. */
static int take_template_reasoning(struct conv *c)
{
	struct reasoning *rs;
	int rc = reasoning_new(&rs, template_reasoning_start(c->tmpl),
			       template_reasoning_end(c->tmpl));
	if (rc < 0)
		return rc;
	reasoning_free(c->rs);
	c->rs = rs;
	if (!template_can_switch_thinking(c->tmpl))
		c->thinking = true;
	return 0;
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

/* The head (BOS and system block) stays in the context for good, so it
 * may take at most half of it; a longer system prompt is refused whole
 * rather than cut. */
static int head_check(struct conv *c)
{
	int n_ctx = conv_n_ctx(c);
	if (!c->ctx || c->head.n <= n_ctx / 2)
		return 0;
	snprintf(c->err, sizeof(c->err),
		 "the system prompt needs %d tokens; at most %d fit (half of the %d-token context, -c)",
		 c->head.n, n_ctx / 2, n_ctx);
	return LT_E_FULL;
}

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
	c->thinking = true;
	c->system = conv_strdup(p->system ? p->system : template_default_system(tmpl));
	c->system_set = p->system != NULL;
	c->in_prefix = conv_strdup(p->in_prefix);
	c->postfix = conv_strdup(p->postfix ? p->postfix : template_part(tmpl, TEMPLATE_POSTFIX));
	int rc = (!c->system || !c->in_prefix || !c->postfix) ? LT_E_NOMEM : 0;
	if (rc == 0)
		rc = take_template_stops(c);
	if (rc == 0)
		rc = take_template_reasoning(c);
	for (int i = 0; rc == 0 && i < p->n_stops; i++) {
		if (!p->stops[i][0])
			rc = lt_seterr(err, errlen, LT_E_INVAL, "empty stop string");
		else
			rc = list_add(&c->ustops, &c->n_ustops, p->stops[i]);
	}
	if (rc == 0 && (rc = rebuild_stopper(c)) != 0)
		lt_seterr(err, errlen, rc, "%s", c->err);
	if (rc == 0)
		rc = sampler_new(&c->smp, &p->sampling, ctx ? ctx_n_vocab(ctx) : 1, err, errlen);
	if (rc == 0 && v && vocab_stream_new(&c->vs, v, 0))
		rc = LT_E_NOMEM;
	if (rc == 0)
		rc = conv_render_head(c);
	if (rc == 0 && (rc = head_check(c)) != 0)
		lt_seterr(err, errlen, rc, "%s", c->err);
	if (rc == 0)
		rc = conv_compose(c);
	if (rc) {
		if (rc == LT_E_NOMEM)
			lt_seterr(err, errlen, rc, "out of memory");
		conv_free(c);
		return rc;
	}
	/* Whatever the context held belongs to someone else, unless the
	 * caller says what it is. */
	int keep = ctx && p->kv_ids && p->n_kv_ids > 0 && p->n_kv_ids <= ctx_n_past(ctx) ? p->n_kv_ids : 0;
	if (ctx) {
		ctx_truncate(ctx, keep);
		keep = ctx_n_past(ctx); /* a sliding window may have started over */
	}
	if (keep > 0 && conv_idvec_push(&c->kv, p->kv_ids, keep)) {
		ctx_truncate(ctx, 0);
		conv_free(c);
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	}
	*out = c;
	return 0;
}

void conv_free(struct conv *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->n_turns; i++) {
		free(c->turns[i].t.text);
		free(c->turns[i].t.reasoning);
		free(c->turns[i].ids);
	}
	free(c->turns);
	reasoning_free(c->rs);
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
	if (c->ctx)
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
	int rc = conv_render_suffix(c, conv_idvec_last(&c->ids), &sfx);
	if (rc)
		return conv_fail(c, rc, "%s", "cannot tokenize the assistant suffix");
	int n_ctx = ctx_n_ctx(c->ctx);
	if (c->ids.n + sfx.n > n_ctx)
		conv_shift(c, c->n_turns - 2, sfx.n, cb);
	/* A reply that fills the context alone loses its last tokens (not its
	 * text); the suffix then follows another token. */
	int over = c->ids.n + sfx.n - n_ctx;
	if (over > 0) {
		int cut = over < t->t.n_tokens ? over : t->t.n_tokens;
		t->t.n_tokens -= cut;
		c->ids.n -= cut;
		free(sfx.v);
		if ((rc = conv_render_suffix(c, conv_idvec_last(&c->ids), &sfx)) != 0)
			return conv_fail(c, rc, "%s", "cannot tokenize the assistant suffix");
	}
	struct idvec all = { .v = t->ids, .n = t->t.n_tokens, .cap = n_gen };
	rc = conv_idvec_push(&all, sfx.v, sfx.n);
	t->ids = all.v;
	if (rc == 0) {
		t->t.n_tokens = all.n;
		for (int i = 0; i < sfx.n; i++)
			sampler_accept(c->smp, sfx.v[i]);
		rc = conv_compose(c);
	}
	free(sfx.v);
	if (rc)
		return conv_fail(c, rc, "%s", "out of memory");
	t->t.t_end = conv_now_ms();
	return conv_sync_kv_final(c);
}


static int grow_append(char **s, size_t *len, size_t *cap, const char *add, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = *cap > 1 ? *cap : 256;
		while (nc < *len + n + 1)
			nc *= 2;
		char *p = realloc(*s, nc);
		if (!p)
			return LT_E_NOMEM;
		*s = p;
		*cap = nc;
	}
	memcpy(*s + *len, add, n);
	*len += n;
	(*s)[*len] = '\0';
	return 0;
}

/* Receives the splitter's output: appends it to the turn and shows it. */
int conv_reply_emit(void *ud, enum reasoning_part part, const char *s, size_t n)
{
	struct reply_sink *k = ud;
	const struct conv_callbacks *cb = k->cb;
	if (part == REASONING_THOUGHT) {
		if (grow_append(&k->t->t.reasoning, &k->rlen, &k->rcap, s, n))
			return LT_E_NOMEM;
		if (cb && cb->on_reasoning)
			cb->on_reasoning(cb->ud, s, n, k->n_reasoning);
		return 0;
	}
	if (grow_append(&k->t->t.text, &k->len, &k->cap, s, n))
		return LT_E_NOMEM;
	if (cb && cb->on_text)
		cb->on_text(cb->ud, s, n);
	return 0;
}

/* Passes text released by the stop matcher on to the splitter; the token
 * that carried it counts as reasoning while the splitter is (or may be)
 * inside the block. */
int conv_reply_text(struct conv *c, struct reply_sink *k, const char *s, size_t n, bool token)
{
	bool was = reasoning_in_thought(c->rs);
	if (token && was)
		k->n_reasoning++;
	int rc = reasoning_feed(c->rs, s, n, conv_reply_emit, k);
	if (token && !was && reasoning_in_thought(c->rs))
		k->n_reasoning++;
	return rc;
}

/* The user turn a reply answers must end with the prefill that thinking
 * asks for now (a /think since it was rendered, a rebuild, a regenerate). */
static int prepare_prompt(struct conv *c)
{
	int i = c->n_turns - 1;
	if (i < 0 || c->turns[i].t.role != CONV_ROLE_USER)
		return 0;
	int want = conv_prefill_now(c);
	struct cturn *u = &c->turns[i];
	const char *have = u->prefill == CONV_PREFILL_NONE
				   ? ""
				   : template_prefill(c->tmpl, u->prefill == CONV_PREFILL_ON);
	if (!strcmp(have, template_prefill(c->tmpl, want == CONV_PREFILL_ON))) {
		u->prefill = want;
		return 0;
	}
	int rc = conv_rerender_user(c, i, want);
	if (rc == 0)
		rc = conv_compose(c);
	return rc;
}

/* Generates a reply to the user turn that ends the context. */
static int generate(struct conv *c, const struct conv_callbacks *cb, struct conv_reply *r)
{
	double t0 = conv_mono();
	int n_eval = 0;
	int rc = prepare_prompt(c);
	if (rc)
		return conv_fail(c, rc, "%s", "cannot tokenize the message");
	const struct cturn *u = &c->turns[c->n_turns - 1];
	bool opened = u->prefill != CONV_PREFILL_NONE &&
		      reasoning_opens(template_prefill(c->tmpl, u->prefill == CONV_PREFILL_ON),
				      template_reasoning_start(c->tmpl),
				      template_reasoning_end(c->tmpl));
	if (cb && cb->on_prompt) {
		int common = conv_kv_common(c);
		cb->on_prompt(cb->ud, c->ids.v + common, c->ids.n - common);
	}
	rc = conv_sync_kv(c, true, &n_eval);
	r->n_prompt = n_eval;
	r->t_prompt = conv_mono() - t0;
	if (rc)
		return rc;
	struct cturn *t = conv_turn_append(c, CONV_ROLE_ASSISTANT, "");
	if (!t)
		return conv_fail(c, LT_E_NOMEM, "%s", "out of memory");
	int idx = c->n_turns - 1;
	if (cb && cb->on_turn)
		cb->on_turn(cb->ud, idx, &t->t);
	stopper_reset(c->stp);
	vocab_stream_reset(c->vs);
	reasoning_reset(c->rs, opened);
	struct reply_sink sink = { .t = t, .cap = 1, .rcap = 1, .cb = cb };
	size_t shown = 0; /* bytes the stop matcher released, tags included */
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
		if (cb && cb->on_sample)
			cb->on_sample(cb->ud, tok, logits);
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
		if (conv_idvec_push(&tv, &tok, 1) || conv_idvec_push(&c->ids, &tok, 1)) {
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
		shown += olen;
		if (conv_reply_text(c, &sink, out, olen, true)) {
			rc = conv_fail(c, LT_E_NOMEM, "%s", "out of memory");
			break;
		}
		if (st == STOPPER_HIT) {
			hit = true;
			reason = CONV_STOP_STRING;
			break;
		}
		if (c->ids.n > n_ctx) {
			conv_shift(c, idx - 1, 0, cb);
			if (c->ids.n > n_ctx) {
				reason = CONV_STOP_CTX_FULL;
				break;
			}
		}
		rc = conv_sync_kv(c, true, NULL);
		if (rc == LT_E_ABORTED) {
			rc = 0;
			reason = CONV_STOP_USER;
			break;
		}
		if (rc)
			break;
		if (cb && cb->on_token)
			cb->on_token(cb->ud, n_gen, conv_mono() - t0, c->ids.n);
	}
	r->t_gen = conv_mono() - t0;
	r->n_gen = n_gen;
	if (!hit) {
		const char *tail, *out;
		size_t tlen, olen;
		if (vocab_stream_flush(c->vs, &tail, &tlen) == 0 && tlen &&
		    stopper_feed(c->stp, tail, tlen, &out, &olen) >= 0) {
			shown += olen;
			conv_reply_text(c, &sink, out, olen, false);
		}
		if (stopper_hit(c->stp)) {
			hit = true;
			reason = CONV_STOP_STRING;
		} else {
			stopper_flush(c->stp, &out, &olen);
			shown += olen;
			conv_reply_text(c, &sink, out, olen, false);
		}
	}
	reasoning_flush(c->rs, conv_reply_emit, &sink);
	t->t.n_reasoning = t->t.reasoning[0] ? sink.n_reasoning : 0;
	r->n_reasoning = t->t.n_reasoning;
	r->reason = reason;
	r->stop = hit ? stopper_hit(c->stp) : NULL;
	if (reason == CONV_STOP_USER || reason == CONV_STOP_LIMIT || reason == CONV_STOP_CTX_FULL)
		t->t.flags |= CONV_TURN_PARTIAL;
	int rc2 = finish_reply(c, t, n_gen, cum, shown, hit, cb);
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
	if (!c->ctx)
		return conv_remote_send(c, text, cb, r);
	struct idvec ids;
	int rc = conv_settle_last(c);
	int prefill = conv_prefill_now(c);
	if (rc == 0)
		rc = conv_render_user(c, text, conv_first_user_in_ctx(c) < 0, prefill,
				      conv_idvec_last(&c->ids), &ids);
	if (rc)
		return conv_fail(c, rc, "%s", "cannot tokenize the message");
	struct cturn *t = conv_turn_append(c, CONV_ROLE_USER, text);
	if (!t) {
		free(ids.v);
		return conv_fail(c, LT_E_NOMEM, "%s", "out of memory");
	}
	conv_turn_set_ids(t, &ids);
	t->prefill = prefill;
	int n_ctx = ctx_n_ctx(c->ctx);
	/* Keep room for a reply of a reasonable length. */
	int room = n_ctx / 8 > 1 ? n_ctx / 8 : 1;
	if ((rc = conv_compose(c)) == 0)
		rc = conv_shift(c, c->n_turns - 1, room, cb);
	if (rc == 0 && c->ids.n + 1 > n_ctx) {
		int need = t->t.n_tokens;
		turn_drop_last(c);
		conv_compose(c);
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
	int rc = conv_compose(c);
	if (rc)
		return conv_fail(c, rc, "%s", "out of memory");
	return c->ctx ? generate(c, cb, r) : conv_remote_generate(c, cb, r);
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
	int rc = conv_compose(c);
	if (rc)
		return conv_fail(c, rc, "%s", "out of memory");
	/* Only a truncation: the remaining ids are a prefix of the cache. */
	return conv_sync_kv_final(c);
}

int conv_clear(struct conv *c)
{
	c->err[0] = '\0';
	while (c->n_turns)
		turn_drop_last(c);
	int rc = conv_compose(c);
	if (rc)
		return conv_fail(c, rc, "%s", "out of memory");
	return conv_sync_kv_final(c);
}

/* Renders every turn again from its text, keeping the newest that fit in
 * three quarters of the context, and evaluates. */
int conv_set_system(struct conv *c, const char *system)
{
	char *s = conv_strdup(system ? system : template_default_system(c->tmpl));
	if (!s)
		return conv_fail(c, LT_E_NOMEM, "%s", "out of memory");
	char *old = c->system;
	c->system = s;
	int rc = conv_render_head(c);
	if (rc == 0 && (rc = head_check(c)) != 0) {
		/* Keep the system prompt that fitted. */
		c->system = old;
		free(s);
		conv_render_head(c);
		return rc;
	}
	free(old);
	c->system_set = system != NULL;
	if (rc == 0)
		rc = conv_rerender_first_user(c);
	if (rc == 0)
		rc = conv_compose(c);
	if (rc)
		return conv_fail(c, rc, "%s", "cannot tokenize the system prompt");
	if (c->ids.n > conv_n_ctx(c))
		return conv_rebuild(c);
	return conv_sync_kv_final(c);
}

int conv_set_template(struct conv *c, struct template *tmpl)
{
	bool default_postfix = !strcmp(c->postfix, template_part(c->tmpl, TEMPLATE_POSTFIX));
	template_free(c->tmpl);
	c->tmpl = tmpl;
	/* The old template's default system prompt was written for its model;
	 * only one the user chose carries over. */
	if (!c->system_set) {
		char *s = conv_strdup(template_default_system(tmpl));
		if (!s)
			return conv_fail(c, LT_E_NOMEM, "%s", "out of memory");
		free(c->system);
		c->system = s;
	}
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
	if (rc == 0)
		rc = take_template_reasoning(c);
	if (rc)
		return rc;
	return conv_rebuild(c);
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

int conv_set_thinking(struct conv *c, bool on)
{
	if (!on && !template_can_switch_thinking(c->tmpl)) {
		snprintf(c->err, sizeof(c->err), "template '%s' cannot switch thinking off%s",
			 template_name(c->tmpl),
			 template_reasoning_start(c->tmpl)[0] ? " (the model always reasons)"
							      : " (the model does not reason)");
		return LT_E_UNSUPPORTED;
	}
	c->thinking = on;
	return 0;
}

bool conv_thinking(const struct conv *c) { return c->thinking; }

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

int conv_kv_ids(const struct conv *c, const int32_t **out)
{
	*out = c->kv.v;
	return c->kv.n;
}
int conv_n_ctx(const struct conv *c) { return c->ctx ? ctx_n_ctx(c->ctx) : 0; }
const char *conv_error(const struct conv *c) { return c->err; }

/* ---- sessions ---- */

static void *memdup(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);
	if (q && n)
		memcpy(q, p, n);
	return q;
}

static int snapshot(const struct conv *c, struct session_data *d, bool with_kv)
{
	memset(d, 0, sizeof(*d));
	d->template_name = conv_strdup(template_name(c->tmpl));
	d->system = conv_strdup(c->system);
	d->in_prefix = conv_strdup(c->in_prefix);
	d->postfix = conv_strdup(c->postfix);
	d->n_ctx = (uint32_t)conv_n_ctx(c);
	d->sampling = *sampler_get_params(c->smp);
	d->n_predict = c->n_predict;
	d->thinking_off = !c->thinking;
	d->stops = calloc((size_t)c->n_ustops + 1, sizeof(char *));
	d->turns = calloc((size_t)c->n_turns + 1, sizeof(*d->turns));
	bool ok = d->template_name && d->system && d->in_prefix && d->postfix && d->stops && d->turns;
	for (int i = 0; ok && i < c->n_ustops; i++, d->n_stops++)
		ok = (d->stops[i] = strdup(c->ustops[i])) != NULL;
	for (int i = 0; ok && i < c->n_turns; i++, d->n_turns++) {
		const struct conv_turn *t = &c->turns[i].t;
		d->turns[i] = (struct session_turn){ .role = (uint8_t)t->role, .flags = (uint8_t)t->flags,
						     .n_tokens = t->n_tokens, .t_start = t->t_start,
						     .t_end = t->t_end, .text = strdup(t->text),
						     .reasoning = strdup(t->reasoning),
						     .n_reasoning = t->n_reasoning };
		ok = d->turns[i].text && d->turns[i].reasoning;
	}
	/* The cache is only worth saving when it holds exactly the ids. */
	bool synced = c->ctx && c->kv.n == c->ids.n && ctx_n_past(c->ctx) == c->ids.n &&
		      !memcmp(c->kv.v, c->ids.v, (size_t)c->ids.n * sizeof(int32_t));
	if (ok && synced) {
		d->n_head = c->head.n;
		d->n_ids = c->ids.n;
		d->ids = memdup(c->ids.v, (size_t)c->ids.n * sizeof(int32_t));
		d->sampler_state_len = sampler_state_size(c->smp);
		d->sampler_state = malloc(d->sampler_state_len);
		ok = d->ids && d->sampler_state &&
		     sampler_state_save(c->smp, d->sampler_state, d->sampler_state_len) == 0;
		if (ok && with_kv) {
			d->kv_len = ctx_state_size(c->ctx);
			d->kv = malloc(d->kv_len ? d->kv_len : 1);
			d->kv_n = c->ids.n;
			ok = d->kv && ctx_state_save(c->ctx, d->kv, d->kv_len) == 0;
		}
		d->has_ctx = d->has_sampler = ok;
		d->has_kv = ok && with_kv;
	}
	if (!ok) {
		session_data_free(d);
		return LT_E_NOMEM;
	}
	return 0;
}

int conv_snapshot(const struct conv *c, struct session_data *d)
{
	return snapshot(c, d, true);
}

int conv_snapshot_ids(const struct conv *c, struct session_data *d)
{
	return snapshot(c, d, false);
}

/* Takes the saved ids and KV cache as they are. */
static int restore_kv(struct conv *c, const struct session_data *d)
{
	if (!c->ctx || !d->has_ctx || !d->has_kv || d->n_ids > ctx_n_ctx(c->ctx))
		return LT_E_FORMAT;
	for (int i = 0; i < d->n_ids; i++)
		if (d->ids[i] >= ctx_n_vocab(c->ctx))
			return LT_E_FORMAT;
	/* A whole-cache image (version 1), then the spans a journal appended;
	 * the last truncate also finds a sliding window the spans left short. */
	bool ok = true;
	if (d->kv)
		ok = ctx_state_load(c->ctx, d->kv, d->kv_len) == 0 && d->kv_n <= ctx_n_past(c->ctx) &&
		     ctx_truncate(c->ctx, d->kv_n) == 0;
	else
		ctx_truncate(c->ctx, 0);
	for (int i = 0; ok && i < d->n_spans; i++)
		ok = d->spans[i].blob && ctx_kv_span_load(c->ctx, d->spans[i].blob, d->spans[i].len,
							   d->spans[i].p_end) == 0;
	if (!ok || ctx_truncate(c->ctx, d->n_ids) != 0 || ctx_n_past(c->ctx) != d->n_ids) {
		ctx_truncate(c->ctx, 0);
		return LT_E_FORMAT;
	}
	c->head.n = 0;
	int rc = conv_idvec_push(&c->head, d->ids, d->n_head);
	/* Which prefill each user turn's saved tokens end with: a template
	 * that strips reasoning gave it only to the last question (which the
	 * next message settles); others to all. */
	bool strip = template_strip_reasoning(c->tmpl);
	for (int i = 0; i < c->n_turns; i++) {
		bool last_question = i == c->n_turns - 1 ||
				     (i == c->n_turns - 2 &&
				      c->turns[i + 1].t.role == CONV_ROLE_ASSISTANT);
		if (c->turns[i].t.role == CONV_ROLE_USER && (!strip || last_question))
			c->turns[i].prefill = conv_prefill_now(c);
	}
	int pos = d->n_head;
	for (int i = 0; rc == 0 && i < c->n_turns; i++) {
		struct cturn *t = &c->turns[i];
		if (!(t->t.flags & CONV_TURN_IN_CTX))
			continue;
		struct idvec v = { 0 };
		rc = conv_idvec_push(&v, d->ids + pos, t->t.n_tokens);
		t->ids = v.v;
		pos += t->t.n_tokens;
	}
	if (rc == 0)
		rc = conv_compose(c);
	c->kv.n = 0;
	if (rc == 0)
		rc = conv_idvec_push(&c->kv, c->ids.v, c->ids.n);
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
	/* The file keeps the text, not who chose it: a prompt other than the
	 * template's default was the user's. */
	c->system_set = strcmp(c->system, template_default_system(c->tmpl)) != 0;
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
	c->thinking = !d->thinking_off || !template_can_switch_thinking(c->tmpl);
	for (int i = 0; i < d->n_turns; i++) {
		const struct session_turn *st = &d->turns[i];
		struct cturn *t = conv_turn_append(c, st->role ? CONV_ROLE_ASSISTANT : CONV_ROLE_USER,
					      st->text);
		if (!t)
			return conv_fail(c, LT_E_NOMEM, "%s", "out of memory");
		t->t.flags = st->flags;
		if (st->reasoning && st->reasoning[0]) {
			char *r = strdup(st->reasoning);
			if (!r)
				return conv_fail(c, LT_E_NOMEM, "%s", "out of memory");
			free(t->t.reasoning);
			t->t.reasoning = r;
			t->t.n_reasoning = st->n_reasoning;
		}
		t->t.n_tokens = (st->flags & CONV_TURN_IN_CTX) ? st->n_tokens : 0;
		t->t.t_start = st->t_start;
		t->t.t_end = st->t_end;
	}
	if (use_kv && restore_kv(c, d) == 0) {
		*kv_restored = true;
		return 0;
	}
	return conv_rebuild(c);
}
