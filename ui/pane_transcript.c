/* The transcript pane. See pane_transcript.h.
 *
 * Each entry caches how many display lines it takes at the width it was
 * last measured at; only the entry that grows (the streamed reply) is
 * measured again, so a long transcript costs nothing per token. */
#include "pane_transcript.h"

#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "wrap.h"

/* Columns the text of a turn is indented under its label. */
#define TRANSCRIPT_INDENT 2

struct transcript_entry {
	enum transcript_kind kind;
	char *text;   /* (len + 1), NUL-terminated */
	size_t len, cap;
	bool partial;
	int cached_width; /* -1: n_lines must be measured again */
	size_t n_lines;
};

struct transcript {
	struct transcript_entry *e; /* (n, cap) */
	size_t n, cap;
	int width;    /* the width of the last draw (0 before) */
	int height;
	long scroll;  /* display lines between the bottom of the view and the end */
};

struct transcript *transcript_new(void)
{
	return calloc(1, sizeof(struct transcript));
}

void transcript_clear(struct transcript *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].text);
	t->n = 0;
	t->scroll = 0;
}

void transcript_free(struct transcript *t)
{
	if (!t)
		return;
	transcript_clear(t);
	free(t->e);
	free(t);
}

size_t transcript_count(const struct transcript *t)
{
	return t->n;
}

static bool transcript_is_turn(enum transcript_kind k)
{
	return k == TRANSCRIPT_USER || k == TRANSCRIPT_ASSISTANT;
}

static int transcript_text_width(const struct transcript_entry *e, int width)
{
	int w = transcript_is_turn(e->kind) ? width - TRANSCRIPT_INDENT : width;
	return w < 1 ? 1 : w;
}

/* Display lines of an entry at width: the label, the text, a blank line
 * after a turn. */
static size_t transcript_entry_lines(struct transcript_entry *e, int width)
{
	if (e->cached_width != width) {
		size_t n = wrap_text(e->text, e->len, transcript_text_width(e, width), WRAP_WORD,
				     NULL, 0);
		e->n_lines = transcript_is_turn(e->kind) ? n + 2 : n;
		e->cached_width = width;
	}
	return e->n_lines;
}

static size_t transcript_total(struct transcript *t, int width)
{
	size_t total = 0;
	for (size_t i = 0; i < t->n; i++)
		total += transcript_entry_lines(&t->e[i], width);
	return total;
}

/* Keeps the view on the same text when the last entry grows while the
 * user is scrolled up. */
static void transcript_keep_view(struct transcript *t, size_t before)
{
	if (t->scroll > 0 && t->width > 0 && t->n > 0) {
		size_t after = transcript_entry_lines(&t->e[t->n - 1], t->width);
		t->scroll += (long)after - (long)before;
	}
}

int transcript_add(struct transcript *t, enum transcript_kind kind, const char *text, size_t len)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct transcript_entry *e = realloc(t->e, cap * sizeof(*e));
		if (!e)
			return -1;
		t->e = e, t->cap = cap;
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return -1;
	memcpy(copy, text, len);
	copy[len] = '\0';
	t->e[t->n++] = (struct transcript_entry){ .kind = kind, .text = copy, .len = len,
						   .cap = len + 1, .cached_width = -1 };
	transcript_keep_view(t, 0);
	return 0;
}

int transcript_append(struct transcript *t, const char *text, size_t len)
{
	if (t->n == 0)
		return transcript_add(t, TRANSCRIPT_ASSISTANT, text, len);
	struct transcript_entry *e = &t->e[t->n - 1];
	if (e->len + len + 1 > e->cap) {
		size_t cap = e->cap * 2 > e->len + len + 1 ? e->cap * 2 : e->len + len + 1;
		char *p = realloc(e->text, cap);
		if (!p)
			return -1;
		e->text = p, e->cap = cap;
	}
	size_t before = t->width > 0 ? transcript_entry_lines(e, t->width) : 0;
	memcpy(e->text + e->len, text, len);
	e->len += len;
	e->text[e->len] = '\0';
	e->cached_width = -1;
	transcript_keep_view(t, before);
	return 0;
}

