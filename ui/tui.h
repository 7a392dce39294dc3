/* The curses UI of 'llamaterm chat': the one call from src/cmd/cmd_chat.c
 * into ui/.
 *
 * cmd_chat.c has started the worker, and the model may still be loading
 * (watch WORKER_EV_STATE). tui_run is the ring's only consumer until it
 * returns; cmd_chat.c then frees the worker (which autosaves). */
#ifndef LT_TUI_H
#define LT_TUI_H

#include "options.h"

struct worker;

struct tui_args {
	const struct options *opts; /* the parsed command line */
	const char *history_path;   /* readline history file, or NULL */
};

/* Runs the full-screen chat until the user quits; returns the exit status. */
int tui_run(struct worker *w, const struct tui_args *args);

#endif
