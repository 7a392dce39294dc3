/* The full-screen chooser. See picker.h. */
#define NCURSES_WIDECHAR 1
#include "picker.h"

#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "draw.h"
#include "errors.h"
#include "keys.h"
#include "listview.h"
#include "miniline.h"

struct picker {
	const struct picker_item *items;
	size_t n;
	struct listview *lv;
	char filter[MINILINE_MAX];
	bool filtering;  /* typing goes to the filter */
};

/* Lists the items whose label holds the filter (every one without). */
static void picker_fill(struct picker *p)
{
	long keep = listview_count(p->lv) ? listview_tag(p->lv, listview_selected(p->lv)) : -1;
	listview_clear(p->lv);
	size_t sel = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (p->filter[0] && !strcasestr(p->items[i].label, p->filter))
			continue;
		if ((long)i == keep)
			sel = listview_count(p->lv);
		listview_add(p->lv, p->items[i].usable ? LISTVIEW_TEXT : LISTVIEW_DIM, (long)i,
			     p->items[i].label);
	}
	listview_select(p->lv, sel);
	listview_highlight(p->lv, p->filter[0] ? p->filter : NULL);
}

static void picker_draw(struct picker *p, const char *title, const char *const *empty,
			size_t n_empty)
{
	int h, w;
	getmaxyx(stdscr, h, w);
	erase();
	if (p->n == 0) {
		attrset(A_BOLD);
		mvaddnstr(0, 0, title, w);
		attrset(A_NORMAL);
		for (size_t i = 0; i < n_empty && (int)i + 2 < h; i++)
			mvaddnstr((int)i + 2, 0, empty[i], w);
		wnoutrefresh(stdscr);
		doupdate();
		return;
	}
	char footer[MINILINE_MAX + 96];
	if (p->filtering)
		snprintf(footer, sizeof(footer), " filter: %s_   Enter picks  Esc clears", p->filter);
	else if (p->filter[0])
		snprintf(footer, sizeof(footer), " filter: %s   / changes  Enter chats  q quits",
			 p->filter);
	else
		snprintf(footer, sizeof(footer), " Enter chats  / filters  q quits");
	WINDOW *win = derwin(stdscr, h, w, 0, 0);
	if (win) {
		listview_draw(p->lv, win, title, footer, true);
		wnoutrefresh(win);
		delwin(win);
	}
	doupdate();
}

/* A key while the filter is being typed; returns true when it was taken. */
static bool picker_filter_key(struct picker *p, int ch)
{
	size_t len = strlen(p->filter);
	if (ch == KEYS_ESC) {
		p->filter[0] = '\0';
		p->filtering = false;
	} else if (ch == '\r' || ch == '\n' || ch == KEY_ENTER) {
		p->filtering = false;
		return false; /* Enter also picks */
	} else if (ch == KEY_BACKSPACE || ch == 0x7F || ch == 0x08) {
		while (len > 0 && ((unsigned char)p->filter[len - 1] & 0xC0) == 0x80)
			len--; /* a whole UTF-8 character */
		if (len > 0)
			len--;
		p->filter[len] = '\0';
	} else if (ch >= 0x20 && ch < 0x7F && len + 1 < sizeof(p->filter)) {
		p->filter[len] = (char)ch;
		p->filter[len + 1] = '\0';
	} else {
		return ch != KEY_UP && ch != KEY_DOWN && ch != KEY_PPAGE && ch != KEY_NPAGE;
	}
	picker_fill(p);
	return true;
}

int picker_run(const char *title, const struct picker_item *items, size_t n,
	       const char *const *empty, size_t n_empty, size_t *chosen)
{
	struct picker p = { .items = items, .n = n };
	int rc = listview_new(&p.lv);
	if (rc < 0)
		return rc;
	setlocale(LC_ALL, "");
	set_escdelay(25);
	if (!initscr()) {
		listview_free(p.lv);
		return LT_E_IO;
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	curs_set(0);
	draw_init_colors();
	picker_fill(&p);
	int picked = 0;
	int rows = 1;
	for (;;) {
		picker_draw(&p, title, empty, n_empty);
		int h, w;
		getmaxyx(stdscr, h, w);
		(void)w;
		rows = h > 3 ? h - 2 : 1;
		int ch = getch();
		if (ch == ERR || ch == KEY_RESIZE)
			continue;
		if (n == 0)
			break;
		if (p.filtering && picker_filter_key(&p, ch))
			continue;
		if (ch == 'q' || ch == KEYS_ESC || ch == KEY_F(10))
			break;
		if (ch == '/') {
			p.filtering = true;
		} else if (ch == KEY_UP || ch == 'k') {
			listview_move(p.lv, -1);
		} else if (ch == KEY_DOWN || ch == 'j') {
			listview_move(p.lv, 1);
		} else if (ch == KEY_PPAGE) {
			listview_move(p.lv, -rows);
		} else if (ch == KEY_NPAGE) {
			listview_move(p.lv, rows);
		} else if (ch == KEY_HOME) {
			listview_select(p.lv, 0);
		} else if (ch == KEY_END) {
			listview_select(p.lv, listview_count(p.lv));
		} else if (ch == '\r' || ch == '\n' || ch == KEY_ENTER) {
			if (listview_count(p.lv) == 0)
				continue;
			long i = listview_tag(p.lv, listview_selected(p.lv));
			if (i >= 0 && (size_t)i < n && items[i].usable) {
				*chosen = (size_t)i;
				picked = 1;
				break;
			}
			beep();
		}
	}
	endwin();
	listview_free(p.lv);
	return picked;
}
