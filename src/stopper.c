#include "stopper.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

struct stopper {
	char **stops;      /* (n_stops) owned, NUL-terminated */
	size_t *lens;      /* (n_stops) */
	int n_stops, cap_stops;
	size_t max_len;    /* longest stop string */

	char *hold;        /* (hold_cap) text not released yet */
	size_t hold_len, hold_cap;
	char *out;         /* (out_cap) the text handed out by the last call */
	size_t out_cap;

	char *hit;         /* owned copy of the stop string that ended the reply */
	bool rescan;       /* a stop was added: held text must be searched again */
};

static bool utf8_is_cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

/* Bytes at the end of s[0..n) that form an unfinished UTF-8 sequence. */
static size_t utf8_incomplete_tail(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t back = 1; back <= 4 && back <= n; back++) {
		unsigned char c = p[n - back];
		if (utf8_is_cont(c))
			continue;
		size_t len = utf8_lead_len(c);
		return len > back ? back : 0;
	}
	return 0;
}

static int buf_reserve(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return LT_OK;
	size_t c = *cap ? *cap : 64;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			return LT_E_NOMEM;
		c *= 2;
	}
	char *p = realloc(*buf, c);
	if (!p)
		return LT_E_NOMEM;
	*buf = p;
	*cap = c;
	return LT_OK;
}

int stopper_new(struct stopper **out, const char *const *stops, int n, char *err, size_t errlen)
{
	*out = NULL;
	if (n < 0 || (n > 0 && !stops))
		return lt_seterr(err, errlen, LT_E_INVAL, "stop strings: invalid list");
	struct stopper *st = calloc(1, sizeof(*st));
	if (!st)
		return lt_seterr(err, errlen, LT_E_NOMEM, "stop strings: out of memory");
	for (int i = 0; i < n; i++) {
		int rc = stopper_add(st, stops[i], err, errlen);
		if (rc < 0) {
			stopper_free(st);
			return rc;
		}
	}
	*out = st;
	return LT_OK;
}

void stopper_free(struct stopper *st)
{
	if (!st)
		return;
	for (int i = 0; i < st->n_stops; i++)
		free(st->stops[i]);
	free(st->stops);
	free(st->lens);
	free(st->hold);
	free(st->out);
	free(st->hit);
	free(st);
}

static int stopper_find(const struct stopper *st, const char *stop)
{
	for (int i = 0; i < st->n_stops; i++)
		if (strcmp(st->stops[i], stop) == 0)
			return i;
	return -1;
}

int stopper_add(struct stopper *st, const char *stop, char *err, size_t errlen)
{
	if (!st || !stop)
		return lt_seterr(err, errlen, LT_E_INVAL, "stop string: none given");
	size_t len = strlen(stop);
	if (len == 0)
		return lt_seterr(err, errlen, LT_E_INVAL, "stop string: empty stop strings are not allowed");
	if (!utf8_valid(stop, len))
		return lt_seterr(err, errlen, LT_E_INVAL, "stop string \"%s\" is not valid UTF-8", stop);
	if (stopper_find(st, stop) >= 0)
		return LT_OK;
	if (st->n_stops == st->cap_stops) {
		int cap = st->cap_stops ? 2 * st->cap_stops : 4;
		char **s = realloc(st->stops, (size_t)cap * sizeof(*s));
		if (!s)
			return lt_seterr(err, errlen, LT_E_NOMEM, "stop strings: out of memory");
		st->stops = s;
		size_t *l = realloc(st->lens, (size_t)cap * sizeof(*l));
		if (!l)
			return lt_seterr(err, errlen, LT_E_NOMEM, "stop strings: out of memory");
		st->lens = l;
		st->cap_stops = cap;
	}
	char *copy = strdup(stop);
	if (!copy)
		return lt_seterr(err, errlen, LT_E_NOMEM, "stop strings: out of memory");
	st->stops[st->n_stops] = copy;
	st->lens[st->n_stops] = len;
	st->n_stops++;
	st->rescan = true;
	if (len > st->max_len)
		st->max_len = len;
	return LT_OK;
}

int stopper_remove(struct stopper *st, const char *stop)
{
	if (!st || !stop)
		return LT_E_INVAL;
	int i = stopper_find(st, stop);
	if (i < 0)
		return LT_E_NOTFOUND;
	free(st->stops[i]);
	memmove(st->stops + i, st->stops + i + 1, (size_t)(st->n_stops - i - 1) * sizeof(*st->stops));
	memmove(st->lens + i, st->lens + i + 1, (size_t)(st->n_stops - i - 1) * sizeof(*st->lens));
	st->n_stops--;
	st->max_len = 0;
	for (int k = 0; k < st->n_stops; k++)
		if (st->lens[k] > st->max_len)
			st->max_len = st->lens[k];
	return LT_OK;
}

