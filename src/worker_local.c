/* The worker's local backend: the model, its context and the conversation
 * over them, in this process (the engine). See worker_impl.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paths.h"
#include "session.h"
#include "template.h"
#include "vocab.h"
#include "worker_impl.h"

static int local_open(struct worker *w, char *err, size_t errlen)
{
	const struct worker_config *cfg = &w->cfg;
	worker_emit(w, WORKER_EV_LOAD_PROGRESS, 0, 0, 0.0, cfg->model_path);
	int rc = model_open(&w->model, cfg->model_path, &cfg->model, err, errlen);
	if (rc == 0)
		rc = vocab_open(&w->vocab, model_gguf(w->model), err, errlen);
	if (rc)
		return rc;
	worker_emit(w, WORKER_EV_LOAD_PROGRESS, 0, 0, 0.7, "context");
	const struct gguf *g = model_gguf(w->model);
	w->model_size = gguf_file_size(g);
	rc = session_fingerprint(cfg->model_path, gguf_data_offset(g), &w->fingerprint, err, errlen);
	if (rc == 0)
		rc = ctx_new(&w->ctx, w->model, &cfg->ctx, err, errlen);
	/* While the user reads the screen, not after the first message. */
	if (rc == 0 && (rc = ctx_warmup(w->ctx)) != 0)
		snprintf(err, errlen, "%s: %s", cfg->model_path, ctx_error(w->ctx));
	if (rc)
		return rc;
	pthread_mutex_lock(&w->mu);
	const char *mname = NULL;
	size_t mlen = 0;
	if (gguf_get_str(g, "general.name", &mname, &mlen) == 0 && mname)
		snprintf(w->st.model, sizeof(w->st.model), "%.*s", (int)mlen, mname);
	else {
		const char *slash = strrchr(cfg->model_path, '/');
		snprintf(w->st.model, sizeof(w->st.model), "%s", slash ? slash + 1 : cfg->model_path);
	}
	pthread_mutex_unlock(&w->mu);

	worker_emit(w, WORKER_EV_LOAD_PROGRESS, 0, 0, 0.9, "template");
	paths_template_dirs(&w->tdirs, &w->n_tdirs);
	struct template *t = NULL;
	char note[512] = "";
	rc = template_choose(&t, cfg->template_name, vocab_chat_template(w->vocab), w->tdirs,
			     w->n_tdirs, note, sizeof(note), err, errlen);
	if (rc && !cfg->template_name) {
		rc = template_builtin(&t, err, errlen);
		snprintf(note, sizeof(note), "no template files found; using the built-in dialogue");
	}
	if (rc)
		return rc;
	/* A resumed session brings its own template unless --template is given. */
	if (note[0] && !(cfg->session && !cfg->template_name && session_exists(cfg->session)))
		worker_info(w, 0, "%s", note);
	struct conv_params cp = {
		.system = cfg->system, .in_prefix = cfg->in_prefix, .postfix = cfg->postfix,
		.sampling = cfg->gen.sampling, .n_predict = cfg->gen.n_predict,
		.stops = cfg->stops, .n_stops = cfg->n_stops,
	};
	cp.sampling.n_ctx = ctx_n_ctx(w->ctx);
	rc = conv_new(&w->conv, w->ctx, w->vocab, t, &cp, err, errlen);
	return rc;
}

static void local_info(struct worker *w)
{
	const struct model_hparams *hp = model_hparams(w->model);
	struct worker_status st;
	worker_status(w, &st);
	worker_info(w, 0, "model: %s (%s, %.2fM parameters, %d layers, embedding %d)", st.model,
		  hp->arch_name, model_n_params(w->model) / 1e6, hp->n_layer, hp->n_embd);
	worker_info(w, 0, "vocabulary: %s, %d tokens", vocab_type_name(w->vocab),
		  (int)vocab_n_tokens(w->vocab));
	worker_info(w, 0, "context: %d / %d tokens, %d turns", conv_n_ids(w->conv),
		  conv_n_ctx(w->conv), conv_n_turns(w->conv));
	worker_info(w, 0, "session: %s%s", w->session[0] ? w->session : "(not saved yet)",
		  w->dirty ? " (unsaved changes)" : "");
	worker_info(w, 0, "last speed: prompt %.1f tok/s, generation %.1f tok/s", st.pp_tps, st.tg_tps);
}

static void local_close(struct worker *w)
{
	ctx_free(w->ctx);
	vocab_free(w->vocab);
	model_free(w->model);
	w->ctx = NULL;
	w->vocab = NULL;
	w->model = NULL;
}

const struct worker_backend worker_backend_local = {
	.open = local_open,
	.info = local_info,
	.close = local_close,
};
