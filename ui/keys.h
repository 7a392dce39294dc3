/* The key bindings of the curses UI: one const table that drives the
 * dispatcher (keys_lookup), the F1 help pane and the KEY BINDINGS section
 * of the man page (keys_print_roff), so the three can never disagree.
 *
 * Keys the table does not claim go to the focused pane; in the input line
 * that is GNU readline, with its usual Emacs bindings and ~/.inputrc. */
#ifndef LT_KEYS_H
#define LT_KEYS_H

#include <stddef.h>
#include <stdio.h>

/* Key codes: characters are their code point; curses function keys
 * (KEY_PPAGE, KEY_F(1), ...) are wrapped with KEYS_FN so they cannot clash
 * with a character; Alt+character is KEYS_ALT. */
#define KEYS_FN(k) (0x1000000 | (k))
#define KEYS_ALT(c) (0x2000000 | (c))
#define KEYS_CTRL(c) ((c) & 0x1F)
#define KEYS_ESC 0x1B
/* Bracketed paste markers (ESC [200~ and ESC [201~), reported as keys. */
#define KEYS_PASTE_BEGIN KEYS_FN(0xFFF0)
#define KEYS_PASTE_END KEYS_FN(0xFFF1)

/* Where the focus is; a binding for KEYS_FOCUS_SIDE applies in every side
 * pane and one for KEYS_FOCUS_ANY everywhere, after the more specific ones. */
enum keys_focus {
	KEYS_FOCUS_ANY = 0,
	KEYS_FOCUS_INPUT,
	KEYS_FOCUS_TRANSCRIPT,
	KEYS_FOCUS_SIDE,
	KEYS_FOCUS_HELP,
	KEYS_FOCUS_META,
	KEYS_FOCUS_SESSIONS,
	KEYS_FOCUS_COUNT
};

enum keys_action {
	KA_NONE = 0,
	KA_SEND,            /* send the input (readline's accept-line) */
	KA_NEWLINE,         /* insert a newline into the input */
	KA_STOP,            /* stop the reply being generated */
	KA_INTERRUPT,       /* stop the reply, else clear the input, else ask to quit */
	KA_EOF,             /* at an empty prompt: ask to quit */
	KA_PAGE_UP,
	KA_PAGE_DOWN,
	KA_LINE_UP,
	KA_LINE_DOWN,
	KA_TOP,
	KA_BOTTOM,
	KA_MOUSE,           /* the mouse wheel scrolls what is under it */
	KA_HELP,            /* F1 */
	KA_META,            /* F2 */
	KA_SESSIONS,        /* F3 */
	KA_REASONING,       /* F4: fold or unfold the reasoning of replies */
	KA_FOCUS_NEXT,      /* Tab: next pane (or completion in a slash command) */
	KA_CLOSE,           /* close the side pane */
	KA_REDRAW,
	KA_SUSPEND,         /* Ctrl-Z: give the terminal back and stop like a job */
	KA_SEARCH,          /* start a search in the metadata browser */
	KA_SEARCH_NEXT,
	KA_ACTIVATE,        /* Enter in a list: expand a value, open a session */
	KA_SESSION_NEW,
	KA_SESSION_RENAME,
	KA_SESSION_DELETE,
	KA_QUIT,            /* ask to quit */
	KA_COUNT
};

struct keys_binding {
	int key;                 /* code as above */
	enum keys_focus focus;
	enum keys_action action;
	const char *name;        /* as the help shows it: "PgUp", "Ctrl-C" */
	const char *help;        /* one line */
};

/* The table, n entries, in the order the help lists them. */
const struct keys_binding *keys_table(size_t *n);

/* The action bound to key with the given focus (specific focus first, then
 * the side panes' shared bindings, then the global ones), or KA_NONE. */
enum keys_action keys_lookup(enum keys_focus focus, int key);

/* "input line", "transcript", ... (headings of the help). */
const char *keys_focus_title(enum keys_focus f);

/* Short action names ("send", "page-up"), for logs and tests. */
const char *keys_action_name(enum keys_action a);

/* The help text: calls line() once per line (headings, then one line per
 * binding with the key names padded to a column). */
void keys_help(void (*line)(void *ud, const char *text), void *ud);

/* The KEY BINDINGS section body as man page markup (.SS per focus, .TP per
 * binding). */
void keys_print_roff(FILE *out);

#endif
