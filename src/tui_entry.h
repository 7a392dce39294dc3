/* The one call from 'llamaterm chat' into the curses UI.
 *
 * ui/ implements tui_run and provides ui/tui.h; cmd_chat.c calls it only
 * when __has_include("tui.h") finds that header, so the program builds and
 * runs in line mode before ui/ exists. The worker has been started and the
 * model may still be loading (watch RING_STATE). tui_run is the ring's only
 * consumer until it returns; cmd_chat.c then frees the worker (which
 * autosaves). */
#ifndef LT_TUI_ENTRY_H
#define LT_TUI_ENTRY_H

#include "options.h"

struct worker;

struct tui_args {
	const struct options *opts; /* the parsed command line */
	const char *history_path;   /* readline history file, or NULL */
};

/* Runs the full-screen chat until the user quits; returns the exit status. */
int tui_run(struct worker *w, const struct tui_args *args);

#endif
