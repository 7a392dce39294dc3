/* A one-line text field for the side panes (the search of the metadata
 * browser, a new session name): printable characters, Backspace, Ctrl-U,
 * Enter to accept, Esc to cancel. */
#ifndef LT_MINILINE_H
#define LT_MINILINE_H

#include <stdbool.h>
#include <stddef.h>

#define MINILINE_MAX 256

enum miniline_result {
	MINILINE_EDITING,
	MINILINE_DONE,
	MINILINE_CANCEL,
};

struct miniline {
	bool active;
	char text[MINILINE_MAX]; /* NUL-terminated UTF-8 */
	size_t len;
};

/* Starts editing with initial text (may be NULL). */
void miniline_start(struct miniline *m, const char *initial);
/* Feeds one key (keys.h code); deactivates on DONE or CANCEL. */
enum miniline_result miniline_key(struct miniline *m, int key);

#endif
