/* libFuzzer harness for the event-stream parser (sse.c) and the chunk
 * parser of remote.c: the input is a stream cut into pieces at positions
 * its first byte seeds. Whatever the cuts, the events (and the text the
 * chunks carry) must be those of feeding the stream whole. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "remote.h"
#include "sse.h"

struct out {
	char *s;
	size_t n;
	struct remote_result res;
	char err[256];
};

static int add(struct out *o, const char *text, size_t len)
{
	char *g = realloc(o->s, o->n + len + 1);
	if (!g)
		return -1;
	memcpy(g + o->n, text, len);
	o->n += len;
	g[o->n++] = '\x1e'; /* a separator no event can hide */
	o->s = g;
	return 0;
}

static int on_piece(void *ud, enum remote_part part, const char *text, size_t len)
{
	return add(ud, text, len) ? 1 : 0;
}

static int on_event(void *ud, const char *data, size_t len)
{
	struct out *o = ud;
	if (add(o, data, len))
		return -1;
	int rc = remote_parse_chunk(data, len, on_piece, o, &o->res, o->err, sizeof(o->err));
	return rc == REMOTE_CHUNK_STOP ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned seed = data[0];
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	struct sse *p;
	if (sse_new(&p))
		return 0;
	struct out whole = { 0 }, cut = { 0 };
	int rw = sse_feed(p, text, len, on_event, &whole);
	bool pw = sse_pending(p);
	sse_reset(p);
	int rc = 0;
	for (size_t i = 0; i < len && rc == 0;) {
		seed = seed * 1103515245u + 12345u;
		size_t step = 1 + (seed >> 16) % 7;
		if (step > len - i)
			step = len - i;
		rc = sse_feed(p, text + i, step, on_event, &cut);
		i += step;
	}
	if (rw == 0 && rc == 0 &&
	    (whole.n != cut.n || (whole.n && memcmp(whole.s, cut.s, whole.n)) ||
	     pw != sse_pending(p) || strcmp(whole.res.finish, cut.res.finish) ||
	     whole.res.n_gen != cut.res.n_gen))
		abort();
	free(whole.s);
	free(cut.s);
	sse_free(p);
	return 0;
}
