/* llamaterm run: continue a prompt and stream the generated text (not the
 * prompt) to stdout as it is produced; timings go to stderr. Generation ends
 * at an end-of-generation token, after -n tokens, at a stop string (-r, never
 * printed), when the context is full, or on Ctrl-C. A <think>...</think>
 * block that opens the output (reasoning models) goes to stderr, or nowhere
 * with --reasoning hide, so stdout holds the answer alone. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "context.h"
#include "model.h"
#include "options.h"
#include "reasoning.h"
#include "remote.h"
#include "sampler.h"
#include "stopper.h"
#include "vocab.h"

static void run_usage(FILE *out)
{
	fprintf(out, "usage: llamaterm run -m MODEL (-p TEXT | -f FILE) [options]\n"
		     "       llamaterm run --remote URL [-m NAME] (-p TEXT | -f FILE) [options]\n\n"
		     "Continues the prompt, streaming the generated text to stdout and\n"
		     "timings to stderr. --temp 0 is greedy decoding.\n\n");
	options_print_help(out, OPTC_RUN);
}

/* Set by SIGINT; the context checks it between layers. */
static atomic_bool run_interrupted;

static void run_on_sigint(int sig)
{
	(void)sig;
	atomic_store(&run_interrupted, true);
}

/* Everything a run holds, so one function can release it. */
struct run {
	struct options o;
	struct model *model;
	struct vocab *vocab;
	struct ctx *ctx;
	struct sampler *sampler;
	struct stopper *stopper;
	struct vocab_stream *stream;
	struct reasoning *splitter;
	bool show_reasoning;
	bool reasoning_open; /* a reasoning block is being written to stderr */
	int32_t *prompt;
	int n_prompt;
};

static void run_free(struct run *r)
{
	vocab_stream_free(r->stream);
	reasoning_free(r->splitter);
	stopper_free(r->stopper);
	sampler_free(r->sampler);
	ctx_free(r->ctx);
	vocab_free(r->vocab);
	model_free(r->model);
	free(r->prompt);
}

/* Opens model, tokenizer, context, sampler and stop matcher. Returns an
 * exit status. */
static int run_open(struct run *r, double *t_load)
{
	const struct options *o = &r->o;
	char err[512];
	double t0 = cli_now();
	if (cli_open_model(o, "run", &r->model, &r->vocab))
		return 1;
	struct ctx_params cp;
	if (cli_ctx_params(o, "run", o->gen.n_ctx, o->n_batch, &cp))
		return 2;
	if (ctx_new(&r->ctx, r->model, &cp, err, sizeof(err))) {
		fprintf(stderr, "llamaterm run: %s\n", err);
		return 1;
	}
	*t_load = cli_now() - t0;
	struct sampler_params sp = o->gen.sampling;
	sp.n_ctx = ctx_n_ctx(r->ctx);
	if (sampler_new(&r->sampler, &sp, ctx_n_vocab(r->ctx), err, sizeof(err)) < 0 ||
	    stopper_new(&r->stopper, o->stops, o->n_stops, err, sizeof(err)) < 0) {
		fprintf(stderr, "llamaterm run: %s\n", err);
		return 2;
	}
	if (reasoning_new(&r->splitter, REASONING_DEFAULT_START, REASONING_DEFAULT_END) < 0 ||
	    vocab_stream_new(&r->stream, r->vocab, 0)) {
		fprintf(stderr, "llamaterm run: out of memory\n");
		return 1;
	}
	return 0;
}

static int run_emit(void *ud, enum reasoning_part part, const char *text, size_t len)
{
	struct run *r = ud;
	if (part == REASONING_THOUGHT) {
		if (r->show_reasoning)
			cli_reasoning_write(text, len, &r->reasoning_open);
		return 0;
	}
	cli_reasoning_end(&r->reasoning_open);
	fwrite(text, 1, len, stdout);
	fflush(stdout);
	return 0;
}

/* Generated text, split into reasoning (stderr) and answer (stdout). */
static void run_write(struct run *r, const char *text, size_t len)
{
	reasoning_feed(r->splitter, text, len, run_emit, r);
}

