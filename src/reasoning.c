/* The reasoning splitter. See reasoning.h. */
#include "reasoning.h"

#include <stdlib.h>
#include <string.h>

enum rstate {
	R_START,  /* nothing but blank space yet: a block may still open */
	R_THINK,  /* inside the block */
	R_LEAD,   /* after the block: dropping the answer's leading blank space */
	R_ANSWER, /* the answer: everything passes */
};

struct reasoning {
	char *start, *end;
	size_t slen, elen;
	enum rstate state;
	bool lead;   /* in R_THINK: the reasoning's leading blank space is still dropped */
	char *buf;   /* (n, cap) bytes held back */
	size_t n, cap;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

int reasoning_new(struct reasoning **out, const char *start, const char *end)
{
	*out = NULL;
	struct reasoning *r = calloc(1, sizeof(*r));
	if (!r)
		return LT_E_NOMEM;
	r->start = strdup(start ? start : "");
	r->end = strdup(end ? end : "");
	if (!r->start || !r->end) {
		reasoning_free(r);
		return LT_E_NOMEM;
	}
	r->slen = strlen(r->start);
	r->elen = strlen(r->end);
	reasoning_reset(r, false);
	*out = r;
	return LT_OK;
}

void reasoning_free(struct reasoning *r)
{
	if (!r)
		return;
	free(r->start);
	free(r->end);
	free(r->buf);
	free(r);
}

void reasoning_reset(struct reasoning *r, bool inside)
{
	r->n = 0;
	r->lead = true;
	if (!r->slen)
		r->state = R_ANSWER;
	else
		r->state = inside ? R_THINK : R_START;
}

static int buf_add(struct reasoning *r, const char *s, size_t n)
{
	if (r->n + n > r->cap) {
		size_t cap = r->cap ? r->cap : 64;
		while (cap < r->n + n)
			cap *= 2;
		char *b = realloc(r->buf, cap);
		if (!b)
			return LT_E_NOMEM;
		r->buf = b;
		r->cap = cap;
	}
	if (n)
		memcpy(r->buf + r->n, s, n);
	r->n += n;
	return 0;
}

static void buf_drop(struct reasoning *r, size_t n)
{
	memmove(r->buf, r->buf + n, r->n - n);
	r->n -= n;
}

static int emit_some(reasoning_emit_fn emit, void *ud, enum reasoning_part p, const char *s,
		     size_t n)
{
	return n ? emit(ud, p, s, n) : 0;
}

/* After the block: blank space is dropped until the answer starts. */
static int lead_feed(struct reasoning *r, const char *s, size_t n, reasoning_emit_fn emit,
		     void *ud)
{
	size_t i = 0;
	while (i < n && is_blank(s[i]))
		i++;
	if (i == n)
		return 0;
	r->state = R_ANSWER;
	return emit_some(emit, ud, REASONING_ANSWER, s + i, n - i);
}

/* Longest proper prefix of the end tag that the held bytes end with: those
 * may become the tag once more text comes. */
static size_t partial_end(const struct reasoning *r)
{
	size_t k = r->elen - 1 < r->n ? r->elen - 1 : r->n;
	for (; k > 0; k--)
		if (!memcmp(r->buf + r->n - k, r->end, k))
			return k;
	return 0;
}

/* Inside the block, with the held bytes in buf. */
static int think_run(struct reasoning *r, reasoning_emit_fn emit, void *ud)
{
	if (r->lead) {
		size_t i = 0;
		while (i < r->n && is_blank(r->buf[i]))
			i++;
		buf_drop(r, i);
		if (!r->n)
			return 0;
		r->lead = false;
	}
	if (!r->elen) {
		int rc = emit_some(emit, ud, REASONING_THOUGHT, r->buf, r->n);
		r->n = 0;
		return rc;
	}
	const char *tag = memmem(r->buf, r->n, r->end, r->elen);
	if (tag) {
		size_t at = (size_t)(tag - r->buf), t = at;
		while (t > 0 && is_blank(r->buf[t - 1]))
			t--;
		int rc = emit_some(emit, ud, REASONING_THOUGHT, r->buf, t);
		buf_drop(r, at + r->elen);
		r->state = R_LEAD;
		size_t rest = r->n;
		r->n = 0;
		if (rc == 0)
			rc = lead_feed(r, r->buf, rest, emit, ud);
		return rc;
	}
	/* Blank space is held too: it is dropped if the tag follows. */
	size_t t = r->n - partial_end(r);
	while (t > 0 && is_blank(r->buf[t - 1]))
		t--;
	int rc = emit_some(emit, ud, REASONING_THOUGHT, r->buf, t);
	buf_drop(r, t);
	return rc;
}

/* Before anything but blank space: does the reply open a block? */
static int start_run(struct reasoning *r, reasoning_emit_fn emit, void *ud)
{
	size_t i = 0;
	while (i < r->n && is_blank(r->buf[i]))
		i++;
	size_t rem = r->n - i;
	if (rem == 0)
		return 0;
	size_t cmp = rem < r->slen ? rem : r->slen;
	if (memcmp(r->buf + i, r->start, cmp) != 0) {
		r->state = R_ANSWER;
		int rc = emit_some(emit, ud, REASONING_ANSWER, r->buf, r->n);
		r->n = 0;
		return rc;
	}
	if (rem < r->slen)
		return 0;
	buf_drop(r, i + r->slen);
	r->state = R_THINK;
	r->lead = true;
	return think_run(r, emit, ud);
}

int reasoning_feed(struct reasoning *r, const char *text, size_t len, reasoning_emit_fn emit,
		   void *ud)
{
	if (!len)
		return 0;
	switch (r->state) {
	case R_ANSWER:
		return emit(ud, REASONING_ANSWER, text, len);
	case R_LEAD:
		return lead_feed(r, text, len, emit, ud);
	case R_START:
		if (buf_add(r, text, len))
			return LT_E_NOMEM;
		return start_run(r, emit, ud);
	case R_THINK:
		if (buf_add(r, text, len))
			return LT_E_NOMEM;
		return think_run(r, emit, ud);
	}
	return 0;
}

int reasoning_flush(struct reasoning *r, reasoning_emit_fn emit, void *ud)
{
	int rc = 0;
	if (r->state == R_START) {
		rc = emit_some(emit, ud, REASONING_ANSWER, r->buf, r->n);
	} else if (r->state == R_THINK && !r->lead) {
		size_t t = r->n;
		while (t > 0 && is_blank(r->buf[t - 1]))
			t--;
		rc = emit_some(emit, ud, REASONING_THOUGHT, r->buf, t);
	}
	r->n = 0;
	return rc;
}

bool reasoning_in_thought(const struct reasoning *r)
{
	if (r->state == R_THINK)
		return true;
	if (r->state != R_START)
		return false;
	for (size_t i = 0; i < r->n; i++)
		if (!is_blank(r->buf[i]))
			return true; /* held only because it may be the start tag */
	return false;
}

/* Offset just past the last occurrence of needle in hay, or 0. */
static size_t last_end_of(const char *hay, const char *needle)
{
	size_t n = strlen(needle), at = 0;
	if (!n)
		return 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		at = (size_t)(p - hay) + n;
	return at;
}

bool reasoning_opens(const char *text, const char *start, const char *end)
{
	if (!text || !start || !start[0])
		return false;
	size_t s = last_end_of(text, start);
	return s > 0 && s > last_end_of(text, end ? end : "");
}

struct split_out {
	char *s[2];
	size_t n[2];
};

static int split_collect(void *ud, enum reasoning_part part, const char *text, size_t len)
{
	struct split_out *o = ud;
	char *g = realloc(o->s[part], o->n[part] + len + 1);
	if (!g)
		return LT_E_NOMEM;
	memcpy(g + o->n[part], text, len);
	o->n[part] += len;
	g[o->n[part]] = '\0';
	o->s[part] = g;
	return 0;
}

int reasoning_split(const char *text, const char *start, const char *end, bool inside,
		    char **answer, char **thought)
{
	*answer = *thought = NULL;
	struct reasoning *r;
	int rc = reasoning_new(&r, start, end);
	if (rc < 0)
		return rc;
	struct split_out o = { { NULL, NULL }, { 0, 0 } };
	reasoning_reset(r, inside);
	rc = reasoning_feed(r, text, strlen(text), split_collect, &o);
	if (rc == 0)
		rc = reasoning_flush(r, split_collect, &o);
	reasoning_free(r);
	for (int i = 0; rc == 0 && i < 2; i++)
		if (!o.s[i] && !(o.s[i] = strdup("")))
			rc = LT_E_NOMEM;
	if (rc) {
		free(o.s[0]);
		free(o.s[1]);
		return rc;
	}
	*answer = o.s[REASONING_ANSWER];
	*thought = o.s[REASONING_THOUGHT];
	return 0;
}
