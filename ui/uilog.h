/* The full-screen chat's log file, llamaterm.log in the state directory,
 * readable by its owner only (0600, as sessions and the history): what
 * the user sent (its size only, the text with --verbose), replies
 * finished, errors, signals. While it is open
 * stderr points at it, so a stray message from a library cannot garble
 * the curses screen. */
#ifndef LT_UILOG_H
#define LT_UILOG_H

#include <stdbool.h>
#include <stdio.h>

struct uilog {
	FILE *f;          /* NULL when the file could not be opened: logging is then off */
	int saved_stderr; /* the terminal's stderr while ours points at the file, else -1 */
	bool verbose;     /* --verbose: messages' text goes in too */
};

/* Opens the file (appending; created 0600, and an older file made 0600)
 * and points stderr at it. Failing is not an error: the chat runs without
 * a log. */
void uilog_open(struct uilog *l, bool verbose);
/* Gives stderr back to the terminal and closes the file. */
void uilog_close(struct uilog *l);
/* Writes one time-stamped line. */
void uilog_printf(struct uilog *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
