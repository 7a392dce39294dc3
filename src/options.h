/* One option table shared by the subcommands, with the names llama.cpp users
 * know (-m, -p, -t, -r ...). Each entry says which commands accept it, so the
 * parser, each command's --help and the man page all come from the same
 * table. The generation parameters (-n, -c, -s, --temp, --top-k ...) are the
 * rows of params.c's table, which this parser, --help and the man page read
 * too, where this table has its OPT_PARAMS row. */
#ifndef LT_OPTIONS_H
#define LT_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "params.h"

/* Which subcommands an option belongs to (a bit mask). */
enum opt_command {
	OPTC_INFO = 1 << 0,
	OPTC_RUN = 1 << 1,
	OPTC_TOKENIZE = 1 << 2,
	OPTC_LOGITS = 1 << 3,
	OPTC_PERPLEXITY = 1 << 4,
	OPTC_BENCH = 1 << 5,
	OPTC_CHAT = 1 << 6,
	OPTC_QUANTIZE = 1 << 7,
	OPTC_SESSIONS = 1 << 8,
	OPTC_MODELS = 1 << 9,
	OPTC_SERVE = 1 << 10,
};

#define OPT_MAX_STOPS 64
/* -t: more threads than any machine this runs on has cores. */
#define OPT_MAX_THREADS 1024
#define OPT_MAX_POSITIONAL 8

/* Every setting any subcommand reads; options_defaults() fills it. */
struct options {
	const char *model;          /* -m */
	const char *prompt;         /* -p */
	const char *prompt_file;    /* -f */
	struct gen_params gen;      /* -n, -c, -s, --temp...: the rows of params.c */
	uint32_t gen_given;         /* bit i: params_table() row i was on the command line */
	int n_batch;                /* -b */
	int n_threads;              /* -t: 0 = physical cores */
	const char *stops[OPT_MAX_STOPS]; /* -r, repeatable */
	int n_stops;
	bool special;               /* parse special tokens in the prompt */
	bool no_bos;
	bool print_ids;             /* run --ids */
	const char *ids;            /* logits --ids 1,2,3 */
	int top;                    /* logits --top */
	int greedy;                 /* logits --greedy */
	int resume_at;              /* logits --resume-at */
	const char *output;         /* -o */
	bool pieces;                /* tokenize --pieces */
	const char *kv_type;        /* "f16" or "f32" */
	bool no_mmap;
	bool mlock;
	const char *template_name;  /* --template */
	const char *system;         /* --system */
	const char *session;        /* --session */
	const char *in_prefix;      /* --in-prefix */
	const char *in_suffix;      /* --in-suffix */
	bool plain;                 /* chat --plain */
	const char *reasoning;      /* --reasoning show|hide (NULL: show) */
	const char *think;          /* chat --think on|off (NULL: on) */
	bool no_autosave;           /* chat --no-autosave */
	bool verbose;               /* chat --verbose: message text in the log file */
	bool verbose_prompt;        /* --verbose-prompt: print the prompt with its special tokens */
	bool conversation;          /* -cnv (chat is the default anyway) */
	bool no_conversation;       /* -no-cnv: without a command, complete like run */
	bool interactive;           /* -i, --interactive-first: accepted, nothing to do */
	bool color;                 /* --color: accepted, nothing to do */
	const char *session_kv;     /* chat --session-kv full|none (NULL: full) */
	const char *export_path;    /* sessions --export FILE */
	int bench_prompt;           /* bench -p N */
	int bench_gen;              /* bench -n N */
	int bench_reps;             /* bench -r N */
	int bench_depth;            /* bench -d N: tokens already in the cache */
	bool bench_session;         /* bench --session */
	bool json;
	bool info_kv;               /* info --kv */
	bool info_tensors;          /* info --tensors */
	bool info_full;             /* info --full */
	bool pure;                  /* quantize --pure */
	const char *host;           /* serve --host */
	int port;                   /* serve --port */
	const char *api_key;        /* serve --api-key; chat and run --api-key */
	const char *remote;         /* chat and run --remote URL */
	const char *api_key_file;   /* serve --api-key-file FILE */
	int parallel;               /* serve --parallel (0: 1) */
	const char *slot_timeout;   /* serve --slot-timeout SECONDS (NULL: 30) */
	bool help;

	const char *positional[OPT_MAX_POSITIONAL];
	int n_positional;
};

void options_defaults(struct options *o);

/* Parses argv[1..argc) for the command named argv[0] (whose mask is cmd).
 * Returns 0, or 2 after printing a one-line usage error to stderr naming
 * the option. -h/--help sets o->help. */
int options_parse(struct options *o, int argc, char **argv, unsigned cmd);

/* Prints the options of a command (from the table) to out. */
void options_print_help(FILE *out, unsigned cmd);

/* Prints the OPTIONS section of the man page (roff) from the table. */
void options_print_man(FILE *out);

#endif
