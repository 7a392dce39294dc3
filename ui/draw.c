/* Drawing helpers and colour pairs. See draw.h. */
#include "draw.h"

#include <stdbool.h>
#include <string.h>
#include <wchar.h>

#include "wrap.h"

/* Characters drawn per waddnwstr call. */
#define DRAW_CHUNK 256

/* Whether the terminal has colours; set once when curses starts. */
static bool draw_have_colors;

void draw_init_colors(void)
{
	if (!has_colors())
		return;
	start_color();
	use_default_colors();
	draw_have_colors = true;
	init_pair(DRAW_USER, COLOR_CYAN, -1);
	init_pair(DRAW_ASSISTANT, COLOR_GREEN, -1);
	init_pair(DRAW_INFO, COLOR_BLUE, -1);
	init_pair(DRAW_WARNING, COLOR_YELLOW, -1);
	init_pair(DRAW_ERROR, COLOR_RED, -1);
	init_pair(DRAW_STATUS, COLOR_BLACK, COLOR_CYAN);
	init_pair(DRAW_GAUGE_LOW, COLOR_BLACK, COLOR_GREEN);
	init_pair(DRAW_GAUGE_MID, COLOR_BLACK, COLOR_YELLOW);
	init_pair(DRAW_GAUGE_HIGH, COLOR_WHITE, COLOR_RED);
	init_pair(DRAW_TITLE, COLOR_BLACK, COLOR_WHITE);
	init_pair(DRAW_SELECT, COLOR_BLACK, COLOR_CYAN);
	init_pair(DRAW_MATCH, COLOR_BLACK, COLOR_YELLOW);
}

attr_t draw_attr(enum draw_pair p)
{
	if (draw_have_colors) {
		attr_t extra = (p == DRAW_USER || p == DRAW_ASSISTANT || p == DRAW_ERROR) ? A_BOLD : 0;
		return COLOR_PAIR(p) | extra;
	}
	switch (p) {
	case DRAW_USER:
	case DRAW_ASSISTANT:
	case DRAW_ERROR:
		return A_BOLD;
	case DRAW_INFO:
	case DRAW_WARNING:
		return A_DIM;
	default:
		return A_REVERSE;
	}
}

int draw_text(WINDOW *win, const char *s, size_t n, int cols)
{
	wchar_t buf[DRAW_CHUNK];
	int nb = 0, used = 0;
	size_t i = 0, end = wrap_fit(s, n, cols);
	while (i < end) {
		uint32_t cp;
		size_t l = wrap_decode(s + i, end - i, &cp);
		int w = wrap_cp_width(cp);
		if (cp == '\t')
			cp = ' ';
		else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
			cp = '?';
		/* A mark with nothing to sit on would be dropped by curses. */
		if (w == 0 && used == 0 && nb == 0) {
			i += l;
			continue;
		}
		buf[nb++] = (wchar_t)cp;
		used += w;
		i += l;
		if (nb == DRAW_CHUNK) {
			waddnwstr(win, buf, nb);
			nb = 0;
		}
	}
	if (nb)
		waddnwstr(win, buf, nb);
	return used;
}

void draw_line(WINDOW *win, int y, int x, const char *s, int cols, int pad)
{
	if (cols <= 0)
		return;
	wmove(win, y, x);
	int used = draw_text(win, s, strlen(s), cols);
	if (pad)
		for (; used < cols; used++)
			waddch(win, ' ');
}
