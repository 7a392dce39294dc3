#include "options.h"

#include "context.h"
#include "escape.h"
#include "roff.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum opt_kind {
	OPT_FLAG,   /* sets a bool */
	OPT_STR,    /* stores the argument */
	OPT_INT,
	OPT_UINT32,
	OPT_FLOAT,
	OPT_STOP,   /* appends to stops[] */
	OPT_NOTE,   /* a llama.cpp option that means nothing here: accepted, with
		     * one line saying why it is ignored (takes arg if .arg is set) */
	OPT_PARAMS, /* where params.c's rows go in --help and the man page */
};

struct opt_def {
	const char *short_name;  /* "-m" or NULL */
	const char *long_name;   /* "--model" */
	const char *arg;         /* argument name for help, NULL for flags */
	enum opt_kind kind;
	size_t offset;           /* into struct options */
	unsigned commands;       /* enum opt_command mask */
	const char *help;
	bool escapes;            /* the argument takes escape.h's escapes and quotes */
	long min, max;           /* OPT_INT: the valid range (every OPT_INT row has one) */
	const char *note;        /* OPT_NOTE: the line printed when it is given */
	bool optional_arg;       /* OPT_NOTE: the argument may be left out (-fa [on|off]) */
};

#define OFF(field) offsetof(struct options, field)

/* Generation settings shared by run and chat. */
#define GEN (OPTC_RUN | OPTC_CHAT)
/* Commands that load a model for evaluation. */
#define EVAL (OPTC_RUN | OPTC_LOGITS | OPTC_PERPLEXITY | OPTC_BENCH | OPTC_CHAT | OPTC_SERVE)

