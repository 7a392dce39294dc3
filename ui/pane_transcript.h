/* The transcript pane: the conversation as entries (user turns, replies,
 * notes), word-wrapped to the pane's width, scrolled in display lines
 * counted from the bottom so new output follows unless the user scrolled
 * up. Only the UI thread uses it. */
#ifndef LT_PANE_TRANSCRIPT_H
#define LT_PANE_TRANSCRIPT_H

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

enum transcript_kind {
	TRANSCRIPT_USER,
	TRANSCRIPT_ASSISTANT,
	TRANSCRIPT_INFO,
	TRANSCRIPT_WARNING,
	TRANSCRIPT_ERROR,
};

struct transcript;

/* An empty transcript into *out: 0, or LT_E_NOMEM (and *out NULL). */
int transcript_new(struct transcript **out);
void transcript_free(struct transcript *t);

/* Adds an entry with a copy of len bytes of text. Returns 0 or -1 (memory). */
int transcript_add(struct transcript *t, enum transcript_kind kind, const char *text, size_t len);
/* Appends text to the last entry (a reply being streamed, or a chunked
 * event). Returns 0 or -1. */
int transcript_append(struct transcript *t, const char *text, size_t len);
/* Appends to the reasoning of the reply being received (the last reply
 * added); n_tokens: the reasoning tokens so far. A reply with reasoning
 * shows it dimmed above its answer, folded to one line once the answer
 * has started unless transcript_toggle_reasoning unfolded them all.
 * Returns 0 or -1 (memory, or no reply to append to). */
int transcript_append_reasoning(struct transcript *t, const char *text, size_t len,
				int n_tokens);
/* Folds or unfolds the reasoning of every reply; returns true when it is
 * now shown in full. */
bool transcript_toggle_reasoning(struct transcript *t);
/* Marks the last entry as a reply that was cut short. */
void transcript_mark_partial(struct transcript *t);
/* Forgets every entry and follows the bottom again. */
void transcript_clear(struct transcript *t);
size_t transcript_count(const struct transcript *t);

/* Scrolling, in display lines (positive is up, towards older text). The
 * view is clamped when drawn. */
void transcript_scroll(struct transcript *t, int lines);
void transcript_scroll_top(struct transcript *t);
void transcript_scroll_bottom(struct transcript *t);
bool transcript_at_bottom(const struct transcript *t);

/* Draws into win (all of it) at the window's width; colour pairs are the
 * UI's (tui.h). */
void transcript_draw(struct transcript *t, WINDOW *win, bool focused);

#endif
