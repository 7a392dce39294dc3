/* Private to the session files (session.c, the version-1 format and the
 * file reading; session_journal.c, the journal): the byte readers and
 * writers they share. Nothing else includes this header. */
#ifndef LT_SESSION_IMPL_H
#define LT_SESSION_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytebuf.h"
#include "session.h"
#include "utf8.h"

/* A bounds-checked reader over one payload: any short read sets bad and
 * yields zeros, so parsers check once at the end. */
struct rd {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static inline bool rd_take(struct rd *r, void *dst, size_t n)
{
	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		if (dst)
			memset(dst, 0, n);
		return false;
	}
	if (dst)
		memcpy(dst, r->p + r->off, n);
	r->off += n;
	return true;
}

static inline uint8_t rd_u8(struct rd *r)
{
	uint8_t v = 0;
	rd_take(r, &v, 1);
	return v;
}

static inline uint16_t rd_u16(struct rd *r)
{
	uint8_t x[2];
	rd_take(r, x, 2);
	return (uint16_t)(x[0] | x[1] << 8);
}

static inline uint32_t rd_u32(struct rd *r)
{
	uint8_t x[4];
	rd_take(r, x, 4);
	return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
}

static inline uint64_t rd_u64(struct rd *r)
{
	uint64_t lo = rd_u32(r);
	return lo | (uint64_t)rd_u32(r) << 32;
}

static inline float rd_f32(struct rd *r)
{
	uint32_t v = rd_u32(r);
	float f;
	memcpy(&f, &v, 4);
	return f;
}

/* A malloc'd NUL-terminated string; sets bad on short or non-UTF-8 data. */
static inline char *rd_str(struct rd *r)
{
	uint32_t n = rd_u32(r);
	if (r->bad || r->len - r->off < n || !utf8_valid((const char *)r->p + r->off, n) ||
	    memchr(r->p + r->off, 0, n)) {
		r->bad = true;
		return NULL;
	}
	char *s = malloc((size_t)n + 1);
	if (!s) {
		r->bad = true;
		return NULL;
	}
	memcpy(s, r->p + r->off, n);
	s[n] = '\0';
	r->off += n;
	return s;
}

static inline void wb_f32(struct bytebuf *b, float f)
{
	uint32_t v;
	memcpy(&v, &f, 4);
	bytebuf_u32(b, v);
}

/* Grows *p (cap elements of size bytes) to hold need, doubling; false when
 * out of memory (*p is then unchanged). */
static inline bool session_grow(void **p, int *cap, int need, size_t size)
{
	if (need <= *cap)
		return true;
	int nc = *cap ? *cap : 16;
	while (nc < need)
		nc *= 2;
	void *g = realloc(*p, (size_t)nc * size);
	if (!g)
		return false;
	*p = g;
	*cap = nc;
	return true;
}

static inline void wb_str(struct bytebuf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	bytebuf_u32(b, (uint32_t)n);
	bytebuf_put(b, s, n);
}

/* Whether the context ids add up to the head and the turns in the context
 * (which follow every turn that is not), as version 1's CTXT check has it. */
bool session_ctx_consistent(const struct session_data *d);

/* The sampling settings (v1's SAMP section, the journal's SAMP record). */
void session_encode_samp(struct bytebuf *b, const struct session_data *d);
bool session_parse_samp(struct rd *r, struct session_data *d);

/* Adds "path: what" to a warning line ("; " between items). */
void session_append_warn(char *warn, size_t warnlen, const char *path, const char *what);

/* Replays a journal image (session_journal.c); light skips the KV and
 * sampler-state payloads (and their checksums). */
int session_journal_decode(const uint8_t *buf, size_t len, bool light, const char *path,
			   struct session_data *d, char *warn, size_t warnlen, char *err,
			   size_t errlen);

/* ---- journals (session_journal.c) ---- */

#define SESSION_JOURNAL_HDR 16u  /* magic, version, crc */
#define SESSION_REC_HDR 8u       /* type, length */
#define SESSION_REC_OVERHEAD 12u /* type, length, crc */

/* Record encoders: each appends one whole record (header, payload, CRC). */
size_t jrec_begin(struct bytebuf *b, const char type[4]);
void jrec_end(struct bytebuf *b, size_t at);
void journal_header(struct bytebuf *b);
void jenc_meta(struct bytebuf *b, const struct session_data *d);
void jenc_samp(struct bytebuf *b, const struct session_data *d);
void jenc_turn(struct bytebuf *b, const struct session_data *d, int i);
void jenc_u32(struct bytebuf *b, const char type[4], uint32_t v);
void jenc_ids(struct bytebuf *b, int keep, int n_head, const int32_t *ids, int n);
void jenc_span(struct bytebuf *b, int p0, int p1, const void *blob, size_t len);
void jenc_blob(struct bytebuf *b, const char type[4], const void *blob, size_t len);
void jenc_commit(struct bytebuf *b, const struct session_data *d);

/* Bytes of the records a compacted journal of d holds, without its KV
 * records (with_ids: with its CIDS record). */
uint64_t journal_live_bytes(const struct session_data *d, bool with_ids);
uint64_t journal_turn_bytes(const struct session_turn *t);
/* The live part of a KV record of rec_bytes covering p0..p1, of which
 * p0..p_end is in use. */
uint64_t journal_span_live(int p0, int p1, int p_end, uint64_t rec_bytes);

#endif
