/* Slash commands typed at the chat prompt (/help, /save NAME ...). One
 * const table drives the parser, the /help text, completion and the man
 * page, for both the line-mode chat and the curses UI. */
#ifndef LT_SLASH_H
#define LT_SLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "errors.h"
#include "worker_cmd.h"

enum slash_id {
	SLASH_HELP = 1,
	SLASH_SAVE,
	SLASH_LOAD,
	SLASH_NEW,
	SLASH_REGEN,
	SLASH_UNDO,
	SLASH_SYSTEM,
	SLASH_SET,
	SLASH_SHOW,
	SLASH_TEMPLATE,
	SLASH_STOP,
	SLASH_POSTFIX,
	SLASH_INFO,
	SLASH_THINK,
	SLASH_READ,
	SLASH_QUIT,
};

/* How a command takes its arguments. */
enum slash_args {
	SLASH_ARGS_NONE,     /* nothing after the name */
	SLASH_ARGS_OPT_WORD, /* an optional single word */
	SLASH_ARGS_WORD,     /* exactly one word */
	SLASH_ARGS_TEXT,     /* the rest of the line (may be empty) */
	SLASH_ARGS_PAIR,     /* a word and the rest of the line */
	SLASH_ARGS_SUB,      /* /stop add TEXT | rm TEXT | list */
};

#define SLASH_MAX_ALIASES 2

struct slash_def {
	enum slash_id id;
	const char *name;   /* without the slash */
	enum slash_args args;
	const char *usage;  /* argument synopsis, "" when none */
	const char *help;   /* one line */
	bool escapes;       /* its text takes escape.h's escapes and quotes, as -r does */
	/* Other names typed in full (ollama's and llama-cli's: /bye, /?),
	 * NULL-terminated. */
	const char *aliases[SLASH_MAX_ALIASES + 1];
};

/* The table, n entries. */
const struct slash_def *slash_table(size_t *n);

/* A parsed command line. arg1/arg2 point into the line given to
 * slash_parse (NULL when absent), so they live as long as that line. */
struct slash_call {
	const struct slash_def *def;
	const char *arg1;
	const char *arg2;
};

/* True when line is a slash command (starts with '/' but not "//"). A line
 * starting with "//" sends the text from its second slash. */
bool slash_is_command(const char *line);

/* Parses "/name args" in place: line is cut into NUL-terminated words
 * (like strtok), so an argument of any length (a pasted 100 KB system
 * prompt) arrives whole, with no copy and no limit. Returns 0, or
 * LT_E_NOTFOUND / LT_E_INVAL with a one-line message naming the command
 * and its usage. Names may be abbreviated to any unambiguous prefix. */
int slash_parse(char *line, struct slash_call *call, char *err, size_t errlen);

/* The worker command for a parsed call (its arguments point where the
 * call's do). /help and /quit are for the caller (returns LT_E_INVAL for
 * them), as is posting the command (worker_post). */
int slash_command(const struct slash_call *call, struct worker_call *out, char *err,
		  size_t errlen);

/* The /help text (one line per command). */
void slash_print_help(FILE *out);
/* The same as man page markup (.TP entries). */
void slash_print_man(FILE *out);

/* Completion: the i-th (from 0) command name starting with prefix (given
 * without the slash), or NULL when there are no more. Also completes the
 * parameter names (params.h) after "/set ". */
const char *slash_complete(const char *prefix, size_t i);

#endif
