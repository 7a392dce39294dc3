/* Splitting a streamed reply into its reasoning and its answer.
 *
 * Reasoning models (Qwen3, DeepSeek-R1 and its distills) open a reply with
 * a block such as "<think>\n...\n</think>\n\n" before the answer. The
 * splitter takes the reply text piece by piece, as the detokenizer and the
 * stop matcher let it through, and hands each byte on once it knows which
 * side it belongs to:
 *
 *   - The block counts only at the very start of the reply (after blank
 *     space): a start tag met later is part of the answer, so a model that
 *     writes about "<think>" in its answer is shown as it wrote it.
 *   - Tags may arrive split across tokens ("<th" + "ink>"): bytes that could
 *     still become a tag are held back until the next piece decides.
 *   - The reasoning loses the blank space around it and the answer its
 *     leading blank space, as the models' own templates trim them.
 *   - A block the prompt already opened (DeepSeek-R1's generation prompt
 *     ends with "<think>\n") starts the splitter inside it.
 *   - A block that never ends (the reply was cut short) stays reasoning.
 *   - A reply without a block passes through unchanged, byte for byte,
 *     leading spaces included (the conversation depends on them).
 *
 * Not thread-safe; one splitter per reply stream. */
#ifndef LT_REASONING_H
#define LT_REASONING_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

/* The tags used when a template names none ('llamaterm run'). */
#define REASONING_DEFAULT_START "<think>"
#define REASONING_DEFAULT_END "</think>"

enum reasoning_part {
	REASONING_ANSWER = 0,
	REASONING_THOUGHT = 1,
};

/* Receives the split text; returns 0, or a negative lt_error that stops the
 * feed and is passed back to its caller. */
typedef int (*reasoning_emit_fn)(void *ud, enum reasoning_part part, const char *text,
				 size_t len);

struct reasoning;

/* A splitter for the tags start and end (copied). With start NULL or ""
 * everything is answer. Returns 0, or LT_E_NOMEM (and *out NULL). */
int reasoning_new(struct reasoning **out, const char *start, const char *end);
void reasoning_free(struct reasoning *r);

/* Starts a new reply; inside: the prompt already opened the block. */
void reasoning_reset(struct reasoning *r, bool inside);

/* Splits len more bytes of the reply. */
int reasoning_feed(struct reasoning *r, const char *text, size_t len, reasoning_emit_fn emit,
		   void *ud);

/* Ends the reply: what was held back goes out (a partial tag as text of
 * its side, trailing blank space of unfinished reasoning is dropped). */
int reasoning_flush(struct reasoning *r, reasoning_emit_fn emit, void *ud);

/* True while the reply is, or may still turn out to be, in its reasoning
 * (held bytes that could open a block count). */
bool reasoning_in_thought(const struct reasoning *r);

/* Whether template text ends inside an open block: its last start tag
 * comes after its last end tag. False when start is empty. */
bool reasoning_opens(const char *text, const char *start, const char *end);

/* Splits a whole reply at once into malloc'd strings (answer and thought,
 * either may be ""). For replies saved with their tags, and tests. */
int reasoning_split(const char *text, const char *start, const char *end, bool inside,
		    char **answer, char **thought);

#endif
