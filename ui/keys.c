/* The key-binding table and what is generated from it. See keys.h. */
#define NCURSES_WIDECHAR 1
#include "keys.h"

#include <curses.h>
#include <string.h>

#include "roff.h"

/* Where the help puts the descriptions. */
#define KEYS_NAME_COL 14

static const struct keys_binding keys_bindings[] = {
	{ .key = KEYS_FN(KEY_F(1)), .focus = KEYS_FOCUS_ANY, .action = KA_HELP,
	  .name = "F1", .help = "show or hide this help" },
	{ .key = KEYS_FN(KEY_F(2)), .focus = KEYS_FOCUS_ANY, .action = KA_META,
	  .name = "F2", .help = "show or hide the model metadata browser" },
	{ .key = KEYS_FN(KEY_F(3)), .focus = KEYS_FOCUS_ANY, .action = KA_SESSIONS,
	  .name = "F3", .help = "show or hide the sessions list" },
	{ .key = KEYS_FN(KEY_F(4)), .focus = KEYS_FOCUS_ANY, .action = KA_REASONING,
	  .name = "F4", .help = "unfold or fold the reasoning of replies (reasoning models)" },
	{ .key = '\t', .focus = KEYS_FOCUS_ANY, .action = KA_FOCUS_NEXT,
	  .name = "Tab", .help = "move the focus to the next pane (completes a /command in the input)" },
	{ .key = KEYS_ESC, .focus = KEYS_FOCUS_ANY, .action = KA_STOP,
	  .name = "Esc", .help = "stop the reply being generated (the partial reply stays)" },
	{ .key = KEYS_CTRL('c'), .focus = KEYS_FOCUS_ANY, .action = KA_INTERRUPT,
	  .name = "Ctrl-C", .help = "stop the reply; else clear the input; at an empty prompt ask to quit" },
	{ .key = KEYS_FN(KEY_PPAGE), .focus = KEYS_FOCUS_ANY, .action = KA_PAGE_UP,
	  .name = "PgUp", .help = "scroll the transcript (or the side pane in focus) up a page" },
	{ .key = KEYS_FN(KEY_NPAGE), .focus = KEYS_FOCUS_ANY, .action = KA_PAGE_DOWN,
	  .name = "PgDn", .help = "scroll down a page" },
	{ .key = KEYS_FN(KEY_MOUSE), .focus = KEYS_FOCUS_ANY, .action = KA_MOUSE,
	  .name = "mouse wheel", .help = "scroll the pane under the pointer" },
	{ .key = KEYS_CTRL('l'), .focus = KEYS_FOCUS_ANY, .action = KA_REDRAW,
	  .name = "Ctrl-L", .help = "redraw the screen" },
	{ .key = KEYS_CTRL('z'), .focus = KEYS_FOCUS_ANY, .action = KA_SUSPEND,
	  .name = "Ctrl-Z", .help = "suspend to the shell (fg comes back; a reply keeps its place)" },
	{ .key = KEYS_FN(KEY_F(10)), .focus = KEYS_FOCUS_ANY, .action = KA_QUIT,
	  .name = "F10", .help = "quit (asks first; the session is saved)" },

	{ .key = '\r', .focus = KEYS_FOCUS_INPUT, .action = KA_SEND,
	  .name = "Enter", .help = "send the message (or run the /command)" },
	{ .key = '\n', .focus = KEYS_FOCUS_INPUT, .action = KA_NEWLINE,
	  .name = "Ctrl-J", .help = "insert a newline" },
	{ .key = KEYS_ALT('\r'), .focus = KEYS_FOCUS_INPUT, .action = KA_NEWLINE,
	  .name = "Alt-Enter", .help = "insert a newline" },
	{ .key = KEYS_CTRL('d'), .focus = KEYS_FOCUS_INPUT, .action = KA_EOF,
	  .name = "Ctrl-D", .help = "at an empty prompt ask to quit; else delete a character" },
	{ .key = KEYS_FN(KEY_HOME), .focus = KEYS_FOCUS_INPUT, .action = KA_TOP,
	  .name = "Home", .help = "with an empty input: go to the top of the transcript" },
	{ .key = KEYS_FN(KEY_END), .focus = KEYS_FOCUS_INPUT, .action = KA_BOTTOM,
	  .name = "End", .help = "with an empty input: follow the bottom of the transcript" },

	{ .key = KEYS_FN(KEY_UP), .focus = KEYS_FOCUS_TRANSCRIPT, .action = KA_LINE_UP,
	  .name = "Up", .help = "scroll up a line" },
	{ .key = KEYS_FN(KEY_DOWN), .focus = KEYS_FOCUS_TRANSCRIPT, .action = KA_LINE_DOWN,
	  .name = "Down", .help = "scroll down a line" },
	{ .key = KEYS_FN(KEY_HOME), .focus = KEYS_FOCUS_TRANSCRIPT, .action = KA_TOP,
	  .name = "Home", .help = "go to the top" },
	{ .key = KEYS_FN(KEY_END), .focus = KEYS_FOCUS_TRANSCRIPT, .action = KA_BOTTOM,
	  .name = "End", .help = "go to the bottom and follow new output" },

	{ .key = KEYS_FN(KEY_UP), .focus = KEYS_FOCUS_SIDE, .action = KA_LINE_UP,
	  .name = "Up", .help = "select the previous line" },
	{ .key = KEYS_FN(KEY_DOWN), .focus = KEYS_FOCUS_SIDE, .action = KA_LINE_DOWN,
	  .name = "Down", .help = "select the next line" },
	{ .key = KEYS_FN(KEY_HOME), .focus = KEYS_FOCUS_SIDE, .action = KA_TOP,
	  .name = "Home", .help = "select the first line" },
	{ .key = KEYS_FN(KEY_END), .focus = KEYS_FOCUS_SIDE, .action = KA_BOTTOM,
	  .name = "End", .help = "select the last line" },
	{ .key = KEYS_ESC, .focus = KEYS_FOCUS_SIDE, .action = KA_CLOSE,
	  .name = "Esc", .help = "close the side pane" },
	{ .key = 'q', .focus = KEYS_FOCUS_SIDE, .action = KA_CLOSE,
	  .name = "q", .help = "close the side pane" },

	{ .key = '/', .focus = KEYS_FOCUS_META, .action = KA_SEARCH,
	  .name = "/", .help = "search keys, values and tensor names" },
	{ .key = 'n', .focus = KEYS_FOCUS_META, .action = KA_SEARCH_NEXT,
	  .name = "n", .help = "next match" },
	{ .key = '\r', .focus = KEYS_FOCUS_META, .action = KA_ACTIVATE,
	  .name = "Enter", .help = "expand or fold a long value or array" },

	{ .key = '\r', .focus = KEYS_FOCUS_SESSIONS, .action = KA_ACTIVATE,
	  .name = "Enter", .help = "open the selected session" },
	{ .key = 'n', .focus = KEYS_FOCUS_SESSIONS, .action = KA_SESSION_NEW,
	  .name = "n", .help = "start a new session" },
	{ .key = 'r', .focus = KEYS_FOCUS_SESSIONS, .action = KA_SESSION_RENAME,
	  .name = "r", .help = "rename the selected session" },
	{ .key = 'd', .focus = KEYS_FOCUS_SESSIONS, .action = KA_SESSION_DELETE,
	  .name = "d", .help = "delete the selected session (asks first)" },
};

