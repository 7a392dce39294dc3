/* The worker's remote backend: the replies come from an OpenAI-compatible
 * server (remote.h) while the conversation (conversation.h, without a
 * context) keeps the turns and settings, runs the stop strings and splits
 * the reasoning as for a local reply. See worker_impl.h. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "remote.h"
#include "template.h"
#include "worker_impl.h"

/* The server renders the prompt with its own template: this one only
 * gives the tags of a reasoning block the server leaves in the answer. */
static const char remote_template[] = "name = remote\n"
				      "description = the server applies its own chat template\n"
				      "bos = false\n"
				      "reasoning_start = <think>\n"
				      "reasoning_end = </think>\n";

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void details_update(struct worker *w);

/* One reply being streamed. */
struct rgen {
	struct worker *w;
	struct conv *c;
	double t0, t_first, t_live;
	int n_pieces;
};

static int rgen_piece(void *ud, enum remote_part part, const char *text, size_t len)
{
	struct rgen *g = ud;
	double now = mono();
	if (!g->n_pieces++)
		g->t_first = now;
	/* The live speed for the status bar, a few times a second. */
	if (now - g->t_live >= 0.1 && now > g->t_first) {
		g->t_live = now;
		pthread_mutex_lock(&g->w->mu);
		g->w->st.tg_tps = (g->n_pieces - 1) / (now - g->t_first);
		pthread_mutex_unlock(&g->w->mu);
	}
	return conv_feed(g->c, part == REMOTE_REASONING, text, len) != 0;
}

static int remote_generate(void *ud, struct conv *c, struct conv_reply *r, char *err, size_t errlen)
{
	struct worker *w = ud;
	int n = conv_n_turns(c) - 1; /* the last turn is the reply being written */
	struct remote_msg *msgs = calloc((size_t)n + 1, sizeof(*msgs));
	char **own = calloc((size_t)n + 1, sizeof(char *));
	int m = 0, rc = 0;
	if (!msgs || !own) {
		rc = lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
		goto out;
	}
	if (conv_system(c)[0])
		msgs[m++] = (struct remote_msg){ "system", conv_system(c) };
	for (int i = 0; i < n; i++) {
		const struct conv_turn *t = conv_turn(c, i);
		if (t->role == CONV_ROLE_ASSISTANT) {
			msgs[m++] = (struct remote_msg){ "assistant", t->text };
			continue;
		}
		/* --in-prefix and the postfix as they are now. */
		if (asprintf(&own[i], "%s%s%s", conv_in_prefix(c), t->text, conv_postfix(c)) < 0) {
			own[i] = NULL;
			rc = lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
			goto out;
		}
		msgs[m++] = (struct remote_msg){ "user", own[i] };
	}
	const char *const *stops;
	int n_stops = conv_stops(c, &stops);
	struct remote_request q = { .msgs = msgs, .n_msgs = m, .sampling = conv_sampling(c),
				    .n_predict = conv_n_predict(c), .stops = stops,
				    .n_stops = n_stops };
	struct rgen g = { .w = w, .c = c, .t0 = mono() };
	struct remote_result res;
	rc = remote_stream(w->remote, &q, rgen_piece, &g, &res, err, errlen);
	double end = mono();
	if (!g.n_pieces)
		g.t_first = end;
	r->t_prompt = g.t_first - g.t0;
	r->t_gen = end - g.t_first;
	r->n_prompt = res.n_prompt > 0 ? res.n_prompt : 0;
	r->n_gen = res.n_gen;
	if (rc == LT_E_ABORTED) {
		r->reason = CONV_STOP_USER;
		rc = 0;
	} else if (!strcmp(res.finish, "length")) {
		r->reason = CONV_STOP_LIMIT;
	}
	pthread_mutex_lock(&w->mu);
	snprintf(w->st.model, sizeof(w->st.model), "%s",
		 remote_model(w->remote)[0] ? remote_model(w->remote) : "(remote)");
	pthread_mutex_unlock(&w->mu);
	/* The server was down at the start: its details come now. */
	if (rc == 0 && !w->details_ok)
		details_update(w);
out:
	for (int i = 0; own && i < n; i++)
		free(own[i]);
	free(own);
	free(msgs);
	return rc;
}

/* Appends what GET path answers, its JSON indented, to f, or the failure
 * when quiet is false; false when the server did not answer. */