static const struct opt_def opt_table[] = {
	{ .short_name = "-m", .long_name = "--model", .arg = "FILE|NAME", .kind = OPT_STR, .offset = OFF(model),
	  .commands = EVAL | OPTC_TOKENIZE,
	  .help = "the GGUF model: a file, or a name 'llamaterm models' lists (llama3.2:1b, ORG/REPO[:QUANT]); "
		  "with --remote, the model name sent to the server (default: the first it lists)" },
	{ .long_name = "--remote", .arg = "URL", .kind = OPT_STR, .offset = OFF(remote),
	  .commands = GEN,
	  .help = "chat with an OpenAI-compatible server (llama-server, vLLM, ollama, llamaterm serve) "
		  "at URL, such as http://host:8080, instead of a local model" },
	{ .long_name = "--api-key", .arg = "KEY", .kind = OPT_STR, .offset = OFF(api_key),
	  .commands = GEN,
	  .help = "with --remote, send 'Authorization: Bearer KEY' (default: $LLAMATERM_API_KEY; "
		  "never saved in a session)" },
	{ .short_name = "-p", .long_name = "--prompt", .arg = "TEXT", .kind = OPT_STR, .offset = OFF(prompt),
	  .commands = OPTC_RUN | OPTC_TOKENIZE | OPTC_LOGITS | OPTC_CHAT,
	  .help = "the prompt text (chat: the first message)" },
	{ .short_name = "-f", .long_name = "--file", .arg = "FILE", .kind = OPT_STR, .offset = OFF(prompt_file),
	  .commands = OPTC_RUN | OPTC_TOKENIZE | OPTC_PERPLEXITY | OPTC_CHAT,
	  .help = "read the prompt (or text; chat: the first message) from FILE" },
	{ .short_name = "-b", .long_name = "--batch-size", .arg = "N", .kind = OPT_INT, .offset = OFF(n_batch),
	  .commands = EVAL, .help = "tokens evaluated per batch during prompt processing (0: 512)",
	  .min = 0, .max = CTX_MAX_N_CTX },
	{ .short_name = "-t", .long_name = "--threads", .arg = "N", .kind = OPT_INT, .offset = OFF(n_threads),
	  .commands = EVAL | OPTC_QUANTIZE, .help = "threads (0: number of physical cores)",
	  .min = 0, .max = OPT_MAX_THREADS },
	{ .kind = OPT_PARAMS, .long_name = "", .commands = ~0u },
	{ .short_name = "-r", .long_name = "--reverse-prompt", .arg = "STR", .kind = OPT_STOP, .offset = OFF(stops),
	  .commands = GEN, .help = "stop generating at STR (repeatable; escapes such as \\n)",
	  .escapes = true },
	{ .long_name = "--special", .kind = OPT_FLAG, .offset = OFF(special),
	  .commands = OPTC_RUN | OPTC_TOKENIZE | OPTC_LOGITS, .help = "parse special tokens written in the prompt" },
	{ .long_name = "--no-bos", .kind = OPT_FLAG, .offset = OFF(no_bos),
	  .commands = OPTC_RUN | OPTC_TOKENIZE | OPTC_LOGITS, .help = "do not add the BOS token" },
	{ .long_name = "--ids", .kind = OPT_FLAG, .offset = OFF(print_ids),
	  .commands = OPTC_RUN, .help = "print generated token ids instead of text" },
	{ .long_name = "--ids", .arg = "LIST", .kind = OPT_STR, .offset = OFF(ids),
	  .commands = OPTC_LOGITS, .help = "evaluate these comma-separated token ids" },
	{ .long_name = "--top", .arg = "K", .kind = OPT_INT, .offset = OFF(top),
	  .commands = OPTC_LOGITS, .help = "print the K largest logits per position",
	  .min = 1, .max = INT_MAX },
	{ .long_name = "--greedy", .arg = "N", .kind = OPT_INT, .offset = OFF(greedy),
	  .commands = OPTC_LOGITS, .help = "then pick N tokens greedily and print 'greedy: IDS'",
	  .min = 0, .max = CTX_MAX_N_CTX },
	{ .long_name = "--resume-at", .arg = "K", .kind = OPT_INT, .offset = OFF(resume_at),
	  .commands = OPTC_LOGITS,
	  .help = "evaluate K ids, save the state, go on in a new context from it",
	  .min = 0, .max = CTX_MAX_N_CTX },
	{ .short_name = "-o", .long_name = "--output", .arg = "FILE", .kind = OPT_STR, .offset = OFF(output),
	  .commands = OPTC_LOGITS, .help = "also write raw little-endian float32 logits to FILE" },
	{ .long_name = "--pieces", .kind = OPT_FLAG, .offset = OFF(pieces),
	  .commands = OPTC_TOKENIZE, .help = "print one \"id 'piece'\" line per token" },
	{ .long_name = "--kv", .kind = OPT_FLAG, .offset = OFF(info_kv),
	  .commands = OPTC_INFO, .help = "also list every metadata key with its type and value" },
	{ .long_name = "--tensors", .kind = OPT_FLAG, .offset = OFF(info_tensors),
	  .commands = OPTC_INFO, .help = "also list every tensor: type, shape, size and file offset" },
	{ .long_name = "--json", .kind = OPT_FLAG, .offset = OFF(json),
	  .commands = OPTC_INFO, .help = "print the summary, all metadata and all tensors as JSON" },
	{ .long_name = "--full", .kind = OPT_FLAG, .offset = OFF(info_full),
	  .commands = OPTC_INFO, .help = "with --kv, show long strings and arrays in full" },
	{ .long_name = "--pure", .kind = OPT_FLAG, .offset = OFF(pure),
	  .commands = OPTC_QUANTIZE, .help = "no mix: every converted tensor gets the base type" },
	{ .long_name = "--host", .arg = "ADDR", .kind = OPT_STR, .offset = OFF(host),
	  .commands = OPTC_SERVE, .help = "the IPv4 address to listen on (default 127.0.0.1: this machine only)" },
	{ .long_name = "--port", .arg = "N", .kind = OPT_INT, .offset = OFF(port),
	  .commands = OPTC_SERVE, .help = "the TCP port to listen on (default 8080)", .min = 1, .max = 65535 },
	{ .long_name = "--api-key", .arg = "KEY", .kind = OPT_STR, .offset = OFF(api_key),
	  .commands = OPTC_SERVE,
	  .help = "answer only requests with the header 'Authorization: Bearer KEY' (else 401)" },
	{ .long_name = "--api-key-file", .arg = "FILE", .kind = OPT_STR, .offset = OFF(api_key_file),
	  .commands = OPTC_SERVE,
	  .help = "the same with the key read from the first line of FILE (kept out of ps and shell history)" },
	{ .long_name = "--parallel", .arg = "N", .kind = OPT_INT, .offset = OFF(parallel),
	  .commands = OPTC_SERVE, .min = 0, .max = 256,
	  .help = "requests generated at once, each in a slot with its own context (default 1)" },
	{ .long_name = "--slot-timeout", .arg = "SECONDS", .kind = OPT_STR, .offset = OFF(slot_timeout),
	  .commands = OPTC_SERVE,
	  .help = "how long a request waits for a free slot before it gets 429 (default 30; 0: no wait)" },
	{ .long_name = "--kv-type", .arg = "TYPE", .kind = OPT_STR, .offset = OFF(kv_type),
	  .commands = EVAL,
	  .help = "KV cache element type: f16 (default), f32, q8_0 (half the memory) or q4_0" },
	{ .short_name = "-ctk", .long_name = "--cache-type-k", .arg = "TYPE", .kind = OPT_STR,
	  .offset = OFF(kv_type), .commands = EVAL,
	  .help = "llama.cpp's name for --kv-type (one type serves K and V)" },
	{ .short_name = "-ctv", .long_name = "--cache-type-v", .arg = "TYPE", .kind = OPT_STR,
	  .offset = OFF(kv_type), .commands = EVAL, .help = "the same as -ctk" },
	{ .long_name = "--no-mmap", .kind = OPT_FLAG, .offset = OFF(no_mmap),
	  .commands = EVAL | OPTC_TOKENIZE | OPTC_INFO | OPTC_QUANTIZE, .help = "read the model into memory instead of mapping it" },
	{ .long_name = "--mlock", .kind = OPT_FLAG, .offset = OFF(mlock),
	  .commands = EVAL, .help = "lock the model in memory" },
	{ .long_name = "--chat-template", .arg = "NAME|FILE", .kind = OPT_STR,
	  .offset = OFF(template_name), .commands = OPTC_CHAT, .help = "llama.cpp's name for --template" },
	{ .short_name = "-sys", .long_name = "--system-prompt", .arg = "TEXT", .kind = OPT_STR,
	  .offset = OFF(system), .commands = OPTC_CHAT, .help = "llama.cpp's name for --system" },
	{ .short_name = "-cnv", .long_name = "--conversation", .kind = OPT_FLAG,
	  .offset = OFF(conversation), .commands = OPTC_CHAT | OPTC_RUN,
	  .help = "without a command: chat (the default; llama.cpp's flag)" },
	{ .short_name = "-no-cnv", .long_name = "--no-conversation", .kind = OPT_FLAG,
	  .offset = OFF(no_conversation), .commands = OPTC_CHAT | OPTC_RUN,
	  .help = "without a command: continue -p/-f like 'run' instead of chatting" },
	{ .short_name = "-i", .long_name = "--interactive", .kind = OPT_FLAG, .offset = OFF(interactive),
	  .commands = OPTC_CHAT, .help = "accepted from llama.cpp (the chat is interactive)" },
	{ .long_name = "--interactive-first", .kind = OPT_FLAG, .offset = OFF(interactive),
	  .commands = OPTC_CHAT, .help = "accepted from llama.cpp (the chat waits for you first)" },
	{ .long_name = "--color", .kind = OPT_FLAG, .offset = OFF(color), .commands = OPTC_CHAT | OPTC_RUN,
	  .help = "accepted from llama.cpp (the full-screen chat has colours)" },
	{ .long_name = "--verbose-prompt", .kind = OPT_FLAG, .offset = OFF(verbose_prompt),
	  .commands = OPTC_CHAT | OPTC_RUN,
	  .help = "print the exact prompt, special tokens included, before it is evaluated (stderr)" },
	{ .short_name = "-ngl", .long_name = "--n-gpu-layers", .arg = "N", .kind = OPT_NOTE,
	  .commands = EVAL, .help = "accepted from llama.cpp; ignored: llamaterm runs on the CPU",
	  .note = "llamaterm runs on the CPU; GPU layers are ignored" },
	{ .long_name = "--gpu-layers", .arg = "N", .kind = OPT_NOTE, .commands = EVAL,
	  .help = "the same as -ngl", .note = "llamaterm runs on the CPU; GPU layers are ignored" },
	{ .short_name = "-fa", .long_name = "--flash-attn", .arg = "[on|off|auto]", .kind = OPT_NOTE,
	  .optional_arg = true, .commands = EVAL,
	  .help = "accepted from llama.cpp; ignored: attention is always one fused pass here",
	  .note = "attention is always computed in one fused pass here; flash attention is ignored" },
	{ .long_name = "--prompt-cache", .arg = "FILE", .kind = OPT_NOTE, .commands = OPTC_CHAT | OPTC_RUN,
	  .help = "accepted from llama.cpp; ignored: conversations are kept as sessions (--session)",
	  .note = "conversations and their KV cache are kept as sessions (--session NAME); "
		  "the prompt cache file is ignored" },
	{ .long_name = "--template", .arg = "NAME|FILE", .kind = OPT_STR, .offset = OFF(template_name),
	  .commands = OPTC_CHAT | OPTC_SERVE, .help = "prompt template (default: from the model, else dialogue)" },
	{ .long_name = "--system", .arg = "TEXT", .kind = OPT_STR, .offset = OFF(system),
	  .commands = OPTC_CHAT, .help = "system prompt" },
	{ .long_name = "--session", .arg = "NAME", .kind = OPT_STR, .offset = OFF(session),
	  .commands = OPTC_CHAT, .help = "resume or create the named session (its saved settings apply, but options given "
		  "here win and are saved with it)" },
	{ .long_name = "--in-prefix", .arg = "STR", .kind = OPT_STR, .offset = OFF(in_prefix),
	  .commands = OPTC_CHAT, .help = "text put before each user turn (escapes such as \\n)",
	  .escapes = true },
	{ .long_name = "--in-suffix", .arg = "STR", .kind = OPT_STR, .offset = OFF(in_suffix),
	  .commands = OPTC_CHAT,
	  .help = "text appended after each user turn (prompt postfix; escapes such as \\n)",
	  .escapes = true },
	{ .long_name = "--plain", .kind = OPT_FLAG, .offset = OFF(plain),
	  .commands = OPTC_CHAT, .help = "line-mode chat without the full-screen interface" },
	{ .long_name = "--reasoning", .arg = "show|hide", .kind = OPT_STR, .offset = OFF(reasoning),
	  .commands = OPTC_CHAT | OPTC_RUN,
	  .help = "line mode: a reasoning model's <think> block goes to stderr (dimmed on a terminal) or nowhere" },
	{ .long_name = "--think", .arg = "on|off", .kind = OPT_STR, .offset = OFF(think),
	  .commands = OPTC_CHAT, .help = "start with a reasoning model's thinking on or off (as /think)" },
	{ .long_name = "--no-autosave", .kind = OPT_FLAG, .offset = OFF(no_autosave),
	  .commands = OPTC_CHAT, .help = "save the session only on /save" },
	{ .long_name = "--verbose", .kind = OPT_FLAG, .offset = OFF(verbose),
	  .commands = OPTC_CHAT,
	  .help = "full-screen chat: also write what is typed into the log file (by default it gets only sizes)" },
	{ .long_name = "--session-kv", .arg = "full|none", .kind = OPT_STR, .offset = OFF(session_kv),
	  .commands = OPTC_CHAT,
	  .help = "what sessions keep of the KV cache: full (resume at once) or none (the transcript only, evaluated again on resume)" },
	{ .long_name = "--export", .arg = "FILE", .kind = OPT_STR, .offset = OFF(export_path),
	  .commands = OPTC_SESSIONS, .help = "with 'show NAME': write the transcript as Markdown to FILE (-: stdout)" },
	{ .short_name = "-p", .long_name = "--n-prompt", .arg = "N", .kind = OPT_INT, .offset = OFF(bench_prompt),
	  .commands = OPTC_BENCH, .help = "prompt tokens to process per repetition",
	  .min = 0, .max = CTX_MAX_N_CTX },
	{ .short_name = "-n", .long_name = "--n-gen", .arg = "N", .kind = OPT_INT, .offset = OFF(bench_gen),
	  .commands = OPTC_BENCH, .help = "tokens to generate per repetition",
	  .min = 0, .max = CTX_MAX_N_CTX },
	{ .short_name = "-d", .long_name = "--depth", .arg = "N", .kind = OPT_INT, .offset = OFF(bench_depth),
	  .commands = OPTC_BENCH, .help = "measure after N tokens already in the cache (llama-bench's -d)",
	  .min = 0, .max = CTX_MAX_N_CTX },
	{ .short_name = "-r", .long_name = "--repetitions", .arg = "N", .kind = OPT_INT, .offset = OFF(bench_reps),
	  .commands = OPTC_BENCH, .help = "repetitions of each test", .min = 1, .max = 1000000 },
	{ .long_name = "--json", .kind = OPT_FLAG, .offset = OFF(json),
	  .commands = OPTC_BENCH, .help = "print the results as JSON" },
	{ .long_name = "--json", .kind = OPT_FLAG, .offset = OFF(json),
	  .commands = OPTC_MODELS, .help = "print the list as JSON" },
	{ .long_name = "--session", .kind = OPT_FLAG, .offset = OFF(bench_session),
	  .commands = OPTC_BENCH,
	  .help = "measure session saves instead: bytes and ms per turn at 256, 2048 and 8192 tokens" },
	{ .short_name = "-h", .long_name = "--help", .kind = OPT_FLAG, .offset = OFF(help),
	  .commands = ~0u, .help = "show this help" },
};

