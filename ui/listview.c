/* A scrollable list with a selection. See listview.h. */
#include "listview.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "draw.h"
#include "errors.h"
#include "wrap.h"

struct listview_line {
	char *text;
	enum listview_style style;
	long tag;
};

struct listview {
	struct listview_line *l; /* (n, cap) */
	size_t n, cap;
	size_t sel;
	size_t top;  /* first line shown */
	char *highlight;
};

int listview_new(struct listview **out)
{
	*out = calloc(1, sizeof(struct listview));
	return *out ? LT_OK : LT_E_NOMEM;
}

void listview_clear(struct listview *lv)
{
	for (size_t i = 0; i < lv->n; i++)
		free(lv->l[i].text);
	lv->n = lv->sel = lv->top = 0;
}

void listview_free(struct listview *lv)
{
	if (!lv)
		return;
	listview_clear(lv);
	free(lv->l);
	free(lv->highlight);
	free(lv);
}

int listview_add(struct listview *lv, enum listview_style style, long tag, const char *text)
{
	if (lv->n == lv->cap) {
		size_t cap = lv->cap ? lv->cap * 2 : 64;
		struct listview_line *l = realloc(lv->l, cap * sizeof(*l));
		if (!l)
			return -1;
		lv->l = l, lv->cap = cap;
	}
	char *copy = strdup(text);
	if (!copy)
		return -1;
	lv->l[lv->n++] = (struct listview_line){ .text = copy, .style = style, .tag = tag };
	return 0;
}

int listview_addf(struct listview *lv, enum listview_style style, long tag, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	int rc = listview_add(lv, style, tag, s);
	free(s);
	return rc;
}

size_t listview_count(const struct listview *lv)
{
	return lv->n;
}

const char *listview_text(const struct listview *lv, size_t i)
{
	return i < lv->n ? lv->l[i].text : "";
}

long listview_tag(const struct listview *lv, size_t i)
{
	return i < lv->n ? lv->l[i].tag : -1;
}

size_t listview_selected(const struct listview *lv)
{
	return lv->sel;
}

void listview_select(struct listview *lv, size_t i)
{
	lv->sel = lv->n == 0 ? 0 : i < lv->n ? i : lv->n - 1;
}

void listview_move(struct listview *lv, long delta)
{
	long s = (long)lv->sel + delta;
	if (s < 0)
		s = 0;
	listview_select(lv, (size_t)s);
}

long listview_find(const struct listview *lv, const char *needle, size_t from)
{
	if (!needle || !needle[0] || lv->n == 0)
		return -1;
	for (size_t k = 0; k < lv->n; k++) {
		size_t i = (from + k) % lv->n;
		if (strcasestr(lv->l[i].text, needle))
			return (long)i;
	}
	return -1;
}

void listview_highlight(struct listview *lv, const char *needle)
{
	free(lv->highlight);
	lv->highlight = needle && needle[0] ? strdup(needle) : NULL;
}

/* Continuation rows of a wrapped line start under its text, this much
 * further in than the line's own indent, so a wrapped value reads as one. */
#define LISTVIEW_HANG 2

/* The indent of a line's continuation rows: under the value of a
 * "label:   value" or "  KEY   description" line (the text after the first
 * run of two or more spaces), else its leading spaces plus the hang; at
 * most half the width so long labels still leave room. */
static int listview_hang(const char *s, int cols)
{
	int lead = 0;
	while (s[lead] == ' ')
		lead++;
	int hang = lead + LISTVIEW_HANG;
	const char *gap = strstr(s + lead, "  ");
	if (gap && gap[strspn(gap, " ")] != '\0') {
		size_t col = (size_t)(gap - s) + strspn(gap, " ");
		/* Columns, not bytes: the label may hold wide characters. */
		hang = wrap_width(s, col);
	}
	return hang > cols / 2 ? cols / 2 : hang;
}

/* The title cut at a separator of two spaces so the hints after it drop
 * out whole when the pane is narrow; returns the bytes to draw. */
static size_t listview_title_fit(const char *title, int cols)
{
	size_t n = strlen(title);
	while (wrap_width(title, n) > cols) {
		size_t cut = 0;
		for (size_t i = 1; i + 1 < n; i++)
			if (title[i] == ' ' && title[i + 1] == ' ')
				cut = i;
		if (cut == 0)
			break; /* no hint left to drop: draw_text cuts it */
		n = cut;
	}
	return n;
}

/* Splits s (len bytes) into rows: the first cols wide, the others
 * cols - hang. Fills up to max rows into out and returns how many the line
 * needs (at least 1). */
static size_t listview_wrap(const char *s, size_t len, int cols, int hang, struct wrap_line *out,
			    size_t max)
{
	struct wrap_line first;
	wrap_text(s, len, cols, WRAP_WORD, &first, 1);
	if (max > 0)
		out[0] = first;
	size_t rest = first.off + first.len;
	if (rest < len && (s[rest] == ' ' || s[rest] == '\n'))
		rest++; /* the break the first row ended at */
	if (rest >= len)
		return 1;
	int width = cols - hang < 1 ? 1 : cols - hang;
	size_t n = wrap_text(s + rest, len - rest, width, WRAP_WORD, max > 1 ? out + 1 : NULL,
			     max > 1 ? max - 1 : 0);
	for (size_t i = 0; max > 1 && i < n && i < max - 1; i++)
		out[1 + i].off += rest;
	return 1 + n;
}

