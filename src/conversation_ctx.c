/* The tokens of a conversation in its context: rendering turns into ids,
 * keeping the KV cache in line with them, shifting old turns out and
 * rebuilding from the transcript. See conversation_impl.h. */
#include "conversation_impl.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int conv_fail(struct conv *c, int code, const char *fmt, const char *arg)
{
	snprintf(c->err, sizeof(c->err), fmt, arg ? arg : "");
	return code;
}

/* Makes room for n more ids. */
static int idvec_reserve(struct idvec *a, int n)
{
	if (n > INT_MAX / 2 - a->n)
		return LT_E_RANGE;
	if (a->n + n <= a->cap)
		return 0;
	int cap = a->cap ? a->cap : 64;
	while (cap < a->n + n)
		cap *= 2;
	int32_t *v = realloc(a->v, (size_t)cap * sizeof(*v));
	if (!v)
		return LT_E_NOMEM;
	a->v = v;
	a->cap = cap;
	return 0;
}

int conv_idvec_push(struct idvec *a, const int32_t *ids, int n)
{
	if (n <= 0)
		return 0;
	int rc = idvec_reserve(a, n);
	if (rc)
		return rc;
	memcpy(a->v + a->n, ids, (size_t)n * sizeof(*ids));
	a->n += n;
	return 0;
}

int32_t conv_idvec_last(const struct idvec *a)
{
	return a->n ? a->v[a->n - 1] : VOCAB_TOKEN_NULL;
}

/* ---- rendering ---- */

/* The most segments one render uses (a first user turn with the system
 * block inside has nine). */
#define CONV_MAX_SEGS 12

/* The pieces of one rendered turn in order: template text (special tokens
 * recognised) and words of the system, the user or the model (never). */
struct segs {
	struct vocab_segment s[CONV_MAX_SEGS];
	int n;
	bool overflow;
};

static void segs_add(struct segs *b, bool special, const char *text, size_t len)
{
	if (len == 0)
		return;
	if (b->n == CONV_MAX_SEGS) {
		b->overflow = true;
		return;
	}
	b->s[b->n++] = (struct vocab_segment){ .text = text, .len = len, .parse_special = special };
}

static void segs_tmpl(struct segs *b, const char *s) { segs_add(b, true, s, strlen(s)); }
static void segs_text(struct segs *b, const char *s) { segs_add(b, false, s, strlen(s)); }

/* Tokenizes the segments as one piece of text following token prev and
 * appends the ids to out. One call for all of them, so template text and
 * user text that touch merge as in the whole prompt: "Human: " + "Hi"
 * gives "Human", ":", " Hi" and not a lone space token. */
static int segs_tokenize(const struct conv *c, const struct segs *b, int32_t prev,
			 struct idvec *out)
{
	if (b->overflow)
		return LT_E_INVAL;
	size_t bytes = 0;
	for (int i = 0; i < b->n; i++)
		bytes += b->s[i].len;
	if (bytes == 0)
		return 0;
	if (bytes > INT_MAX / 4)
		return LT_E_RANGE;
	unsigned flags = vocab_tokenize_flags_after(c->v, prev);
	/* A token covers at least one byte; the space prefix adds one more. */
	int cap = (int)bytes + 2;
	for (;;) {
		int rc = idvec_reserve(out, cap);
		if (rc)
			return rc;
		int n = vocab_tokenize_segments(c->v, b->s, b->n, flags, out->v + out->n, cap);
		if (n < 0)
			return n;
		if (n <= cap) {
			out->n += n;
			return 0;
		}
		cap = n;
	}
}

/* Tokenizes the segments into out, which starts empty and is left empty
 * when that fails. */