#define N_OPTS (sizeof(opt_table) / sizeof(opt_table[0]))

void options_defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->gen = gen_params_default();
	o->n_batch = 512;
	o->top = 10;
	o->kv_type = "f16";
	o->bench_prompt = 128;
	o->bench_gen = 64;
	o->bench_reps = 5;
	o->host = "127.0.0.1";
	o->port = 8080;
}

static const struct opt_def *opt_find(const char *name, size_t len, unsigned cmd)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_def *d = &opt_table[i];
		if (!(d->commands & cmd) || d->kind == OPT_PARAMS)
			continue;
		if ((d->short_name && strlen(d->short_name) == len && strncmp(d->short_name, name, len) == 0) ||
		    (strlen(d->long_name) == len && strncmp(d->long_name, name, len) == 0))
			return d;
	}
	return NULL;
}

/* An OPT_INT row's range in words, as params_range words a parameter's. */
static void opt_range(const struct opt_def *d, char *buf, size_t len)
{
	if (d->max >= INT_MAX)
		snprintf(buf, len, "%ld or more", d->min);
	else
		snprintf(buf, len, "%ld to %ld", d->min, d->max);
}

static int opt_store(struct options *o, const struct opt_def *d, const char *arg, const char *cmdname)
{
	void *field = (char *)o + d->offset;
	char *end;
	errno = 0;
	if (d->escapes) {
		/* argv's strings are writable (as getopt's permuting relies on), and
		 * decoding never makes one longer. */
		char msg[256];
		if (escape_decode((char *)arg, msg, sizeof(msg))) {
			fprintf(stderr, "llamaterm %s: %s: %s\n", cmdname, d->long_name, msg);
			return 2;
		}
	}
	switch (d->kind) {
	case OPT_FLAG:
		*(bool *)field = true;
		return 0;
	case OPT_STR:
		*(const char **)field = arg;
		return 0;
	case OPT_STOP:
		if (o->n_stops >= OPT_MAX_STOPS) {
			fprintf(stderr, "llamaterm %s: at most %d stop strings\n", cmdname, OPT_MAX_STOPS);
			return 2;
		}
		if (!*arg) {
			fprintf(stderr, "llamaterm %s: %s: empty stop string\n", cmdname, d->long_name);
			return 2;
		}
		o->stops[o->n_stops++] = arg;
		return 0;
	case OPT_INT: {
		long v = strtol(arg, &end, 10);
		if (errno || end == arg || *end || v < INT_MIN || v > INT_MAX)
			break;
		if (v < d->min || v > d->max) {
			char range[64];
			opt_range(d, range, sizeof(range));
			fprintf(stderr, "llamaterm %s: %s: %s is out of range (%s)\n", cmdname,
				d->long_name, arg, range);
			return 2;
		}
		*(int *)field = (int)v;
		return 0;
	}
	case OPT_UINT32: {
		unsigned long long v = strtoull(arg, &end, 10);
		if (errno || end == arg || *end || arg[0] == '-' || v > UINT32_MAX)
			break;
		*(uint32_t *)field = (uint32_t)v;
		return 0;
	}
	case OPT_FLOAT: {
		float v = strtof(arg, &end);
		if (errno || end == arg || *end || !isfinite(v))
			break;
		*(float *)field = v;
		return 0;
	}
	case OPT_NOTE:
		fprintf(stderr, "llamaterm %s: %s: %s\n", cmdname, d->short_name ? d->short_name
									: d->long_name, d->note);
		return 0;
	case OPT_PARAMS:
		break;
	}
	fprintf(stderr, "llamaterm %s: %s: invalid value '%s'\n", cmdname, d->long_name, arg);
	return 2;
}