int stopper_list(const struct stopper *st, const char *const **out)
{
	if (out)
		*out = st ? (const char *const *)st->stops : NULL;
	return st ? st->n_stops : 0;
}

/* Finds the stop string that completes first at a byte after from; among
 * those ending on the same byte the longest. Returns its index and sets
 * *end, or returns -1. Matches ending at or before from were checked by
 * earlier calls. */
static int stopper_search(const struct stopper *st, size_t from, size_t *end)
{
	const char *buf = st->hold;
	for (size_t e = from + 1; e <= st->hold_len; e++) {
		int best = -1;
		for (int i = 0; i < st->n_stops; i++) {
			size_t l = st->lens[i];
			if (l > e || (best >= 0 && l <= st->lens[best]))
				continue;
			if (memcmp(buf + e - l, st->stops[i], l) == 0)
				best = i;
		}
		if (best >= 0) {
			*end = e;
			return best;
		}
	}
	return -1;
}

/* Length of the longest tail of the held text that is a proper prefix of
 * some stop string, i.e. that might still grow into one. */
static size_t stopper_partial(const struct stopper *st)
{
	size_t n = st->hold_len;
	size_t k = st->max_len > 0 ? st->max_len - 1 : 0;
	if (k > n)
		k = n;
	for (; k > 0; k--)
		for (int i = 0; i < st->n_stops; i++)
			if (st->lens[i] > k && memcmp(st->hold + n - k, st->stops[i], k) == 0)
				return k;
	return 0;
}

/* Moves the first n held bytes to the output buffer. */
static int stopper_release(struct stopper *st, size_t n, const char **out, size_t *out_len)
{
	int rc = buf_reserve(&st->out, &st->out_cap, n + 1);
	if (rc < 0)
		return rc;
	if (n > 0) {
		memcpy(st->out, st->hold, n);
		memmove(st->hold, st->hold + n, st->hold_len - n);
	}
	st->out[n] = '\0';
	st->hold_len -= n;
	*out = st->out;
	*out_len = n;
	return LT_OK;
}

int stopper_feed(struct stopper *st, const char *piece, size_t len, const char **out,
		 size_t *out_len)
{
	static const char empty[1] = "";
	if (!out || !out_len)
		return LT_E_INVAL;
	*out = empty;
	*out_len = 0;
	if (!st || (!piece && len > 0))
		return LT_E_INVAL;
	if (st->hit)
		return STOPPER_HIT;
	int rc = buf_reserve(&st->hold, &st->hold_cap, st->hold_len + len);
	if (rc < 0)
		return rc;
	size_t from = st->rescan ? 0 : st->hold_len;
	st->rescan = false;
	if (len > 0)
		memcpy(st->hold + st->hold_len, piece, len);
	st->hold_len += len;

	size_t end;
	int i = stopper_search(st, from, &end);
	if (i >= 0) {
		st->hit = strdup(st->stops[i]);
		if (!st->hit)
			return LT_E_NOMEM;
		rc = stopper_release(st, end - st->lens[i], out, out_len);
		st->hold_len = 0;
		return rc < 0 ? rc : STOPPER_HIT;
	}

	size_t keep = stopper_partial(st);
	size_t tail = utf8_incomplete_tail(st->hold, st->hold_len);
	if (tail > keep)
		keep = tail;
	size_t start = st->hold_len - keep;
	/* Stop strings are valid UTF-8, so a held prefix starts on a character
	 * boundary; stepping back over continuation bytes is a safeguard. */
	while (start > 0 && start < st->hold_len && utf8_is_cont((unsigned char)st->hold[start]))
		start--;
	rc = stopper_release(st, start, out, out_len);
	return rc < 0 ? rc : STOPPER_MORE;
}

void stopper_flush(struct stopper *st, const char **out, size_t *out_len)
{
	static const char empty[1] = "";
	*out = empty;
	*out_len = 0;
	if (!st || st->hit)
		return;
	if (stopper_release(st, st->hold_len, out, out_len) < 0) {
		/* Without room for a copy, hand out the held bytes themselves;
		 * they stay untouched until the next call. */
		*out = st->hold;
		*out_len = st->hold_len;
	}
	st->hold_len = 0;
}

void stopper_reset(struct stopper *st)
{
	if (!st)
		return;
	st->hold_len = 0;
	free(st->hit);
	st->hit = NULL;
}

const char *stopper_hit(const struct stopper *st)
{
	return st ? st->hit : NULL;
}

size_t stopper_held(const struct stopper *st)
{
	return st ? st->hold_len : 0;
}
