/* llamaterm bench: prompt-processing and generation speed, measured the way
 * llama.cpp's llama-bench measures them so the figures compare: after one
 * warm-up run, "ppP" evaluates P tokens as one batch from an empty cache and
 * "tgN" generates N tokens one at a time from an empty cache, each repeated
 * -r times; the mean and standard deviation of tokens per second are
 * printed. With -d D both start after D tokens already in the cache (filled
 * once, untimed; each run cuts the cache back to them), which is what a
 * long conversation costs attention. Token ids are pseudo-random: speed
 * does not depend on them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cli.h"
#include "commands.h"
#include "context.h"
#include "gguf.h"
#include "kernels.h"
#include "model.h"
#include "modelinfo.h"
#include "options.h"
#include "session.h"
#include "session_journal.h"

static void bench_usage(FILE *out)
{
	fprintf(out, "usage: llamaterm bench -m MODEL [-p 128] [-n 64] [-d 0] [-t N] [-r 5] [--json]\n"
		     "       llamaterm bench -m MODEL --session [--kv-type T] [-r 5]\n\n"
		     "Measures prompt processing (ppP) and generation (tgN) in tokens per second,\n"
		     "with the load time, resident memory and kernel variant (the best this CPU\n"
		     "runs; LLAMATERM_KERNELS=NAME picks another, LLAMATERM_FORCE_SCALAR=1 the\n"
		     "scalar reference).\n\n"
		     "With --session: the cost of saving a session after a turn (16 user and 48\n"
		     "reply tokens) at conversation lengths of 256, 2048 and 8192 tokens, in bytes\n"
		     "written and milliseconds (median of -r turns, fdatasync included), against\n"
		     "rewriting the whole file (the format before journals) at the same length.\n"
		     "Files go to $TMPDIR (default /tmp).\n\n");
	options_print_help(out, OPTC_BENCH);
}

struct bench_result {
	const char *name;  /* "pp" or "tg" */
	int n_tokens;
	double mean, sd;   /* tokens per second */
};

static void bench_stats(const double *x, int n, double *mean, double *sd)
{
	double s = 0, s2 = 0;
	for (int i = 0; i < n; i++)
		s += x[i];
	*mean = s / n;
	for (int i = 0; i < n; i++)
		s2 += (x[i] - *mean) * (x[i] - *mean);
	*sd = n > 1 ? sqrt(s2 / (n - 1)) : 0;
}

/* Brings the cache to exactly depth tokens: cut back when it holds more
 * (a sliding-window cache may have to start over), filled when less. */
static int bench_depth(struct ctx *c, const int32_t *tokens, int depth)
{
	ctx_truncate(c, depth);
	int past = ctx_n_past(c);
	if (past > depth) {
		ctx_truncate(c, 0);
		past = ctx_n_past(c);
	}
	return past < depth ? ctx_eval(c, tokens + past, depth - past, past, false) : 0;
}

/* One timed run after depth tokens; returns tokens per second, or a
 * negative value on error. */
static double bench_once(struct ctx *c, const int32_t *tokens, int n, bool batch, int depth)
{
	if (bench_depth(c, tokens, depth))
		return -1;
	const int32_t *t = tokens + depth;
	double t0 = cli_now();
	if (batch) {
		if (ctx_eval(c, t, n, depth, false))
			return -1;
	} else {
		for (int i = 0; i < n; i++)
			if (ctx_eval(c, &t[i], 1, depth + i, false))
				return -1;
	}
	double dt = cli_now() - t0;
	return n / (dt > 0 ? dt : 1e-9);
}


/* ---- bench --session ---- */

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Appends a turn of n evaluated tokens to the conversation d. */
static int bench_turn(struct ctx *c, struct session_data *d, const int32_t *tokens, int n)
{
	if (ctx_eval(c, tokens + d->n_ids, n, d->n_ids, false))
		return -1;
	memcpy(d->ids + d->n_ids, tokens + d->n_ids, (size_t)n * sizeof(int32_t));
	d->n_ids += n;
	struct session_turn *t = &d->turns[d->n_turns];
	*t = (struct session_turn){ .role = (uint8_t)(d->n_turns & 1), .flags = 2, .n_tokens = n,
				    .t_start = d->n_turns, .t_end = d->n_turns,
				    .text = strdup("a turn of the benchmark"), .reasoning = strdup("") };
	d->n_turns++;
	d->updated++;
	return t->text && t->reasoning ? 0 : -1;
}

/* Saves after each of reps turns at conversation length len; *bytes and
 * *ms receive the medians, *whole_bytes and *whole_ms what rewriting the
 * whole file (version 1, KV image included) costs there. */
