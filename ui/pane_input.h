/* The input pane: GNU readline driven through its callback interface and
 * drawn into a curses window. Keys arrive from the UI loop (input_key),
 * are turned into the bytes readline expects and handed to it one read at
 * a time; readline's redisplay only marks the pane for drawing.
 *
 * Readline keeps its state in globals, so there is one input pane per
 * process. History is the line-mode chat's file. */
#ifndef LT_PANE_INPUT_H
#define LT_PANE_INPUT_H

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stdbool.h>

struct input;

/* Installs the readline handler and reads history_path (may be NULL) into
 * *out. Returns 0, LT_E_NOMEM, or LT_E_INVAL when another input pane exists
 * (readline has one line editor per process). */
int input_new(struct input **out, const char *history_path);
/* Removes the handler and writes the history file. */
void input_free(struct input *in);

/* Feeds one key (keys.h codes). Returns true when the pane changed. */
bool input_key(struct input *in, int key);
/* Inserts text literally at the cursor (newlines and pasted text). */
void input_insert(struct input *in, const char *text);

/* The line accepted with Enter, malloc'd, or NULL when none is waiting. */
char *input_take_line(struct input *in);
/* Whether the line being edited is empty. */
bool input_is_empty(const struct input *in);
/* Whether the line being edited starts with '/' (Tab then completes). */
bool input_is_command(const struct input *in);
/* Empties the line being edited. */
void input_clear(struct input *in);
/* A one-line message from completion (the list of matches), or NULL;
 * cleared by the next key. */
const char *input_message(const struct input *in);

/* Rows the text needs at width cols, between 1 and max_rows. */
int input_rows(struct input *in, int cols, int max_rows);
/* Draws the prompt and the text into win; *cy, *cx get the cursor. */
void input_draw(struct input *in, WINDOW *win, int *cy, int *cx);
/* Whether readline asked to redisplay since the last draw. */
bool input_dirty(const struct input *in);

#endif
