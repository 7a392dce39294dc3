/* Growable byte buffer (see bytebuf.h). */
#include "bytebuf.h"

#include <stdlib.h>
#include <string.h>

/* The first allocation; the buffer doubles from there. */
#define BYTEBUF_MIN_CAP 256

void bytebuf_put(struct bytebuf *b, const void *data, size_t n)
{
	if (b->oom || (n == 0 && b->p))
		return;
	if (n > SIZE_MAX / 2 - b->len - 1) {
		b->oom = true;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : BYTEBUF_MIN_CAP;
		while (cap < b->len + n + 1)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = 0;
}

void bytebuf_clear(struct bytebuf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = 0;
}

void bytebuf_u8(struct bytebuf *b, uint8_t v)
{
	bytebuf_put(b, &v, 1);
}

void bytebuf_u16(struct bytebuf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	bytebuf_put(b, x, 2);
}

void bytebuf_u32(struct bytebuf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	bytebuf_put(b, x, 4);
}

void bytebuf_u64(struct bytebuf *b, uint64_t v)
{
	bytebuf_u32(b, (uint32_t)v);
	bytebuf_u32(b, (uint32_t)(v >> 32));
}

void bytebuf_patch_u32(struct bytebuf *b, size_t at, uint32_t v)
{
	if (b->oom || at > b->len || b->len - at < 4)
		return;
	for (int i = 0; i < 4; i++)
		b->p[at + i] = (uint8_t)(v >> (8 * i));
}
