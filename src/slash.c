/* Slash commands: the table, parsing, help, completion and /set. */
#include "slash.h"

#include <string.h>

#include "escape.h"
#include "params.h"
#include "roff.h"

static const struct slash_def slash_defs[] = {
	{ .id = SLASH_HELP, .name = "help", .args = SLASH_ARGS_NONE, .usage = "",
	  .help = "list the commands", .aliases = { "?" } },
	{ .id = SLASH_SAVE, .name = "save", .args = SLASH_ARGS_OPT_WORD, .usage = "[NAME]",
	  .help = "save the conversation (as NAME, else under its current or a dated name)" },
	{ .id = SLASH_LOAD, .name = "load", .args = SLASH_ARGS_WORD, .usage = "NAME",
	  .help = "resume a saved conversation" },
	{ .id = SLASH_NEW, .name = "new", .args = SLASH_ARGS_NONE, .usage = "",
	  .help = "start a new conversation (the current one is saved)", .aliases = { "clear" } },
	{ .id = SLASH_REGEN, .name = "regen", .args = SLASH_ARGS_NONE, .usage = "",
	  .help = "replace the last reply with a new one" },
	{ .id = SLASH_UNDO, .name = "undo", .args = SLASH_ARGS_NONE, .usage = "",
	  .help = "remove the last exchange (your message and the reply)" },
	{ .id = SLASH_SYSTEM, .name = "system", .args = SLASH_ARGS_TEXT, .usage = "TEXT",
	  .help = "set the system prompt (empty: none)" },
	{ .id = SLASH_SET, .name = "set", .args = SLASH_ARGS_PAIR, .usage = "PARAM VALUE",
	  .help = "change a generation parameter by its name or an alias (temperature or temp, top_k, "
		  "num_predict...; see OPTIONS); ollama's /set parameter NAME VALUE (stop too) and "
		  "/set system TEXT work as well" },
	{ .id = SLASH_SHOW, .name = "show", .args = SLASH_ARGS_OPT_WORD,
	  .usage = "[info|parameters|system|template]",
	  .help = "show the template, system prompt, stop strings and sampling settings (or one "
		  "part; info is /info)" },
	{ .id = SLASH_TEMPLATE, .name = "template", .args = SLASH_ARGS_WORD, .usage = "NAME",
	  .help = "switch the prompt template (the context is rebuilt)" },
	{ .id = SLASH_STOP, .name = "stop", .args = SLASH_ARGS_SUB, .usage = "add TEXT | rm TEXT | list",
	  .help = "manage the stop strings (TEXT: escapes such as \\n and \"quotes\" as for -r)",
	  .escapes = true },
	{ .id = SLASH_POSTFIX, .name = "postfix", .args = SLASH_ARGS_TEXT, .usage = "TEXT",
	  .help = "text appended to each of your messages (empty: none; \" AI:\" keeps the space, "
		  "\\n is a newline)",
	  .escapes = true },
	{ .id = SLASH_INFO, .name = "info", .args = SLASH_ARGS_NONE, .usage = "",
	  .help = "model, context use, session and speed" },
	{ .id = SLASH_THINK, .name = "think", .args = SLASH_ARGS_OPT_WORD, .usage = "[on|off]",
	  .help = "switch a reasoning model's thinking on or off (no word: say which it is)" },
	{ .id = SLASH_READ, .name = "read", .args = SLASH_ARGS_TEXT, .usage = "FILE",
	  .help = "attach a text file's contents, with its name, to your next message" },
	{ .id = SLASH_QUIT, .name = "quit", .args = SLASH_ARGS_NONE, .usage = "",
	  .help = "save and leave", .aliases = { "bye", "exit" } },
};

#define N_SLASH (sizeof(slash_defs) / sizeof(slash_defs[0]))

const struct slash_def *slash_table(size_t *n)
{
	*n = N_SLASH;
	return slash_defs;
}

bool slash_is_command(const char *line)
{
	return line[0] == '/' && line[1] != '/';
}

/* Finds a command by exact name or alias, or unambiguous prefix of a name. */
static const struct slash_def *slash_find(const char *name, size_t len, bool *ambiguous)
{
	const struct slash_def *found = NULL;
	*ambiguous = false;
	for (size_t i = 0; i < N_SLASH; i++)
		for (const char *const *a = slash_defs[i].aliases; *a; a++)
			if (strlen(*a) == len && strncmp(*a, name, len) == 0)
				return &slash_defs[i];
	for (size_t i = 0; i < N_SLASH; i++) {
		const struct slash_def *d = &slash_defs[i];
		if (strncmp(d->name, name, len) != 0)
			continue;
		if (strlen(d->name) == len)
			return d;
		if (found)
			*ambiguous = true;
		found = d;
	}
	return *ambiguous ? NULL : found;
}