int options_parse(struct options *o, int argc, char **argv, unsigned cmd)
{
	const char *cmdname = argv[0];
	bool only_positional = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (only_positional || a[0] != '-' || a[1] == 0) {
			if (o->n_positional >= OPT_MAX_POSITIONAL) {
				fprintf(stderr, "llamaterm %s: too many arguments ('%s')\n", cmdname, a);
				return 2;
			}
			o->positional[o->n_positional++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_positional = true;
			continue;
		}
		/* Long options may be written --name=value. */
		const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		const struct opt_def *d = opt_find(a, len, cmd);
		const struct param_def *p = d ? NULL : params_find_flag(a, len, cmd);
		if (p) {
			const char *arg = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
			char err[256];
			if (!arg) {
				fprintf(stderr, "llamaterm %s: option '%s' needs an argument (%s)\n",
					cmdname, a, p->arg);
				return 2;
			}
			if (params_parse(p, &o->gen, arg, err, sizeof(err))) {
				fprintf(stderr, "llamaterm %s: %.*s: %s\n", cmdname, (int)len, a, err);
				return 2;
			}
			size_t np;
			o->gen_given |= 1u << (p - params_table(&np));
			continue;
		}
		if (!d) {
			fprintf(stderr, "llamaterm %s: unknown option '%.*s' (try 'llamaterm %s --help')\n",
				cmdname, (int)len, a, cmdname);
			return 2;
		}
		const char *arg = NULL;
		if (d->optional_arg) {
			/* -fa alone, or -fa on|off|auto as newer llama.cpp takes it. */
			static const char *const words[] = { "on", "off", "auto", "1", "0", "true", "false" };
			for (size_t w = 0; !eq && i + 1 < argc && w < sizeof(words) / sizeof(words[0]); w++)
				if (strcmp(argv[i + 1], words[w]) == 0)
					arg = argv[++i];
			if (eq)
				arg = eq + 1;
		} else if (d->kind != OPT_FLAG && !(d->kind == OPT_NOTE && !d->arg)) {
			if (eq)
				arg = eq + 1;
			else if (i + 1 < argc)
				arg = argv[++i];
			else {
				fprintf(stderr, "llamaterm %s: option '%s' needs an argument (%s)\n",
					cmdname, a, d->arg);
				return 2;
			}
		} else if (eq) {
			fprintf(stderr, "llamaterm %s: option '%.*s' takes no argument\n", cmdname, (int)len, a);
			return 2;
		}
		int rc = opt_store(o, d, arg, cmdname);
		if (rc)
			return rc;
	}
	return 0;
}

