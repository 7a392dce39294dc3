/* A parser of Server-Sent Events (the text/event-stream of the WHATWG HTML
 * standard) as OpenAI-compatible servers stream replies: bytes go in as the
 * network delivers them, split anywhere, and each complete event's data
 * (its data: lines joined by newlines) comes out through a callback.
 * Lines end with LF, CRLF or a lone CR; a line that starts with ':' is a
 * comment (a keep-alive) and ignored, as are fields other than data; an
 * event without data lines is not delivered. */
#ifndef LT_SSE_H
#define LT_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

struct sse;

/* Longest event the parser holds (LT_E_FULL beyond it). */
#define SSE_EVENT_MAX (16u << 20)

/* Called for each complete event; a non-zero return stops sse_feed, which
 * returns it. */
typedef int (*sse_event_fn)(void *ud, const char *data, size_t len);

int sse_new(struct sse **out);
void sse_free(struct sse *p);
/* Forgets any partial line or event (a new stream). */
void sse_reset(struct sse *p);

/* Parses n more bytes. Returns 0, LT_E_FULL for a line or event beyond
 * SSE_EVENT_MAX, LT_E_NOMEM, or what the callback returned. */
int sse_feed(struct sse *p, const char *buf, size_t n, sse_event_fn fn, void *ud);

/* Whether an event was begun and not finished (the stream stopped in the
 * middle of one). */
bool sse_pending(const struct sse *p);

#endif
