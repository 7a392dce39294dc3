/* The side panes (F1 help, F2 metadata, F3 sessions) behind one small
 * interface, so the UI loop never asks which pane is open: it calls the
 * open pane's hooks and acts on the flags they return (htop style).
 *
 * Adding a pane: one pane_*.c file defining its struct pane_ops, one row
 * in pane.c's table, and its focus, toggle action and bindings in keys.c
 * (the key table is also the help and the man page, so they live there). */
#ifndef LT_PANE_H
#define LT_PANE_H

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "keys.h"
#include "listview.h"

struct options;
struct ring_event;
struct worker;

/* Handler results: bits the UI loop acts on. */
enum pane_flags {
	PANE_HANDLED = 0x1, /* the pane used the key; the key table's action does not run */
	PANE_REDRAW = 0x2,  /* draw again */
	PANE_CLOSE = 0x4,   /* close the pane (it opened a session, say) */
	PANE_CONFIRM = 0x8, /* ask the y/n question written to env->question; the
			     * answer goes to the pane's confirm hook */
};

/* What the UI lends a pane for the length of one hook call. Panes reach
 * the engine only through worker commands. */
struct pane_env {
	struct worker *w;
	const struct options *opts;
	char *question;      /* PANE_CONFIRM's question (key) */
	size_t question_len;
	char *err;           /* a message for the status bar on failure (open, confirm) */
	size_t err_len;
};

struct pane_ops {
	const char *name;         /* for the log */
	enum keys_focus focus;    /* the focus its key bindings use */
	enum keys_action toggle;  /* the key action that shows or hides it */
	/* The pane is shown and takes the focus: makes *state on first use
	 * and refreshes it. Returns 0, or a negative lt_error with env->err
	 * set (left empty when memory ran out). */
	int (*open)(void **state, const struct pane_env *env);
	void (*free)(void *state);
	/* Draws into win (all of it); returns the list rows, for paging. */
	int (*draw)(void *state, WINDOW *win, bool focused);
	/* The list the shared keys and the mouse wheel scroll. */
	struct listview *(*list)(void *state);
	/* Optional. A key while the pane has the focus; a is what the key
	 * table maps it to. Returns pane_flags. */
	unsigned (*key)(void *state, const struct pane_env *env, int key, enum keys_action a);
	/* Optional. The y/n answer to PANE_CONFIRM; returns 0, or -1 with
	 * env->err set. */
	int (*confirm)(void *state, const struct pane_env *env, bool yes);
	/* Optional. A worker event, seen by every pane made so far, open or
	 * not, so a hidden list is current when it is shown again. */
	void (*event)(void *state, const struct ring_event *ev);
};

/* Most panes the table may hold (the UI keeps their states in an array). */
#define PANE_MAX 8

/* The panes, n of them, in no particular order. */
const struct pane_ops *const *pane_table(size_t *n);

/* The panes (each pane_*.c defines one). */
extern const struct pane_ops pane_help;
extern const struct pane_ops pane_meta;
extern const struct pane_ops pane_sessions;

#endif
