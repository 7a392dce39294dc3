/* llamaterm logits: evaluate a token sequence in one batch and print the
 * largest logits at every position, for comparing numerics with other
 * implementations. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "context.h"
#include "model.h"
#include "options.h"
#include "vocab.h"

static void logits_usage(FILE *out)
{
	fprintf(out, "usage: llamaterm logits -m MODEL (--ids 1,2,3 | -p TEXT) [--top K] [-o FILE]\n\n"
		     "Evaluates the sequence in one batch and prints one line per position:\n"
		     "POS INPUT_ID TOP1_ID:LOGIT TOP2_ID:LOGIT ... (6 decimals).\n"
		     "With --resume-at K the first K tokens are evaluated, the context state\n"
		     "is saved and loaded into a fresh context, and the rest goes on there.\n\n");
	options_print_help(out, OPTC_LOGITS);
}

/* Parses "1,2,3" into a malloc'd array. Returns the count, or -1. */
static int logits_parse_ids(const char *s, int n_vocab, int32_t **out)
{
	int cap = 16, n = 0;
	int32_t *ids = malloc((size_t)cap * sizeof(*ids));
	if (!ids)
		return -1;
	const char *p = s;
	while (*p) {
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);
		if (end == p || errno || v < 0 || v >= n_vocab) {
			fprintf(stderr, "llamaterm logits: --ids: '%s' is not a token id below %d\n", p, n_vocab);
			free(ids);
			return -1;
		}
		if (n == cap) {
			int32_t *bigger = realloc(ids, (size_t)cap * 2 * sizeof(*ids));
			if (!bigger) {
				free(ids);
				return -1;
			}
			ids = bigger;
			cap *= 2;
		}
		ids[n++] = (int32_t)v;
		p = end;
		if (*p == ',')
			p++;
		else if (*p) {
			fprintf(stderr, "llamaterm logits: --ids: unexpected '%c' (want comma-separated ids)\n", *p);
			free(ids);
			return -1;
		}
	}
	if (n == 0) {
		fprintf(stderr, "llamaterm logits: --ids: no token ids given\n");
		free(ids);
		return -1;
	}
	*out = ids;
	return n;
}

/* Writes the indices of the k largest values of x[0..n) to top, largest
 * first (ties: lower index first). */
static void logits_top_k(const float *x, int n, int k, int *top)
{
	int have = 0;
	for (int i = 0; i < n; i++) {
		if (have == k && x[i] <= x[top[k - 1]])
			continue;
		int j = have < k ? have++ : k - 1;
		while (j > 0 && x[top[j - 1]] < x[i]) {
			top[j] = top[j - 1];
			j--;
		}
		top[j] = i;
	}
}

/* Evaluates ids[0..n) with every position's logits into a new context; with
 * resume_at > 0 the first resume_at go through a saved and reloaded state. */
static int logits_eval(const struct model *m, const struct ctx_params *cp, const int32_t *ids,
		       int n, int resume_at, struct ctx **out)
{
	char err[512];
	struct ctx *c = NULL, *first = NULL;
	void *state = NULL;
	int rc = ctx_new(&c, m, cp, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "llamaterm logits: %s\n", err);
		return rc;
	}
	if (resume_at > 0) {
		first = c;
		c = NULL;
		size_t size = 0;
		if ((rc = ctx_eval(first, ids, resume_at, 0, false))) {
			fprintf(stderr, "llamaterm logits: %s\n", ctx_error(first));
			goto done;
		}
		size = ctx_state_size(first);
		state = malloc(size);
		if (!state || ctx_state_save(first, state, size)) {
			fprintf(stderr, "llamaterm logits: out of memory saving the state\n");
			rc = LT_E_NOMEM;
			goto done;
		}
		if ((rc = ctx_new(&c, m, cp, err, sizeof(err)))) {
			fprintf(stderr, "llamaterm logits: %s\n", err);
			goto done;
		}
		if ((rc = ctx_state_load(c, state, size))) {
			fprintf(stderr, "llamaterm logits: %s\n", ctx_error(c));
			goto done;
		}
	}
	/* Resumed, the earlier positions' logits are gone: only the rest count. */
	if ((rc = ctx_eval(c, ids + resume_at, n - resume_at, resume_at, true)))
		fprintf(stderr, "llamaterm logits: %s\n", ctx_error(c));
done:
	free(state);
	ctx_free(first);
	if (rc) {
		ctx_free(c);
		c = NULL;
	}
	*out = c;
	return rc;
}

