/* Slash command tests: parsing every argument shape, abbreviations,
 * errors with usage, completion, /set parameters and the help text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "slash.h"

/* A 100 KB pasted system prompt. */
#define LONG_ARG (100u << 10)

/* slash_parse cuts the line it is given, so each call gets its own copy,
 * kept until the next call (the arguments point into it). */
static char *line_copy(const char *line)
{
	static char *copy;
	free(copy);
	copy = line ? strdup(line) : NULL;
	if (line)
		assert_non_null(copy);
	return copy;
}

static const struct slash_call *parse_ok(const char *line)
{
	static struct slash_call call;
	char err[256];
	if (slash_parse(line_copy(line), &call, err, sizeof(err)) != 0)
		fail_msg("%s: %s", line, err);
	return &call;
}

static void parse_fails(const char *line, int code, const char *needle)
{
	struct slash_call call;
	char err[256] = "";
	assert_int_equal(slash_parse(line_copy(line), &call, err, sizeof(err)), code);
	if (!strstr(err, needle))
		fail_msg("'%s': message '%s' lacks '%s'", line, err, needle);
}

static void test_parse(void **state)
{
	(void)state;
	const struct slash_call *c = parse_ok("/help");
	assert_int_equal(c->def->id, SLASH_HELP);
	c = parse_ok("/save");
	assert_int_equal(c->def->id, SLASH_SAVE);
	assert_null(c->arg1);
	c = parse_ok("/save  my-chat \n");
	assert_string_equal(c->arg1, "my-chat");
	c = parse_ok("/load x");
	assert_string_equal(c->arg1, "x");
	c = parse_ok("/system You are a pirate.  Arr.");
	assert_int_equal(c->def->id, SLASH_SYSTEM);
	assert_string_equal(c->arg1, "You are a pirate.  Arr.");
	c = parse_ok("/system");
	assert_string_equal(c->arg1, "");
	c = parse_ok("/set temp 0.5");
	assert_string_equal(c->arg1, "temp");
	assert_string_equal(c->arg2, "0.5");
	c = parse_ok("/stop add User: ");
	assert_string_equal(c->arg1, "add");
	assert_string_equal(c->arg2, "User:");
	c = parse_ok("/stop list");
	assert_string_equal(c->arg1, "list");
	c = parse_ok("/postfix  AI:");
	assert_string_equal(c->arg1, "AI:");
	/* Unambiguous prefixes work; ambiguous ones do not (/s: save, set, show...). */
	assert_int_equal(parse_ok("/q")->def->id, SLASH_QUIT);
	assert_int_equal(parse_ok("/reg")->def->id, SLASH_REGEN);
	parse_fails("/s", LT_E_NOTFOUND, "ambiguous");
	parse_fails("/frobnicate", LT_E_NOTFOUND, "unknown command '/frobnicate'");
	parse_fails("/load", LT_E_INVAL, "usage: /load NAME");
	parse_fails("/load a b", LT_E_INVAL, "usage: /load NAME");
	parse_fails("/undo now", LT_E_INVAL, "usage: /undo");
	parse_fails("/set temp", LT_E_INVAL, "usage: /set PARAM VALUE");
	parse_fails("/stop add", LT_E_INVAL, "usage: /stop");
	parse_fails("/stop drop x", LT_E_INVAL, "usage: /stop");
	assert_true(slash_is_command("/help"));
	assert_false(slash_is_command("//not a command"));
	assert_false(slash_is_command("hello"));
}

/* A pasted system prompt far longer than any line buffer arrives whole. */
static void test_long_argument(void **state)
{
	(void)state;
	size_t n = strlen("/system ") + LONG_ARG;
	char *line = malloc(n + 2);
	assert_non_null(line);
	strcpy(line, "/system ");
	for (size_t i = strlen(line); i < n; i++)
		line[i] = "abc "[i % 4];
	line[n - 3] = 'E';
	line[n - 2] = 'N';
	line[n - 1] = 'D';
	line[n] = '\n';
	line[n + 1] = '\0';
	const struct slash_call *c = parse_ok(line);
	assert_int_equal(c->def->id, SLASH_SYSTEM);
	assert_int_equal(strlen(c->arg1), LONG_ARG);
	assert_memory_equal(c->arg1 + LONG_ARG - 3, "END", 4);
	/* Long words are not cut either, and errors quote a bounded part. */
	memcpy(line, "/zzzz", 5);
	char err[256];
	struct slash_call call;
	assert_int_equal(slash_parse(line, &call, err, sizeof(err)), LT_E_NOTFOUND);
	assert_non_null(strstr(err, "unknown command '/zzzz"));
	free(line);
	line_copy(NULL);
}

static void test_table(void **state)
{
	(void)state;
	size_t n;
	const struct slash_def *t = slash_table(&n);
	const char *want[] = { "help", "save", "load", "new", "regen", "undo", "system", "set",
			       "show", "template", "stop", "postfix", "info", "think", "read", "quit" };
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(t[i].name, want[i]);
		assert_true(t[i].help[0]);
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	slash_print_help(f);
	slash_print_man(f);
	fclose(f);
	assert_non_null(strstr(buf, "/stop add TEXT | rm TEXT | list"));
	assert_non_null(strstr(buf, ".B /save [NAME]"));
	free(buf);
}