void transcript_mark_partial(struct transcript *t)
{
	if (t->n)
		t->e[t->n - 1].partial = true;
}

void transcript_scroll(struct transcript *t, int lines)
{
	t->scroll += lines;
	if (t->scroll < 0)
		t->scroll = 0;
}

void transcript_scroll_top(struct transcript *t)
{
	t->scroll = (long)1 << 40; /* clamped by the next draw */
}

void transcript_scroll_bottom(struct transcript *t)
{
	t->scroll = 0;
}

bool transcript_at_bottom(const struct transcript *t)
{
	return t->scroll == 0;
}

/* Draws display line k (0-based) of entry e at row y; wl holds the
 * entry's n wrapped text lines. */
static void transcript_draw_line(WINDOW *win, const struct transcript_entry *e, size_t k, int y,
				 int width, const struct wrap_line *wl, size_t n)
{
	bool turn = transcript_is_turn(e->kind);
	wmove(win, y, 0);
	if (turn && k == 0) {
		bool user = e->kind == TRANSCRIPT_USER;
		wattrset(win, draw_attr(user ? DRAW_USER : DRAW_ASSISTANT));
		waddstr(win, user ? "You" : "Assistant");
		wattrset(win, draw_attr(DRAW_WARNING));
		if (e->partial)
			waddstr(win, "  (cut short)");
		wattrset(win, A_NORMAL);
		return;
	}
	size_t line = turn ? k - 1 : k;
	if (line >= n)
		return; /* the blank line after a turn */
	attr_t a = A_NORMAL;
	if (e->kind == TRANSCRIPT_INFO)
		a = draw_attr(DRAW_INFO);
	else if (e->kind == TRANSCRIPT_WARNING)
		a = draw_attr(DRAW_WARNING);
	else if (e->kind == TRANSCRIPT_ERROR)
		a = draw_attr(DRAW_ERROR);
	wattrset(win, a);
	if (turn)
		wmove(win, y, TRANSCRIPT_INDENT);
	draw_text(win, e->text + wl[line].off, wl[line].len, transcript_text_width(e, width));
	wattrset(win, A_NORMAL);
}

void transcript_draw(struct transcript *t, WINDOW *win, bool focused)
{
	int h, w;
	getmaxyx(win, h, w);
	t->width = w, t->height = h;
	werase(win);
	size_t total = transcript_total(t, w);
	long max_scroll = (long)total > h ? (long)total - h : 0;
	if (t->scroll > max_scroll)
		t->scroll = max_scroll;
	/* The first display line shown; short transcripts start at the top. */
	size_t first = (long)total > h ? (size_t)((long)total - h - t->scroll) : 0;
	size_t line = 0;
	int y = 0;
	for (size_t i = 0; i < t->n && y < h; i++) {
		struct transcript_entry *e = &t->e[i];
		size_t nl = transcript_entry_lines(e, w);
		if (line + nl <= first) {
			line += nl;
			continue;
		}
		/* Wrapped once per visible entry, not once per line. */
		struct wrap_line *wl = NULL;
		size_t n = wrap_text_alloc(e->text, e->len, transcript_text_width(e, w), WRAP_WORD,
					   &wl);
		for (size_t k = line < first ? first - line : 0; k < nl && y < h; k++)
			transcript_draw_line(win, e, k, y++, w, wl, n);
		free(wl);
		line += nl;
	}
	if (t->scroll > 0) {
		const char *more = " more below (End) ";
		int len = (int)strlen(more) + 2;
		if (w > len) {
			wattrset(win, draw_attr(DRAW_STATUS));
			mvwaddstr(win, h - 1, w - len, " \xe2\x96\xbc");
			waddstr(win, more);
			wattrset(win, A_NORMAL);
		}
	}
	if (focused && h > 0 && w > 2) {
		wattrset(win, draw_attr(DRAW_TITLE));
		mvwaddstr(win, 0, w - 2, "\xe2\x97\x8f");
		wattrset(win, A_NORMAL);
	}
}