static char *skip_ws(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Splits the first word off s (NUL-terminating it); returns the rest. */
static char *split_word(char *s)
{
	while (*s && *s != ' ' && *s != '\t')
		s++;
	if (*s)
		*s++ = '\0';
	return skip_ws(s);
}

static int slash_usage(const struct slash_def *d, char *err, size_t errlen)
{
	return lt_seterr(err, errlen, LT_E_INVAL, "usage: /%s%s%s", d->name, d->usage[0] ? " " : "",
			 d->usage);
}

int slash_parse(char *line, struct slash_call *call, char *err, size_t errlen)
{
	memset(call, 0, sizeof(*call));
	if (!slash_is_command(line))
		return lt_seterr(err, errlen, LT_E_INVAL, "not a command: %.60s", line);
	char *name = line + 1;
	size_t n = strlen(name);
	/* Trailing newline and spaces are not part of any argument. */
	while (n && (name[n - 1] == '\n' || name[n - 1] == '\r' || name[n - 1] == ' '))
		name[--n] = '\0';
	char *rest = split_word(name);
	bool amb;
	const struct slash_def *d = slash_find(name, strlen(name), &amb);
	if (!d)
		return lt_seterr(err, errlen, LT_E_NOTFOUND, "%s command '/%.40s' (try /help)",
				 amb ? "ambiguous" : "unknown", name);
	call->def = d;
	switch (d->args) {
	case SLASH_ARGS_NONE:
		if (*rest)
			return slash_usage(d, err, errlen);
		break;
	case SLASH_ARGS_OPT_WORD:
	case SLASH_ARGS_WORD: {
		char *after = *rest ? split_word(rest) : rest;
		if (*after || (d->args == SLASH_ARGS_WORD && !*rest))
			return slash_usage(d, err, errlen);
		call->arg1 = *rest ? rest : NULL;
		break;
	}
	case SLASH_ARGS_TEXT:
		call->arg1 = rest;
		break;
	case SLASH_ARGS_PAIR: {
		if (!*rest)
			return slash_usage(d, err, errlen);
		char *value = split_word(rest);
		/* ollama's spelling: /set parameter NAME VALUE. */
		if (d->id == SLASH_SET && !strcmp(rest, "parameter") && *value) {
			rest = value;
			value = split_word(rest);
		}
		/* /set system takes the rest of the line, which may be empty. */
		if (!*value && !(d->id == SLASH_SET && !strcmp(rest, "system")))
			return slash_usage(d, err, errlen);
		call->arg1 = rest;
		call->arg2 = value;
		break;
	}
	case SLASH_ARGS_SUB: {
		char *text = split_word(rest);
		if (!strcmp(rest, "list") && !*text) {
			call->arg1 = rest;
		} else if ((!strcmp(rest, "add") || !strcmp(rest, "rm")) && *text) {
			call->arg1 = rest;
			call->arg2 = text;
		} else {
			return slash_usage(d, err, errlen);
		}
		break;
	}
	}
	/* The text of /postfix, of /stop add|rm and of /set parameter stop
	 * points into line, so it decodes in place. */
	bool set_stop = d->id == SLASH_SET && !strcmp(call->arg1, "stop");
	char *text = (char *)(d->args == SLASH_ARGS_SUB || set_stop ? call->arg2 : call->arg1);
	if ((d->escapes || set_stop) && text) {
		char msg[256];
		if (escape_decode(text, msg, sizeof(msg)))
			return lt_seterr(err, errlen, LT_E_INVAL, "/%s: %s", d->name, msg);
	}
	return 0;
}

int slash_command(const struct slash_call *call, struct worker_call *out, char *err,
		  size_t errlen)
{
	const char *a1 = call->arg1, *a2 = call->arg2;
	enum worker_cmd cmd;
	switch (call->def->id) {
	case SLASH_SAVE: cmd = WORKER_CMD_SAVE; break;
	case SLASH_LOAD: cmd = WORKER_CMD_LOAD; break;
	case SLASH_NEW: cmd = WORKER_CMD_NEW; break;
	case SLASH_REGEN: cmd = WORKER_CMD_REGEN; break;
	case SLASH_UNDO: cmd = WORKER_CMD_UNDO; break;
	case SLASH_SYSTEM: cmd = WORKER_CMD_SET_SYSTEM; break;
	case SLASH_SET:
		cmd = WORKER_CMD_SET_PARAM;
		/* ollama's /set system and /set parameter stop. */
		if (!strcmp(a1, "system") || !strcmp(a1, "stop")) {
			cmd = !strcmp(a1, "system") ? WORKER_CMD_SET_SYSTEM : WORKER_CMD_STOP_ADD;
			a1 = a2;
			a2 = NULL;
		}
		break;
	case SLASH_SHOW:
		cmd = WORKER_CMD_SHOW;
		if (a1 && !strcmp(a1, "info")) {
			cmd = WORKER_CMD_INFO;
			a1 = NULL;
		} else if (a1 && strcmp(a1, "parameters") && strcmp(a1, "system") &&
			   strcmp(a1, "template")) {
			return lt_seterr(err, errlen, LT_E_INVAL,
					 "/show: say info, parameters, system or template, not '%s'", a1);
		}
		break;
	case SLASH_READ:
		if (!a1 || !a1[0])
			return lt_seterr(err, errlen, LT_E_INVAL, "usage: /read FILE");
		cmd = WORKER_CMD_ATTACH;
		break;
	case SLASH_TEMPLATE: cmd = WORKER_CMD_SET_TEMPLATE; break;
	case SLASH_POSTFIX: cmd = WORKER_CMD_POSTFIX; break;
	case SLASH_INFO: cmd = WORKER_CMD_INFO; break;
	case SLASH_THINK:
		if (a1 && strcmp(a1, "on") && strcmp(a1, "off"))
			return lt_seterr(err, errlen, LT_E_INVAL, "/think: say on or off, not '%s'", a1);
		cmd = WORKER_CMD_THINK;
		break;
	case SLASH_STOP:
		cmd = !strcmp(a1, "list") ? WORKER_CMD_STOP_LIST
		    : !strcmp(a1, "add") ? WORKER_CMD_STOP_ADD : WORKER_CMD_STOP_RM;
		a1 = a2;
		a2 = NULL;
		break;
	default:
		return lt_seterr(err, errlen, LT_E_INVAL, "/%s is handled by the interface",
				 call->def->name);
	}
	*out = (struct worker_call){ .cmd = cmd, .arg1 = a1, .arg2 = a2 };
	return 0;
}

void slash_print_help(FILE *out)
{
	for (size_t i = 0; i < N_SLASH; i++) {
		const struct slash_def *d = &slash_defs[i];
		char left[64];
		snprintf(left, sizeof(left), "/%s%s%s", d->name, d->usage[0] ? " " : "", d->usage);
		fprintf(out, "  %-32s %s", left, d->help);
		for (const char *const *a = d->aliases; *a; a++)
			fprintf(out, "%s/%s", a == d->aliases ? " (also " : ", ", *a);
		fputs(d->aliases[0] ? ")\n" : "\n", out);
	}
	fprintf(out, "  %-32s %s\n", "//TEXT", "send TEXT starting with a slash");
}

void slash_print_man(FILE *out)
{
	for (size_t i = 0; i < N_SLASH; i++) {
		const struct slash_def *d = &slash_defs[i];
		fputs(".TP\n.B /", out);
		roff_text(out, d->name);
		if (d->usage[0]) {
			fputc(' ', out);
			roff_text(out, d->usage);
		}
		fputc('\n', out);
		roff_text(out, d->help);
		for (const char *const *a = d->aliases; *a; a++) {
			fputs(a == d->aliases ? " (also /" : ", /", out);
			roff_text(out, *a);
		}
		fputs(d->aliases[0] ? ").\n" : ".\n", out);
	}
}

const char *slash_complete(const char *prefix, size_t i)
{
	if (!strncmp(prefix, "set ", 4)) {
		const char *p = prefix + 4;
		/* After ollama's "parameter" the names follow as after /set. */
		if (!strncmp(p, "parameter ", 10))
			p += 10;
		else
			for (const char *const *w = (const char *const[]){ "parameter", "system", NULL };
			     *w; w++)
				if (!strncmp(*w, p, strlen(p)) && i-- == 0)
					return *w;
		const char *name;
		for (size_t k = 0; (name = params_name(k, NULL)) != NULL; k++)
			if (!strncmp(name, p, strlen(p)) && i-- == 0)
				return name;
		return NULL;
	}
	if (!strncmp(prefix, "show ", 5)) {
		static const char *const parts[] = { "info", "parameters", "system", "template" };
		for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++)
			if (!strncmp(parts[k], prefix + 5, strlen(prefix + 5)) && i-- == 0)
				return parts[k];
		return NULL;
	}
	for (size_t k = 0; k < N_SLASH; k++) {
		if (!strncmp(slash_defs[k].name, prefix, strlen(prefix)) && i-- == 0)
			return slash_defs[k].name;
		for (const char *const *a = slash_defs[k].aliases; *a; a++)
			if (!strncmp(*a, prefix, strlen(prefix)) && i-- == 0)
				return *a;
	}
	return NULL;
}
