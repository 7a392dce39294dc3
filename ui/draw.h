/* Drawing helpers and the colour pairs shared by the panes. */
#ifndef LT_DRAW_H
#define LT_DRAW_H

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stddef.h>

/* Colour pairs (set up by draw_init_colors). */
enum draw_pair {
	DRAW_USER = 1,
	DRAW_ASSISTANT,
	DRAW_INFO,
	DRAW_WARNING,
	DRAW_ERROR,
	DRAW_STATUS,
	DRAW_GAUGE_LOW,
	DRAW_GAUGE_MID,
	DRAW_GAUGE_HIGH,
	DRAW_TITLE,
	DRAW_SELECT,
	DRAW_MATCH,
};

/* Defines the pairs when the terminal has colours. */
void draw_init_colors(void);

/* The attributes for a pair: the colour when there are colours, else a
 * monochrome stand-in (bold, reverse, dim). */
attr_t draw_attr(enum draw_pair p);

/* Draws n bytes of UTF-8 at the cursor, at most cols columns, control
 * characters and invalid bytes shown as a replacement cell, tabs as a
 * space. Returns the columns used. */
int draw_text(WINDOW *win, const char *s, size_t n, int cols);

/* Draws s at (y, x) clipped to cols columns, then pads with spaces to
 * cols columns when pad is set. */
void draw_line(WINDOW *win, int y, int x, const char *s, int cols, int pad);

#endif