static int bench_session_at(struct ctx *c, struct session_data *d, const int32_t *tokens,
			    const char *dir, int len, int reps, double *bytes, double *ms,
			    double *whole_bytes, double *whole_ms, char *err, size_t errlen)
{
	/* Up to len in turns of at most 512 tokens. */
	while (d->n_ids < len) {
		int n = len - d->n_ids < 512 ? len - d->n_ids : 512;
		if (bench_turn(c, d, tokens, n))
			return lt_seterr(err, errlen, LT_E_IO, "%s", ctx_error(c));
	}
	char *path = NULL, *v1path = NULL;
	if (asprintf(&path, "%s/bench-%d.lts", dir, len) < 0 ||
	    asprintf(&v1path, "%s/bench-%d.v1.lts", dir, len) < 0) {
		free(path);
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	}
	struct session_journal *j;
	int rc = session_journal_new(&j, path, NULL, err, errlen);
	if (rc) {
		free(path);
		free(v1path);
		return rc;
	}
	/* The first save writes the file whole; then the writeback settles so
	 * the turns measure their own appends. */
	rc = session_journal_save(j, d, c, SESSION_KV_FULL, NULL, err, errlen);
	sync();
	if (rc == 0) {
		/* The whole file at this length, as every save wrote it before
		 * journals. */
		double t0 = cli_now();
		struct session_data v1 = *d;
		v1.kv_len = ctx_state_size(c);
		v1.kv = malloc(v1.kv_len);
		v1.kv_n = d->n_ids;
		v1.has_kv = v1.kv && ctx_state_save(c, v1.kv, v1.kv_len) == 0;
		uint8_t *img = NULL;
		size_t img_len = 0;
		int rc1 = v1.has_kv ? session_encode_v1(&v1, &img, &img_len, err, errlen) : LT_E_NOMEM;
		if (rc1 == 0)
			rc1 = atomic_file_save(v1path, 0600, img, img_len, err, errlen);
		*whole_ms = (cli_now() - t0) * 1e3;
		*whole_bytes = (double)img_len;
		free(img);
		free(v1.kv);
		unlink(v1path);
		rc = rc1;
		sync();
	}
	double *b = calloc((size_t)reps, sizeof(double)), *t = calloc((size_t)reps, sizeof(double));
	for (int r = 0; rc == 0 && r < reps; r++) {
		if (!b || !t || bench_turn(c, d, tokens, 16) || bench_turn(c, d, tokens, 48)) {
			rc = lt_seterr(err, errlen, LT_E_NOMEM, "cannot evaluate a turn");
			break;
		}
		struct session_save_stats st;
		double s0 = cli_now();
		rc = session_journal_save(j, d, c, SESSION_KV_FULL, &st, err, errlen);
		t[r] = (cli_now() - s0) * 1e3;
		b[r] = (double)st.bytes_written;
	}
	if (rc == 0) {
		qsort(b, (size_t)reps, sizeof(double), bench_cmp_double);
		qsort(t, (size_t)reps, sizeof(double), bench_cmp_double);
		*bytes = b[reps / 2];
		*ms = t[reps / 2];
	}
	free(b);
	free(t);
	session_journal_free(j);
	unlink(path);
	free(path);
	free(v1path);
	return rc;
}

