/* A context's state images (ctx_state_save/load: the whole KV cache with
 * the last logits) and KV spans (ctx_kv_span_*: the rows of positions
 * [p0, p1), what a session journal appends after a turn). See context.h. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "context_impl.h"
#include "errors.h"

/* ---- state save and load ------------------------------------------------- */

/* The header words, in order. The image is in host byte order, which must
 * be little-endian like the GGUF files the weights come from. */
static void ctx_state_header(const struct ctx *c, int n_past, bool has_logits,
			     uint32_t h[CTX_STATE_HEADER_WORDS])
{
	h[0] = CTX_STATE_MAGIC;
	h[1] = CTX_STATE_VERSION;
	h[2] = (uint32_t)c->hp->n_layer;
	h[3] = (uint32_t)c->hp->n_head_kv;
	h[4] = (uint32_t)c->hp->head_dim;
	h[5] = (uint32_t)c->attn.kv_type;
	h[6] = (uint32_t)c->hp->n_vocab;
	h[7] = (uint32_t)c->hp->n_embd;
	h[8] = (uint32_t)n_past;
	h[9] = has_logits ? 1u : 0u;
	h[10] = c->hp->n_swa_layers ? (uint32_t)c->hp->n_swa : 0u;
}

static bool ctx_has_last_logits(const struct ctx *c)
{
	return ctx_logits(c, -1) != NULL;
}

/* The first position of layer il an image holds: sliding-window layers keep
 * only the window that the next position looks back on, whatever the ring
 * of the context that saves or loads it. */
static int ctx_state_first(const struct ctx *c, int il, int n_past)
{
	if (!c->w->layers[il].swa || n_past < c->hp->n_swa)
		return 0;
	return n_past - c->hp->n_swa + 1;
}

static size_t ctx_state_bytes(const struct ctx *c, int n_past, bool has_logits, int words)
{
	size_t rows = 0;
	for (int il = 0; il < c->hp->n_layer; il++)
		rows += (size_t)(n_past - ctx_state_first(c, il, n_past));
	return (size_t)words * sizeof(uint32_t) + 2 * rows * c->attn.kv_row_bytes +
	       (has_logits ? (size_t)c->hp->n_vocab * sizeof(float) : 0);
}

size_t ctx_state_size(const struct ctx *c)
{
	return ctx_state_bytes(c, c->n_past, ctx_has_last_logits(c), CTX_STATE_HEADER_WORDS);
}

/* Copies the rows of positions first..n_past-1 of layer il between the
 * cache and an image (to_image chooses the direction). */
static uint8_t *ctx_state_rows(const struct ctx *c, uint8_t *cache, int il, int first, int n_past,
			       uint8_t *img, bool to_image)
{
	const size_t row = c->attn.kv_row_bytes;
	const int ring = ctx_layer_ring(c, il) ? c->ring_rows : 0;
	uint8_t *layer = cache + c->layer_off[il];
	for (int p = first; p < n_past;) {
		/* Runs of rows that do not wrap around the ring move at once. */
		int r = ring ? p % ring : p;
		int run = n_past - p;
		if (ring && r + run > ring)
			run = ring - r;
		if (to_image)
			memcpy(img, layer + (size_t)r * row, (size_t)run * row);
		else
			memcpy(layer + (size_t)r * row, img, (size_t)run * row);
		img += (size_t)run * row;
		p += run;
	}
	return img;
}

int ctx_state_save(const struct ctx *c, void *buf, size_t size)
{
	const bool has_logits = ctx_has_last_logits(c);
	if (size < ctx_state_bytes(c, c->n_past, has_logits, CTX_STATE_HEADER_WORDS))
		return LT_E_FULL;
	uint32_t h[CTX_STATE_HEADER_WORDS];
	ctx_state_header(c, c->n_past, has_logits, h);
	uint8_t *p = buf;
	memcpy(p, h, sizeof(h));
	p += sizeof(h);
	for (int il = 0; il < c->hp->n_layer; il++) {
		int first = ctx_state_first(c, il, c->n_past);
		p = ctx_state_rows(c, c->k_cache, il, first, c->n_past, p, true);
		p = ctx_state_rows(c, c->v_cache, il, first, c->n_past, p, true);
	}
	if (has_logits)
		memcpy(p, ctx_logits(c, -1), (size_t)c->hp->n_vocab * sizeof(float));
	return 0;
}