/* The flags of a parameter row, as --help and the man page show them. */
static void param_flags(const struct param_def *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s %s", p->short_flag ? p->short_flag : "",
		 p->short_flag ? ", " : "", p->long_flag, p->flag_alias ? ", " : "",
		 p->flag_alias ? p->flag_alias : "", p->arg);
}

/* A parameter row's help: its text, default, range and /set names. */
static void param_help(const struct param_def *p, char *buf, size_t len)
{
	char def[32], range[64];
	params_default_text(p, def, sizeof(def));
	params_range(p, range, sizeof(range));
	int n = snprintf(buf, len, "%s; default %s, range %s", p->help, def, range);
	if (p->fixed || n < 0 || (size_t)n >= len)
		return;
	n += snprintf(buf + n, len - (size_t)n, "; /set %s", p->name);
	for (int k = 0; k < PARAM_MAX_ALIASES && p->aliases[k] && (size_t)n < len; k++)
		n += snprintf(buf + n, len - (size_t)n, ", %s", p->aliases[k]);
}

/* An option's help, with its range for a number. */
static void opt_help(const struct opt_def *d, char *buf, size_t len)
{
	char range[64] = "";
	if (d->kind == OPT_INT)
		opt_range(d, range, sizeof(range));
	snprintf(buf, len, "%s%s%s", d->help, range[0] ? "; range " : "", range);
}