static int bench_session(const struct options *o, struct model *m, int n_threads)
{
	static const int lengths[] = { 256, 2048, 8192 };
	const int reps = o->bench_reps, max_len = 8192;
	char err[512];
	struct ctx_params cp = ctx_params_default();
	cp.n_ctx = max_len + reps * 64 + 64;
	cp.n_threads = n_threads;
	cp.kv_type = dtype_from_name(o->kv_type);
	struct ctx *c;
	if (ctx_new(&c, m, &cp, err, sizeof(err))) {
		fprintf(stderr, "llamaterm bench: %s\n", err);
		return 1;
	}
	const char *tmp = getenv("TMPDIR");
	char *dir = NULL;
	if (asprintf(&dir, "%s/llamaterm-bench-XXXXXX", tmp && tmp[0] ? tmp : "/tmp") < 0)
		dir = NULL;
	int32_t *tokens = malloc((size_t)cp.n_ctx * sizeof(int32_t));
	struct session_data d;
	memset(&d, 0, sizeof(d));
	d.model_name = strdup("bench");
	d.template_name = strdup("raw");
	d.system = strdup("");
	d.in_prefix = strdup("");
	d.postfix = strdup("");
	d.sampling = sampler_params_default();
	d.n_ctx = (uint32_t)cp.n_ctx;
	d.ids = malloc((size_t)cp.n_ctx * sizeof(int32_t));
	d.turns = calloc((size_t)cp.n_ctx, sizeof(*d.turns));
	d.sampler_state_len = 256;
	d.sampler_state = calloc(1, d.sampler_state_len);
	d.has_ctx = d.has_sampler = true;
	int rc = 0;
	if (!tokens || !d.ids || !d.turns || !d.sampler_state || !dir || !mkdtemp(dir)) {
		fprintf(stderr, "llamaterm bench: out of memory or no temporary directory (%s)\n",
			dir ? dir : "?");
		rc = 1;
		goto out;
	}
	uint64_t state = 0x9E3779B97F4A7C15ull;
	for (int i = 0; i < cp.n_ctx; i++) {
		state = state * 6364136223846793005ull + 1442695040888963407ull;
		tokens[i] = (int32_t)((state >> 33) % (uint64_t)ctx_n_vocab(c));
	}
	const struct model_hparams *hp = model_hparams(m);
	printf("model: %s (%d layers, dim %d, %d KV heads of %d), KV %s, %d threads, files in %s\n",
	       o->model, hp->n_layer, hp->n_embd, hp->n_head_kv, hp->head_dim,
	       dtype_name(cp.kv_type), n_threads, dir);
	printf("| tokens | journal bytes/turn | journal ms/turn | whole-file bytes | whole-file ms |\n");
	printf("|---|---|---|---|---|\n");
	fflush(stdout);
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		double bytes = 0, ms = 0, wbytes = 0, wms = 0;
		if (bench_session_at(c, &d, tokens, dir, lengths[i], reps, &bytes, &ms, &wbytes, &wms,
				     err, sizeof(err))) {
			fprintf(stderr, "llamaterm bench: %s\n", err);
			rc = 1;
			break;
		}
		printf("| %d | %.0f | %.1f | %.0f | %.1f |\n", lengths[i], bytes, ms, wbytes, wms);
		fflush(stdout);
	}
	rmdir(dir);
out:
	free(dir);
	free(tokens);
	session_data_free(&d);
	ctx_free(c);
	return rc;
}

