/* The status bar: model, template, context gauge, speeds of the last
 * reply, the engine's state, the session, and in place of all that a
 * question waiting for y/n or a short message. */
#ifndef LT_PANE_STATUS_H
#define LT_PANE_STATUS_H

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stdbool.h>

#include "worker.h"

struct status_view {
	const struct worker_status *st;
	double load_frac;      /* 0..1 while loading */
	const char *load_what; /* what is loading, or NULL */
	unsigned tick;         /* animation frame of the busy mark */
	const char *message;   /* NULL or a one-line note */
	bool message_error;
	const char *question;  /* NULL or a y/n question (takes the whole bar) */
};

/* Draws the bar into win (one row). */
void status_draw(WINDOW *win, const struct status_view *v);

#endif