static bool details_get(struct worker *w, FILE *f, const char *path, bool quiet)
{
	char *body, err[512];
	if (remote_get(w->remote, path, &body, err, sizeof(err)) != 0) {
		if (!quiet)
			fprintf(f, "GET %s: %s\n", path, err);
		return false;
	}
	json_t *j = json_loads(body, 0, NULL);
	char *pretty = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	fprintf(f, "\nGET %s:\n%s\n", path, pretty ? pretty : body);
	free(pretty);
	json_decref(j);
	free(body);
	return true;
}

/* What the model pane shows: the server, the model's name and what the
 * server says of its models (and llama-server of itself, /props). */
static void details_update(struct worker *w)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return;
	fprintf(f, "server: %s\nmodel: %s\n", remote_url(w->remote),
		remote_model(w->remote)[0] ? remote_model(w->remote) : "(not known yet)");
	w->details_ok = details_get(w, f, "/v1/models", false);
	/* Only llama-server has /props: others' 404 is left out. */
	if (w->details_ok)
		details_get(w, f, "/props", true);
	if (fclose(f) != 0) {
		free(text);
		return;
	}
	pthread_mutex_lock(&w->mu);
	free(w->details);
	w->details = text;
	pthread_mutex_unlock(&w->mu);
}

static int remote_open(struct worker *w, char *err, size_t errlen)
{
	const struct worker_config *cfg = &w->cfg;
	worker_emit(w, WORKER_EV_LOAD_PROGRESS, 0, 0, 0, cfg->remote_url);
	int rc = remote_new(&w->remote, cfg->remote_url, cfg->api_key, cfg->remote_model, err, errlen);
	if (rc)
		return rc;
	remote_set_abort(w->remote, &w->stop);
	char why[512];
	/* A server that is down now may be up by the first message, which
	 * then tells what is wrong. */
	remote_resolve_model(w->remote, why, sizeof(why));
	details_update(w);
	pthread_mutex_lock(&w->mu);
	snprintf(w->st.model, sizeof(w->st.model), "%s",
		 remote_model(w->remote)[0] ? remote_model(w->remote) : "(remote)");
	snprintf(w->st.server, sizeof(w->st.server), "%s", remote_server(w->remote));
	pthread_mutex_unlock(&w->mu);
	if (cfg->template_name)
		worker_info(w, 1, "--template is not used with --remote: the server applies its own");
	struct template *t = NULL;
	rc = template_parse(&t, "remote", remote_template, sizeof(remote_template) - 1, err, errlen);
	if (rc)
		return rc;
	struct conv_params cp = {
		.system = cfg->system ? cfg->system : "", .in_prefix = cfg->in_prefix,
		.postfix = cfg->postfix, .sampling = cfg->gen.sampling,
		.n_predict = cfg->gen.n_predict, .stops = cfg->stops, .n_stops = cfg->n_stops,
	};
	cp.sampling.n_ctx = 0;
	rc = conv_new(&w->conv, NULL, NULL, t, &cp, err, errlen);
	if (rc)
		return rc;
	struct conv_generator gen = { .ud = w, .generate = remote_generate };
	conv_set_generator(w->conv, &gen);
	return 0;
}

/* An info line per field of a JSON answer's first level (compact values). */
static void remote_info_get(struct worker *w, const char *path)
{
	char *body, err[512];
	if (remote_get(w->remote, path, &body, err, sizeof(err)) != 0) {
		if (strcmp(path, "/props") != 0) /* only llama-server has /props */
			worker_info(w, 1, "%s", err);
		return;
	}
	size_t len = strlen(body);
	worker_info(w, 0, "%s: %.*s%s", path, len > 900 ? 900 : (int)len, body,
		    len > 900 ? "... (cut)" : "");
	free(body);
}

static void remote_info(struct worker *w)
{
	worker_info(w, 0, "model: %s (remote)", remote_model(w->remote));
	worker_info(w, 0, "server: %s", remote_url(w->remote));
	remote_info_get(w, "/v1/models");
	remote_info_get(w, "/props");
	details_update(w);
	struct worker_status st;
	worker_status(w, &st);
	worker_info(w, 0, "conversation: %d turns", conv_n_turns(w->conv));
	worker_info(w, 0, "session: %s%s", w->session[0] ? w->session : "(not saved yet)",
		    w->dirty ? " (unsaved changes)" : "");
	worker_info(w, 0, "last speed: prompt %.1f tok/s, generation %.1f tok/s", st.pp_tps,
		    st.tg_tps);
}

static void remote_close(struct worker *w)
{
	remote_free(w->remote);
	w->remote = NULL;
}

const struct worker_backend worker_backend_remote = {
	.open = remote_open,
	.info = remote_info,
	.close = remote_close,
};