static void help_line(FILE *out, const char *flags, const char *help)
{
	int n = fprintf(out, "  %s%s", flags[0] == '-' && flags[1] == '-' ? "    " : "", flags);
	fprintf(out, "%*s%s\n", n < 30 ? 30 - n : 1, "", help);
}

void options_print_help(FILE *out, unsigned cmd)
{
	char flags[128], help[512];
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_def *d = &opt_table[i];
		if (!(d->commands & cmd))
			continue;
		if (d->kind == OPT_PARAMS) {
			size_t np;
			const struct param_def *pt = params_table(&np);
			for (size_t k = 0; k < np; k++) {
				if (!(pt[k].commands & cmd))
					continue;
				param_flags(&pt[k], flags, sizeof(flags));
				param_help(&pt[k], help, sizeof(help));
				help_line(out, flags, help);
			}
			continue;
		}
		snprintf(flags, sizeof(flags), "%s%s%s%s%s", d->short_name ? d->short_name : "",
			 d->short_name ? ", " : "", d->long_name, d->arg ? " " : "",
			 d->arg ? d->arg : "");
		opt_help(d, help, sizeof(help));
		help_line(out, flags, help);
	}
}

static const struct {
	unsigned bit;
	const char *name;
} opt_command_names[] = {
	{ OPTC_CHAT, "chat" }, { OPTC_RUN, "run" }, { OPTC_INFO, "info" },
	{ OPTC_TOKENIZE, "tokenize" }, { OPTC_LOGITS, "logits" },
	{ OPTC_PERPLEXITY, "perplexity" }, { OPTC_BENCH, "bench" },
	{ OPTC_QUANTIZE, "quantize" }, { OPTC_SESSIONS, "sessions" }, { OPTC_MODELS, "models" },
	{ OPTC_SERVE, "serve" },
};

