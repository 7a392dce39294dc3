/* llamaterm tokenize: print the token ids (or id and piece) of a text. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "commands.h"
#include "gguf.h"
#include "options.h"
#include "vocab.h"

static void tokenize_usage(FILE *out)
{
	fprintf(out, "usage: llamaterm tokenize -m MODEL (-p TEXT | -f FILE) [--no-bos] [--special] [--pieces]\n\n"
		     "Prints the token ids of the text on one line, space-separated.\n\n");
	options_print_help(out, OPTC_TOKENIZE);
}

/* Prints a piece quoted, with bytes that are not printable escaped. */
static void tokenize_print_piece(const char *p, int n)
{
	putchar('\'');
	for (int i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c == '\\' || c == '\'')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('\'');
}

int cmd_tokenize(int argc, char **argv)
{
	struct options o;
	options_defaults(&o);
	int rc = cli_parse(&o, argc, argv, OPTC_TOKENIZE, "tokenize", tokenize_usage,
			   CLI_NO_ARGS | CLI_NEED_MODEL);
	if (rc >= 0)
		return rc;
	char *text;
	size_t len;
	rc = cli_read_prompt(&o, "tokenize", &text, &len);
	if (rc)
		return rc;
	struct gguf *g;
	struct vocab *v;
	rc = cli_open_vocab(o.model, o.no_mmap ? GGUF_OPEN_NO_MMAP : 0, "tokenize", &g, &v);
	if (rc) {
		free(text);
		return rc;
	}
	int32_t *ids = NULL;
	int n = 0;
	rc = cli_tokenize(v, text, len, !o.no_bos, o.special, "tokenize", &ids, &n);
	if (!rc) {
		char piece[256];
		for (int i = 0; i < n; i++) {
			if (!o.pieces) {
				printf(i ? " %d" : "%d", ids[i]);
				continue;
			}
			int pn = vocab_token_to_piece(v, ids[i], piece, sizeof(piece), true);
			printf("%d ", ids[i]);
			tokenize_print_piece(piece, pn < 0 ? 0 : pn > (int)sizeof(piece) ? (int)sizeof(piece) : pn);
			putchar('\n');
		}
		if (!o.pieces)
			putchar('\n');
	}
	free(ids);
	free(text);
	vocab_free(v);
	gguf_free(g);
	return rc;
}