/* Picks n tokens greedily after the evaluated sequence and prints them. */
static int logits_greedy(struct ctx *c, int32_t last, int n)
{
	const int n_vocab = ctx_n_vocab(c);
	int32_t id = last;
	const float *l = ctx_logits(c, -1);
	printf("greedy:");
	for (int i = 0; i < n; i++) {
		if (i > 0) {
			if (ctx_eval(c, &id, 1, ctx_n_past(c), false)) {
				fprintf(stderr, "llamaterm logits: %s\n", ctx_error(c));
				return 1;
			}
			l = ctx_logits(c, -1);
		}
		int best = 0;
		for (int j = 1; j < n_vocab; j++)
			if (l[j] > l[best])
				best = j;
		id = best;
		printf(" %d", id);
	}
	putchar('\n');
	return 0;
}

int cmd_logits(int argc, char **argv)
{
	struct options o;
	options_defaults(&o);
	int rc = cli_parse(&o, argc, argv, OPTC_LOGITS, "logits", logits_usage, CLI_NEED_MODEL);
	if (rc >= 0)
		return rc;
	if (!!o.ids + !!o.prompt + !!o.prompt_file != 1) {
		fprintf(stderr, "llamaterm logits: give exactly one of --ids LIST, -p TEXT, -f FILE\n");
		return 2;
	}
	if (o.top < 1 || o.greedy < 0 || o.resume_at < 0) {
		fprintf(stderr, "llamaterm logits: --top must be at least 1, --greedy and --resume-at "
				"at least 0\n");
		return 2;
	}
	char err[512];
	struct model *m;
	if (cli_open_model(&o, "logits", &m, NULL))
		return 1;
	int n_vocab = model_hparams(m)->n_vocab;
	int32_t *ids = NULL;
	int n = 0;
	struct vocab *v = NULL;
	rc = 1;
	if (o.ids) {
		n = logits_parse_ids(o.ids, n_vocab, &ids);
		if (n < 0) {
			rc = 2;
			goto out;
		}
	} else {
		char *text;
		size_t len;
		int prc = cli_read_prompt(&o, "logits", &text, &len);
		if (prc) {
			rc = prc;
			goto out;
		}
		if (vocab_open(&v, model_gguf(m), err, sizeof(err))) {
			fprintf(stderr, "llamaterm logits: %s\n", err);
			free(text);
			goto out;
		}
		prc = cli_tokenize(v, text, len, !o.no_bos, o.special, "logits", &ids, &n);
		free(text);
		if (prc)
			goto out;
		if (n == 0) {
			fprintf(stderr, "llamaterm logits: the prompt has no tokens\n");
			goto out;
		}
	}

	if (o.resume_at >= n) {
		fprintf(stderr, "llamaterm logits: --resume-at %d must be below the %d tokens\n",
			o.resume_at, n);
		rc = 2;
		goto out;
	}
	struct ctx_params cp;
	if (cli_ctx_params(&o, "logits", o.gen.n_ctx > 0 ? o.gen.n_ctx : n + o.greedy, n, &cp)) {
		rc = 2;
		goto out;
	}
	struct ctx *c;
	if (logits_eval(m, &cp, ids, n, o.resume_at, &c))
		goto out;
	FILE *raw = NULL;
	if (o.output && !(raw = fopen(o.output, "wb"))) {
		fprintf(stderr, "llamaterm logits: %s: cannot create: %s\n", o.output, strerror(errno));
		ctx_free(c);
		goto out;
	}
	int k = o.top < n_vocab ? o.top : n_vocab;
	int *top = malloc((size_t)k * sizeof(*top));
	rc = top ? 0 : 1;
	for (int i = o.resume_at; i < n && !rc; i++) {
		const float *l = ctx_logits(c, i - o.resume_at);
		logits_top_k(l, n_vocab, k, top);
		printf("%d %d", i, ids[i]);
		for (int j = 0; j < k; j++)
			printf(" %d:%.6f", top[j], l[top[j]]);
		putchar('\n');
		if (raw && fwrite(l, sizeof(float), (size_t)n_vocab, raw) != (size_t)n_vocab) {
			fprintf(stderr, "llamaterm logits: %s: write failed: %s\n", o.output, strerror(errno));
			rc = 1;
		}
	}
	if (raw && fclose(raw) != 0 && !rc) {
		fprintf(stderr, "llamaterm logits: %s: write failed: %s\n", o.output, strerror(errno));
		rc = 1;
	}
	if (!rc && o.greedy > 0)
		rc = logits_greedy(c, ids[n - 1], o.greedy);
	free(top);
	ctx_free(c);
out:
	free(ids);
	vocab_free(v);
	model_free(m);
	return rc;
}
