/* A scrollable list of text lines with a selection, the body of every
 * side pane (help, metadata, sessions). Lines are copied; each carries a
 * style and an integer tag the owning pane uses to find its item. */
#ifndef LT_LISTVIEW_H
#define LT_LISTVIEW_H

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

enum listview_style {
	LISTVIEW_TEXT,
	LISTVIEW_HEADING,
	LISTVIEW_DIM,
};

struct listview;

/* An empty list into *out: 0, or LT_E_NOMEM (and *out NULL). */
int listview_new(struct listview **out);
void listview_free(struct listview *lv);
/* Removes every line (the selection goes back to the top). */
void listview_clear(struct listview *lv);
/* Adds a line (newlines and control characters are shown as marks).
 * Returns 0 or -1 when memory ran out. */
int listview_add(struct listview *lv, enum listview_style style, long tag, const char *text);
int listview_addf(struct listview *lv, enum listview_style style, long tag, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

size_t listview_count(const struct listview *lv);
const char *listview_text(const struct listview *lv, size_t i);
long listview_tag(const struct listview *lv, size_t i);
size_t listview_selected(const struct listview *lv);
void listview_select(struct listview *lv, size_t i);
/* Moves the selection by delta lines (clamped). */
void listview_move(struct listview *lv, long delta);

/* The first line at or after from (wrapping around) whose text contains
 * needle, ignoring ASCII case; -1 when none. */
long listview_find(const struct listview *lv, const char *needle, size_t from);
/* Text to highlight in every line (NULL for none); copied. */
void listview_highlight(struct listview *lv, const char *needle);

/* Draws the title row, the lines (the selected one highlighted when
 * focused) and a footer (NULL for none) into win. The first column is a
 * border. Lines longer than the pane wrap at spaces, their continuation
 * rows indented under the text, so nothing is cut off; the view scrolls
 * so the whole selected line shows. Returns the number of list rows, for
 * paging. */
int listview_draw(struct listview *lv, WINDOW *win, const char *title, const char *footer,
		  bool focused);

#endif
