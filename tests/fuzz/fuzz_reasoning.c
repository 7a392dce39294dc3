/* libFuzzer harness for the reasoning splitter: the input's first byte
 * picks the tags and whether the prompt opened the block, the rest is a
 * reply cut into pieces at the positions its next bytes say. Whatever the
 * cuts, the reasoning and the answer must be those of splitting the reply
 * whole, and no byte may be lost except blank space and the tags. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reasoning.h"

struct sides {
	char *s[2];
	size_t n[2];
};

static int collect(void *ud, enum reasoning_part part, const char *text, size_t len)
{
	struct sides *o = ud;
	if (!len)
		abort(); /* empty pieces are never emitted */
	char *g = realloc(o->s[part], o->n[part] + len);
	if (!g)
		return -1;
	memcpy(g + o->n[part], text, len);
	o->n[part] += len;
	o->s[part] = g;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tags[][2] = {
		{ "<think>", "</think>" }, { "<", ">" }, { "ab", "aab" }, { "", "" },
	};
	if (size < 2)
		return 0;
	unsigned mode = data[0];
	const char *start = tags[mode & 3][0], *end = tags[mode & 3][1];
	bool inside = mode & 4;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;

	struct reasoning *r;
	if (reasoning_new(&r, start, end) < 0)
		return 0;
	struct sides whole = { { NULL, NULL }, { 0, 0 } }, cut = whole;
	reasoning_reset(r, inside);
	reasoning_feed(r, text, len, collect, &whole);
	reasoning_flush(r, collect, &whole);

	reasoning_reset(r, inside);
	size_t pos = 0;
	for (size_t i = 0; pos < len; i++) {
		size_t step = 1 + (unsigned char)text[i % len] % 7;
		if (step > len - pos)
			step = len - pos;
		reasoning_feed(r, text + pos, step, collect, &cut);
		pos += step;
	}
	reasoning_flush(r, collect, &cut);
	for (int p = 0; p < 2; p++)
		if (whole.n[p] != cut.n[p] || (whole.n[p] && memcmp(whole.s[p], cut.s[p], whole.n[p])))
			abort();
	if (whole.n[0] + whole.n[1] > len)
		abort();
	/* Without tags everything is answer, byte for byte. */
	if (!start[0] && (whole.n[0] != len || whole.n[1] != 0))
		abort();
	for (int p = 0; p < 2; p++) {
		free(whole.s[p]);
		free(cut.s[p]);
	}
	reasoning_free(r);
	return 0;
}