int cmd_bench(int argc, char **argv)
{
	struct options o;
	options_defaults(&o);
	int rc = cli_parse(&o, argc, argv, OPTC_BENCH, "bench", bench_usage, CLI_NEED_MODEL);
	if (rc >= 0)
		return rc;
	if (o.bench_session) {
		struct model_params smp = cli_model_params(&o);
		struct model *sm;
		char serr[512];
		if (model_open(&sm, o.model, &smp, serr, sizeof(serr))) {
			fprintf(stderr, "llamaterm bench: %s\n", serr);
			return 1;
		}
		rc = bench_session(&o, sm, o.n_threads > 0 ? o.n_threads : cli_physical_cores());
		model_free(sm);
		return rc;
	}
	if (o.bench_prompt < 0 || o.bench_gen < 0 || o.bench_reps < 1 || o.bench_depth < 0 ||
	    (o.bench_prompt == 0 && o.bench_gen == 0)) {
		fprintf(stderr, "llamaterm bench: -p, -n and -d must be >= 0 (-p and -n not both 0), "
				"-r >= 1\n");
		return 2;
	}
	char err[512];
	double t0 = cli_now();
	struct model_params mp = cli_model_params(&o);
	struct model *m;
	if (model_open(&m, o.model, &mp, err, sizeof(err))) {
		fprintf(stderr, "llamaterm bench: %s\n", err);
		return 1;
	}
	double t_load = cli_now() - t0;
	int n_threads = o.n_threads > 0 ? o.n_threads : cli_physical_cores();
	int depth = o.bench_depth;
	int n_need = depth + (o.bench_prompt > o.bench_gen ? o.bench_prompt : o.bench_gen);
	struct ctx_params cp = ctx_params_default();
	cp.n_ctx = n_need;
	cp.n_batch = o.bench_prompt > 0 ? o.bench_prompt : 1;
	cp.n_threads = n_threads;
	cp.kv_type = dtype_from_name(o.kv_type);
	if (cp.kv_type != GGML_TYPE_F16 && cp.kv_type != GGML_TYPE_F32 &&
	    cp.kv_type != GGML_TYPE_Q8_0 && cp.kv_type != GGML_TYPE_Q4_0) {
		fprintf(stderr, "llamaterm bench: --kv-type must be f16, f32, q8_0 or q4_0\n");
		model_free(m);
		return 2;
	}
	struct ctx *c;
	if (ctx_new(&c, m, &cp, err, sizeof(err))) {
		fprintf(stderr, "llamaterm bench: %s\n", err);
		model_free(m);
		return 1;
	}
	int n_vocab = ctx_n_vocab(c);
	int32_t *tokens = malloc((size_t)n_need * sizeof(*tokens));
	double *runs = malloc((size_t)o.bench_reps * sizeof(*runs));
	if (!tokens || !runs) {
		fprintf(stderr, "llamaterm bench: out of memory\n");
		rc = 1;
		goto out;
	}
	uint64_t state = 0x9E3779B97F4A7C15ull;
	for (int i = 0; i < n_need; i++) {
		state = state * 6364136223846793005ull + 1442695040888963407ull;
		tokens[i] = (int32_t)((state >> 33) % (uint64_t)n_vocab);
	}
	struct bench_result results[2];
	int n_results = 0;
	for (int test = 0; test < 2; test++) {
		bool batch = test == 0;
		int n = batch ? o.bench_prompt : o.bench_gen;
		if (n == 0)
			continue;
		/* A warm-up run pages the weights in and starts the threads. */
		if (bench_once(c, tokens, batch ? n : (n < 4 ? n : 4), batch, depth) < 0)
			goto eval_failed;
		for (int r = 0; r < o.bench_reps; r++)
			if ((runs[r] = bench_once(c, tokens, n, batch, depth)) < 0)
				goto eval_failed;
		struct bench_result *res = &results[n_results++];
		res->name = batch ? "pp" : "tg";
		res->n_tokens = n;
		bench_stats(runs, o.bench_reps, &res->mean, &res->sd);
	}
	const struct gguf *g = model_gguf(m);
	/* Each generated token reads every weight once, but only one row of the
	 * embedding table (unless the output reuses it): the decode limit is
	 * these bytes over the memory bandwidth. */
	const struct model_weights *mw = model_weights(m);
	uint64_t decode_bytes = model_weight_bytes(m);
	if (!mw->tied_output)
		decode_bytes -= (uint64_t)(mw->tok_embd.n_out - 1) * mw->tok_embd.row_bytes;
	uint64_t rss = cli_proc_status_bytes("VmRSS"), hwm = cli_proc_status_bytes("VmHWM");
	/* Which kernel variant ran, so figures from two machines (or with
	 * LLAMATERM_FORCE_SCALAR=1) are not compared blindly. */
	const char *kernels = kernels_active()->name;
	if (o.json) {
		printf("{\"model\": ");
		cli_json_string(stdout, o.model);
		printf(", \"type\": \"%s\", \"params\": %lld, \"weight_bytes\": %llu, "
		       "\"decode_bytes\": %llu, \"threads\": %d, \"kernels\": \"%s\", "
		       "\"load_ms\": %.3f, \"rss_bytes\": %llu, \"peak_rss_bytes\": %llu, "
		       "\"results\": [",
		       modelinfo_main_type(g), (long long)model_n_params(m),
		       (unsigned long long)model_weight_bytes(m), (unsigned long long)decode_bytes,
		       n_threads, kernels, t_load * 1e3,
		       (unsigned long long)rss, (unsigned long long)hwm);
		for (int i = 0; i < n_results; i++)
			printf("%s{\"test\": \"%s%d\", \"depth\": %d, \"mean\": %.3f, \"sd\": %.3f}",
			       i ? ", " : "", results[i].name, results[i].n_tokens, depth,
			       results[i].mean, results[i].sd);
		printf("]}\n");
	} else {
		printf("model: %s (%s, %.2f M params, %.1f MiB)\n", o.model, modelinfo_main_type(g),
		       model_n_params(m) / 1e6, model_weight_bytes(m) / 1048576.0);
		printf("threads: %d, kernels: %s, load: %.1f ms, RSS: %.1f MiB (peak %.1f MiB), "
		       "decode reads %.1f MiB/token\n",
		       n_threads, kernels, t_load * 1e3, rss / 1048576.0, hwm / 1048576.0,
		       decode_bytes / 1048576.0);
		for (int i = 0; i < n_results; i++)
			printf("%s%d%s%.0d: %.2f ± %.2f tok/s\n", results[i].name, results[i].n_tokens,
			       depth ? " @ d" : "", depth, results[i].mean, results[i].sd);
	}
	rc = 0;
	goto out;
eval_failed:
	fprintf(stderr, "llamaterm bench: %s\n", ctx_error(c));
	rc = 1;
out:
	free(tokens);
	free(runs);
	ctx_free(c);
	model_free(m);
	return rc;
}