#define KEYS_N (sizeof(keys_bindings) / sizeof(keys_bindings[0]))

static const char *const keys_titles[KEYS_FOCUS_COUNT] = {
	[KEYS_FOCUS_ANY] = "Everywhere",
	[KEYS_FOCUS_INPUT] = "Input line",
	[KEYS_FOCUS_TRANSCRIPT] = "Transcript (focused with Tab)",
	[KEYS_FOCUS_SIDE] = "Side panes",
	[KEYS_FOCUS_HELP] = "Help (F1)",
	[KEYS_FOCUS_META] = "Metadata browser (F2)",
	[KEYS_FOCUS_SESSIONS] = "Sessions list (F3)",
};

static const char *const keys_action_names[KA_COUNT] = {
	[KA_NONE] = "none",
	[KA_SEND] = "send",
	[KA_NEWLINE] = "newline",
	[KA_STOP] = "stop",
	[KA_INTERRUPT] = "interrupt",
	[KA_EOF] = "eof",
	[KA_PAGE_UP] = "page-up",
	[KA_PAGE_DOWN] = "page-down",
	[KA_LINE_UP] = "line-up",
	[KA_LINE_DOWN] = "line-down",
	[KA_TOP] = "top",
	[KA_BOTTOM] = "bottom",
	[KA_MOUSE] = "mouse",
	[KA_HELP] = "help",
	[KA_META] = "metadata",
	[KA_SESSIONS] = "sessions",
	[KA_REASONING] = "reasoning",
	[KA_FOCUS_NEXT] = "focus-next",
	[KA_CLOSE] = "close",
	[KA_REDRAW] = "redraw",
	[KA_SUSPEND] = "suspend",
	[KA_SEARCH] = "search",
	[KA_SEARCH_NEXT] = "search-next",
	[KA_ACTIVATE] = "activate",
	[KA_SESSION_NEW] = "session-new",
	[KA_SESSION_RENAME] = "session-rename",
	[KA_SESSION_DELETE] = "session-delete",
	[KA_QUIT] = "quit",
};

