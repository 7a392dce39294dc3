/* The transcript pane. See pane_transcript.h.
 *
 * Each entry caches how many display lines it takes at the width it was
 * last measured at; only the entry that grows (the streamed reply) is
 * measured again, so a long transcript costs nothing per token.
 *
 * A reply's reasoning is drawn dimmed between its label and its answer:
 * in full while it streams (or when unfolded, F4), as one line saying how
 * long the model thought and how it began once the answer is there. */
#include "pane_transcript.h"

#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "errors.h"
#include "wrap.h"

/* Columns the text of a turn is indented under its label. */
#define TRANSCRIPT_INDENT 2

struct transcript_entry {
	enum transcript_kind kind;
	char *text;   /* (len + 1), NUL-terminated */
	size_t len, cap;
	bool partial;
	char *reasoning;  /* (rlen + 1) a reply's reasoning, NULL when none */
	size_t rlen, rcap;
	int n_think;      /* the tokens it took */
	int cached_width; /* -1: n_lines must be measured again */
	size_t n_lines;
	size_t n_rlines;  /* of which the reasoning's (header included) */
};

struct transcript {
	struct transcript_entry *e; /* (n, cap) */
	size_t n, cap;
	int width;    /* the width of the last draw (0 before) */
	size_t reply; /* the entry reasoning goes to: the last reply added */
	bool show_reasoning; /* unfolded everywhere (F4) */
	int height;
	long scroll;  /* display lines between the bottom of the view and the end */
};

int transcript_new(struct transcript **out)
{
	struct transcript *t = calloc(1, sizeof(struct transcript));
	if (t)
		t->reply = (size_t)-1;
	*out = t;
	return t ? LT_OK : LT_E_NOMEM;
}

void transcript_clear(struct transcript *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].text);
		free(t->e[i].reasoning);
	}
	t->n = 0;
	t->scroll = 0;
	t->reply = (size_t)-1;
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

/* The reasoning is folded to its header line: the answer has started and
 * the user has not unfolded reasoning. */
static bool transcript_folded(const struct transcript *t, const struct transcript_entry *e)
{
	return !t->show_reasoning && e->len > 0;
}

/* Display lines of an entry at width: the label, the reasoning (a header,
 * then its text unless folded), the text, a blank line after a turn. */
static size_t transcript_entry_lines(const struct transcript *t, struct transcript_entry *e,
				     int width)
{
	if (e->cached_width != width) {
		int tw = transcript_text_width(e, width);
		size_t n = wrap_text(e->text, e->len, tw, WRAP_WORD, NULL, 0);
		e->n_rlines = 0;
		if (e->rlen)
			e->n_rlines = 1 + (transcript_folded(t, e)
						   ? 0
						   : wrap_text(e->reasoning, e->rlen, tw, WRAP_WORD, NULL, 0));
		e->n_lines = transcript_is_turn(e->kind) ? n + e->n_rlines + 2 : n;
		e->cached_width = width;
	}
	return e->n_lines;
}

static size_t transcript_total(struct transcript *t, int width)
{
	size_t total = 0;
	for (size_t i = 0; i < t->n; i++)
		total += transcript_entry_lines(t, &t->e[i], width);
	return total;
}

/* Keeps the view on the same text when an entry at or after the view
 * grows while the user is scrolled up (the last one, or the reply). */
