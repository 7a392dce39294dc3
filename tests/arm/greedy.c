/* Engine-only greedy decoding, for the ARM tests (tests/arm/run.sh): the
 * cross build has no curses or readline, so the program's `run` is not
 * there. Tokenizes the prompt with BOS, picks the most likely token N
 * times and prints two lines: "kernels: NAME" (the variant in use) and the
 * generated text.
 *
 * usage: greedy MODEL PROMPT N [THREADS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "kernels.h"
#include "model.h"
#include "vocab.h"

#define MAX_TOKENS 256

/* The first token of the highest logit, as a greedy sampler takes it. */
static int32_t argmax(const float *logits, int n)
{
	int32_t best = 0;
	for (int i = 1; i < n; i++)
		if (logits[i] > logits[best])
			best = i;
	return best;
}

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: greedy MODEL PROMPT N [THREADS]\n");
		return 2;
	}
	const int n_gen = atoi(argv[3]);
	char err[512];
	struct model *m = NULL;
	struct vocab *v = NULL;
	struct ctx *c = NULL;
	int status = 1;
	if (model_open(&m, argv[1], NULL, err, sizeof(err)) ||
	    vocab_open(&v, model_gguf(m), err, sizeof(err))) {
		fprintf(stderr, "greedy: %s\n", err);
		goto out;
	}
	int32_t toks[MAX_TOKENS];
	const int n = vocab_tokenize(v, argv[2], strlen(argv[2]), true, false, toks, MAX_TOKENS);
	if (n < 1 || n + n_gen > MAX_TOKENS) {
		fprintf(stderr, "greedy: cannot tokenize the prompt into %d tokens\n", MAX_TOKENS - n_gen);
		goto out;
	}
	struct ctx_params cp = ctx_params_default();
	cp.n_ctx = MAX_TOKENS;
	if (argc == 5)
		cp.n_threads = atoi(argv[4]);
	if (ctx_new(&c, m, &cp, err, sizeof(err))) {
		fprintf(stderr, "greedy: %s\n", err);
		goto out;
	}
	printf("kernels: %s\n", kernels_active()->name);
	/* The prompt in one batch (the prefill kernels), then one token at a
	 * time (the decode kernels). */
	if (ctx_eval(c, toks, n, 0, false)) {
		fprintf(stderr, "greedy: %s\n", ctx_error(c));
		goto out;
	}
	for (int i = 0; i < n_gen; i++) {
		int32_t t = argmax(ctx_logits(c, -1), ctx_n_vocab(c));
		if (vocab_is_eog(v, t))
			break;
		char piece[64];
		const int len = vocab_token_to_piece(v, t, piece, sizeof(piece), false);
		if (len < 0 || (size_t)len > sizeof(piece)) {
			fprintf(stderr, "greedy: token %d has no text\n", t);
			goto out;
		}
		fwrite(piece, 1, (size_t)len, stdout);
		if (ctx_eval(c, &t, 1, ctx_n_past(c), false)) {
			fprintf(stderr, "greedy: %s\n", ctx_error(c));
			goto out;
		}
	}
	printf("\n");
	status = 0;
out:
	ctx_free(c);
	vocab_free(v);
	model_free(m);
	return status;
}