static void test_complete(void **state)
{
	(void)state;
	assert_string_equal(slash_complete("te", 0), "template");
	assert_null(slash_complete("te", 1));
	assert_string_equal(slash_complete("s", 0), "save");
	assert_string_equal(slash_complete("s", 1), "system");
	assert_string_equal(slash_complete("set to", 0), "top_k");
	assert_string_equal(slash_complete("set to", 1), "top_p");
	assert_null(slash_complete("set to", 2));
	assert_null(slash_complete("zz", 0));
}

/* Each call becomes the worker command that runs it, with the same
 * arguments; what the interface handles itself is refused. */
static void test_command(void **state)
{
	(void)state;
	struct worker_call wc;
	char err[256];
	assert_int_equal(slash_command(parse_ok("/stop add ###"), &wc, err, sizeof(err)), 0);
	assert_int_equal(wc.cmd, WORKER_CMD_STOP_ADD);
	assert_string_equal(wc.arg1, "###");
	assert_null(wc.arg2);
	assert_int_equal(slash_command(parse_ok("/stop list"), &wc, err, sizeof(err)), 0);
	assert_int_equal(wc.cmd, WORKER_CMD_STOP_LIST);
	assert_int_equal(slash_command(parse_ok("/set temp 0.5"), &wc, err, sizeof(err)), 0);
	assert_int_equal(wc.cmd, WORKER_CMD_SET_PARAM);
	assert_string_equal(wc.arg1, "temp");
	assert_string_equal(wc.arg2, "0.5");
	assert_int_equal(slash_command(parse_ok("/save"), &wc, err, sizeof(err)), 0);
	assert_int_equal(wc.cmd, WORKER_CMD_SAVE);
	assert_null(wc.arg1);
	assert_int_equal(slash_command(parse_ok("/think maybe"), &wc, err, sizeof(err)), LT_E_INVAL);
	assert_non_null(strstr(err, "maybe"));
	assert_int_equal(slash_command(parse_ok("/help"), &wc, err, sizeof(err)), LT_E_INVAL);
	assert_int_equal(slash_command(parse_ok("/quit"), &wc, err, sizeof(err)), LT_E_INVAL);
}

/* ollama's and llama-cli's spellings: /bye, /exit, /?, /clear, /set
 * parameter NAME VALUE, /set parameter stop TEXT, /set system TEXT, /show
 * PART; and /read FILE. */
static void test_ollama_forms(void **state)
{
	(void)state;
	struct worker_call wc;
	char err[256];
	assert_int_equal(parse_ok("/bye")->def->id, SLASH_QUIT);
	assert_int_equal(parse_ok("/exit")->def->id, SLASH_QUIT);
	assert_int_equal(parse_ok("/?")->def->id, SLASH_HELP);
	assert_int_equal(parse_ok("/clear")->def->id, SLASH_NEW);
	/* Aliases are whole words: /cl is not /clear. */
	parse_fails("/cl", LT_E_NOTFOUND, "unknown");
	assert_int_equal(slash_command(parse_ok("/set parameter temperature 0.5"), &wc, err,
				       sizeof(err)), 0);
	assert_int_equal(wc.cmd, WORKER_CMD_SET_PARAM);
	assert_string_equal(wc.arg1, "temperature");
	assert_string_equal(wc.arg2, "0.5");
	assert_int_equal(slash_command(parse_ok("/set parameter stop \"\\nUser:\""), &wc, err,
				       sizeof(err)), 0);
	assert_int_equal(wc.cmd, WORKER_CMD_STOP_ADD);
	assert_string_equal(wc.arg1, "\nUser:");
	assert_int_equal(slash_command(parse_ok("/set system Be brief."), &wc, err, sizeof(err)), 0);
	assert_int_equal(wc.cmd, WORKER_CMD_SET_SYSTEM);
	assert_string_equal(wc.arg1, "Be brief.");
	assert_int_equal(slash_command(parse_ok("/set system"), &wc, err, sizeof(err)), 0);
	assert_int_equal(wc.cmd, WORKER_CMD_SET_SYSTEM);
	assert_string_equal(wc.arg1, "");
	assert_int_equal(slash_command(parse_ok("/show info"), &wc, err, sizeof(err)), 0);
	assert_int_equal(wc.cmd, WORKER_CMD_INFO);
	assert_int_equal(slash_command(parse_ok("/show parameters"), &wc, err, sizeof(err)), 0);
	assert_int_equal(wc.cmd, WORKER_CMD_SHOW);
	assert_string_equal(wc.arg1, "parameters");
	assert_int_equal(slash_command(parse_ok("/show"), &wc, err, sizeof(err)), 0);
	assert_null(wc.arg1);
	assert_int_equal(slash_command(parse_ok("/show nope"), &wc, err, sizeof(err)), LT_E_INVAL);
	assert_non_null(strstr(err, "nope"));
	assert_int_equal(slash_command(parse_ok("/read notes/a b.txt"), &wc, err, sizeof(err)), 0);
	assert_int_equal(wc.cmd, WORKER_CMD_ATTACH);
	assert_string_equal(wc.arg1, "notes/a b.txt");
	assert_int_equal(slash_command(parse_ok("/read"), &wc, err, sizeof(err)), LT_E_INVAL);
	/* Completion knows them. */
	assert_string_equal(slash_complete("by", 0), "bye");
	assert_string_equal(slash_complete("set par", 0), "parameter");
	assert_string_equal(slash_complete("set parameter tem", 0), "temperature");
	assert_string_equal(slash_complete("show pa", 0), "parameters");
	assert_string_equal(slash_complete("re", 1), "read");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_long_argument),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_ollama_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
