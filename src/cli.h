/* Helpers shared by the command-line subcommands: reading the prompt from
 * -p or -f, opening a model's tokenizer, the default thread count, and a
 * monotonic clock for timings. */
#ifndef LT_CLI_H
#define LT_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "options.h"

struct gguf;
struct vocab;

/* The prompt text of -p, or the contents of -f (which must not both be
 * given). Returns 0 with a malloc'd, NUL-terminated *text, or prints a
 * one-line error naming the command and returns its exit status (1 for a
 * read error, 2 for a usage error). */
int cli_read_prompt(const struct options *o, const char *cmd, char **text, size_t *len);

/* Reads a whole file into a malloc'd, NUL-terminated buffer. Returns 0 or a
 * negative lt_error with a message in err naming the file. */
int cli_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen);

/* Opens only the tokenizer of a GGUF file. On failure prints the error and
 * returns 1; on success the caller frees both handles. */
int cli_open_vocab(const char *path, int gguf_flags, const char *cmd, struct gguf **g,
		   struct vocab **v);

/* Tokenizes text, returning a malloc'd array in *ids and the count in *n, or
 * prints an error and returns 1. */
int cli_tokenize(const struct vocab *v, const char *text, size_t len, int add_special,
		 int parse_special, const char *cmd, int32_t **ids, int *n);

/* The number of physical cores (hyper-threads share one), at least 1. */
int cli_physical_cores(void);

/* Writes s as a JSON string literal (quotes included) to out. */
void cli_json_string(FILE *out, const char *s);

/* Writes s as roff text: backslashes and hyphens escaped, a leading '.' or
 * quote protected, so man page sections can be generated from tables. */
void cli_roff_text(FILE *out, const char *s);

/* Seconds on a monotonic clock. */
double cli_now(void);

#endif
