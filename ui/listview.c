/* A scrollable list with a selection. See listview.h. */
#include "listview.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "draw.h"
#include "errors.h"

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

/* Draws one line from column x, the highlighted text marked. */
static void listview_draw_text(struct listview *lv, WINDOW *win, const char *s, int cols)
{
	const char *hit = lv->highlight ? strcasestr(s, lv->highlight) : NULL;
	if (!hit) {
		draw_text(win, s, strlen(s), cols);
		return;
	}
	size_t hl = strlen(lv->highlight);
	attr_t old;
	short pair;
	wattr_get(win, &old, &pair, NULL);
	int used = draw_text(win, s, (size_t)(hit - s), cols);
	wattrset(win, draw_attr(DRAW_MATCH));
	used += draw_text(win, hit, hl, cols - used);
	wattrset(win, old);
	draw_text(win, hit + hl, strlen(hit + hl), cols - used);
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
	wattrset(win, focused ? draw_attr(DRAW_SELECT) | A_BOLD : draw_attr(DRAW_TITLE));
	draw_line(win, 0, 0, title, w, 1);
	wattrset(win, A_NORMAL);
	if (lv->sel < lv->top)
		lv->top = lv->sel;
	if (lv->sel >= lv->top + (size_t)rows)
		lv->top = lv->sel - (size_t)rows + 1;
	for (int y = 0; y < rows; y++) {
		size_t i = lv->top + (size_t)y;
		wattrset(win, draw_attr(DRAW_TITLE));
		mvwaddch(win, y + 1, 0, ' ');
		wattrset(win, A_NORMAL);
		if (i >= lv->n)
			continue;
		attr_t a = A_NORMAL;
		if (lv->l[i].style == LISTVIEW_HEADING)
			a = A_BOLD;
		else if (lv->l[i].style == LISTVIEW_DIM)
			a = draw_attr(DRAW_INFO);
		if (i == lv->sel && focused)
			a = draw_attr(DRAW_SELECT);
		wattrset(win, a);
		wmove(win, y + 1, 1);
		if (i == lv->sel && focused)
			for (int x = 1; x < w; x++)
				waddch(win, ' ');
		wmove(win, y + 1, 1);
		listview_draw_text(lv, win, lv->l[i].text, w - 1);
		wattrset(win, A_NORMAL);
	}
	if (footer) {
		wattrset(win, draw_attr(DRAW_TITLE));
		draw_line(win, h - 1, 0, footer, w, 1);
		wattrset(win, A_NORMAL);
	}
	return rows;
}
