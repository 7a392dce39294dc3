/* What the full-screen chat's own files share, and nothing else includes:
 * tui.c (the event loop, signals, layout, drawing), actions.c (keys and
 * what they do) and feed.c (worker events into the transcript and the
 * status bar). The side panes see only pane.h. */
#ifndef LT_TUI_IMPL_H
#define LT_TUI_IMPL_H

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "keys.h"
#include "pane.h"
#include "pane_input.h"
#include "pane_transcript.h"
#include "ring.h"
#include "tui.h"
#include "uilog.h"

/* What a key or an event asks of the loop. */
#define TUI_REDRAW 0x1u
#define TUI_RESIZE 0x2u /* lay the windows out again (and redraw) */
#define TUI_QUIT 0x4u

enum tui_confirm {
	TUI_CONFIRM_NONE,
	TUI_CONFIRM_QUIT,
	TUI_CONFIRM_SIDE, /* the side pane asked (delete a session) */
};

struct tui {
	struct worker *w;
	struct ring *ring;
	const struct tui_args *args;

	struct transcript *tr;
	struct input *in;
	/* The side panes (pane.c's table) and their states, made on first
	 * showing and kept until the chat ends; side is the row shown, or -1. */
	const struct pane_ops *const *panes;
	size_t n_panes;
	void *pane_state[PANE_MAX];
	int side;

	WINDOW *w_tr, *w_status, *w_in, *w_side, *w_keys;
	int rows, cols, in_rows;
	bool too_small;
	bool side_overlay;
	enum keys_focus focus;

	/* Event stream state. */
	bool more;        /* the last record had RING_F_MORE */
	double load_frac;
	char load_what[128];
	unsigned tick;
	bool paste;

	char message[256];
	bool message_error;
	enum tui_confirm confirm;
	char question[256];

	bool curses_on;
	char fatal[512];  /* a fatal worker error, printed after the screen is restored */

	struct uilog log;
	int sig_pipe[2];
};

/* tui.c: sets the status bar's message (logged too). */
/* Gives the terminal back, stops the process as the shell's Ctrl-Z would,
 * and takes the terminal again when it is continued (fg). */
void tui_suspend(struct tui *t);

void tui_message(struct tui *t, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* actions.c: one key (keys.h code); returns TUI_* flags. */
unsigned actions_key(struct tui *t, int key);

/* feed.c: one worker event from the ring; returns TUI_* flags. */
unsigned feed_event(struct tui *t, const struct ring_event *ev);

#endif
