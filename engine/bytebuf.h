/* A growable byte buffer for building file images in memory (GGUF metadata
 * values, session files) and for text read in pieces (HTTP bodies, event
 * streams). An allocation failure sticks: later appends do nothing and oom
 * stays set, so a builder checks once at the end. Numbers are appended
 * little-endian, as both file formats store them. */
#ifndef LT_BYTEBUF_H
#define LT_BYTEBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Zero-initialise ({ 0 }) to start empty; free p when done. */
struct bytebuf {
	uint8_t *p;   /* (cap) bytes, the first len in use and then a 0, so text reads as a C string */
	size_t len, cap;
	bool oom;     /* an allocation failed; the contents are incomplete */
};

void bytebuf_put(struct bytebuf *b, const void *data, size_t n);
/* Empties b, keeping its memory. */
void bytebuf_clear(struct bytebuf *b);
void bytebuf_u8(struct bytebuf *b, uint8_t v);
void bytebuf_u16(struct bytebuf *b, uint16_t v);
void bytebuf_u32(struct bytebuf *b, uint32_t v);
void bytebuf_u64(struct bytebuf *b, uint64_t v);
/* Overwrites the 4 bytes at offset at (already appended) with v. */
void bytebuf_patch_u32(struct bytebuf *b, size_t at, uint32_t v);

#endif