const struct keys_binding *keys_table(size_t *n)
{
	*n = KEYS_N;
	return keys_bindings;
}

static enum keys_action keys_find(enum keys_focus focus, int key)
{
	for (size_t i = 0; i < KEYS_N; i++)
		if (keys_bindings[i].focus == focus && keys_bindings[i].key == key)
			return keys_bindings[i].action;
	return KA_NONE;
}

static bool keys_is_side(enum keys_focus f)
{
	return f == KEYS_FOCUS_HELP || f == KEYS_FOCUS_META || f == KEYS_FOCUS_SESSIONS;
}

enum keys_action keys_lookup(enum keys_focus focus, int key)
{
	enum keys_action a = KA_NONE;
	if ((unsigned)focus < KEYS_FOCUS_COUNT && focus != KEYS_FOCUS_ANY)
		a = keys_find(focus, key);
	if (a == KA_NONE && keys_is_side(focus))
		a = keys_find(KEYS_FOCUS_SIDE, key);
	if (a == KA_NONE)
		a = keys_find(KEYS_FOCUS_ANY, key);
	return a;
}

const char *keys_focus_title(enum keys_focus f)
{
	return (unsigned)f < KEYS_FOCUS_COUNT ? keys_titles[f] : "?";
}

const char *keys_action_name(enum keys_action a)
{
	return (unsigned)a < KA_COUNT && keys_action_names[a] ? keys_action_names[a] : "?";
}

void keys_help(void (*line)(void *ud, const char *text), void *ud)
{
	char buf[256];
	for (int f = 0; f < KEYS_FOCUS_COUNT; f++) {
		bool any = false;
		for (size_t i = 0; i < KEYS_N; i++) {
			const struct keys_binding *b = &keys_bindings[i];
			if ((int)b->focus != f)
				continue;
			if (!any) {
				if (f != 0)
					line(ud, "");
				line(ud, keys_titles[f]);
				any = true;
			}
			snprintf(buf, sizeof(buf), "  %-*s %s", KEYS_NAME_COL - 2, b->name, b->help);
			line(ud, buf);
		}
	}
	line(ud, "");
	line(ud, "The input line is GNU readline: Emacs editing keys, Ctrl-R searches");
	line(ud, "the history, ~/.inputrc is read. Lines starting with / are commands");
	line(ud, "(/help lists them); Tab completes their names.");
}

void keys_print_roff(FILE *out)
{
	fputs(".SH KEY BINDINGS\n"
	      "The full-screen chat reads these keys; the same table produces the F1 help.\n"
	      "Keys not listed go to the focused pane; in the input line that is GNU readline\n"
	      "with its Emacs bindings, history search (Ctrl\\-R) and\n"
	      ".IR ~/.inputrc .\n",
	      out);
	for (int f = 0; f < KEYS_FOCUS_COUNT; f++) {
		bool any = false;
		for (size_t i = 0; i < KEYS_N; i++) {
			const struct keys_binding *b = &keys_bindings[i];
			if ((int)b->focus != f)
				continue;
			if (!any) {
				fputs(".SS \"", out);
				roff_text(out, keys_titles[f]);
				fputs("\"\n", out);
				any = true;
			}
			fputs(".TP\n.B \"", out);
			roff_text(out, b->name);
			fputs("\"\n", out);
			roff_text(out, b->help);
			fputc('\n', out);
		}
	}
}
