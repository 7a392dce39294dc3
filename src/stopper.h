/* Stop-string matching over streamed text.
 *
 * Generated text arrives in pieces (one per token). A stop string may be
 * split across pieces, so text that could still turn into a stop string is
 * held back until it either completes one (then it is swallowed and the
 * reply ends) or can no longer do so (then it is released). The text that
 * comes out is therefore exactly the generated text up to, and not
 * including, the first stop string, however the pieces were cut.
 *
 * "First" means the stop string that completes first; when two complete at
 * the same byte the longer one wins. Released text never ends inside a
 * UTF-8 character: a trailing incomplete sequence is held like a prefix. */
#ifndef LT_STOPPER_H
#define LT_STOPPER_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

/* stopper_feed results besides negative lt_error codes. */
enum stopper_status {
	STOPPER_MORE = 0, /* no stop string yet; keep generating */
	STOPPER_HIT = 1,  /* a stop string completed; the reply is over */
};

struct stopper;

/* Creates a matcher for n stop strings (stops may be NULL when n is 0).
 * Each must be non-empty valid UTF-8; duplicates are kept once. Returns 0,
 * or LT_E_INVAL / LT_E_NOMEM with a message in err (and *out NULL). */
int stopper_new(struct stopper **out, const char *const *stops, int n, char *err, size_t errlen);
void stopper_free(struct stopper *st);

/* Adds a stop string (LT_E_INVAL with a message if empty or not UTF-8). */
int stopper_add(struct stopper *st, const char *stop, char *err, size_t errlen);
/* Removes a stop string; LT_E_NOTFOUND if it was not there. Held text that
 * no longer matches anything is released by the next feed or flush. */
int stopper_remove(struct stopper *st, const char *stop);
/* Sets *out to the stop strings (valid until the next add/remove/free) and
 * returns how many there are. */
int stopper_list(const struct stopper *st, const char *const **out);

/* Appends len bytes of generated text. *out and *out_len receive the text
 * that can be shown now (may be empty; valid until the next call on st).
 * Returns STOPPER_MORE, STOPPER_HIT, or a negative lt_error. After a hit,
 * further feeds release nothing and return STOPPER_HIT until stopper_reset;
 * text after the stop string in the same piece is dropped. */
int stopper_feed(struct stopper *st, const char *piece, size_t len, const char **out,
		 size_t *out_len);

/* Releases everything still held (end of generation without a stop). */
void stopper_flush(struct stopper *st, const char **out, size_t *out_len);

/* Forgets held text and any hit, ready for the next reply. */
void stopper_reset(struct stopper *st);

/* The stop string that ended the reply, or NULL. */
const char *stopper_hit(const struct stopper *st);

/* Bytes currently held back. */
size_t stopper_held(const struct stopper *st);

#endif