/* The rows line i takes at width cols. */
static size_t listview_rows_of(const struct listview *lv, size_t i, int cols)
{
	const char *s = lv->l[i].text;
	return listview_wrap(s, strlen(s), cols, listview_hang(s, cols), NULL, 0);
}

/* Draws bytes [off, off + n) of s, with the part inside the highlighted
 * match [hit, hit + hl) marked. */
static void listview_draw_part(WINDOW *win, const char *s, size_t off, size_t n, size_t hit,
			       size_t hl, int cols)
{
	size_t a = hit > off ? hit : off, b = hit + hl < off + n ? hit + hl : off + n;
	if (hl == 0 || a >= b) {
		draw_text(win, s + off, n, cols);
		return;
	}
	attr_t old;
	short pair;
	wattr_get(win, &old, &pair, NULL);
	int used = draw_text(win, s + off, a - off, cols);
	wattrset(win, draw_attr(DRAW_MATCH));
	used += draw_text(win, s + a, b - a, cols - used);
	wattrset(win, old);
	draw_text(win, s + b, off + n - b, cols - used);
}

/* Draws line i from row y on, wrapped at cols columns, at most max_rows
 * rows; returns the rows used. */
static int listview_draw_line(struct listview *lv, WINDOW *win, size_t i, int y, int cols,
			      int max_rows, bool selected)
{
	const char *s = lv->l[i].text;
	size_t len = strlen(s);
	int hang = listview_hang(s, cols);
	size_t n = listview_wrap(s, len, cols, hang, NULL, 0);
	struct wrap_line *rows = malloc(n * sizeof(*rows));
	if (rows)
		listview_wrap(s, len, cols, hang, rows, n);
	const char *hit = lv->highlight ? strcasestr(s, lv->highlight) : NULL;
	size_t hit_off = hit ? (size_t)(hit - s) : 0, hl = hit ? strlen(lv->highlight) : 0;
	int used = 0;
	for (size_t r = 0; rows && r < n && used < max_rows; r++, used++) {
		wmove(win, y + used, 1);
		if (selected)
			for (int x = 1; x <= cols; x++)
				waddch(win, ' ');
		wmove(win, y + used, 1 + (r ? hang : 0));
		listview_draw_part(win, s, rows[r].off, rows[r].len, hit_off, hl,
				   cols - (r ? hang : 0));
	}
	if (!rows) { /* out of memory: one row, cut */
		wmove(win, y, 1);
		draw_text(win, s, len, cols);
		used = 1;
	}
	free(rows);
	return used;
}

int listview_draw(struct listview *lv, WINDOW *win, const char *title, const char *footer,
		  bool focused)
{
	int h, w;
	getmaxyx(win, h, w);
	werase(win);
	int rows = h - 1 - (footer ? 1 : 0);
	if (rows < 1 || w < 4)
		return 1;
	int cols = w - 1;
	wattrset(win, focused ? draw_attr(DRAW_SELECT) | A_BOLD : draw_attr(DRAW_TITLE));
	wmove(win, 0, 0);
	for (int used = draw_text(win, title, listview_title_fit(title, w), w); used < w; used++)
		waddch(win, ' ');
	wattrset(win, A_NORMAL);
	/* Scroll so the whole selected line shows (its first rows when it is
	 * taller than the pane). */
	if (lv->sel < lv->top)
		lv->top = lv->sel;
	if (lv->n > 0) {
		size_t below = listview_rows_of(lv, lv->sel, cols);
		while (lv->top < lv->sel) {
			size_t need = below;
			for (size_t i = lv->top; i < lv->sel && need <= (size_t)rows; i++)
				need += listview_rows_of(lv, i, cols);
			if (need <= (size_t)rows)
				break;
			lv->top++;
		}
	}
	wattrset(win, draw_attr(DRAW_TITLE));
	for (int y = 0; y < rows; y++)
		mvwaddch(win, y + 1, 0, ' ');
	int y = 0;
	for (size_t i = lv->top; i < lv->n && y < rows; i++) {
		attr_t a = A_NORMAL;
		if (lv->l[i].style == LISTVIEW_HEADING)
			a = A_BOLD;
		else if (lv->l[i].style == LISTVIEW_DIM)
			a = draw_attr(DRAW_INFO);
		bool selected = i == lv->sel && focused;
		if (selected)
			a = draw_attr(DRAW_SELECT);
		wattrset(win, a);
		y += listview_draw_line(lv, win, i, y + 1, cols, rows - y, selected);
	}
	wattrset(win, A_NORMAL);
	if (footer) {
		wattrset(win, draw_attr(DRAW_TITLE));
		draw_line(win, h - 1, 0, footer, w, 1);
		wattrset(win, A_NORMAL);
	}
	return rows;
}
