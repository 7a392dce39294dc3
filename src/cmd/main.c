/* llamaterm: a terminal chat program for LLaMA-family GGUF models.
 * This file only dispatches to the subcommands in the table below. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch.h"
#include "commands.h"
#include "options.h"
#include "slash.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ .name = "chat", .run = cmd_chat, .summary = "chat with a model (full-screen, or line mode with --plain)" },
	{ .name = "models", .run = cmd_models, .summary = "list the GGUF models of ollama, the Hugging Face cache, LM Studio..." },
	{ .name = "sessions", .run = cmd_sessions, .summary = "list, show, export or remove saved conversations" },
	{ .name = "info", .run = cmd_info, .summary = "print a GGUF model's summary, metadata and tensors" },
	{ .name = "serve", .run = cmd_serve, .summary = "serve an OpenAI-compatible HTTP API (chat and text completions)" },
	{ .name = "run", .run = cmd_run, .summary = "continue a prompt, streaming the generated text" },
	{ .name = "tokenize", .run = cmd_tokenize, .summary = "print the token ids of a text" },
	{ .name = "logits", .run = cmd_logits, .summary = "print the top logits at every position of a sequence" },
	{ .name = "perplexity", .run = cmd_perplexity, .summary = "measure a model's perplexity on a text" },
	{ .name = "bench", .run = cmd_bench, .summary = "measure prompt and generation speed" },
	{ .name = "quantize", .run = cmd_quantize, .summary = "convert a model to another tensor type or quantization mix" },
	{ .name = "templates", .run = cmd_templates, .summary = "list, show or detect prompt templates" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void main_usage(FILE *out)
{
	fprintf(out, "usage: llamaterm COMMAND [OPTIONS]\n"
		     "       llamaterm --help | --version\n\n"
		     "Runs LLaMA-family language models from GGUF files on the CPU.\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'llamaterm COMMAND --help' describes a command's options.\n");
}

/* The architecture table as a man page list, for tests/gen_man.sh. */
static void main_print_archs_man(FILE *out)
{
	size_t n;
	const struct arch_info *a = arch_list(&n);
	for (size_t i = 0; i < n; i++)
		fprintf(out, ".TP\n.B %s\n%s\n", a[i].name, a[i].family);
}

/* Whether options without a command ask for a plain completion. */
static bool main_completes(int argc, char **argv)
{
	bool prompt = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-no-cnv") || !strcmp(a, "--no-conversation"))
			return true;
		if (!strcmp(a, "-cnv") || !strcmp(a, "--conversation"))
			return false;
		if (!strcmp(a, "-p") || !strcmp(a, "-f") || !strncmp(a, "--prompt", 8) ||
		    !strncmp(a, "--file", 6))
			prompt = true;
		if (!strcmp(a, "--"))
			break;
	}
	return prompt && !(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO));
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		/* On a terminal, the first thing a new user types: show the
		 * models on the machine rather than a usage error. */
		if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
			main_usage(stderr);
			return 2;
		}
		char *path = NULL;
		int rc = models_pick(&path);
		if (rc <= 0)
			return rc < 0 ? 1 : 0;
		char *chat_argv[] = { "chat", "-m", path, NULL };
		rc = cmd_chat(3, chat_argv);
		free(path);
		return rc;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		main_usage(stdout);
		return 0;
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
		printf("llamaterm %s\n", LLAMATERM_VERSION);
		return 0;
	}
	/* Generated man page sections (see tests/gen_man.sh); not in --help. */
	if (strcmp(name, "--print-man") == 0 && argc == 3) {
		if (strcmp(argv[2], "options") == 0) {
			options_print_man(stdout);
			return 0;
		}
		if (strcmp(argv[2], "slash") == 0) {
			slash_print_man(stdout);
			return 0;
		}
		if (strcmp(argv[2], "archs") == 0) {
			main_print_archs_man(stdout);
			return 0;
		}
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	/* 'llamaterm -m MODEL ...' is short for 'llamaterm chat -m MODEL ...',
	 * or for 'llamaterm run' as llama-cli's habits have it: with -no-cnv,
	 * or with a prompt when this is not a terminal. */
	if (name[0] == '-' && name[1]) {
		bool run = main_completes(argc, argv);
		argv[0] = run ? "run" : "chat";
		return run ? cmd_run(argc, argv) : cmd_chat(argc, argv);
	}
	fprintf(stderr, "llamaterm: unknown command '%s' (try 'llamaterm --help')\n", name);
	return 2;
}
