/* Helpers shared by the command-line subcommands: parsing their options,
 * reading the prompt from -p or -f, opening a model and its tokenizer,
 * engine parameters from the options, the default thread count, and a
 * monotonic clock for timings. */
#ifndef LT_CLI_H
#define LT_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "context.h"
#include "model.h"
#include "options.h"
#include "sampler.h"

struct gguf;
struct vocab;

/* Checks cli_parse makes after parsing. */
enum cli_check {
	CLI_NO_ARGS = 1 << 0,    /* no positional argument */
	CLI_NEED_MODEL = 1 << 1, /* -m is given */
};

/* Parses argv for the command cmd (whose option mask is mask; argv[0] is its
 * name) and makes the checks (enum cli_check bits); --help prints usage to
 * stdout. A -m that names a model in a store rather than a file is replaced
 * by the file's path (cli_model_path), in o->model and in argv. Returns -1
 * when the command goes on, else the exit status to return at once: 0
 * after --help, 2 after a one-line usage error, 1 when -m names no model. */
int cli_parse(struct options *o, int argc, char **argv, unsigned mask, const char *cmd,
	      void (*usage)(FILE *), unsigned checks);

/* What -m (or info's FILE) means: a path when that file exists or ref is
 * spelled as a path (/..., ./..., ../...), else a model name that
 * src/modelstore.h resolves: llama3.2:1b, qwen3 (:latest), Qwen/Qwen3-0.6B-GGUF
 * or Qwen/Qwen3-0.6B-GGUF:Q4_K_M, a file name in a store. Returns 0 with
 * *path NULL (use ref) or malloc'd, or prints a one-line error naming cmd
 * (ambiguous: the candidates; not found: where it looked) and returns 1. */
int cli_model_path(const char *ref, const char *cmd, char **path);

/* The prompt text of -p, or the contents of -f (which must not both be
 * given), made valid UTF-8 (cli_valid_text). Returns 0 with a malloc'd,
 * NUL-terminated *text, or prints a one-line error naming the command and
 * returns its exit status (1 for a read error, 2 for a usage error). */
int cli_read_prompt(const struct options *o, const char *cmd, char **text, size_t *len);

/* Replaces the malloc'd *text (*len bytes) by a copy in which every invalid
 * UTF-8 sequence is U+FFFD, saying on stderr, in one line naming what
 * (an option or file), how many were replaced. 0, or 1 when out of memory. */
int cli_valid_text(const char *cmd, const char *what, char **text, size_t *len);

/* Reads a whole file into a malloc'd, NUL-terminated buffer. Returns 0 or a
 * negative lt_error with a message in err naming the file. */
int cli_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen);

/* Opens only the tokenizer of a GGUF file. On failure prints the error and
 * returns 1; on success the caller frees both handles. */
int cli_open_vocab(const char *path, int gguf_flags, const char *cmd, struct gguf **g,
		   struct vocab **v);

/* Model parameters from --no-mmap and --mlock. */
struct model_params cli_model_params(const struct options *o);

/* Opens the model of -m (honouring --no-mmap and --mlock) and, when v is
 * not NULL, its tokenizer. On failure prints the error naming cmd and
 * returns 1 with nothing left open. */
int cli_open_model(const struct options *o, const char *cmd, struct model **m, struct vocab **v);

/* Context parameters with the given n_ctx and n_batch (each command has its
 * own defaults for them), -t (default: physical cores) and --kv-type.
 * Returns 0, or prints an error and returns 2 when --kv-type is neither f16
 * nor f32. */
int cli_ctx_params(const struct options *o, const char *cmd, int n_ctx, int n_batch,
		   struct ctx_params *cp);

/* Tokenizes text, returning a malloc'd array in *ids and the count in *n, or
 * prints an error and returns 1. */
int cli_tokenize(const struct vocab *v, const char *text, size_t len, int add_special,
		 int parse_special, const char *cmd, int32_t **ids, int *n);

/* The number of physical cores (hyper-threads share one), at least 1. */
int cli_physical_cores(void);

/* --verbose-prompt: the ids about to be evaluated, one "ID -> 'piece'" line
 * each (special tokens shown, control characters escaped), as llama.cpp
 * prints them. */
void cli_print_prompt(FILE *out, const struct vocab *v, const int32_t *ids, int n);

/* Writes s as a JSON string literal (quotes included) to out. */
void cli_json_string(FILE *out, const char *s);

/* A size line of /proc/self/status ("VmRSS", "VmHWM") in bytes, 0 if absent. */
uint64_t cli_proc_status_bytes(const char *key);

/* Seconds on a monotonic clock. */
double cli_now(void);

/* Line mode's reasoning output: pieces of a reply's reasoning go to
 * stderr, dimmed when it is a terminal; *open says a block is being
 * written. cli_reasoning_end closes it (reset, newline) before the answer. */
void cli_reasoning_write(const char *text, size_t len, bool *open);
void cli_reasoning_end(bool *open);
/* Checks --reasoning: 0 and *show set, or 2 after a usage message naming cmd. */
int cli_reasoning_option(const struct options *o, const char *cmd, bool *show);

#endif