/* " (chat, run)." for a command mask. */
static void man_commands(FILE *out, unsigned commands)
{
	if (commands == ~0u) {
		fputs(" (every command).\n", out);
		return;
	}
	fputs(" (", out);
	bool first = true;
	for (size_t k = 0; k < sizeof(opt_command_names) / sizeof(opt_command_names[0]); k++)
		if (commands & opt_command_names[k].bit) {
			fprintf(out, "%s%s", first ? "" : ", ", opt_command_names[k].name);
			first = false;
		}
	fputs(").\n", out);
}

void options_print_man(FILE *out)
{
	fputs(".SH OPTIONS\n"
	      "Options are shared by the commands; each entry names the commands that\n"
	      "accept it. A long option's argument may also be written\n"
	      ".IR \\-\\-name = value .\n"
	      "The generation parameters also name their default, their valid range and\n"
	      "the names\n"
	      ".B /set\n"
	      "knows them by in a chat.\n", out);
	char buf[512];
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_def *d = &opt_table[i];
		if (d->kind == OPT_PARAMS) {
			size_t np;
			const struct param_def *pt = params_table(&np);
			for (size_t k = 0; k < np; k++) {
				fputs(".TP\n.B \"", out);
				param_flags(&pt[k], buf, sizeof(buf));
				roff_text(out, buf);
				fputs("\"\n", out);
				param_help(&pt[k], buf, sizeof(buf));
				roff_text(out, buf);
				man_commands(out, pt[k].commands);
			}
			continue;
		}
		fputs(".TP\n.B \"", out);
		if (d->short_name) {
			roff_text(out, d->short_name);
			fputs(", ", out);
		}
		roff_text(out, d->long_name);
		if (d->arg) {
			fputc(' ', out);
			roff_text(out, d->arg);
		}
		fputs("\"\n", out);
		opt_help(d, buf, sizeof(buf));
		roff_text(out, buf);
		man_commands(out, d->commands);
	}
}