int ctx_state_load(struct ctx *c, const void *buf, size_t size)
{
	static const char *const fields[CTX_STATE_HEADER_WORDS] = {
		"magic", "version", "layer count", "KV head count", "head size",
		"KV type", "vocabulary size", "embedding size", "positions", "logits flag",
		"sliding window",
	};
	uint32_t h[CTX_STATE_HEADER_WORDS], want[CTX_STATE_HEADER_WORDS];
	if (size < CTX_STATE_V1_WORDS * sizeof(uint32_t))
		return lt_seterr(c->err, sizeof(c->err), LT_E_FORMAT,
				 "state image too short (%zu bytes) for its header", size);
	memcpy(h, buf, CTX_STATE_V1_WORDS * sizeof(uint32_t));
	/* Version 1 images come from before sliding windows: 10 words. */
	int words = h[1] == 1u ? CTX_STATE_V1_WORDS : CTX_STATE_HEADER_WORDS;
	if (words == CTX_STATE_HEADER_WORDS) {
		if (size < sizeof(h))
			return lt_seterr(c->err, sizeof(c->err), LT_E_FORMAT,
					 "state image too short (%zu bytes) for its header", size);
		memcpy(h, buf, sizeof(h));
	} else {
		h[10] = 0;
	}
	if (h[8] > (uint32_t)c->n_ctx)
		return lt_seterr(c->err, sizeof(c->err), LT_E_FORMAT,
				 "state holds %" PRIu32 " positions, more than n_ctx %d", h[8], c->n_ctx);
	if (h[9] > 1)
		return lt_seterr(c->err, sizeof(c->err), LT_E_FORMAT, "state has a bad logits flag");
	ctx_state_header(c, (int)h[8], h[9] != 0, want);
	if (words == CTX_STATE_V1_WORDS)
		want[1] = 1u;
	for (int i = 0; i < CTX_STATE_HEADER_WORDS; i++)
		if (i != 8 && i != 9 && h[i] != want[i])
			return lt_seterr(c->err, sizeof(c->err), LT_E_FORMAT,
					 "state %s is %" PRIu32 ", this context has %" PRIu32, fields[i],
					 h[i], want[i]);
	const int n_past = (int)h[8];
	const bool has_logits = h[9] != 0;
	const size_t expect = ctx_state_bytes(c, n_past, has_logits, words);
	if (size != expect)
		return lt_seterr(c->err, sizeof(c->err), LT_E_FORMAT,
				 "state image is %zu bytes, its header implies %zu", size, expect);

	uint8_t *p = (uint8_t *)buf + (size_t)words * sizeof(uint32_t);
	int oldest = 0;
	ctx_kv_populate(c, n_past);
	for (int il = 0; il < c->hp->n_layer; il++) {
		int first = ctx_state_first(c, il, n_past);
		if (first > oldest)
			oldest = first;
		p = ctx_state_rows(c, c->k_cache, il, first, n_past, p, false);
		p = ctx_state_rows(c, c->v_cache, il, first, n_past, p, false);
	}
	c->n_past = n_past;
	c->swa_lo = oldest;
	c->swa_hi = n_past - 1;
	c->n_logits = 0;
	if (has_logits) {
		memcpy(c->logits, p, (size_t)c->hp->n_vocab * sizeof(float));
		c->n_logits = 1;
		c->logits_first = 0;
		c->n_eval = 1;
	}
	c->err[0] = '\0';
	return 0;
}

/* ---- KV spans ------------------------------------------------------------ */

#define CTX_SPAN_MAGIC 0x534b544cu /* "LTKS" read as little-endian */
#define CTX_SPAN_VERSION 1u
#define CTX_SPAN_WORDS 10

/* The first position of [p0, p1) a span holds for layer il: all of them,
 * except that a sliding-window layer keeps only the window that position
 * p1 looks back on (older rows could have left its ring already). */
static int ctx_span_first(const struct ctx *c, int il, int p0, int p1)
{
	int f = ctx_state_first(c, il, p1);
	return f > p0 ? f : p0;
}

static size_t ctx_span_bytes(const struct ctx *c, int p0, int p1)
{
	size_t rows = 0;
	for (int il = 0; il < c->hp->n_layer; il++)
		rows += (size_t)(p1 - ctx_span_first(c, il, p0, p1));
	return (CTX_SPAN_WORDS + (size_t)c->hp->n_layer) * sizeof(uint32_t) +
	       2 * rows * c->attn.kv_row_bytes;
}

static void ctx_span_header(const struct ctx *c, int p0, int p1, uint32_t h[CTX_SPAN_WORDS])
{
	h[0] = CTX_SPAN_MAGIC;
	h[1] = CTX_SPAN_VERSION;
	h[2] = (uint32_t)c->hp->n_layer;
	h[3] = (uint32_t)c->hp->n_head_kv;
	h[4] = (uint32_t)c->hp->head_dim;
	h[5] = (uint32_t)c->attn.kv_type;
	h[6] = (uint32_t)c->hp->n_embd;
	h[7] = c->hp->n_swa_layers ? (uint32_t)c->hp->n_swa : 0u;
	h[8] = (uint32_t)p0;
	h[9] = (uint32_t)p1;
}

/* Whether the cache still holds every row a span [p0, p1) stores: a ring
 * keeps only its last ring_rows positions, from swa_lo on. */
static bool ctx_span_held(const struct ctx *c, int p0, int p1)
{
	if (p0 < 0 || p0 > p1 || p1 > c->n_past)
		return false;
	if (!c->ring_rows || p1 == p0)
		return true;
	int oldest = c->swa_hi - c->ring_rows + 1;
	if (oldest < c->swa_lo)
		oldest = c->swa_lo;
	for (int il = 0; il < c->hp->n_layer; il++)
		if (ctx_layer_ring(c, il) && ctx_span_first(c, il, p0, p1) < p1 &&
		    ctx_span_first(c, il, p0, p1) < oldest)
			return false;
	return true;
}

