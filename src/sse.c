/* Server-Sent Events parsing. See sse.h. */
#include "sse.h"

#include <stdlib.h>
#include <string.h>

#include "bytebuf.h"

struct sse {
	struct bytebuf line; /* the line being read */
	struct bytebuf data; /* the event's data so far */
	bool has_data;   /* a data: line was seen since the last event */
	bool after_cr;   /* the last byte was a CR: an LF right after it ends nothing */
};

static int buf_add(struct bytebuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > SSE_EVENT_MAX)
		return LT_E_FULL;
	bytebuf_put(b, s, n);
	return b->oom ? LT_E_NOMEM : 0;
}

int sse_new(struct sse **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : LT_E_NOMEM;
}

void sse_free(struct sse *p)
{
	if (!p)
		return;
	free(p->line.p);
	free(p->data.p);
	free(p);
}

void sse_reset(struct sse *p)
{
	bytebuf_clear(&p->line);
	bytebuf_clear(&p->data);
	p->has_data = p->after_cr = false;
}

bool sse_pending(const struct sse *p)
{
	return p->has_data || p->line.len > 0;
}

/* One complete line: a field of the event, or its end when empty. */
static int sse_line(struct sse *p, sse_event_fn fn, void *ud)
{
	const char *l = p->line.p ? (const char *)p->line.p : "";
	size_t n = p->line.len;
	p->line.len = 0; /* its bytes stay as they are until the next line's */
	if (n == 0) {
		if (!p->has_data)
			return 0;
		p->has_data = false;
		size_t len = p->data.len;
		p->data.len = 0;
		return fn(ud, (const char *)p->data.p, len);
	}
	if (l[0] == ':')
		return 0;
	const char *colon = memchr(l, ':', n);
	size_t name_len = colon ? (size_t)(colon - l) : n;
	if (name_len != 4 || memcmp(l, "data", 4) != 0)
		return 0;
	const char *v = colon ? colon + 1 : l + n;
	if (v < l + n && *v == ' ')
		v++;
	int rc = 0;
	if (p->has_data)
		rc = buf_add(&p->data, "\n", 1);
	if (rc == 0)
		rc = buf_add(&p->data, v, (size_t)(l + n - v));
	if (rc == 0 && !p->data.p)
		rc = buf_add(&p->data, "", 0);
	p->has_data = true;
	return rc;
}

int sse_feed(struct sse *p, const char *buf, size_t n, sse_event_fn fn, void *ud)
{
	size_t i = 0;
	while (i < n) {
		if (p->after_cr && buf[i] == '\n') {
			p->after_cr = false;
			i++;
			continue;
		}
		p->after_cr = false;
		/* Copy the run of bytes up to the next line end at once. */
		size_t j = i;
		while (j < n && buf[j] != '\n' && buf[j] != '\r')
			j++;
		if (j > i) {
			int rc = buf_add(&p->line, buf + i, j - i);
			if (rc)
				return rc;
		}
		if (j == n)
			break;
		p->after_cr = buf[j] == '\r';
		i = j + 1;
		int rc = sse_line(p, fn, ud);
		if (rc)
			return rc;
	}
	return 0;
}