/* Generates after the prompt; returns the number of generated tokens or -1. */
static int run_generate(struct run *r)
{
	const struct options *o = &r->o;
	int n_ctx = ctx_n_ctx(r->ctx), n_gen = 0;
	int limit = o->gen.n_predict < 0 ? n_ctx : o->gen.n_predict;
	bool stopped = false;
	while (n_gen < limit && !atomic_load(&run_interrupted)) {
		int pos = ctx_n_past(r->ctx);
		int32_t tok = sampler_sample(r->sampler, ctx_logits(r->ctx, -1));
		if (tok < 0) {
			fprintf(stderr, "llamaterm run: sampling failed: %s\n", lt_strerror(tok));
			return -1;
		}
		if (vocab_is_eog(r->vocab, tok))
			break;
		sampler_accept(r->sampler, tok);
		n_gen++;
		const char *piece, *out;
		size_t piece_len, out_len;
		if (vocab_stream_push(r->stream, tok, &piece, &piece_len) != 0) {
			fprintf(stderr, "llamaterm run: detokenizing token %d failed\n", tok);
			return -1;
		}
		int hit = stopper_feed(r->stopper, piece, piece_len, &out, &out_len);
		if (o->print_ids)
			printf(n_gen > 1 ? " %d" : "%d", tok);
		else
			run_write(r, out, out_len);
		if (hit == STOPPER_HIT) {
			stopped = true;
			break;
		}
		if (n_gen == limit)
			break;
		if (pos + 1 >= n_ctx) {
			fprintf(stderr, "\nllamaterm run: context full (%d tokens); stopping\n", n_ctx);
			break;
		}
		int rc = ctx_eval(r->ctx, &tok, 1, pos, false);
		if (rc == LT_E_ABORTED)
			break;
		if (rc) {
			fprintf(stderr, "\nllamaterm run: %s\n", ctx_error(r->ctx));
			return -1;
		}
	}
	if (!stopped && !o->print_ids) {
		const char *out;
		size_t out_len;
		const char *tail;
		size_t tail_len;
		if (vocab_stream_flush(r->stream, &tail, &tail_len) == 0 && tail_len &&
		    stopper_feed(r->stopper, tail, tail_len, &out, &out_len) >= 0)
			run_write(r, out, out_len);
		if (!stopper_hit(r->stopper)) {
			stopper_flush(r->stopper, &out, &out_len);
			run_write(r, out, out_len);
		}
	}
	reasoning_flush(r->splitter, run_emit, r);
	cli_reasoning_end(&r->reasoning_open);
	if (o->print_ids || n_gen)
		putchar('\n');
	fflush(stdout);
	return n_gen;
}

/* --remote: the stop matcher's output of each piece, on to the splitter;
 * 1 (stop reading) once a stop string appeared. */
static int run_remote_piece(void *ud, enum remote_part part, const char *text, size_t len)
{
	struct run *r = ud;
	if (part == REMOTE_REASONING) {
		run_emit(r, REASONING_THOUGHT, text, len);
		return 0;
	}
	const char *out;
	size_t out_len;
	int hit = stopper_feed(r->stopper, text, len, &out, &out_len);
	run_write(r, out, out_len);
	return hit == STOPPER_HIT;
}

/* run --remote URL: the prompt continued by the server's /v1/completions. */
static int run_remote(struct run *r, const char *text)
{
	const struct options *o = &r->o;
	char err[512];
	struct remote *rm = NULL;
	const char *key = o->api_key ? o->api_key : getenv("LLAMATERM_API_KEY");
	if (remote_new(&rm, o->remote, key, o->model, err, sizeof(err)) ||
	    stopper_new(&r->stopper, o->stops, o->n_stops, err, sizeof(err)) < 0) {
		fprintf(stderr, "llamaterm run: %s\n", err);
		remote_free(rm);
		return 2;
	}
	if (reasoning_new(&r->splitter, REASONING_DEFAULT_START, REASONING_DEFAULT_END) < 0) {
		fprintf(stderr, "llamaterm run: out of memory\n");
		remote_free(rm);
		return 1;
	}
	reasoning_reset(r->splitter,
			reasoning_opens(text, REASONING_DEFAULT_START, REASONING_DEFAULT_END));
	signal(SIGINT, run_on_sigint);
	remote_set_abort(rm, &run_interrupted);
	struct remote_request q = { .prompt = text, .sampling = &o->gen.sampling,
				    .n_predict = o->gen.n_predict, .stops = o->stops,
				    .n_stops = o->n_stops };
	struct remote_result res;
	double t0 = cli_now();
	int rc = remote_stream(rm, &q, run_remote_piece, r, &res, err, sizeof(err));
	double t = cli_now() - t0;
	signal(SIGINT, SIG_DFL);
	if (!stopper_hit(r->stopper)) {
		const char *out;
		size_t out_len;
		stopper_flush(r->stopper, &out, &out_len);
		run_write(r, out, out_len);
	}
	reasoning_flush(r->splitter, run_emit, r);
	cli_reasoning_end(&r->reasoning_open);
	if (res.n_gen)
		putchar('\n');
	fflush(stdout);
	if (rc && rc != LT_E_ABORTED)
		fprintf(stderr, "llamaterm run: %s\n", err);
	else
		fprintf(stderr, "remote: %s (%s) | prompt: %d tokens | generation: %d tokens, %.1f tok/s%s\n",
			remote_model(rm)[0] ? remote_model(rm) : "?", remote_server(rm),
			res.n_prompt > 0 ? res.n_prompt : 0, res.n_gen, res.n_gen / (t > 0 ? t : 1e-9),
			rc == LT_E_ABORTED ? " (interrupted)" : "");
	remote_free(rm);
	return rc && rc != LT_E_ABORTED ? 1 : 0;
}