size_t ctx_kv_span_size(const struct ctx *c, int p0, int p1)
{
	if (!ctx_span_held(c, p0, p1))
		return 0;
	return ctx_span_bytes(c, p0, p1);
}

int ctx_kv_span_save(const struct ctx *c, int p0, int p1, void *buf, size_t size)
{
	if (!ctx_span_held(c, p0, p1))
		return LT_E_RANGE;
	if (size < ctx_span_bytes(c, p0, p1))
		return LT_E_FULL;
	uint32_t h[CTX_SPAN_WORDS];
	ctx_span_header(c, p0, p1, h);
	uint8_t *p = buf;
	memcpy(p, h, sizeof(h));
	p += sizeof(h);
	for (int il = 0; il < c->hp->n_layer; il++) {
		uint32_t f = (uint32_t)ctx_span_first(c, il, p0, p1);
		memcpy(p, &f, sizeof(f));
		p += sizeof(f);
	}
	for (int il = 0; il < c->hp->n_layer; il++) {
		int first = ctx_span_first(c, il, p0, p1);
		p = ctx_state_rows(c, c->k_cache, il, first, p1, p, true);
		p = ctx_state_rows(c, c->v_cache, il, first, p1, p, true);
	}
	return 0;
}

int ctx_kv_span_load(struct ctx *c, const void *buf, size_t size, int p_end)
{
	static const char *const fields[CTX_SPAN_WORDS] = {
		"magic", "version", "layer count", "KV head count", "head size", "KV type",
		"embedding size", "sliding window", "start", "end",
	};
	uint32_t h[CTX_SPAN_WORDS], want[CTX_SPAN_WORDS];
	if (size < sizeof(h))
		return lt_seterr(c->err, sizeof(c->err), LT_E_FORMAT,
				 "KV span too short (%zu bytes) for its header", size);
	memcpy(h, buf, sizeof(h));
	if (h[8] != (uint32_t)c->n_past && h[8] != 0)
		return lt_seterr(c->err, sizeof(c->err), LT_E_FORMAT,
				 "KV span starts at %" PRIu32 ", the cache holds %d positions", h[8],
				 c->n_past);
	if (h[9] > (uint32_t)c->n_ctx || h[8] > h[9] || p_end < (int)h[8] || (uint32_t)p_end > h[9])
		return lt_seterr(c->err, sizeof(c->err), LT_E_FORMAT,
				 "KV span %" PRIu32 "..%" PRIu32 " (up to %d) does not fit n_ctx %d",
				 h[8], h[9], p_end, c->n_ctx);
	const int p0 = (int)h[8], p1 = (int)h[9];
	ctx_span_header(c, p0, p1, want);
	for (int i = 0; i < CTX_SPAN_WORDS; i++)
		if (h[i] != want[i])
			return lt_seterr(c->err, sizeof(c->err), LT_E_FORMAT,
					 "KV span %s is %" PRIu32 ", this context has %" PRIu32,
					 fields[i], h[i], want[i]);
	const size_t expect = ctx_span_bytes(c, p0, p1);
	if (size != expect)
		return lt_seterr(c->err, sizeof(c->err), LT_E_FORMAT,
				 "KV span is %zu bytes, its header implies %zu", size, expect);
	const uint8_t *firsts = (const uint8_t *)buf + sizeof(h);
	for (int il = 0; il < c->hp->n_layer; il++) {
		uint32_t f;
		memcpy(&f, firsts + (size_t)il * sizeof(f), sizeof(f));
		if (f != (uint32_t)ctx_span_first(c, il, p0, p1))
			return lt_seterr(c->err, sizeof(c->err), LT_E_FORMAT,
					 "KV span layer %d starts at %" PRIu32 ", not %d", il, f,
					 ctx_span_first(c, il, p0, p1));
	}
	uint8_t *p = (uint8_t *)buf + sizeof(h) + (size_t)c->hp->n_layer * sizeof(uint32_t);
	int swa_first = p0;
	ctx_kv_populate(c, p_end);
	for (int il = 0; il < c->hp->n_layer; il++) {
		int first = ctx_span_first(c, il, p0, p1);
		size_t rows = (size_t)(p1 - first) * c->attn.kv_row_bytes;
		if (c->w->layers[il].swa && first > swa_first)
			swa_first = first;
		if (first < p_end) {
			ctx_state_rows(c, c->k_cache, il, first, p_end, p, false);
			ctx_state_rows(c, c->v_cache, il, first, p_end, p + rows, false);
		}
		p += 2 * rows;
	}
	/* The rings hold an unbroken run of positions from swa_lo on; a span
	 * that stored only its window starts a new run (ctx_truncate and
	 * ctx_eval refuse to go on when the run misses part of a window). */
	if (p0 == 0)
		c->swa_lo = 0;
	if (swa_first > p0)
		c->swa_lo = swa_first < p_end ? swa_first : p_end;
	c->swa_hi = p_end - 1;
	c->n_past = p_end;
	c->n_logits = 0;
	c->err[0] = '\0';
	return 0;
}
