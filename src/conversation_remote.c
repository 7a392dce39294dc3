/* Replies of a conversation without a context: a generator (conversation.h)
 * writes them and every piece goes through the same stop matcher and
 * reasoning splitter as a local reply, so stops, the reasoning block and
 * the callbacks come out the same. */
#include <stdlib.h>
#include <string.h>

#include "conversation_impl.h"

void conv_set_generator(struct conv *c, const struct conv_generator *g)
{
	c->gen = *g;
}

/* The reply starts with its first piece: a request that fails before any
 * leaves no empty reply behind (as a prompt that could not be evaluated). */
static void reply_open(struct conv *c, struct reply_sink *k)
{
	if (k->t)
		return;
	k->t = &c->turns[c->n_turns - 1];
	if (k->cb && k->cb->on_turn)
		k->cb->on_turn(k->cb->ud, c->n_turns - 1, &k->t->t);
}

int conv_feed(struct conv *c, bool reasoning, const char *text, size_t len)
{
	struct reply_sink *k = c->sink;
	if (!k || stopper_hit(c->stp))
		return 1;
	reply_open(c, k);
	if (reasoning) {
		/* The server split it already: shown as it is, counted per piece. */
		k->n_reasoning++;
		return conv_reply_emit(k, REASONING_THOUGHT, text, len) ? LT_E_NOMEM : 0;
	}
	const char *out;
	size_t olen;
	int st = stopper_feed(c->stp, text, len, &out, &olen);
	c->shown += olen;
	if (conv_reply_text(c, k, out, olen, true))
		return LT_E_NOMEM;
	return st == STOPPER_HIT ? 1 : 0;
}

int conv_remote_generate(struct conv *c, const struct conv_callbacks *cb, struct conv_reply *r)
{
	if (!c->gen.generate)
		return conv_fail(c, LT_E_UNSUPPORTED, "%s", "nothing writes the replies");
	struct cturn *t = conv_turn_append(c, CONV_ROLE_ASSISTANT, "");
	if (!t)
		return conv_fail(c, LT_E_NOMEM, "%s", "out of memory");
	stopper_reset(c->stp);
	reasoning_reset(c->rs, false);
	struct reply_sink sink = { .cap = 1, .rcap = 1, .cb = cb };
	c->sink = &sink;
	c->shown = 0;
	r->reason = CONV_STOP_EOG;
	char err[512] = "";
	int rc = c->gen.generate(c->gen.ud, c, r, err, sizeof(err));
	if (rc && !sink.t) {
		c->sink = NULL;
		free(t->t.text);
		free(t->t.reasoning);
		c->n_turns--;
		return conv_fail(c, rc, "%s", err[0] ? err : lt_strerror(rc));
	}
	reply_open(c, &sink);
	if (!stopper_hit(c->stp)) {
		const char *out;
		size_t olen;
		stopper_flush(c->stp, &out, &olen);
		conv_reply_text(c, &sink, out, olen, false);
	}
	reasoning_flush(c->rs, conv_reply_emit, &sink);
	c->sink = NULL;
	t->t.n_reasoning = t->t.reasoning[0] ? sink.n_reasoning : 0;
	r->n_reasoning = t->t.n_reasoning;
	if (stopper_hit(c->stp)) {
		r->reason = CONV_STOP_STRING;
		r->stop = stopper_hit(c->stp);
	}
	if (rc)
		r->reason = r->reason == CONV_STOP_EOG ? CONV_STOP_USER : r->reason;
	if (r->reason == CONV_STOP_USER || r->reason == CONV_STOP_LIMIT)
		t->t.flags |= CONV_TURN_PARTIAL;
	t->t.t_end = conv_now_ms();
	if (rc)
		return conv_fail(c, rc, "%s", err[0] ? err : lt_strerror(rc));
	return 0;
}

int conv_remote_send(struct conv *c, const char *text, const struct conv_callbacks *cb,
		     struct conv_reply *r)
{
	struct cturn *t = conv_turn_append(c, CONV_ROLE_USER, text);
	if (!t)
		return conv_fail(c, LT_E_NOMEM, "%s", "out of memory");
	if (cb && cb->on_turn)
		cb->on_turn(cb->ud, c->n_turns - 1, &t->t);
	return conv_remote_generate(c, cb, r);
}