int cmd_run(int argc, char **argv)
{
	struct run r;
	memset(&r, 0, sizeof(r));
	options_defaults(&r.o);
	int rc = cli_parse(&r.o, argc, argv, OPTC_RUN, "run", run_usage,
			   CLI_NO_ARGS | CLI_NEED_MODEL);
	if (rc >= 0)
		return rc;
	if (cli_reasoning_option(&r.o, "run", &r.show_reasoning))
		return 2;
	char *text;
	size_t len;
	rc = cli_read_prompt(&r.o, "run", &text, &len);
	if (rc)
		return rc;
	if (r.o.remote) {
		rc = run_remote(&r, text);
		free(text);
		run_free(&r);
		return rc;
	}
	double t_load = 0;
	rc = run_open(&r, &t_load);
	if (!rc)
		rc = cli_tokenize(r.vocab, text, len, !r.o.no_bos, r.o.special, "run", &r.prompt,
				  &r.n_prompt);
	/* A prompt that ends inside an open block (DeepSeek-R1's reply prompt
	 * ends with <think>) makes the output start in the reasoning. */
	if (!rc)
		reasoning_reset(r.splitter, reasoning_opens(text, REASONING_DEFAULT_START,
							    REASONING_DEFAULT_END));
	free(text);
	if (!rc && r.n_prompt == 0) {
		fprintf(stderr, "llamaterm run: the prompt has no tokens\n");
		rc = 1;
	}
	if (!rc && r.n_prompt >= ctx_n_ctx(r.ctx)) {
		fprintf(stderr, "llamaterm run: the prompt has %d tokens, the context only %d (-c)\n",
			r.n_prompt, ctx_n_ctx(r.ctx));
		rc = 1;
	}
	if (rc) {
		run_free(&r);
		return rc;
	}
	signal(SIGINT, run_on_sigint);
	ctx_set_abort(r.ctx, &run_interrupted);
	for (int i = 0; i < r.n_prompt; i++)
		sampler_accept(r.sampler, r.prompt[i]);
	if (r.o.verbose_prompt)
		cli_print_prompt(stderr, r.vocab, r.prompt, r.n_prompt);
	double t0 = cli_now();
	rc = ctx_eval(r.ctx, r.prompt, r.n_prompt, 0, false);
	double t_prompt = cli_now() - t0;
	if (rc == LT_E_ABORTED) {
		fprintf(stderr, "llamaterm run: interrupted\n");
		run_free(&r);
		return 130;
	}
	if (rc) {
		fprintf(stderr, "llamaterm run: %s\n", ctx_error(r.ctx));
		run_free(&r);
		return 1;
	}
	t0 = cli_now();
	int n_gen = run_generate(&r);
	double t_gen = cli_now() - t0;
	signal(SIGINT, SIG_DFL);
	if (n_gen >= 0)
		fprintf(stderr, "load: %.1f ms | prompt: %d tokens, %.1f tok/s | generation: %d tokens, %.1f tok/s | RSS %.1f MiB%s\n",
			t_load * 1e3, r.n_prompt, r.n_prompt / (t_prompt > 0 ? t_prompt : 1e-9), n_gen,
			n_gen / (t_gen > 0 ? t_gen : 1e-9), cli_proc_status_bytes("VmHWM") / 1048576.0,
			atomic_load(&run_interrupted) ? " (interrupted)" : "");
	run_free(&r);
	return n_gen < 0 ? 1 : 0;
}