static int segs_render(const struct conv *c, const struct segs *b, int32_t prev,
		       struct idvec *out)
{
	memset(out, 0, sizeof(*out));
	int rc = segs_tokenize(c, b, prev, out);
	if (rc) {
		free(out->v);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

static const char *part(const struct conv *c, enum template_part p)
{
	return template_part(c->tmpl, p);
}

static void render_system_block(const struct conv *c, struct segs *b)
{
	segs_tmpl(b, part(c, TEMPLATE_SYSTEM_PREFIX));
	segs_text(b, c->system);
	segs_tmpl(b, part(c, TEMPLATE_SYSTEM_SUFFIX));
}

int conv_render_head(struct conv *c)
{
	if (!c->ctx) /* remote: the server renders the prompt */
		return 0;
	struct idvec out = { 0 };
	int rc = 0;
	int32_t bos = vocab_bos(c->v);
	if (template_bos(c->tmpl) && vocab_add_bos(c->v) && bos != VOCAB_TOKEN_NULL)
		rc = conv_idvec_push(&out, &bos, 1);
	struct segs b = { .n = 0 };
	if (c->system[0] && !template_system_in_user(c->tmpl))
		render_system_block(c, &b);
	if (rc == 0)
		rc = segs_tokenize(c, &b, conv_idvec_last(&out), &out);
	if (rc) {
		free(out.v);
		return rc;
	}
	free(c->head.v);
	c->head = out;
	return 0;
}

int conv_prefill_now(const struct conv *c)
{
	return c->thinking ? CONV_PREFILL_ON : CONV_PREFILL_OFF;
}

/* A user turn up to the reply prompt (assistant_prefix without its
 * trailing spaces: the model's first token brings its own space), then
 * the thinking prefill unless the turn is rendered as a past one. */
int conv_render_user(const struct conv *c, const char *text, bool first, int prefill,
		     int32_t prev, struct idvec *out)
{
	struct segs b = { .n = 0 };
	segs_tmpl(&b, part(c, TEMPLATE_USER_PREFIX));
	if (first && template_system_in_user(c->tmpl) && c->system[0])
		render_system_block(c, &b);
	segs_tmpl(&b, c->in_prefix);
	segs_text(&b, text);
	segs_tmpl(&b, c->postfix);
	segs_tmpl(&b, part(c, TEMPLATE_USER_SUFFIX));
	const char *ap = part(c, TEMPLATE_ASSISTANT_PREFIX);
	size_t n = strlen(ap);
	while (n && ap[n - 1] == ' ')
		n--;
	segs_add(&b, true, ap, n);
	if (prefill != CONV_PREFILL_NONE)
		segs_tmpl(&b, template_prefill(c->tmpl, prefill == CONV_PREFILL_ON));
	return segs_render(c, &b, prev, out);
}

/* A past reply from its text. Its reasoning is left out when the template
 * strips it; otherwise the block is written back in the layout the models
 * produce, without its start tag when the prompt before it (opened) did
 * open the block. */
static int render_reply(const struct conv *c, const struct cturn *t, bool opened, int32_t prev,
			struct idvec *out)
{
	const char *text = t->t.text;
	const char *start = template_reasoning_start(c->tmpl);
	bool keep = !template_strip_reasoning(c->tmpl) && start[0] && t->t.reasoning[0];
	/* A reply streamed after a special token starts with the space of its
	 * first token; the tokenizer puts that space back by itself there. */
	if (!keep && vocab_add_space_prefix(c->v) && text[0] == ' ' &&
	    !(vocab_tokenize_flags_after(c->v, prev) & VOCAB_TOK_CONTINUE))
		text++;
	struct segs b = { .n = 0 };
	if (keep) {
		if (!opened) {
			segs_tmpl(&b, start);
			segs_tmpl(&b, "\n");
		}
		segs_text(&b, t->t.reasoning);
		segs_tmpl(&b, "\n");
		segs_tmpl(&b, template_reasoning_end(c->tmpl));
		segs_tmpl(&b, "\n\n");
	}
	segs_text(&b, text);
	segs_tmpl(&b, part(c, TEMPLATE_ASSISTANT_SUFFIX));
	return segs_render(c, &b, prev, out);
}

/* Whether user turn u's reply prompt left a reasoning block open. */
static bool prompt_opens(const struct conv *c, const struct cturn *u)
{
	if (u->prefill == CONV_PREFILL_NONE)
		return false;
	return reasoning_opens(template_prefill(c->tmpl, u->prefill == CONV_PREFILL_ON),
			       template_reasoning_start(c->tmpl), template_reasoning_end(c->tmpl));
}

int conv_render_suffix(const struct conv *c, int32_t prev, struct idvec *out)
{
	struct segs b = { .n = 0 };
	segs_tmpl(&b, part(c, TEMPLATE_ASSISTANT_SUFFIX));
	return segs_render(c, &b, prev, out);
}

/* ---- turns in the context ---- */

int conv_compose(struct conv *c)
{
	c->ids.n = 0;
	int rc = conv_idvec_push(&c->ids, c->head.v, c->head.n);
	for (int i = 0; rc == 0 && i < c->n_turns; i++)
		if (c->turns[i].t.flags & CONV_TURN_IN_CTX)
			rc = conv_idvec_push(&c->ids, c->turns[i].ids, c->turns[i].t.n_tokens);
	return rc;
}

int conv_first_user_in_ctx(const struct conv *c)
{
	for (int i = 0; i < c->n_turns; i++)
		if ((c->turns[i].t.flags & CONV_TURN_IN_CTX) && c->turns[i].t.role == CONV_ROLE_USER)
			return i;
	return -1;
}

void conv_turn_set_ids(struct cturn *t, struct idvec *ids)
{
	free(t->ids);
	t->ids = ids->v;
	t->t.n_tokens = ids->n;
	ids->v = NULL;
	ids->n = ids->cap = 0;
}

/* Takes turn i out of the context. */
static void turn_evict(struct cturn *t)
{
	free(t->ids);
	t->ids = NULL;
	t->t.n_tokens = 0;
	t->t.flags &= ~CONV_TURN_IN_CTX;
}

/* The id in the context right before turn i. */
static int32_t prev_id(const struct conv *c, int i)
{
	while (i-- > 0) {
		const struct cturn *t = &c->turns[i];
		if ((t->t.flags & CONV_TURN_IN_CTX) && t->t.n_tokens > 0)
			return t->ids[t->t.n_tokens - 1];
	}
	return conv_idvec_last(&c->head);
}

/* Besides the system block of templates that carry it in the first user
 * turn, what comes before that turn decides its first tokens (the space
 * prefix after BOS, none after text). */
int conv_rerender_first_user(struct conv *c)
{
	int i = conv_first_user_in_ctx(c);
	return i < 0 ? 0 : conv_rerender_user(c, i, c->turns[i].prefill);
}

int conv_rerender_user(struct conv *c, int i, int prefill)
{
	if (!c->ctx)
		return 0;
	struct idvec ids;
	bool first = conv_first_user_in_ctx(c) == i;
	int rc = conv_render_user(c, c->turns[i].t.text, first, prefill, prev_id(c, i), &ids);
	if (rc == 0) {
		conv_turn_set_ids(&c->turns[i], &ids);
		c->turns[i].prefill = prefill;
	}
	return rc;
}

int conv_settle_last(struct conv *c)
{
	if (!c->ctx)
		return 0;
	int n = c->n_turns;
	if (!template_strip_reasoning(c->tmpl) || n < 2)
		return 0;
	struct cturn *u = &c->turns[n - 2], *a = &c->turns[n - 1];
	if (u->t.role != CONV_ROLE_USER || a->t.role != CONV_ROLE_ASSISTANT ||
	    !(u->t.flags & CONV_TURN_IN_CTX) || !(a->t.flags & CONV_TURN_IN_CTX))
		return 0;
	bool redo_user = u->prefill != CONV_PREFILL_NONE &&
			 template_prefill(c->tmpl, u->prefill == CONV_PREFILL_ON)[0];
	if (!redo_user && !a->t.reasoning[0])
		return 0;
	int rc = redo_user ? conv_rerender_user(c, n - 2, CONV_PREFILL_NONE) : 0;
	struct idvec ids;
	if (rc == 0 && (rc = render_reply(c, a, false, prev_id(c, n - 1), &ids)) == 0)
		conv_turn_set_ids(a, &ids);
	if (rc == 0)
		rc = conv_compose(c);
	return rc;
}

/* ---- keeping the KV cache in line ---- */

int conv_kv_common(const struct conv *c)
{
	int common = 0;
	while (common < c->kv.n && common < c->ids.n && c->kv.v[common] == c->ids.v[common])
		common++;
	return common;
}

int conv_sync_kv(struct conv *c, bool need_logits, int *n_eval)
{
	if (!c->ctx) {
		if (n_eval)
			*n_eval = 0;
		return 0;
	}
	int common = conv_kv_common(c);
	if (need_logits && common == c->ids.n && common > 0)
		common--;
	if (n_eval)
		*n_eval = 0;
	if (common < ctx_n_past(c->ctx)) {
		int rc = ctx_truncate(c->ctx, common);
		if (rc)
			return conv_fail(c, rc, "%s", ctx_error(c->ctx));
		/* A sliding-window cache may have had to start over. */
		common = ctx_n_past(c->ctx);
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
	conv_idvec_push(&c->kv, c->ids.v, past);
	if (n_eval)
		*n_eval = past - common;
	if (rc)
		return conv_fail(c, rc, "%s", ctx_error(c->ctx));
	return 0;
}

/* Final evaluations (closing a reply, undo) must not be cut short by a
 * stop request that already did its job. */
int conv_sync_kv_final(struct conv *c)
{
	if (!c->ctx)
		return 0;
	ctx_set_abort(c->ctx, NULL);
	int rc = conv_sync_kv(c, false, NULL);
	ctx_set_abort(c->ctx, c->abort);
	return rc;
}

/* ---- context shift ---- */

int conv_shift(struct conv *c, int keep_from, int need, const struct conv_callbacks *cb)
{
	if (!c->ctx)
		return 0;
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
		turn_evict(t);
		dropped_turns++;
	}
	if (!dropped_turns)
		return 0;
	int rc = conv_rerender_first_user(c);
	if (rc == 0)
		rc = conv_compose(c);
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

/* ---- rebuilding from the transcript ---- */

/* The prefill of user turn i when the context is rebuilt: the reply
 * prompt of a question still awaiting its answer gets the current one;
 * past turns get none when the template strips reasoning, else the
 * current one (the one they had is not kept). */
static int rebuild_prefill(const struct conv *c, int i)
{
	if (i + 1 < c->n_turns && template_strip_reasoning(c->tmpl))
		return CONV_PREFILL_NONE;
	return conv_prefill_now(c);
}

static int render_turn(struct conv *c, int i, bool first, int32_t prev, struct idvec *out)
{
	struct cturn *t = &c->turns[i];
	if (t->t.role == CONV_ROLE_USER) {
		t->prefill = rebuild_prefill(c, i);
		return conv_render_user(c, t->t.text, first, t->prefill, prev, out);
	}
	return render_reply(c, t, i > 0 && prompt_opens(c, &c->turns[i - 1]), prev, out);
}

int conv_rebuild(struct conv *c)
{
	if (!c->ctx)
		return 0;
	int rc = conv_render_head(c);
	if (rc)
		return conv_fail(c, rc, "%s", "cannot tokenize the system prompt");
	int budget = ctx_n_ctx(c->ctx) * 3 / 4 - c->head.n;
	int start = c->n_turns;
	/* Whole turns from the newest backwards, sized as if each started the
	 * context (a token more or less than in place). */
	for (int i = c->n_turns - 1; i >= 0; i--) {
		turn_evict(&c->turns[i]);
		if (budget <= 0)
			continue;
		struct idvec ids;
		if ((rc = render_turn(c, i, false, VOCAB_TOKEN_NULL, &ids)) != 0)
			return conv_fail(c, rc, "%s", "cannot tokenize the transcript");
		free(ids.v);
		if (ids.n > budget) {
			budget = 0;
			continue;
		}
		budget -= ids.n;
		start = i;
	}
	/* The context must start with a question, not an answer. */
	if (start < c->n_turns && c->turns[start].t.role == CONV_ROLE_ASSISTANT)
		start++;
	/* Then in order, each turn after what really precedes it. */
	int32_t prev = conv_idvec_last(&c->head);
	for (int i = start; i < c->n_turns; i++) {
		struct idvec ids;
		if ((rc = render_turn(c, i, i == start, prev, &ids)) != 0)
			return conv_fail(c, rc, "%s", "cannot tokenize the transcript");
		if (ids.n)
			prev = ids.v[ids.n - 1];
		conv_turn_set_ids(&c->turns[i], &ids);
		c->turns[i].t.flags |= CONV_TURN_IN_CTX;
	}
	rc = conv_compose(c);
	if (rc == 0 && c->n_turns > 0)
		rc = conv_shift(c, c->n_turns - 1, 0, NULL);
	if (rc)
		return conv_fail(c, rc, "%s", "out of memory");
	return conv_sync_kv_final(c);
}
