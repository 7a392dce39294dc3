/* llamaterm perplexity: the usual measure of how well a model predicts a
 * text, computed the way llama.cpp's perplexity tool does so the figures
 * can be compared: the tokenized text is cut into chunks of n_ctx tokens,
 * each chunk's first token is replaced by BOS, and only the second half of
 * each chunk is scored, so every scored token sees at least n_ctx/2 tokens
 * of context. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "commands.h"
#include "context.h"
#include "model.h"
#include "options.h"
#include "vocab.h"

static void perplexity_usage(FILE *out)
{
	fprintf(out, "usage: llamaterm perplexity -m MODEL -f FILE [-c N] [-b N]\n\n"
		     "Scores the second half of each N-token chunk of FILE (default N: 512)\n"
		     "and prints the running perplexity per chunk, then 'perplexity: VALUE'.\n\n");
	options_print_help(out, OPTC_PERPLEXITY);
}

/* -log softmax(logits)[target], computed in double. */
static double perplexity_nll(const float *logits, int n_vocab, int target)
{
	float max = logits[0];
	for (int i = 1; i < n_vocab; i++)
		if (logits[i] > max)
			max = logits[i];
	double sum = 0;
	for (int i = 0; i < n_vocab; i++)
		sum += exp((double)logits[i] - max);
	return log(sum) - ((double)logits[target] - max);
}

int cmd_perplexity(int argc, char **argv)
{
	struct options o;
	options_defaults(&o);
	int rc = cli_parse(&o, argc, argv, OPTC_PERPLEXITY, "perplexity", perplexity_usage, 0);
	if (rc >= 0)
		return rc;
	if (!o.model || !o.prompt_file) {
		fprintf(stderr, "llamaterm perplexity: a model (-m FILE) and a text (-f FILE) are required\n");
		return 2;
	}
	int n_ctx = o.gen.n_ctx > 0 ? o.gen.n_ctx : 512;
	if (n_ctx < 4) {
		fprintf(stderr, "llamaterm perplexity: -c must be at least 4\n");
		return 2;
	}
	char *text;
	size_t len;
	rc = cli_read_prompt(&o, "perplexity", &text, &len);
	if (rc)
		return rc;
	char err[512];
	struct model *m;
	struct vocab *v;
	if (cli_open_model(&o, "perplexity", &m, &v)) {
		free(text);
		return 1;
	}
	struct ctx *c = NULL;
	int32_t *ids = NULL;
	int n_tokens = 0;
	rc = 1;
	if (cli_tokenize(v, text, len, true, false, "perplexity", &ids, &n_tokens))
		goto out;
	int n_chunks = n_tokens / n_ctx;
	if (n_chunks < 1) {
		fprintf(stderr, "llamaterm perplexity: %s: %d tokens, need at least %d (2 x -c / 2); use a smaller -c\n",
			o.prompt_file, n_tokens, n_ctx);
		goto out;
	}
	struct ctx_params cp;
	if (cli_ctx_params(&o, "perplexity", n_ctx, o.n_batch > 0 ? o.n_batch : 512, &cp)) {
		rc = 2;
		goto out;
	}
	if (ctx_new(&c, m, &cp, err, sizeof(err))) {
		fprintf(stderr, "llamaterm perplexity: %s\n", err);
		goto out;
	}
	fprintf(stderr, "perplexity: %d tokens, %d chunks of %d, scoring the last %d of each\n",
		n_tokens, n_chunks, n_ctx, n_ctx - 1 - n_ctx / 2);
	int n_vocab = ctx_n_vocab(c), bos = vocab_bos(v);
	double nll = 0, nll2 = 0;
	long count = 0;
	double t0 = cli_now();
	for (int k = 0; k < n_chunks; k++) {
		int32_t *chunk = ids + (size_t)k * n_ctx;
		int32_t first = chunk[0];
		if (bos >= 0 && vocab_add_bos(v))
			chunk[0] = bos;
		int erc = ctx_eval(c, chunk, n_ctx, 0, true);
		chunk[0] = first;
		if (erc) {
			fprintf(stderr, "llamaterm perplexity: chunk %d: %s\n", k + 1, ctx_error(c));
			goto out;
		}
		for (int j = n_ctx / 2; j < n_ctx - 1; j++) {
			double x = perplexity_nll(ctx_logits(c, j), n_vocab, chunk[j + 1]);
			nll += x;
			nll2 += x * x;
			count++;
		}
		printf("[%d]%.4f%s", k + 1, exp(nll / count), k + 1 < n_chunks ? "," : "\n");
		fflush(stdout);
	}
	double mean = nll / count, var = nll2 / count - mean * mean;
	double ppl = exp(mean);
	/* The standard error of the mean NLL, carried through exp(). */
	double err_ppl = count > 1 && var > 0 ? ppl * sqrt(var / (count - 1)) : 0;
	double secs = cli_now() - t0;
	fprintf(stderr, "perplexity: %.2f s, %.1f tokens/s, standard error +/- %.4f\n", secs,
		(double)n_chunks * n_ctx / secs, err_ppl);
	printf("perplexity: %.4f\n", ppl);
	rc = 0;
out:
	ctx_free(c);
	free(ids);
	vocab_free(v);
	model_free(m);
	free(text);
	return rc;
}