static void transcript_keep_view(struct transcript *t, size_t i, size_t before)
{
	if (t->scroll > 0 && t->width > 0 && i < t->n) {
		size_t after = transcript_entry_lines(t, &t->e[i], t->width);
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
	if (kind == TRANSCRIPT_ASSISTANT)
		t->reply = t->n - 1;
	transcript_keep_view(t, t->n - 1, 0);
	return 0;
}

/* Appends s[0..n) to a NUL-terminated text of *len bytes in *cap, growing
 * it; -1 when memory runs out (the text is then as it was). */
static int transcript_text_append(char **text, size_t *len, size_t *cap, const char *s, size_t n)
{
	size_t need = *len + n + 1;
	if (need > *cap) {
		size_t c = *cap * 2 > need ? *cap * 2 : need;
		char *p = realloc(*text, c);
		if (!p)
			return -1;
		*text = p, *cap = c;
	}
	memcpy(*text + *len, s, n);
	*len += n;
	(*text)[*len] = '\0';
	return 0;
}

int transcript_append(struct transcript *t, const char *text, size_t len)
{
	if (t->n == 0)
		return transcript_add(t, TRANSCRIPT_ASSISTANT, text, len);
	struct transcript_entry *e = &t->e[t->n - 1];
	size_t before = t->width > 0 ? transcript_entry_lines(t, e, t->width) : 0;
	if (transcript_text_append(&e->text, &e->len, &e->cap, text, len))
		return -1;
	e->cached_width = -1;
	transcript_keep_view(t, t->n - 1, before);
	return 0;
}

int transcript_append_reasoning(struct transcript *t, const char *text, size_t len,
				int n_tokens)
{
	if (t->reply >= t->n)
		return -1;
	struct transcript_entry *e = &t->e[t->reply];
	size_t before = t->width > 0 ? transcript_entry_lines(t, e, t->width) : 0;
	if (transcript_text_append(&e->reasoning, &e->rlen, &e->rcap, text, len))
		return -1;
	e->n_think = n_tokens;
	e->cached_width = -1;
	transcript_keep_view(t, t->reply, before);
	return 0;
}

bool transcript_toggle_reasoning(struct transcript *t)
{
	t->show_reasoning = !t->show_reasoning;
	for (size_t i = 0; i < t->n; i++)
		t->e[i].cached_width = -1;
	return t->show_reasoning;
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

/* The first line of a reasoning block: how long the model thought, and
 * when folded how its reasoning began (the rest of the line is clipped). */
static void transcript_draw_thought_header(WINDOW *win, const struct transcript *t,
					   const struct transcript_entry *e, int y, int width)
{
	bool folded = transcript_folded(t, e);
	char head[96];
	snprintf(head, sizeof(head), "%s thought for %d token%s%s",
		 folded ? "\xe2\x96\xb8" : "\xe2\x96\xbe", e->n_think, e->n_think == 1 ? "" : "s",
		 folded ? ": " : (e->len ? "" : "..."));
	wattrset(win, A_DIM);
	wmove(win, y, TRANSCRIPT_INDENT);
	int cols = transcript_text_width(e, width);
	int used = draw_text(win, head, strlen(head), cols);
	if (folded && used < cols) {
		const char *nl = memchr(e->reasoning, '\n', e->rlen);
		size_t n = nl ? (size_t)(nl - e->reasoning) : e->rlen;
		draw_text(win, e->reasoning, n, cols - used);
	}
	wattrset(win, A_NORMAL);
}

/* Draws display line k (0-based) of entry e at row y; wl holds the
 * entry's n wrapped text lines, rl its nr wrapped reasoning lines. */
static void transcript_draw_line(WINDOW *win, const struct transcript *t,
				 const struct transcript_entry *e, size_t k, int y, int width,
				 const struct wrap_line *wl, size_t n, const struct wrap_line *rl,
				 size_t nr)
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
	if (turn && e->n_rlines && k <= e->n_rlines) {
		if (k == 1) {
			transcript_draw_thought_header(win, t, e, y, width);
		} else if (k - 2 < nr) {
			wattrset(win, A_DIM);
			wmove(win, y, TRANSCRIPT_INDENT);
			draw_text(win, e->reasoning + rl[k - 2].off, rl[k - 2].len,
				  transcript_text_width(e, width));
			wattrset(win, A_NORMAL);
		}
		return;
	}
	size_t line = turn ? k - 1 - e->n_rlines : k;
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
		size_t nl = transcript_entry_lines(t, e, w);
		if (line + nl <= first) {
			line += nl;
			continue;
		}
		/* Wrapped once per visible entry, not once per line. */
		struct wrap_line *wl = NULL, *rl = NULL;
		int tw = transcript_text_width(e, w);
		size_t n = wrap_text_alloc(e->text, e->len, tw, WRAP_WORD, &wl);
		size_t nr = e->n_rlines > 1 ? wrap_text_alloc(e->reasoning, e->rlen, tw, WRAP_WORD, &rl)
					    : 0;
		for (size_t k = line < first ? first - line : 0; k < nl && y < h; k++)
			transcript_draw_line(win, t, e, k, y++, w, wl, n, rl, nr);
		free(wl);
		free(rl);
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
